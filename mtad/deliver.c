/* deliver: one delivery attempt for one queued message, under an exclusive
 * flock() on its qf.  Each recipient is routed (route.c); local ones go to
 * mbox files through lib/mbox, remote ones over SMTP (deliver_smtp.c), one
 * connection per next hop.  Each attempt logs to= lines.  Permanent
 * failures, and deferrals past Timeout.queuereturn, produce a DSN; a delay
 * warning goes out once past Timeout.queuewarn.  Afterwards the files are
 * removed (nothing left to do) or qf is rewritten with the deferral reason
 * and the recipients still pending.  A crash between a delivery and the
 * rewrite can deliver twice, never lose. */
#include "deliver_int.h"
#include "addr.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "mbox.h"
#include "xalloc.h"

#include <ctype.h>
#include <pwd.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void strip_brackets(char *buf, size_t size, const char *addr)
{
	size_t len = strlen(addr);
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
		snprintf(buf, size, "%.*s", (int)(len - 2), addr + 1);
	else
		snprintf(buf, size, "%s", addr);
}

int deliver_message_text(const struct qf_env *env, int df_fd, struct strbuf *out)
{
	for (size_t i = 0; i < env->headers.count; i++)
		sb_printf(out, "%s:%s\n", env->headers.h[i].name, env->headers.h[i].value);
	sb_putc(out, '\n');
	if (lseek(df_fd, 0, SEEK_SET) != 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(df_fd, buf, sizeof(buf))) > 0)
		sb_append(out, buf, (size_t)n);
	return n < 0 ? -1 : 0;
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

/* Run as root, a new mailbox is created owned by its user, as mail.local
 * does, so that the user can read it. */
static void give_mailbox(const char *path, const char *user)
{
	if (geteuid() != 0)
		return;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;		/* it exists already (or cannot be made: delivery says why) */
	if (fchown(fd, pw->pw_uid, pw->pw_gid) < 0)
		msg_warn("cannot give mailbox %s to %s: %s", path, user, strerror(errno));
	close(fd);
}

static void deliver_local(const struct qf_env *env, int df_fd, const char *rcpt, struct rcpt_outcome *o)
{
	char addr[ADDR_MAXLEN + 3], box[256], path[2048], err[512];
	strip_brackets(addr, sizeof(addr), rcpt);
	char *local, *domain;
	addr_split(addr, &local, &domain);
	snprintf(o->mailer, sizeof(o->mailer), "local");
	if (!conf_is_local_user(local) || mailbox_name(box, sizeof(box), local) < 0) {
		o->result = R_FAIL;
		snprintf(o->stat, sizeof(o->stat), "User unknown");
		snprintf(o->dsn, sizeof(o->dsn), "5.1.1");
		snprintf(o->diag, sizeof(o->diag), "550 5.1.1 %s... User unknown", rcpt);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", conf_str(C_MAILBOX_DIR), box);
	give_mailbox(path, box);
	struct strbuf hdr;
	sb_init(&hdr);
	char sender[ADDR_MAXLEN + 3];
	strip_brackets(sender, sizeof(sender), env->sender);
	sb_printf(&hdr, "Return-Path: <%s>\n", sender);
	for (size_t i = 0; i < env->headers.count; i++)
		sb_printf(&hdr, "%s:%s\n", env->headers.h[i].name, env->headers.h[i].value);
	int rc = -1;
	if (lseek(df_fd, 0, SEEK_SET) == 0)
		rc = mbox_deliver(path, sender, time(NULL), hdr.s, hdr.len, df_fd, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "cannot rewind data file: %s", strerror(errno));
	sb_free(&hdr);
	if (rc < 0) {
		o->result = R_DEFER;
		snprintf(o->stat, sizeof(o->stat), "Deferred: %s", err);
		snprintf(o->dsn, sizeof(o->dsn), "4.2.0");
		snprintf(o->diag, sizeof(o->diag), "%s", err);
	} else {
		o->result = R_SENT;
		snprintf(o->stat, sizeof(o->stat), "Sent");
		snprintf(o->dsn, sizeof(o->dsn), "2.0.0");
	}
out:
	free(local);
	free(domain);
}

/* mailertable "error:D.S.N:CODE text" (or "error:CODE text") */
static void route_error(const struct route *r, struct rcpt_outcome *o)
{
	o->result = R_FAIL;
	snprintf(o->mailer, sizeof(o->mailer), "error");
	const char *e = r->error;
	char dsn[16] = "5.0.0";
	const char *colon = strchr(e, ':');
	if (colon && isdigit((unsigned char)e[0]) && strchr(e, '.') && strchr(e, '.') < colon) {
		snprintf(dsn, sizeof(dsn), "%.*s", (int)(colon - e), e);
		e = colon + 1;
	}
	if (e[0] == '4')
		o->result = R_DEFER;
	snprintf(o->dsn, sizeof(o->dsn), "%s", dsn);
	snprintf(o->stat, sizeof(o->stat), "%s", e);
	snprintf(o->diag, sizeof(o->diag), "%s", e);
}

static void log_outcomes(const struct qf_env *env, const size_t *idx, size_t n,
			 const struct rcpt_outcome *out, time_t start)
{
	int *logged = xcalloc(n ? n : 1, sizeof(int));
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		if (logged[i])
			continue;
		struct strbuf to;
		sb_init(&to);
		const struct rcpt_outcome *o = &out[idx[i]];
		for (size_t j = i; j < n; j++) {
			const struct rcpt_outcome *p = &out[idx[j]];
			if (logged[j] || p->result != o->result || strcmp(p->stat, o->stat) ||
			    strcmp(p->relay, o->relay) || (strcmp(o->mailer, "local") == 0 && j != i))
				continue;
			sb_printf(&to, "%s%s", to.len ? "," : "", env->rcpts[idx[j]].addr);
			logged[j] = 1;
		}
		struct maillog_to t = {
			.to = to.s, .ctladdr = env->ctladdr, .delay = (long)(now - env->ctime),
			.xdelay = (long)(now - start),
			.mailer = o->mailer, .pri = env->priority, .relay = o->relay[0] ? o->relay : NULL,
			.dsn = o->dsn, .stat = o->stat,
		};
		maillog_to_line(env->qid, &t);
		if (G.verbose)
			printf("%s... %s\n", to.s, o->stat);
		sb_free(&to);
	}
	free(logged);
}

/* Routes and delivers every recipient; fills out[]. */
static void deliver_all(const struct qf_env *env, int df_fd, struct rcpt_outcome *out)
{
	size_t n = env->nrcpts;
	struct route *routes = xcalloc(n ? n : 1, sizeof(*routes));
	int *done = xcalloc(n ? n : 1, sizeof(int));
	size_t *idx = xcalloc(n ? n : 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		char addr[ADDR_MAXLEN + 3];
		strip_brackets(addr, sizeof(addr), env->rcpts[i].addr);
		route_address(addr, &routes[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		time_t start = time(NULL);
		size_t k = 0;
		if (routes[i].kind == ROUTE_LOCAL) {
			if (G.verbose)
				printf("%s... Connecting to local...\n", env->rcpts[i].addr);
			deliver_local(env, df_fd, env->rcpts[i].addr, &out[i]);
			idx[k++] = i;
			done[i] = 1;
		} else if (routes[i].kind == ROUTE_ERROR) {
			route_error(&routes[i], &out[i]);
			idx[k++] = i;
			done[i] = 1;
		} else {
			for (size_t j = i; j < n; j++) {
				if (!done[j] && route_same(&routes[i], &routes[j])) {
					idx[k++] = j;
					done[j] = 1;
				}
			}
			struct rcpt_outcome *group = xcalloc(k, sizeof(*group));
			deliver_smtp_group(env, df_fd, &routes[i], idx, k, group);
			for (size_t g = 0; g < k; g++)
				out[idx[g]] = group[g];
			free(group);
		}
		log_outcomes(env, idx, k, out, start);
	}
	free(idx);
	free(done);
	free(routes);
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

/* Opens, locks and parses qf.  Returns the locked fd, or -1 with *result. */
static int open_locked(const char *qdir, const char *qid, const char *qfpath, struct qf_env *env,
		       enum deliver_result *result)
{
	char err[1024];
	int fd = open(qfpath, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		*result = errno == ENOENT ? DELIVER_DONE : DELIVER_ERROR;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		*result = DELIVER_LOCKED;
		return -1;
	}
	/* it may have been delivered and removed between open and lock */
	struct stat st_fd, st_path;
	if (fstat(fd, &st_fd) < 0 || stat(qfpath, &st_path) < 0 || st_fd.st_ino != st_path.st_ino) {
		close(fd);
		*result = DELIVER_DONE;
		return -1;
	}
	struct strbuf text;
	sb_init(&text);
	int bad = 0;
	if (read_fd(fd, &text) < 0) {
		snprintf(err, sizeof(err), "%s: read error: %s", qfpath, strerror(errno));
		bad = 1;
	} else if (qf_parse(text.s, text.len, qfpath, env, err, sizeof(err)) < 0) {
		bad = 1;
	}
	sb_free(&text);
	if (bad) {
		quarantine_bad(qdir, qid, qfpath, err);
		close(fd);
		*result = DELIVER_ERROR;
		return -1;
	}
	snprintf(env->qid, sizeof(env->qid), "%s", qid);
	return fd;
}

/* Past Timeout.queuereturn a deferral becomes a failure. */
static void expire_deferrals(const struct qf_env *env, struct rcpt_outcome *out)
{
	long ret = conf_num(C_TO_QUEUERETURN);
	if (ret <= 0 || time(NULL) - env->ctime < ret)
		return;
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (out[i].result != R_DEFER)
			continue;
		out[i].result = R_FAIL;
		char last[600];
		snprintf(last, sizeof(last), "%s", out[i].stat);
		snprintf(out[i].stat, sizeof(out[i].stat), "Message could not be delivered for %s",
			 conf_str(C_TO_QUEUERETURN));
		snprintf(out[i].dsn, sizeof(out[i].dsn), "4.4.7");
		if (!out[i].diag[0])
			snprintf(out[i].diag, sizeof(out[i].diag), "%s", last);
	}
}

static int has_flag(const char *flags, char f)
{
	return flags && strchr(flags, f) != NULL;
}

enum deliver_result deliver_message(const char *qdir, const char *qid)
{
	char qfpath[2048], dfpath[2048], tfpath[2048], err[1024];
	qf_path(qfpath, sizeof(qfpath), qdir, 'q', qid);
	qf_path(dfpath, sizeof(dfpath), qdir, 'd', qid);
	struct qf_env env;
	qf_env_init(&env);
	enum deliver_result result = DELIVER_DONE;
	int fd = open_locked(qdir, qid, qfpath, &env, &result);
	if (fd < 0) {
		qf_env_free(&env);
		return result;
	}
	if (env.quarantine) {		/* held: not delivered until released */
		qf_env_free(&env);
		close(fd);
		return DELIVER_DEFERRED;
	}
	int df_fd = open(dfpath, O_RDONLY | O_CLOEXEC);
	if (df_fd < 0) {
		snprintf(err, sizeof(err), "%s: data file missing: %s", dfpath, strerror(errno));
		quarantine_bad(qdir, qid, qfpath, err);
		qf_env_free(&env);
		close(fd);
		return DELIVER_ERROR;
	}
	env.ntries++;
	env.priority += conf_num(C_RETRY_FACTOR);
	struct rcpt_outcome *out = xcalloc(env.nrcpts ? env.nrcpts : 1, sizeof(*out));
	deliver_all(&env, df_fd, out);
	close(df_fd);
	expire_deferrals(&env, out);

	char child[2][QID_MAXLEN] = { "", "" };
	int any_fail = 0, any_defer = 0;
	const char *reason = NULL;
	for (size_t i = 0; i < env.nrcpts; i++) {
		if (out[i].result == R_FAIL)
			any_fail = 1;
		if (out[i].result == R_DEFER) {
			any_defer = 1;
			reason = out[i].stat;
		}
	}
	if (any_fail && dsn_queue(&env, out, 1, child[0], sizeof(child[0])) < 0)
		child[0][0] = '\0';
	long warn = conf_num(C_TO_QUEUEWARN);
	if (any_defer && warn > 0 && time(NULL) - env.ctime >= warn && !has_flag(env.flags, 'w')) {
		if (dsn_queue(&env, out, 0, child[1], sizeof(child[1])) < 0)
			child[1][0] = '\0';
		char flags[64];
		snprintf(flags, sizeof(flags), "%sw", env.flags ? env.flags : "");
		qf_set(&env.flags, flags);
	}

	if (!any_defer) {
		unlink(qfpath);
		unlink(dfpath);
	} else {
		size_t keep = 0;
		for (size_t i = 0; i < env.nrcpts; i++) {
			if (out[i].result == R_DEFER) {
				struct qf_rcpt t = env.rcpts[keep];
				env.rcpts[keep] = env.rcpts[i];
				env.rcpts[i] = t;
				keep++;
			}
		}
		for (size_t i = keep; i < env.nrcpts; i++) {
			free(env.rcpts[i].addr);
			free(env.rcpts[i].flags);
			free(env.rcpts[i].orcpt);
		}
		env.nrcpts = keep;
		env.ktime = time(NULL);
		qf_set(&env.msg, reason);
		qf_path(tfpath, sizeof(tfpath), qdir, 't', qid);
		unlink(tfpath);		/* a stale image from a crash: we hold the lock */
		if (qf_write(qdir, &env, 0, err, sizeof(err)) < 0)
			msg_error("%s: cannot update queue file: %s", qid, err);
		result = DELIVER_DEFERRED;
	}
	free(out);
	qf_env_free(&env);
	close(fd);
	for (int c = 0; c < 2; c++)
		if (child[c][0])
			deliver_message(qdir, child[c]);
	return result;
}
