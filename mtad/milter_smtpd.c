/* milter_smtpd: the mail filters in the SMTP session.  For each SMTP step
 * the packets filters get (with their macros), and the verdict turned into
 * a reply and a log line as sendmail words them.  The end of message is in
 * milter_eom.c. */
#include "milter.h"
#include "milter_int.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "smtpd_int.h"
#include "smtp_cmd.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- macros ---- */

static const char *macro_value(struct smtpd_session *s, const char *name, char *buf, size_t size)
{
	char n[64];
	size_t len = strlen(name);
	if (len > 2 && name[0] == '{' && name[len - 1] == '}')
		snprintf(n, sizeof(n), "%.*s", (int)(len - 2), name + 1);
	else
		snprintf(n, sizeof(n), "%s", name);
	struct milter_sess *m = s->milter;
	if (!strcmp(n, "j"))
		return G.hostname;
	if (!strcmp(n, "_"))
		return s->relay;
	if (!strcmp(n, "i"))
		return s->eq_open ? s->eq.qid : NULL;
	if (!strcmp(n, "daemon_name"))
		return s->daemon_name;
	if (!strcmp(n, "if_name"))
		return G.hostname;
	if (!strcmp(n, "if_addr") && !s->local_bs) {
		struct sockaddr_storage la;
		socklen_t ll = sizeof(la);
		if (getsockname(s->fd, (struct sockaddr *)&la, &ll) < 0 ||
		    getnameinfo((struct sockaddr *)&la, ll, buf, size, NULL, 0, NI_NUMERICHOST) != 0)
			return NULL;
		if (strncmp(buf, "::ffff:", 7) == 0)
			memmove(buf, buf + 7, strlen(buf + 7) + 1);
		return buf;
	}
	if (!strcmp(n, "client_addr"))
		return s->client_ip;
	if (!strcmp(n, "client_name"))
		return s->client_name[0] ? s->client_name : NULL;
	if (!strcmp(n, "client_resolve"))
		return s->client_name[0] ? "OK" : "FAIL";
	if (!strcmp(n, "s"))
		return s->helo[0] ? s->helo : NULL;
	if (!strcmp(n, "r"))
		return smtpd_proto(s);
	if (!strcmp(n, "v"))
		return MTAD_VERSION;
	if (s->tls_active) {
		if (!strcmp(n, "tls_version"))
			return s->tls.version;
		if (!strcmp(n, "cipher"))
			return s->tls.cipher;
		if (!strcmp(n, "cipher_bits")) {
			snprintf(buf, size, "%d", s->tls.bits);
			return buf;
		}
		if (!strcmp(n, "verify"))
			return s->tls.verify;
	}
	if (s->auth_user[0]) {
		if (!strcmp(n, "auth_type"))
			return s->auth_mech;
		if (!strcmp(n, "auth_authen"))
			return s->auth_user;
	}
	if (!strcmp(n, "mail_addr") && s->sender)
		return s->sender;
	if (!strcmp(n, "mail_mailer") && s->sender)
		return s->local_bs ? "local" : "esmtp";
	if (!strcmp(n, "mail_host") && s->sender) {
		const char *at = strrchr(s->sender, '@');
		return at ? at + 1 : G.hostname;
	}
	if (m && m->cur_rcpt && (!strcmp(n, "rcpt_addr") || !strcmp(n, "rcpt_host") || !strcmp(n, "rcpt_mailer"))) {
		const char *r = m->cur_rcpt;
		snprintf(buf, size, "%s", r[0] == '<' ? r + 1 : r);
		size_t bl = strlen(buf);
		if (bl && buf[bl - 1] == '>')
			buf[bl - 1] = '\0';
		char *at = strrchr(buf, '@');
		if (!strcmp(n, "rcpt_addr"))
			return buf;
		if (!strcmp(n, "rcpt_host"))
			return at ? at + 1 : G.hostname;
		return !at || conf_is_local_domain(at + 1) ? "local" : "esmtp";
	}
	if (!strcmp(n, "msg_id") && m && m->eom)
		return milter_eom_msgid(m->eom);
	return NULL;
}

void milter_put_macros(struct milter_sess *m, struct mfilter *f, enum mp_stage stage, enum conf_id id,
		       char cmd, struct strbuf *out)
{
	const char *list = f->symlist[stage] ? f->symlist[stage] : conf_str(id);
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", list);
	const char *names[64], *values[64];
	char bufs[64][256];
	size_t n = 0;
	char *save = NULL;
	for (char *w = strtok_r(copy, ", \t`'", &save); w && n < 64; w = strtok_r(NULL, ", \t`'", &save)) {
		const char *v = macro_value(m->s, w, bufs[n], sizeof(bufs[n]));
		if (v == NULL)
			continue;
		names[n] = w;
		values[n] = v;
		n++;
	}
	/* mtad gives a message its queue ID at DATA, not at MAIL: "i" comes
	 * again with the end of message, where filters log it */
	if (stage == MPS_EOM && n < 64) {
		int have = 0;
		for (size_t k = 0; k < n; k++)
			have |= strcmp(names[k], "i") == 0;
		const char *qid = macro_value(m->s, "i", bufs[n], sizeof(bufs[n]));
		if (!have && qid) {
			names[n] = "i";
			values[n] = qid;
			n++;
		}
	}
	if (n)
		mp_put_macros(out, cmd, names, values, n);
}

/* ---- replies ---- */

static void reply_lines(struct smtpd_session *s, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *eol = strpbrk(p, "\r\n");
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		smtpd_reply(s, "%.*s", (int)n, p);
		p += n;
		while (*p == '\r' || *p == '\n')
			p++;
	}
}

/* The reply for a verdict that refuses; NULL when the step goes on. */
const char *milter_verdict_reply(const struct milter_sess *m, int data_stage)
{
	switch (m->verdict) {
	case MPR_REPLYCODE: return m->reply;
	case MPR_REJECT: return data_stage ? REJECT_DATA_REPLY : REJECT_REPLY;
	case MPR_TEMPFAIL: return TEMPFAIL_REPLY;
	case MPR_SHUTDOWN: return "421 4.7.0 Closing connection";
	default: return NULL;
	}
}

/* The reply text on one line, for logs. */
static void log_text(char *buf, size_t size, const char *reply)
{
	size_t n = 0;
	for (const char *p = reply; *p && n + 1 < size; p++) {
		if (*p == '\r')
			continue;
		buf[n++] = *p == '\n' ? ' ' : *p;
	}
	buf[n] = '\0';
}

static void shutdown_session(struct smtpd_session *s)
{
	smtpd_reply(s, "421 4.7.0 %s closing connection", G.hostname);
	s->done = 1;
	smtpd_enter_state(s, SS_CLOSED);
}

/* ---- connect ---- */

static int step_connect(struct milter_sess *m, struct mfilter *f, struct strbuf *out)
{
	struct smtpd_session *s = m->s;
	if (f->phase++ > 0)
		return 0;
	if (milter_filter_skips(f, MPP_NOCONNECT))
		return 0;	/* nor its macros, as sendmail */
	milter_put_macros(m, f, MPS_CONNECT, C_MILTER_MACROS_CONNECT, MPC_CONNECT, out);
	char host[300];
	snprintf(host, sizeof(host), s->client_name[0] ? "%s" : "[%s]", s->client_name[0] ? s->client_name : s->client_ip);
	if (s->local_bs || s->peerlen == 0) {
		mp_put_connect(out, "localhost", 'U', 0, NULL);
	} else {
		uint16_t port = 0;
		char fam = '4';
		if (s->peer.ss_family == AF_INET6) {
			port = ntohs(((struct sockaddr_in6 *)&s->peer)->sin6_port);
			fam = strchr(s->client_ip, ':') ? '6' : '4';
		} else {
			port = ntohs(((struct sockaddr_in *)&s->peer)->sin_port);
		}
		mp_put_connect(out, host, fam, port, s->client_ip);
	}
	return !milter_filter_skips(f, MPP_NR_CONN);
}

static void cont_connect(struct smtpd_session *s, struct milter_sess *m)
{
	m->conn_verdict = 0;
	switch (m->verdict) {
	case MPR_REJECT:
	case MPR_REPLYCODE:
		if (m->verdict == MPR_REPLYCODE && m->reply[0] == '4')
			goto tempfail;
		maillog("NOQUEUE", "Milter: connect: host=%s, addr=%s, rejecting commands",
			s->client_name[0] ? s->client_name : s->client_ip, s->client_ip);
		m->conn_verdict = MPR_REJECT;
		smtpd_reply(s, "554 %s ESMTP not accepting messages", G.hostname);
		s->greet_rejected = 1;
		s->mail_count++;	/* logged already */
		smtpd_enter_state(s, SS_READY);
		return;
	case MPR_TEMPFAIL:
	tempfail:
		maillog("NOQUEUE", "Milter: connect: host=%s, addr=%s, temp failing commands",
			s->client_name[0] ? s->client_name : s->client_ip, s->client_ip);
		m->conn_verdict = MPR_TEMPFAIL;
		break;
	case MPR_SHUTDOWN:
		shutdown_session(s);
		return;
	case MPR_DISCARD:
		m->conn_verdict = MPR_DISCARD;
		break;
	default:
		break;
	}
	smtpd_greet_reply(s);
}

int milter_connect(struct smtpd_session *s)
{
	if (milter_count() == 0)
		return 0;
	if (s->milter == NULL)
		s->milter = milter_sess_new(s);
	return milter_run(s->milter, MO_CONNECT, "connect", step_connect, NULL, NULL, cont_connect);
}

int milter_usable(struct smtpd_session *s)
{
	return s->milter && milter_active(s->milter);
}

/* ---- HELO ---- */

static int step_helo(struct milter_sess *m, struct mfilter *f, struct strbuf *out)
{
	if (f->phase++ > 0)
		return 0;
	if (milter_filter_skips(f, MPP_NOHELO))
		return 0;
	milter_put_macros(m, f, MPS_HELO, C_MILTER_MACROS_HELO, MPC_HELO, out);
	const char *h = m->s->helo;
	mp_put_strings(out, MPC_HELO, &h, 1);
	return !milter_filter_skips(f, MPP_NR_HELO);
}

static void cont_helo(struct smtpd_session *s, struct milter_sess *m)
{
	const char *r = milter_verdict_reply(m, 0);
	if (m->verdict == MPR_SHUTDOWN) {
		shutdown_session(s);
		return;
	}
	if (r) {
		char t[600];
		log_text(t, sizeof(t), r);
		milter_log_decision(s, m, m->verdict == MPR_REPLYCODE ? t : NULL);
		maillog("NOQUEUE", "Milter: helo=%s, reject=%s", s->helo, t);
		reply_lines(s, r);
		return;
	}
	smtpd_helo_reply(s);
}

int milter_helo(struct smtpd_session *s)
{
	if (!milter_usable(s) || s->milter->conn_verdict)
		return 0;
	return milter_run(s->milter, MO_HELO, "helo", step_helo, NULL, NULL, cont_helo);
}

/* ---- MAIL ---- */

void milter_set_mail_args(struct smtpd_session *s, const struct smtp_mailrcpt *mr)
{
	struct milter_sess *m = s->milter;
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nmail_args; i++)
		free(m->mail_args[i]);
	free(m->mail_args);
	size_t n = mr->nparams;
	m->mail_args = n ? xcalloc(n, sizeof(char *)) : NULL;
	m->nmail_args = n;
	for (size_t i = 0; i < n; i++) {
		const struct esmtp_param *p = &mr->params[i];
		size_t len = strlen(p->key) + (p->value ? strlen(p->value) + 1 : 0) + 1;
		m->mail_args[i] = xmalloc(len);
		if (p->value)
			snprintf(m->mail_args[i], len, "%s=%s", p->key, p->value);
		else
			snprintf(m->mail_args[i], len, "%s", p->key);
	}
}

static int step_mail(struct milter_sess *m, struct mfilter *f, struct strbuf *out)
{
	if (f->phase++ > 0)
		return 0;
	f->in_msg = 1;
	if (milter_filter_skips(f, MPP_NOMAIL))
		return 0;
	milter_put_macros(m, f, MPS_ENVFROM, C_MILTER_MACROS_ENVFROM, MPC_MAIL, out);
	const char *v[1 + 32];
	size_t n = 0;
	char from[1100];
	snprintf(from, sizeof(from), "<%s>", m->s->sender);
	v[n++] = from;
	for (size_t i = 0; i < m->nmail_args && n < 33; i++)
		v[n++] = m->mail_args[i];
	mp_put_strings(out, MPC_MAIL, v, n);
	return !milter_filter_skips(f, MPP_NR_MAIL);
}

/* sendmail's per-filter line: which filter decided, at which step */
void milter_log_decision(struct smtpd_session *s, struct milter_sess *m, const char *text)
{
	if (m->failed_filter || !m->decided_by[0])
		return;		/* the F= flag decided: "to error state" said it */
	const char *qid = s->eq_open ? s->eq.qid : "NOQUEUE";
	if (m->verdict == MPR_DISCARD)
		maillog(qid, "milter=%s, action=%s, discard", m->decided_by, m->where);
	else if (m->verdict == MPR_REJECT && text == NULL)
		maillog(qid, "milter=%s, action=%s, reject", m->decided_by, m->where);
	else if (m->verdict == MPR_TEMPFAIL)
		maillog(qid, "milter=%s, action=%s, tempfail", m->decided_by, m->where);
	else if (text)
		maillog(qid, "milter=%s, action=%s, reject=%s", m->decided_by, m->where, text);
}

void milter_refuse(struct smtpd_session *s, struct milter_sess *m, const char *what, const char *arg, int data_stage)
{
	const char *r = milter_verdict_reply(m, data_stage);
	char t[600];
	log_text(t, sizeof(t), r);
	milter_log_decision(s, m, m->verdict == MPR_REPLYCODE ? t : NULL);
	if (arg)
		maillog(s->eq_open ? s->eq.qid : "NOQUEUE", "Milter: %s=%s, reject=%s", what, arg, t);
	else
		maillog(s->eq_open ? s->eq.qid : "NOQUEUE", "Milter: %s, reject=%s", what, t);
	if (m->verdict == MPR_SHUTDOWN)
		shutdown_session(s);
	else
		reply_lines(s, r);
}

static void cont_mail(struct smtpd_session *s, struct milter_sess *m)
{
	if (milter_verdict_reply(m, 0)) {
		milter_refuse(s, m, "from", s->sender_given, 0);
		smtpd_reset_transaction(s);
		return;
	}
	if (m->verdict == MPR_DISCARD)
		s->discard = 1;
	smtpd_mail_accept(s);
}

int milter_mail_refused(struct smtpd_session *s)
{
	struct milter_sess *m = s->milter;
	if (m == NULL || m->conn_verdict != MPR_TEMPFAIL)
		return 0;
	smtpd_reply(s, "%s", TEMPFAIL_REPLY);
	return 1;
}

int milter_mail(struct smtpd_session *s)
{
	if (!milter_usable(s))
		return 0;
	if (s->milter->conn_verdict == MPR_DISCARD)
		s->discard = 1;
	if (s->milter->conn_verdict)
		return 0;
	return milter_run(s->milter, MO_MAIL, "mail", step_mail, NULL, NULL, cont_mail);
}

/* ---- RCPT ---- */

static int step_rcpt(struct milter_sess *m, struct mfilter *f, struct strbuf *out)
{
	if (f->phase++ > 0)
		return 0;
	if (milter_filter_skips(f, MPP_NORCPT))
		return 0;
	milter_put_macros(m, f, MPS_ENVRCPT, C_MILTER_MACROS_ENVRCPT, MPC_RCPT, out);
	const char *v[1] = { m->cur_rcpt };
	mp_put_strings(out, MPC_RCPT, v, 1);
	return !milter_filter_skips(f, MPP_NR_RCPT);
}

static void cont_rcpt(struct smtpd_session *s, struct milter_sess *m)
{
	char *given = (char *)m->cur_rcpt;
	m->cur_rcpt = NULL;
	if (milter_verdict_reply(m, 0))
		milter_refuse(s, m, "to", given, 0);
	else
		smtpd_rcpt_accept(s, given);
	if (m->verdict == MPR_DISCARD)
		s->discard = 1;
	free(given);
}

int milter_rcpt(struct smtpd_session *s, const char *given)
{
	if (!milter_usable(s) || s->milter->conn_verdict)
		return 0;
	free((char *)s->milter->cur_rcpt);
	s->milter->cur_rcpt = xstrdup(given);
	return milter_run(s->milter, MO_RCPT, "rcpt", step_rcpt, NULL, NULL, cont_rcpt);
}

/* ---- DATA ---- */

static int step_data(struct milter_sess *m, struct mfilter *f, struct strbuf *out)
{
	if (f->phase++ > 0)
		return 0;
	if (milter_filter_skips(f, MPP_NODATA))
		return 0;
	milter_put_macros(m, f, MPS_DATA, C_MILTER_MACROS_DATA, MPC_DATA, out);
	mp_put(out, MPC_DATA, NULL, 0);
	return !milter_filter_skips(f, MPP_NR_DATA);
}

static void cont_data(struct smtpd_session *s, struct milter_sess *m)
{
	if (milter_verdict_reply(m, 1)) {
		milter_refuse(s, m, "data", NULL, 1);
		return;
	}
	if (m->verdict == MPR_DISCARD)
		s->discard = 1;
	smtpd_data_begin(s);
}

int milter_data(struct smtpd_session *s)
{
	if (!milter_usable(s) || s->milter->conn_verdict)
		return 0;
	return milter_run(s->milter, MO_DATA, "data", step_data, NULL, NULL, cont_data);
}

/* ---- unknown commands ---- */

static int step_unknown(struct milter_sess *m, struct mfilter *f, struct strbuf *out)
{
	if (f->phase++ > 0 || milter_filter_skips(f, MPP_NOUNKNOWN))
		return 0;
	const char *v[1] = { m->unknown_line };
	mp_put_strings(out, MPC_UNKNOWN, v, 1);
	return !milter_filter_skips(f, MPP_NR_UNKN);
}

static void cont_unknown(struct smtpd_session *s, struct milter_sess *m)
{
	char *line = (char *)m->unknown_line;
	m->unknown_line = NULL;
	const char *r = milter_verdict_reply(m, 0);
	if (m->verdict == MPR_SHUTDOWN)
		shutdown_session(s);
	else
		smtpd_unknown_reply(s, line, r);
	free(line);
}

int milter_unknown(struct smtpd_session *s, const char *line)
{
	if (!milter_usable(s) || s->milter->conn_verdict)
		return 0;
	free((char *)s->milter->unknown_line);
	s->milter->unknown_line = xstrdup(line);
	return milter_run(s->milter, MO_UNKNOWN, "unknown", step_unknown, NULL, NULL, cont_unknown);
}

void milter_abort(struct smtpd_session *s)
{
	if (s->milter && !s->milter->busy)
		milter_abort_all(s->milter);
}

void milter_close(struct smtpd_session *s)
{
	struct milter_sess *m = s->milter;
	if (m == NULL)
		return;
	milter_eom_free(m->eom);
	m->eom = NULL;
	free((char *)m->cur_rcpt);
	free((char *)m->unknown_line);
	s->milter = NULL;
	milter_sess_free(m);
}
