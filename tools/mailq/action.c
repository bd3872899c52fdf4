/* action: --hold, --release and --delete change queue files under the
 * same exclusive flock() that a delivery takes (so a message being
 * delivered is skipped, never corrupted); --flush hands the selection to
 * mtad (`mtad -qI<ID>...`), whose delivery code is the only one.  Every
 * change is logged as a mail log line. */
#include "mailq.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
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
	int fd = open(qf, O_RDWR | O_CLOEXEC);
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
	static int opened;
	if (!opened)
		maillog_open(mq.log_tag, conf_str(C_LOG_FILE), 1);
	opened = 1;
}

/* "root (uid 0)": who ran the action, for its log line. */
static void who(char *buf, size_t size)
{
	uid_t uid = getuid();
	struct passwd *pw = getpwuid(uid);
	snprintf(buf, size, "%s (uid %u)", pw ? pw->pw_name : "?", (unsigned)uid);
}

/* The end of every action: the count on stderr, and one log line saying
 * who did what to how many messages, with the selection as given. */
static void report(const char *what, size_t done, size_t selected, int busy, int failed,
		   const char *reason)
{
	fprintf(stderr, "mailq: %s: %zu of %zu selected message%s", what, done, selected,
		selected == 1 ? "" : "s");
	if (busy)
		fprintf(stderr, "; %d skipped (being delivered)", busy);
	if (failed)
		fprintf(stderr, "; %d failed", failed);
	fputc('\n', stderr);
	char user[300];
	who(user, sizeof(user));
	open_log();
	maillog(NULL, "%s by %s: %zu of %zu message%s, %d skipped, %d failed; selection: %s%s%s",
		what, user, done, selected, selected == 1 ? "" : "s", busy, failed,
		mq.selection[0] ? mq.selection : "--all", reason ? "; reason=" : "",
		reason ? reason : "");
}

/* --dry-run: names each message and what would be done to it. */
static int dry_run(const struct queue_listing *ql, const char *what)
{
	size_t n = 0;
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		printf("%s: would %s", e->qid, what);
		if (e->err)
			printf(" (unreadable queue file)");
		else if (e->locked)
			printf(" (now being delivered: would be skipped)");
		else if (e->env.quarantine) {
			printf(" (held: ");
			queue_list_puts_safe(stdout, e->env.quarantine);
			putchar(')');
		}
		putchar('\n');
		n++;
	}
	fprintf(stderr, "mailq: --dry-run: %zu message%s in %s would %s; nothing changed\n", n,
		n == 1 ? "" : "s", mq.qdir, what);
	return 0;
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
	size_t done = 0, selected = 0;
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		if (e->err)
			continue;
		if (e->hf) {
			msg_warn("%s: held by sendmail (hf file); skipped: sendmail's own -qI<ID> -Q "
				 "releases it", e->qid);
			continue;
		}
		if (reason == NULL && e->env.quarantine == NULL)
			continue;	/* --release: only held mail */
		selected++;
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
			} else if (++done && reason) {
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
	report(reason ? "hold" : "release", done, selected, busy, failed, reason);
	return failed ? EX_IOERR : busy ? EX_TEMPFAIL : 0;
}

int act_hold(const struct queue_listing *ql, const char *reason)
{
	if (mq.dry_run)
		return dry_run(ql, "be held");
	return set_hold(ql, reason);
}

int act_release(const struct queue_listing *ql)
{
	if (mq.dry_run) {
		struct queue_listing held = *ql;
		struct queue_entry *v = xcalloc(ql->n + 1, sizeof(*v));
		held.n = 0;
		for (size_t i = 0; i < ql->n; i++)
			if (!ql->entries[i].err && ql->entries[i].env.quarantine)
				v[held.n++] = ql->entries[i];
		held.entries = v;
		int rc = dry_run(&held, "be released");
		free(v);
		return rc;
	}
	return set_hold(ql, NULL);
}

/* Asks on the terminal; 1 when the answer is yes. */
static int confirm(const char *verb, size_t n)
{
	fprintf(stderr, "mailq: %s %zu message%s from %s? [y/N] ", verb, n, n == 1 ? "" : "s", mq.qdir);
	fflush(stderr);
	char line[64];
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

/* --delete and --bounce: asked on a terminal, --yes elsewhere.  Returns
 * -1 to go on, or the exit code. */
static int ask(const struct queue_listing *ql, const char *flag, const char *verb,
	       const char *done_word)
{
	size_t n = ql->n;
	if (n == 0) {
		fprintf(stderr, "mailq: no message selected; nothing %s\n", done_word);
		return 0;
	}
	if (mq.yes)
		return -1;
	if (!isatty(STDIN_FILENO)) {
		msg_error("%s would %s %zu message%s; standard input is not a "
			  "terminal to ask on, so add --yes", flag, verb, n, n == 1 ? "" : "s");
		return EX_USAGE;
	}
	queue_list_print(stderr, ql, 0);
	if (!confirm(verb, n)) {
		fprintf(stderr, "mailq: nothing %s\n", done_word);
		return MQ_EXIT_DECLINED;
	}
	return -1;
}

int act_delete(const struct queue_listing *ql)
{
	if (mq.dry_run)
		return dry_run(ql, "be deleted");
	int arc = ask(ql, "--delete", "delete", "deleted");
	if (arc >= 0)
		return arc;
	open_log();
	int busy = 0, failed = 0;
	size_t done = 0;
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		char qf[4096], df[4096], xf[4096];
		if (e->hf) {
			msg_warn("%s: held by sendmail (hf file); skipped", e->qid);
			continue;
		}
		qf_path(qf, sizeof(qf), mq.qdir, 'q', e->qid);
		qf_path(df, sizeof(df), mq.qdir, 'd', e->qid);
		qf_path(xf, sizeof(xf), mq.qdir, 'x', e->qid);
		int fd = -1;
		struct qf_env env;
		qf_env_init(&env);
		enum lock_result lr = lock_and_read(e->qid, &fd, &env);
		if (lr == LK_ERROR && e->err) {
			/* a damaged file can still be removed: lock it as it is */
			fd = open(qf, O_RDWR | O_CLOEXEC);
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
				done++;
			}
			close(fd);
		}
		qf_env_free(&env);
	}
	report("delete", done, ql->n, busy, failed, NULL);
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
	if (mq.dry_run)
		return dry_run(ql, "be delivered now (held: skipped)");
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
	report("flush", rc == 0 ? n : 0, ql->n, busy, rc ? (int)n : 0, NULL);
	return rc ? rc : busy ? EX_TEMPFAIL : 0;
}

/* ---- --bounce ------------------------------------------------------------- */

/* Returns the selection to its senders through mtad -Mg, which fails every
 * recipient with a DSN (mtad's own bounce code). */
int act_bounce(const struct queue_listing *ql)
{
	if (mq.dry_run)
		return dry_run(ql, "be returned to its sender");
	int arc = ask(ql, "--bounce", "bounce", "bounced");
	if (arc >= 0)
		return arc;
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
	report("bounce", rc == 0 ? n : 0, ql->n, busy, rc ? (int)n : 0, NULL);
	return rc ? rc : busy ? EX_TEMPFAIL : 0;
}
