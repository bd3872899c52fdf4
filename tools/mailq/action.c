/* action: --hold, --release and --delete change queue files under the
 * same exclusive flock() that a delivery takes (so a message being
 * delivered is skipped, never corrupted); --flush hands the selection to
 * mtad (`mtad -qI<ID>...`), whose delivery code is the only one.  Every
 * change is logged as a mail log line. */
#include "mailq.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "safeopen.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

enum lock_result { LK_OK, LK_GONE, LK_BUSY, LK_ERROR };

/* Opens and locks qf<ID> exclusively and reads it into env. */
static enum lock_result lock_and_read(const char *qid, int *fdp, struct qf_env *env)
{
	char qf[4096], err[1024];
	qf_path(qf, sizeof(qf), mq.qdir, 'q', qid);
	int fd = safe_open(qf, O_RDWR, 0, NULL, 0);
	if (fd < 0) {
		if (errno == ENOENT)
			return LK_GONE;
		msg_error("%s: %s", qf, strerror(errno));
		return LK_ERROR;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return LK_BUSY;
	}
	/* delivered and removed (or rewritten) between our open and lock? */
	struct stat a, b;
	if (fstat(fd, &a) < 0 || stat(qf, &b) < 0 || a.st_ino != b.st_ino) {
		close(fd);
		return LK_GONE;
	}
	struct strbuf sb;
	sb_init(&sb);
	char buf[16384];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && sb.len < 64L * 1024 * 1024)
		sb_append(&sb, buf, (size_t)n);
	if (n < 0 || qf_parse(sb.s, sb.len, qf, env, err, sizeof(err)) < 0) {
		msg_error("%s", n < 0 ? strerror(errno) : err);
		sb_free(&sb);
		close(fd);
		return LK_ERROR;
	}
	sb_free(&sb);
	snprintf(env->qid, sizeof(env->qid), "%s", qid);
	*fdp = fd;
	return LK_OK;
}

static void open_log(void)
{
	maillog_open(mq.log_tag, conf_str(C_LOG_FILE), 1);
}

/* Rewrites the qf with a new quarantine reason (NULL: released), under the
 * lock that fd holds. */
static int rewrite(struct qf_env *env, const char *reason)
{
	char tf[4096], err[1024];
	qf_set(&env->quarantine, reason);
	qf_path(tf, sizeof(tf), mq.qdir, 't', env->qid);
	unlink(tf);		/* a stale image from a crash: we hold the lock */
	int nfd = qf_write(mq.qdir, env, 1, err, sizeof(err));
	if (nfd < 0) {
		msg_error("%s: cannot rewrite the queue file: %s", env->qid, err);
		return -1;
	}
	close(nfd);
	return 0;
}

static int set_hold(const struct queue_listing *ql, const char *reason)
{
	open_log();
	int busy = 0, failed = 0;
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		if (e->err)
			continue;
		if (reason == NULL && e->env.quarantine == NULL)
			continue;	/* --release: only held mail */
		int fd = -1;
		struct qf_env env;
		qf_env_init(&env);
		switch (lock_and_read(e->qid, &fd, &env)) {
		case LK_GONE:
			break;
		case LK_BUSY:
			msg_warn("%s: being delivered (queue file locked); skipped", e->qid);
			busy++;
			break;
		case LK_ERROR:
			failed++;
			break;
		case LK_OK:
			if (reason == NULL && env.quarantine == NULL) {
				close(fd);
				break;
			}
			if (rewrite(&env, reason) < 0) {
				failed++;
			} else if (reason) {
				maillog(e->qid, "quarantine=%s", reason);
				printf("%s: held (", e->qid);
				queue_list_puts_safe(stdout, reason);
				printf(")\n");
			} else {
				maillog(e->qid, "unquarantine");
				printf("%s: released\n", e->qid);
			}
			close(fd);
			break;
		}
		qf_env_free(&env);
	}
	return failed ? EX_IOERR : busy ? EX_TEMPFAIL : 0;
}

int act_hold(const struct queue_listing *ql, const char *reason)
{
	return set_hold(ql, reason);
}

int act_release(const struct queue_listing *ql)
{
	return set_hold(ql, NULL);
}

/* Asks on the terminal; 1 when the answer is yes. */
static int confirm(size_t n)
{
	fprintf(stderr, "mailq: delete %zu message%s from %s? [y/N] ", n, n == 1 ? "" : "s", mq.qdir);
	fflush(stderr);
	char line[64];
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

int act_delete(const struct queue_listing *ql)
{
	size_t n = ql->n;
	if (n == 0) {
		fprintf(stderr, "mailq: no message selected; nothing deleted\n");
		return 0;
	}
	if (!mq.yes) {
		if (!isatty(STDIN_FILENO)) {
			msg_error("--delete would remove %zu message%s; standard input is not a "
				  "terminal to ask on, so add --yes", n, n == 1 ? "" : "s");
			return EX_USAGE;
		}
		queue_list_print(stderr, ql);
		if (!confirm(n)) {
			fprintf(stderr, "mailq: nothing deleted\n");
			return MQ_EXIT_DECLINED;
		}
	}
	open_log();
	int busy = 0, failed = 0;
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		char qf[4096], df[4096], xf[4096];
		qf_path(qf, sizeof(qf), mq.qdir, 'q', e->qid);
		qf_path(df, sizeof(df), mq.qdir, 'd', e->qid);
		qf_path(xf, sizeof(xf), mq.qdir, 'x', e->qid);
		int fd = -1;
		struct qf_env env;
		qf_env_init(&env);
		enum lock_result lr = lock_and_read(e->qid, &fd, &env);
		if (lr == LK_ERROR && e->err) {
			/* a damaged file can still be removed: lock it as it is */
			fd = safe_open(qf, O_RDWR, 0, NULL, 0);
			lr = fd < 0 ? LK_GONE : flock(fd, LOCK_EX | LOCK_NB) < 0 ? LK_BUSY : LK_OK;
			if (lr == LK_BUSY)
				close(fd);
		}
		if (lr == LK_BUSY) {
			msg_warn("%s: being delivered (queue file locked); skipped", e->qid);
			busy++;
		} else if (lr == LK_ERROR) {
			failed++;
		} else if (lr == LK_OK) {
			/* qf first: once it is gone no runner picks the message up */
			if (unlink(qf) < 0) {
				msg_error("%s: cannot remove %s: %s", e->qid, qf, strerror(errno));
				failed++;
			} else {
				unlink(df);
				unlink(xf);
				maillog(e->qid, "removed by mailq: from=%s, size=%ld, nrcpts=%zu%s%s",
					env.sender ? env.sender : "(unreadable)", e->size < 0 ? 0L : e->size,
					env.nrcpts, env.quarantine ? ", quarantine=" : "",
					env.quarantine ? env.quarantine : "");
				printf("%s: deleted\n", e->qid);
			}
			close(fd);
		}
		qf_env_free(&env);
	}
	return failed ? EX_IOERR : busy ? EX_TEMPFAIL : 0;
}

/* ---- --flush -------------------------------------------------------------- */

static const char *find_mtad(char *buf, size_t size)
{
	if (mq.mtad)
		return mq.mtad;
	/* next to mailq as it was run, then next to the file it links to */
	const char *slash0 = mq.argv0 ? strrchr(mq.argv0, '/') : NULL;
	if (slash0) {
		snprintf(buf, size, "%.*s/mtad", (int)(slash0 - mq.argv0), mq.argv0);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, size, "%s/mtad", self);
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	return "mtad";		/* from PATH */
}

/* Runs mtad [mode] <ids[0..n)>: -qI<id>... for a flush, -Mg <id>... for a
 * bounce; returns its exit status. */
static int run_mtad(const char *mode, char **ids, size_t n)
{
	char pathbuf[PATH_MAX + 8];
	const char *mtad = find_mtad(pathbuf, sizeof(pathbuf));
	char **argv = xcalloc(n + mq.noopts * 2 + 10, sizeof(char *));
	size_t k = 0;
	argv[k++] = (char *)mtad;
	if (mq.conf_file) {
		argv[k++] = "-C";
		argv[k++] = (char *)mq.conf_file;
	}
	for (size_t i = 0; i < mq.noopts; i++) {
		argv[k++] = "-O";
		argv[k++] = mq.oopts[i];
	}
	struct strbuf qd;
	sb_init(&qd);
	sb_printf(&qd, "QueueDirectory=%s", mq.qdir);	/* -Ac: the MSP queue */
	argv[k++] = "-O";
	argv[k++] = qd.s;
	if (mq.verbose)
		argv[k++] = "-v";
	if (mode)
		argv[k++] = (char *)mode;
	for (size_t i = 0; i < n; i++)
		argv[k++] = ids[i];
	argv[k] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		msg_error("cannot start %s: %s", mtad, strerror(errno));
		free(argv);
		sb_free(&qd);
		return EX_OSERR;
	}
	if (pid == 0) {
		execvp(mtad, argv);
		fprintf(stderr, "mailq: cannot run %s: %s (use --mtad PATH)\n", mtad, strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	free(argv);
	sb_free(&qd);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EX_OSERR;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	msg_error("%s ended by signal %d", mtad, WTERMSIG(status));
	return EX_SOFTWARE;
}

#define FLUSH_BATCH 256

int act_flush(const struct queue_listing *ql)
{
	char **ids = xcalloc(ql->n + 1, sizeof(char *));
	size_t n = 0;
	int busy = 0, rc = 0;
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		if (e->err)
			continue;
		if (e->env.quarantine) {
			msg_warn("%s: held (%s); release it first (--release)", e->qid, e->env.quarantine);
			continue;
		}
		if (e->locked) {
			msg_warn("%s: being delivered (queue file locked); skipped", e->qid);
			busy++;
			continue;
		}
		size_t len = strlen(e->qid) + 4;
		ids[n] = xmalloc(len);
		snprintf(ids[n], len, "-qI%s", e->qid);
		n++;
	}
	for (size_t off = 0; off < n && rc == 0; off += FLUSH_BATCH)
		rc = run_mtad(NULL, ids + off, n - off < FLUSH_BATCH ? n - off : FLUSH_BATCH);
	/* what became of each message */
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *qid = ids[i] + 3;
		char qf[4096], err[1024];
		qf_path(qf, sizeof(qf), mq.qdir, 'q', qid);
		struct qf_env env;
		qf_env_init(&env);
		if (access(qf, F_OK) < 0)
			printf("%s: no longer queued\n", qid);
		else if (qf_read(qf, &env, err, sizeof(err)) == 0 && env.msg && *env.msg) {
			printf("%s: still queued (", qid);
			queue_list_puts_safe(stdout, env.msg);
			printf(")\n");
		} else
			printf("%s: still queued\n", qid);
		qf_env_free(&env);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return rc ? rc : busy ? EX_TEMPFAIL : 0;
}

/* ---- --bounce ------------------------------------------------------------- */

/* Returns the selection to its senders through mtad -Mg, which fails every
 * recipient with a DSN (mtad's own bounce code). */
int act_bounce(const struct queue_listing *ql)
{
	char **ids = xcalloc(ql->n + 1, sizeof(char *));
	size_t n = 0;
	int busy = 0, rc = 0;
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		if (e->err)
			continue;
		if (e->locked) {
			msg_warn("%s: being delivered (queue file locked); skipped", e->qid);
			busy++;
			continue;
		}
		ids[n++] = xstrdup(e->qid);
	}
	for (size_t off = 0; off < n && rc == 0; off += FLUSH_BATCH)
		rc = run_mtad("-Mg", ids + off, n - off < FLUSH_BATCH ? n - off : FLUSH_BATCH);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			printf("%s: returned to its sender\n", ids[i]);
		free(ids[i]);
	}
	free(ids);
	return rc ? rc : busy ? EX_TEMPFAIL : 0;
}
