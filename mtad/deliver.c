/* deliver: one delivery attempt for one queued message, under an exclusive
 * flock() on its qf.  Local recipients go to mbox files through lib/mbox;
 * each attempt logs a to= line.  Afterwards the files are removed (nothing
 * left to do) or qf is rewritten with the deferral reason and the
 * recipients still pending.  A crash between a delivery and the rewrite can
 * deliver twice, never lose. */
#include "mtad.h"
#include "addr.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "mbox.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum rcpt_result { R_SENT, R_DEFER, R_FAIL };

struct attempt {
	const struct qf_env *env;
	int df_fd;
	time_t start;
	char reason[512];	/* last deferral reason, for the M record */
};

static void strip_brackets(char *buf, size_t size, const char *addr)
{
	size_t len = strlen(addr);
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
		snprintf(buf, size, "%.*s", (int)(len - 2), addr + 1);
	else
		snprintf(buf, size, "%s", addr);
}

/* The mailbox name for a local part: lower-cased, and refused when it could
 * name anything but a file in the mailbox directory. */
static int mailbox_name(char *buf, size_t size, const char *local)
{
	if (!*local || strlen(local) >= size || strchr(local, '/') || local[0] == '.')
		return -1;
	for (size_t i = 0; local[i]; i++)
		buf[i] = (char)tolower((unsigned char)local[i]);
	buf[strlen(local)] = '\0';
	return 0;
}

static enum rcpt_result deliver_local(struct attempt *a, const char *local, char *stat, size_t statsize,
				      const char **dsn)
{
	char box[256], path[2048], err[512];
	if (!conf_is_local_user(local) || mailbox_name(box, sizeof(box), local) < 0) {
		snprintf(stat, statsize, "User unknown");
		*dsn = "5.1.1";
		return R_FAIL;
	}
	snprintf(path, sizeof(path), "%s/%s", conf_str(C_MAILBOX_DIR), box);
	struct strbuf hdr;
	sb_init(&hdr);
	char sender[ADDR_MAXLEN + 3];
	strip_brackets(sender, sizeof(sender), a->env->sender);
	sb_printf(&hdr, "Return-Path: <%s>\n", sender);
	for (size_t i = 0; i < a->env->headers.count; i++)
		sb_printf(&hdr, "%s:%s\n", a->env->headers.h[i].name, a->env->headers.h[i].value);
	int rc = -1;
	if (lseek(a->df_fd, 0, SEEK_SET) == 0)
		rc = mbox_deliver(path, sender, time(NULL), hdr.s, hdr.len, a->df_fd, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "cannot rewind data file: %s", strerror(errno));
	sb_free(&hdr);
	if (rc < 0) {
		snprintf(stat, statsize, "Deferred: %s", err);
		snprintf(a->reason, sizeof(a->reason), "Deferred: %s", err);
		*dsn = "4.2.0";
		return R_DEFER;
	}
	snprintf(stat, statsize, "Sent");
	*dsn = "2.0.0";
	return R_SENT;
}

static enum rcpt_result deliver_one(struct attempt *a, const char *rcpt, const char **mailer,
				    char *stat, size_t statsize, const char **dsn)
{
	char addr[ADDR_MAXLEN + 3];
	strip_brackets(addr, sizeof(addr), rcpt);
	char *local, *domain;
	addr_split(addr, &local, &domain);
	enum rcpt_result r;
	if (conf_is_local_domain(domain)) {
		*mailer = "local";
		r = deliver_local(a, local, stat, statsize, dsn);
	} else {
		*mailer = "esmtp";
		snprintf(stat, statsize, "Deferred: no route to %s: remote delivery over SMTP is not "
			 "available in this version", domain);
		snprintf(a->reason, sizeof(a->reason), "Deferred: remote delivery to %s not available", domain);
		*dsn = "4.4.0";
		r = R_DEFER;
	}
	free(local);
	free(domain);
	return r;
}

static void quarantine_bad(const char *qdir, const char *qid, const char *qfpath, const char *why)
{
	char bad[2048];
	snprintf(bad, sizeof(bad), "%s/Qf%s", qdir, qid);
	if (rename(qfpath, bad) == 0)
		maillog(qid, "SYSERR: %s; queue file renamed to %s", why, bad);
	else
		maillog(qid, "SYSERR: %s; cannot rename it: %s", why, strerror(errno));
	msg_error("%s: %s (moved to %s)", qid, why, bad);
}

static int read_fd(int fd, struct strbuf *sb)
{
	char buf[16384];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sb_append(sb, buf, (size_t)n);
	return n < 0 ? -1 : 0;
}

enum deliver_result deliver_message(const char *qdir, const char *qid)
{
	char qfpath[2048], dfpath[2048], tfpath[2048], err[1024];
	qf_path(qfpath, sizeof(qfpath), qdir, 'q', qid);
	qf_path(dfpath, sizeof(dfpath), qdir, 'd', qid);
	int fd = open(qfpath, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? DELIVER_DONE : DELIVER_ERROR;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return DELIVER_LOCKED;
	}
	/* it may have been delivered and removed between open and lock */
	struct stat st_fd, st_path;
	if (fstat(fd, &st_fd) < 0 || stat(qfpath, &st_path) < 0 || st_fd.st_ino != st_path.st_ino) {
		close(fd);
		return DELIVER_DONE;
	}
	struct strbuf text;
	sb_init(&text);
	struct qf_env env;
	qf_env_init(&env);
	int bad = 0;
	if (read_fd(fd, &text) < 0) {
		snprintf(err, sizeof(err), "%s: read error: %s", qfpath, strerror(errno));
		bad = 1;
	} else if (qf_parse(text.s, text.len, qfpath, &env, err, sizeof(err)) < 0) {
		bad = 1;
	}
	if (bad) {
		quarantine_bad(qdir, qid, qfpath, err);
		sb_free(&text);
		qf_env_free(&env);
		close(fd);
		return DELIVER_ERROR;
	}
	sb_free(&text);
	snprintf(env.qid, sizeof(env.qid), "%s", qid);
	if (env.quarantine) {		/* held: not delivered until released */
		qf_env_free(&env);
		close(fd);
		return DELIVER_DEFERRED;
	}
	struct attempt a = { .env = &env, .start = time(NULL) };
	a.df_fd = open(dfpath, O_RDONLY | O_CLOEXEC);
	if (a.df_fd < 0) {
		snprintf(err, sizeof(err), "%s: data file missing: %s", dfpath, strerror(errno));
		quarantine_bad(qdir, qid, qfpath, err);
		qf_env_free(&env);
		close(fd);
		return DELIVER_ERROR;
	}
	env.ntries++;
	env.priority += conf_num(C_RETRY_FACTOR);
	size_t keep = 0;
	for (size_t i = 0; i < env.nrcpts; i++) {
		char stat[1024];
		const char *mailer = "local", *dsn = "2.0.0";
		if (G.verbose)
			printf("%s... Connecting to local...\n", env.rcpts[i].addr);
		enum rcpt_result r = deliver_one(&a, env.rcpts[i].addr, &mailer, stat, sizeof(stat), &dsn);
		time_t now = time(NULL);
		struct maillog_to t = {
			.to = env.rcpts[i].addr, .delay = (long)(now - env.ctime),
			.xdelay = (long)(now - a.start), .mailer = mailer, .pri = env.priority,
			.dsn = dsn, .stat = stat,
		};
		maillog_to_line(qid, &t);
		if (G.verbose)
			printf("%s... %s\n", env.rcpts[i].addr, stat);
		if (r == R_DEFER) {
			struct qf_rcpt tmp = env.rcpts[keep];
			env.rcpts[keep] = env.rcpts[i];
			env.rcpts[i] = tmp;
			keep++;
		}
		/* R_FAIL: the DSN back to the sender is the relay work's; the
		 * to= line above records the failure. */
	}
	close(a.df_fd);
	enum deliver_result result = DELIVER_DONE;
	if (keep == 0) {
		unlink(qfpath);
		unlink(dfpath);
	} else {
		for (size_t i = keep; i < env.nrcpts; i++) {
			free(env.rcpts[i].addr);
			free(env.rcpts[i].flags);
			free(env.rcpts[i].orcpt);
		}
		env.nrcpts = keep;
		env.ktime = time(NULL);
		qf_set(&env.msg, a.reason);
		qf_path(tfpath, sizeof(tfpath), qdir, 't', qid);
		unlink(tfpath);		/* a stale image from a crash: we hold the lock */
		if (qf_write(qdir, &env, 0, err, sizeof(err)) < 0)
			msg_error("%s: cannot update queue file: %s", qid, err);
		result = DELIVER_DEFERRED;
	}
	qf_env_free(&env);
	close(fd);
	return result;
}
