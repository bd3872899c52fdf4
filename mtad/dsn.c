/* dsn: delivery status notifications (RFC 3464): bounces for permanent
 * failures and delay warnings, from MAILER-DAEMON with the null sender,
 * queued as messages of their own.  The log says "PARENT: CHILD: DSN: reason"
 * as sendmail does. */
#include "deliver_int.h"
#include "dsnparam.h"
#include "qheader.h"
#include "addr.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static void strip(char *buf, size_t size, const char *a)
{
	size_t l = strlen(a);
	if (l >= 2 && a[0] == '<' && a[l - 1] == '>')
		snprintf(buf, size, "%.*s", (int)(l - 2), a + 1);
	else
		snprintf(buf, size, "%s", a);
}

/* Is recipient i reported in this DSN (kind: 1 failed, 0 delayed,
 * DSN_SUCCESS delivered)? */
static int reported(const struct qf_env *env, const struct rcpt_outcome *o, size_t i, int kind)
{
	if (kind == DSN_SUCCESS)
		return o[i].result == R_SENT && dsn_notify_wanted(env->rcpts[i].flags, 'S') &&
		       !o[i].dsn_passed;
	if (o[i].result != (kind ? R_FAIL : R_DEFER))
		return 0;
	return dsn_notify_wanted(env->rcpts[i].flags, kind ? 'F' : 'D');
}

static void human_part(struct strbuf *b, const struct qf_env *env, const struct rcpt_outcome *o,
		       int failed)
{
	char when[64];
	time_rfc5322(when, sizeof(when), env->ctime);
	const char *relay = qf_env_macro(env, "_");
	sb_printf(b, "The original message was received at %s\nfrom %s\n\n", when, relay ? relay : "localhost");
	if (failed == DSN_SUCCESS)
		sb_puts(b, "   ----- The following addresses had successful delivery notifications -----\n");
	else if (failed)
		sb_puts(b, "   ----- The following addresses had permanent fatal errors -----\n");
	else
		sb_printf(b, "   ----- The following addresses had transient non-fatal errors -----\n");
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (!reported(env, o, i, failed))
			continue;
		if (failed == DSN_SUCCESS)
			sb_printf(b, "%s  (successfully delivered to %s)\n", env->rcpts[i].addr,
				  o[i].relay[0] ? "mailbox or relay" : "mailbox");
		else
			sb_printf(b, "%s\n    (reason: %s)\n", env->rcpts[i].addr,
				  o[i].diag[0] ? o[i].diag : o[i].stat);
	}
	if (!failed)
		sb_puts(b, "\n   ----- Delivery will continue to be attempted -----\n");
	sb_puts(b, "\n");
}

static void status_part(struct strbuf *b, const struct qf_env *env, const struct rcpt_outcome *o,
			int failed)
{
	char when[64], now[64];
	time_rfc5322(when, sizeof(when), env->ctime);
	time_rfc5322(now, sizeof(now), time(NULL));
	if (env->envid && *env->envid)
		sb_printf(b, "Original-Envelope-Id: %s\n", env->envid);
	sb_printf(b, "Reporting-MTA: dns; %s\n", G.hostname);
	const char *relay = qf_env_macro(env, "_");
	if (relay)
		sb_printf(b, "Received-From-MTA: DNS; %s\n", relay);
	sb_printf(b, "Arrival-Date: %s\n", when);
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (!reported(env, o, i, failed))
			continue;
		char r[ADDR_MAXLEN + 3];
		strip(r, sizeof(r), env->rcpts[i].addr);
		sb_puts(b, "\n");
		if (env->rcpts[i].orcpt)
			sb_printf(b, "Original-Recipient: %s\n", env->rcpts[i].orcpt);
		sb_printf(b, "Final-Recipient: RFC822; %s\n", r);
		sb_printf(b, "Action: %s\n", failed == DSN_SUCCESS ? (o[i].relay[0] ? "relayed" : "delivered")
			  : failed ? "failed" : "delayed");
		sb_printf(b, "Status: %s\n", o[i].dsn[0] ? o[i].dsn : (failed ? "5.0.0" : "4.0.0"));
		if (o[i].remote_mta[0])
			sb_printf(b, "Remote-MTA: DNS; %s\n", o[i].remote_mta);
		if (o[i].diag[0])
			sb_printf(b, "Diagnostic-Code: %s; %s\n", o[i].remote_mta[0] ? "SMTP" : "X-Unix", o[i].diag);
		sb_printf(b, "Last-Attempt-Date: %s\n", now);
		if (failed == 0) {
			char until[64];
			time_rfc5322(until, sizeof(until), env->ctime + conf_num(C_TO_QUEUERETURN));
			sb_printf(b, "Will-Retry-Until: %s\n", until);
		}
	}
}

static const char *dsn_macro(void *ctx, const char *name)
{
	const struct qf_env *env = ctx;
	if (strcmp(name, "g") == 0 || strcmp(name, "f") == 0)
		return env->sender;
	if (strcmp(name, "j") == 0)
		return G.hostname;
	return qf_env_macro(env, name);
}

/* The returned headers: as the next hop got them. */
static void original_headers(struct strbuf *b, const struct qf_env *env)
{
	qhdr_put(&env->headers, QHDR_FLAGS_SMTP, dsn_macro, (void *)env, b);
}

/* RET=FULL: the body after the headers. */
static int original_body(struct strbuf *b, const struct qf_env *env)
{
	char df[4096];
	qf_path(df, sizeof(df), mtad_queue_dir(), 'd', env->qid);
	int fd = open(df, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	sb_putc(b, '\n');
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sb_append(b, buf, (size_t)n);
	close(fd);
	return n < 0 ? -1 : 0;
}

int dsn_queue(const struct qf_env *env, const struct rcpt_outcome *o, int failed,
	      char *child_qid, size_t child_size)
{
	char to[ADDR_MAXLEN + 3];
	strip(to, sizeof(to), env->sender);
	int null_sender = to[0] == '\0';
	size_t nreported = 0;
	for (size_t i = 0; i < env->nrcpts; i++)
		nreported += reported(env, o, i, failed) ? 1 : 0;
	if (nreported == 0)
		return -1;	/* NOTIFY=NEVER (or not this event) for every one */
	if (null_sender && failed == DSN_SUCCESS)
		return -1;
	if (null_sender) {
		/* a bounce of a bounce goes to postmaster; one to postmaster that
		 * fails again stops here */
		for (size_t i = 0; i < env->nrcpts; i++) {
			char r[ADDR_MAXLEN + 3], *local, *domain;
			if (o[i].result != R_FAIL)
				continue;
			strip(r, sizeof(r), env->rcpts[i].addr);
			addr_split(r, &local, &domain);
			int pm = strcasecmp(local, "postmaster") == 0 && conf_is_local_domain(domain);
			free(local);
			free(domain);
			if (pm) {
				maillog(env->qid, "SYSERR: double bounce to postmaster failed; no further notice sent");
				return -1;
			}
		}
		if (!failed)
			return -1;	/* no delay warnings about bounces */
		snprintf(to, sizeof(to), "postmaster");
	}
	struct enqueue eq;
	char err[512];
	if (enqueue_begin(&eq, mtad_queue_dir(), err, sizeof(err)) < 0) {
		maillog(env->qid, "SYSERR: cannot queue DSN: %s", err);
		return -1;
	}
	struct qf_env d;
	qf_env_init(&d);
	char date[64], boundary[128], value[512];
	time_rfc5322(date, sizeof(date), time(NULL));
	snprintf(boundary, sizeof(boundary), "%s.%ld/%s", eq.qid, (long)time(NULL), G.hostname);
	snprintf(value, sizeof(value), " Mail Delivery Subsystem <MAILER-DAEMON@%s>", G.hostname);
	hdrlist_add(&d.headers, "From", value);
	snprintf(value, sizeof(value), " <%s>", to);
	hdrlist_add(&d.headers, "To", value);
	if (failed == DSN_SUCCESS)
		hdrlist_add(&d.headers, "Subject", " Return receipt");
	else if (failed)
		hdrlist_add(&d.headers, "Subject", " Returned mail: see transcript for details");
	else {
		snprintf(value, sizeof(value), " Warning: could not send message for past %s",
			 conf_str(C_TO_QUEUEWARN));
		hdrlist_add(&d.headers, "Subject", value);
	}
	hdrlist_add(&d.headers, "Auto-Submitted", failed == DSN_SUCCESS ? " auto-generated (delivered)"
		    : failed ? " auto-generated (failure)" : " auto-generated (delay)");
	int mime = (int)conf_num(C_MIME_FORMAT_ERRORS);
	if (mime) {
		hdrlist_add(&d.headers, "MIME-Version", " 1.0");
		snprintf(value, sizeof(value), " multipart/report; report-type=delivery-status;\n\tboundary=\"%s\"", boundary);
		hdrlist_add(&d.headers, "Content-Type", value);
	}
	struct strbuf body;
	sb_init(&body);
	if (mime)
		sb_printf(&body, "This is a MIME-encapsulated message\n\n--%s\n\n", boundary);
	human_part(&body, env, o, failed);
	if (mime) {
		sb_printf(&body, "--%s\nContent-Type: message/delivery-status\n\n", boundary);
		status_part(&body, env, o, failed);
		int full = qf_has_flag(env, 'd') && !qf_has_flag(env, 'n');
		sb_printf(&body, "\n--%s\nContent-Type: %s\n\n", boundary,
			  full ? "message/rfc822" : "text/rfc822-headers");
		original_headers(&body, env);
		if (full && original_body(&body, env) < 0)
			sb_puts(&body, "\n   ----- (the message body could not be read) -----\n");
		sb_printf(&body, "\n--%s--\n", boundary);
	} else {
		sb_puts(&body, "   ----- Original message headers follow -----\n\n");
		original_headers(&body, env);
	}
	enqueue_body(&eq, body.s, body.len);
	struct msg_meta meta = { .local_submission = 1, .sender = "MAILER-DAEMON", .nrcpts = 1,
				 .first_rcpt = NULL };
	msg_complete_headers(&d.headers, eq.qid, &meta);
	qf_set(&d.sender, "<>");
	char rcpt[ADDR_MAXLEN + 3];
	snprintf(rcpt, sizeof(rcpt), "<%s>", to);
	qf_env_add_rcpt(&d, rcpt, "P", NULL);
	d.priority = (long)body.len + conf_num(C_RECIPIENT_FACTOR);
	qf_env_set_macro(&d, "_", "localhost");
	qf_env_set_macro(&d, "r", "internal");
	snprintf(child_qid, child_size, "%s", eq.qid);
	sb_free(&body);
	int rc = enqueue_commit(&eq, &d, err, sizeof(err));
	qf_env_free(&d);
	if (rc < 0) {
		maillog(env->qid, "SYSERR: cannot queue DSN: %s", err);
		return -1;
	}
	const char *reason = "Service unavailable";
	for (size_t i = 0; i < env->nrcpts; i++)
		if (reported(env, o, i, failed)) {
			reason = o[i].stat;
			break;
		}
	if (failed == DSN_SUCCESS)
		maillog(env->qid, "%s: DSN: Return receipt", child_qid);
	else if (failed)
		maillog(env->qid, "%s: DSN: %s", child_qid, reason);
	else
		maillog(env->qid, "%s: DSN: Warning: could not send message for past %s", child_qid,
			conf_str(C_TO_QUEUEWARN));
	return 0;
}
