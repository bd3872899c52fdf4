/* dsn: delivery status notifications (RFC 3464): bounces for permanent
 * failures and delay warnings, from MAILER-DAEMON with the null sender,
 * queued as messages of their own.  The log says "PARENT: CHILD: DSN: reason"
 * as sendmail does. */
#include "deliver_int.h"
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

static void human_part(struct strbuf *b, const struct qf_env *env, const struct rcpt_outcome *o,
		       int failed)
{
	char when[64];
	time_rfc5322(when, sizeof(when), env->ctime);
	const char *relay = qf_env_macro(env, "_");
	sb_printf(b, "The original message was received at %s\nfrom %s\n\n", when, relay ? relay : "localhost");
	if (failed)
		sb_puts(b, "   ----- The following addresses had permanent fatal errors -----\n");
	else
		sb_printf(b, "   ----- The following addresses had transient non-fatal errors -----\n");
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (o[i].result != (failed ? R_FAIL : R_DEFER))
			continue;
		sb_printf(b, "%s\n    (reason: %s)\n", env->rcpts[i].addr, o[i].diag[0] ? o[i].diag : o[i].stat);
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
	sb_printf(b, "Reporting-MTA: dns; %s\n", G.hostname);
	const char *relay = qf_env_macro(env, "_");
	if (relay)
		sb_printf(b, "Received-From-MTA: DNS; %s\n", relay);
	sb_printf(b, "Arrival-Date: %s\n", when);
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (o[i].result != (failed ? R_FAIL : R_DEFER))
			continue;
		char r[ADDR_MAXLEN + 3];
		strip(r, sizeof(r), env->rcpts[i].addr);
		sb_printf(b, "\nFinal-Recipient: RFC822; %s\n", r);
		sb_printf(b, "Action: %s\n", failed ? "failed" : "delayed");
		sb_printf(b, "Status: %s\n", o[i].dsn[0] ? o[i].dsn : (failed ? "5.0.0" : "4.0.0"));
		if (o[i].remote_mta[0])
			sb_printf(b, "Remote-MTA: DNS; %s\n", o[i].remote_mta);
		if (o[i].diag[0])
			sb_printf(b, "Diagnostic-Code: %s; %s\n", o[i].remote_mta[0] ? "SMTP" : "X-Unix", o[i].diag);
		sb_printf(b, "Last-Attempt-Date: %s\n", now);
		if (!failed) {
			char until[64];
			time_rfc5322(until, sizeof(until), env->ctime + conf_num(C_TO_QUEUERETURN));
			sb_printf(b, "Will-Retry-Until: %s\n", until);
		}
	}
}

static void original_headers(struct strbuf *b, const struct qf_env *env)
{
	for (size_t i = 0; i < env->headers.count; i++)
		sb_printf(b, "%s:%s\n", env->headers.h[i].name, env->headers.h[i].value);
}

int dsn_queue(const struct qf_env *env, const struct rcpt_outcome *o, int failed,
	      char *child_qid, size_t child_size)
{
	char to[ADDR_MAXLEN + 3];
	strip(to, sizeof(to), env->sender);
	int null_sender = to[0] == '\0';
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
	if (failed)
		hdrlist_add(&d.headers, "Subject", " Returned mail: see transcript for details");
	else {
		snprintf(value, sizeof(value), " Warning: could not send message for past %s",
			 conf_str(C_TO_QUEUEWARN));
		hdrlist_add(&d.headers, "Subject", value);
	}
	hdrlist_add(&d.headers, "Auto-Submitted", failed ? " auto-generated (failure)" : " auto-generated (delay)");
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
		sb_printf(&body, "\n--%s\nContent-Type: text/rfc822-headers\n\n", boundary);
		original_headers(&body, env);
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
		if (o[i].result == (failed ? R_FAIL : R_DEFER)) {
			reason = o[i].stat;
			break;
		}
	if (failed)
		maillog(env->qid, "%s: DSN: %s", child_qid, reason);
	else
		maillog(env->qid, "%s: DSN: Warning: could not send message for past %s", child_qid,
			conf_str(C_TO_QUEUEWARN));
	return 0;
}
