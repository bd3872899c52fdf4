/* smtpd_data: the DATA automaton.  Only CR LF "." CR LF ends a message.
 * A bare LF or bare CR never ends it and never starts a new command: the
 * message is read to its real end and then refused (554 5.6.11), so one
 * transaction can never be split into two (SMTP smuggling).  Headers are
 * kept in memory up to MaxHeadersLength; the body streams to df. */
#include "smtpd_int.h"
#include "commit.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "milter.h"
#include "xalloc.h"
#include <strings.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TEXT_LINE_MAX (SMTP_TEXT_MAXLEN - 2)	/* octets before CRLF */

/* With mail filters, DATA's df file is created in the disk lane before the
 * 354 (the filters read it; a file creation can wait on the journal behind
 * other sessions' syncs); without, by the commit (smtpd_data_begin). */
struct open_job {
	struct work w;
	struct enqueue eq;
	int rc;
	char err[512];
};

static void data_ready(struct smtpd_session *s);

static void open_run(struct work *w)
{
	struct open_job *j = (struct open_job *)w;
	j->rc = enqueue_open(&j->eq, j->err, sizeof(j->err));
}

static void open_done(struct work *w)
{
	struct open_job *j = (struct open_job *)w;
	struct smtpd_session *s = w->session;
	if (s == NULL) {		/* the client left: the df goes too */
		if (j->rc == 0)
			enqueue_abort(&j->eq);
	} else {
		s->waiting = NULL;
		if (j->rc < 0) {
			msg_error("%s", j->err);
			smtpd_reply(s, "451 4.3.0 Cannot create queue file; try again later");
		} else {
			s->eq = j->eq;
			data_ready(s);
		}
	}
	free(j);
}

/* The message keeps the ID its transaction logged under since MAIL. */
static void use_txn_qid(const struct smtpd_session *s, struct enqueue *eq)
{
	if (s->txn_qid[0])
		snprintf(eq->qid, sizeof(eq->qid), "%s", s->txn_qid);
}

void smtpd_data_begin(struct smtpd_session *s)
{
	char err[512];
	if (workq_async() && milter_count() == 0) {
		/* no filter reads df before the commit: it is created there,
		 * off the loop, with the body buffered meanwhile (or when the
		 * body first fills the buffer), and the 354 goes out now */
		enqueue_prepare(&s->eq, mtad_queue_dir());
		use_txn_qid(s, &s->eq);
		enqueue_open_later(&s->eq);
		data_ready(s);
		return;
	}
	if (workq_async()) {
		struct open_job *j = xcalloc(1, sizeof(*j));
		enqueue_prepare(&j->eq, mtad_queue_dir());
		use_txn_qid(s, &j->eq);
		j->w.run = open_run;
		j->w.done = open_done;
		j->w.session = s;
		s->waiting = &j->w;
		workq_submit(&j->w);
		return;
	}
	enqueue_prepare(&s->eq, mtad_queue_dir());
	use_txn_qid(s, &s->eq);
	if (enqueue_open(&s->eq, err, sizeof(err)) < 0 &&
	    (errno != EEXIST || enqueue_begin(&s->eq, mtad_queue_dir(), err, sizeof(err)) < 0)) {
		msg_error("%s", err);
		smtpd_reply(s, "451 4.3.0 Cannot create queue file; try again later");
		return;
	}
	data_ready(s);
}

static void data_ready(struct smtpd_session *s)
{
	s->eq_open = 1;
	s->in_headers = 1;
	s->prev_crlf = 1;
	s->pending_cr = 0;
	s->bare_lf = s->bare_cr = s->long_line = s->too_big = s->headers_too_big = s->nul_byte = 0;
	s->msg_bytes = 0;
	sb_reset(&s->hdrtext);
	sb_reset(&s->line);
	smtpd_enter_state(s, SS_DATA);
	smtpd_reply(s, "354 Enter mail, end with \".\" on a line by itself");
}

void smtpd_data_abort(struct smtpd_session *s)
{
	if (s->eq_open)
		enqueue_abort(&s->eq);
	s->eq_open = 0;
	sb_reset(&s->hdrtext);
	sb_reset(&s->line);
}

static void body_line(struct smtpd_session *s, const char *text, size_t len)
{
	if (len > 0 && text[0] == '.') {	/* dot-unstuffing */
		text++;
		len--;
		s->msg_bytes--;		/* size= counts the message, not its transport */
	}
	enqueue_body(&s->eq, text, len);
	enqueue_body(&s->eq, "\n", 1);
}

static void message_line(struct smtpd_session *s, const char *text, size_t len)
{
	s->msg_bytes += (long)len + 1;
	for (size_t i = 0; i < len && !s->eightbit; i++)
		if ((unsigned char)text[i] & 0x80)
			s->eightbit = 1;	/* sendmail's F8 */
	long max = conf_num(C_MAX_MESSAGE_SIZE);
	if (max > 0 && s->msg_bytes > max)
		s->too_big = 1;
	if (s->too_big)
		return;
	if (s->in_headers) {
		if (len == 0) {
			s->in_headers = 0;
			return;
		}
		if ((s->hdrtext.len > 0 && hdr_is_continuation(text, len)) || hdr_name_len(text, len) > 0) {
			if (s->hdrtext.len + len + 1 > (size_t)conf_num(C_MAX_HEADERS_LENGTH))
				s->headers_too_big = 1;
			else {
				sb_append(&s->hdrtext, text, len);
				sb_putc(&s->hdrtext, '\n');
			}
			return;
		}
		s->in_headers = 0;	/* not a header: the body begins here */
	}
	body_line(s, text, len);
}

static const char *reject_reason(struct smtpd_session *s, char *buf, size_t size)
{
	if (s->bare_lf || s->bare_cr)
		return "554 5.6.11 Bare LF or CR in message data; lines must end with CRLF";
	if (s->nul_byte)
		return "554 5.6.0 NUL character in message data";
	if (s->too_big) {
		snprintf(buf, size, "552 5.3.4 Message size exceeds fixed maximum message size (%ld)",
			 conf_num(C_MAX_MESSAGE_SIZE));
		return buf;
	}
	if (s->long_line) {
		snprintf(buf, size, "552 5.6.0 Line too long in message data (limit %d octets)", SMTP_TEXT_MAXLEN);
		return buf;
	}
	if (s->headers_too_big) {
		snprintf(buf, size, "552 5.6.0 Headers too large (%ld max)", conf_num(C_MAX_HEADERS_LENGTH));
		return buf;
	}
	return NULL;
}

static void data_finish(struct smtpd_session *s)
{
	char buf[512];
	const char *reject = reject_reason(s, buf, sizeof(buf));
	struct qf_env env;
	qf_env_init(&env);
	hdr_parse_block(&env.headers, s->hdrtext.s, s->hdrtext.len);
	size_t hops = hdrlist_count(&env.headers, "Received");
	if (!reject && (long)hops >= conf_num(C_MAX_HOP)) {
		snprintf(buf, sizeof(buf), "554 5.4.6 Too many hops %zu (%ld max): from %s via %s, to %s",
			 hops + 1, conf_num(C_MAX_HOP), s->sender_given, G.hostname, s->rcpts[0]);
		reject = buf;
	}
	if (reject) {
		maillog(s->eq.qid, "%s; from=%s, relay=%s", reject + 4, s->sender_given, s->relay);
		smtpd_reply(s, "%s", reject);
		goto done;
	}
	struct msg_meta meta = {
		.helo = s->helo[0] ? s->helo : NULL,
		.client_name = s->client_name,
		.client_ip = s->client_ip,
		.proto = smtpd_proto(s),
		.tls = s->tls_active ? &s->tls : NULL,
		.auth = s->auth_user[0] ? s->auth_user : NULL,
		.first_rcpt = s->rcpts[0],
		.nrcpts = (int)s->nrcpts,
		.local_submission = 0,
		.sender = s->sender,
	};
	const char *msgid = msg_complete_headers(&env.headers, s->eq.qid, &meta);
	char *sender = xmalloc(strlen(s->sender) + 3);
	sprintf(sender, "<%s>", s->sender);
	qf_set(&env.sender, sender);
	free(sender);
	for (size_t i = 0; i < s->nrcpts; i++)
		qf_env_add_rcpt(&env, s->rcpts[i], s->rcpt_flags ? s->rcpt_flags[i] : "P",
				s->rcpt_orcpt ? s->rcpt_orcpt[i] : NULL);
	if (s->envid)
		qf_set(&env.envid, s->envid);
	if (s->eightbit)
		qf_add_flag(&env, '8');
	if (s->ret)
		qf_add_flag(&env, 'd');
	if (s->ret == 'H')
		qf_add_flag(&env, 'n');
	env.priority = s->msg_bytes + conf_num(C_RECIPIENT_FACTOR) * (long)s->nrcpts;
	env.ctime = time(NULL);
	env.ktime = 0;
	if (s->body_type)
		qf_set(&env.bodytype, s->body_type);
	qf_env_set_macro(&env, "_", s->relay);
	qf_env_set_macro(&env, "r", smtpd_proto(s));
	if (s->auth_user[0])
		qf_set(&env.auth, s->auth_user);
	if (s->helo[0])
		qf_env_set_macro(&env, "s", s->helo);
	if (s->daemon_name)
		qf_env_set_macro(&env, "daemon_name", s->daemon_name);
	if (!s->local_bs) {	/* sendmail's: the listener's M= flags, blank-separated */
		char df[2 * sizeof(s->modifiers)] = "";
		for (size_t i = 0, n = 0; s->modifiers[i] && n + 2 < sizeof(df); i++) {
			if (n)
				df[n++] = ' ';
			df[n++] = s->modifiers[i];
			df[n] = '\0';
		}
		qf_env_set_macro(&env, "daemon_flags", df);
	}
	if (!s->discard && milter_eom(s, &env, msgid))
		return;		/* the filters have the message (and env) */
	smtpd_data_commit(s, &env, msgid);
	return;
done:
	smtpd_data_abort(s);
	qf_env_free(&env);
	s->eq_open = 0;
	sb_reset(&s->hdrtext);
	smtpd_reset_transaction(s);
}

void smtpd_data_commit(struct smtpd_session *s, struct qf_env *envp, const char *msgid)
{
	struct qf_env env = *envp;
	qf_env_init(envp);
	char qid[QID_MAXLEN];
	snprintf(qid, sizeof(qid), "%s", s->eq.qid);
	if (s->discard) {	/* access DISCARD: the client is told yes, nothing is kept */
		maillog(qid, "discarded: from=%s, relay=%s", s->sender_given, s->relay);
		smtpd_reply(s, "250 2.0.0 %s Message accepted for delivery", qid);
		smtpd_data_abort(s);
		goto done_env;
	}
	/* the commit: in a worker thread in the daemon, here otherwise */
	struct commit_job *job = xcalloc(1, sizeof(*job));
	job->eq = s->eq;
	s->eq_open = 0;
	memset(&s->eq, 0, sizeof(s->eq));
	job->env = env;
	qf_env_init(&env);
	snprintf(job->qid, sizeof(job->qid), "%s", qid);
	/* a mail filter may have changed the sender (SMFIR_CHGFROM) */
	size_t olen = strlen(s->sender) + 3;
	char *orig = xmalloc(olen);
	snprintf(orig, olen, "<%s>", s->sender);
	const char *now_from = job->env.sender;
	job->sender_given = xstrdup(now_from && strcmp(now_from, orig) != 0 ? now_from : s->sender_given);
	free(orig);
	job->msgid = msgid ? xstrdup(msgid) : NULL;
	job->relay = xstrdup(s->relay);
	job->daemon = s->local_bs || !s->daemon_name ? NULL : xstrdup(s->daemon_name);
	job->proto = xstrdup(smtpd_proto(s));
	if (s->tls_active || s->auth_user[0]) {
		struct strbuf x;
		sb_init(&x);
		if (s->tls_active)
			sb_printf(&x, "tls_verify=%s, tls_version=%s, tls_cipher=%s", s->tls.verify,
				  s->tls.version, s->tls.cipher);
		if (s->auth_user[0])
			sb_printf(&x, "%sauth=%s", x.len ? ", " : "", s->auth_user);
		job->extra = xstrdup(x.s);
		sb_free(&x);
	}
	job->size = s->msg_bytes;
	job->nrcpts = (int)job->env.nrcpts;
	commit_job_init(job, s);
	sb_reset(&s->hdrtext);
	smtpd_reset_transaction(s);
	qf_env_free(&env);
	if (workq_async()) {
		s->waiting = &job->w;
		workq_submit(&job->w);
		return;
	}
	workq_inline(&job->w);
	return;
done_env:
	qf_env_free(&env);
	s->eq_open = 0;
	sb_reset(&s->hdrtext);
	smtpd_reset_transaction(s);
}

/* A commit came back: log, answer the client (if it is still there), hand
 * the ID to delivery.  Frees the job. */
void smtpd_commit_done(struct commit_job *job)
{
	struct smtpd_session *s = job->w.session;
	if (job->rc < 0) {
		int nospace = job->err_no == ENOSPC || job->err_no == EDQUOT;
		msg_error("%s: queue write failed: %s", job->qid, job->err);
		maillog(job->qid, "SYSERR: queue write failed: %s", job->err);
		if (s)
			smtpd_reply(s, nospace ? "452 4.3.1 Insufficient disk space; try again later"
					       : "451 4.3.0 Error writing queue file; try again later");
	} else {
		struct maillog_from f = {
			.sender = job->sender_given, .size = job->size, .class = 0, .nrcpts = job->nrcpts,
			.msgid = job->msgid, .proto = job->proto, .daemon = job->daemon, .relay = job->relay,
			.extra = job->extra, .bodytype = job->env.bodytype,
		};
		maillog_from_line(job->qid, &f);
		if (s)
			smtpd_reply(s, "250 2.0.0 %s Message accepted for delivery", job->qid);
		if (smtpd_queued_hook)
			smtpd_queued_hook(job->qid);
	}
	if (s)
		s->waiting = NULL;
	commit_job_free(job);
}

/* Called at each line end; returns 1 when the message is complete. */
static int line_end(struct smtpd_session *s, int crlf)
{
	if (crlf && s->prev_crlf && s->line.len == 1 && s->line.s[0] == '.' && !s->long_line_cur) {
		sb_reset(&s->line);
		data_finish(s);
		return 1;
	}
	s->prev_crlf = crlf;
	s->lines++;
	if (!crlf)
		s->bare_lf = 1;
	message_line(s, s->line.s, s->line.len);
	sb_reset(&s->line);
	s->long_line_cur = 0;
	return 0;
}

static void line_append(struct smtpd_session *s, const char *p, size_t n)
{
	if (s->line.len + n > TEXT_LINE_MAX) {
		s->long_line = 1;
		s->long_line_cur = 1;
		if (s->line.len < TEXT_LINE_MAX)
			sb_append(&s->line, p, TEXT_LINE_MAX - s->line.len);
		return;
	}
	sb_append(&s->line, p, n);
}

size_t smtpd_data_input(struct smtpd_session *s, const char *data, size_t len)
{
	size_t i = 0;
	while (i < len) {
		char c = data[i];
		if (s->pending_cr) {
			s->pending_cr = 0;
			if (c == '\n') {
				i++;
				if (line_end(s, 1))
					return i;
				continue;
			}
			s->bare_cr = 1;
			line_append(s, "\r", 1);
		}
		if (c == '\r') {
			s->pending_cr = 1;
			i++;
			continue;
		}
		if (c == '\n') {
			i++;
			line_end(s, 0);
			continue;
		}
		/* a run of ordinary bytes */
		size_t j = i;
		while (j < len && data[j] != '\r' && data[j] != '\n') {
			if (data[j] == '\0')
				s->nul_byte = 1;
			j++;
		}
		line_append(s, data + i, j - i);
		i = j;
	}
	return i;
}
