/* milter_smtpd: the mail filters in the SMTP session.  For each SMTP step
 * the packets filters get (with their macros), the verdict turned into a
 * reply and a log line as sendmail words them, and at end of message the
 * changes filters ask for, applied to the queued message before it is
 * committed: each filter sees what the filters before it changed. */
#include "milter.h"
#include "addr.h"
#include "commit.h"
#include "config.h"
#include "diag.h"
#include "fdio.h"
#include "maillog.h"
#include "smtpd_int.h"
#include "smtp_cmd.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TEMPFAIL_REPLY "451 4.3.2 Please try again later"
#define REJECT_REPLY "550 5.7.1 Command rejected"
#define REJECT_DATA_REPLY "554 5.7.1 Command rejected"

/* One change a filter asked for at end of message. */
struct mod {
	char cmd;
	uint32_t idx;
	char *a, *b;
};

struct eom_ctx {
	struct qf_env env;
	char *msgid;
	int dfd;			/* df, read for the body */
	struct mod *mods;		/* the current filter's, applied when it is done */
	size_t nmods;
	struct strbuf newbody;		/* SMFIR_REPLBODY chunks of the current filter */
	int body_replaced;
	int rcpts_changed;
};

enum { PH_HDR, PH_EOH, PH_BODY, PH_EOM, PH_DONE };

static int hdr_name_ok(const char *n);
static void log_decision(struct smtpd_session *s, struct milter_sess *m, const char *text);

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
	if (!strcmp(n, "msg_id") && m && m->eom && m->eom->msgid)
		return m->eom->msgid;
	return NULL;
}

static void put_macros(struct milter_sess *m, struct mfilter *f, enum mp_stage stage, enum conf_id id,
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
static const char *verdict_reply(const struct milter_sess *m, int data_stage)
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
	put_macros(m, f, MPS_CONNECT, C_MILTER_MACROS_CONNECT, MPC_CONNECT, out);
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

static int usable(struct smtpd_session *s)
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
	put_macros(m, f, MPS_HELO, C_MILTER_MACROS_HELO, MPC_HELO, out);
	const char *h = m->s->helo;
	mp_put_strings(out, MPC_HELO, &h, 1);
	return !milter_filter_skips(f, MPP_NR_HELO);
}

static void cont_helo(struct smtpd_session *s, struct milter_sess *m)
{
	const char *r = verdict_reply(m, 0);
	if (m->verdict == MPR_SHUTDOWN) {
		shutdown_session(s);
		return;
	}
	if (r) {
		char t[600];
		log_text(t, sizeof(t), r);
		log_decision(s, m, m->verdict == MPR_REPLYCODE ? t : NULL);
		maillog("NOQUEUE", "Milter: helo=%s, reject=%s", s->helo, t);
		reply_lines(s, r);
		return;
	}
	smtpd_helo_reply(s);
}

int milter_helo(struct smtpd_session *s)
{
	if (!usable(s) || s->milter->conn_verdict)
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
	put_macros(m, f, MPS_ENVFROM, C_MILTER_MACROS_ENVFROM, MPC_MAIL, out);
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
static void log_decision(struct smtpd_session *s, struct milter_sess *m, const char *text)
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

static void refuse(struct smtpd_session *s, struct milter_sess *m, const char *what, const char *arg, int data_stage)
{
	const char *r = verdict_reply(m, data_stage);
	char t[600];
	log_text(t, sizeof(t), r);
	log_decision(s, m, m->verdict == MPR_REPLYCODE ? t : NULL);
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
	if (verdict_reply(m, 0)) {
		refuse(s, m, "from", s->sender_given, 0);
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
	if (!usable(s))
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
	put_macros(m, f, MPS_ENVRCPT, C_MILTER_MACROS_ENVRCPT, MPC_RCPT, out);
	const char *v[1] = { m->cur_rcpt };
	mp_put_strings(out, MPC_RCPT, v, 1);
	return !milter_filter_skips(f, MPP_NR_RCPT);
}

static void cont_rcpt(struct smtpd_session *s, struct milter_sess *m)
{
	char *given = (char *)m->cur_rcpt;
	m->cur_rcpt = NULL;
	if (verdict_reply(m, 0))
		refuse(s, m, "to", given, 0);
	else
		smtpd_rcpt_accept(s, given);
	if (m->verdict == MPR_DISCARD)
		s->discard = 1;
	free(given);
}

int milter_rcpt(struct smtpd_session *s, const char *given)
{
	if (!usable(s) || s->milter->conn_verdict)
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
	put_macros(m, f, MPS_DATA, C_MILTER_MACROS_DATA, MPC_DATA, out);
	mp_put(out, MPC_DATA, NULL, 0);
	return !milter_filter_skips(f, MPP_NR_DATA);
}

static void cont_data(struct smtpd_session *s, struct milter_sess *m)
{
	if (verdict_reply(m, 1)) {
		refuse(s, m, "data", NULL, 1);
		return;
	}
	if (m->verdict == MPR_DISCARD)
		s->discard = 1;
	smtpd_data_begin(s);
}

int milter_data(struct smtpd_session *s)
{
	if (!usable(s) || s->milter->conn_verdict)
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
	const char *r = verdict_reply(m, 0);
	if (m->verdict == MPR_SHUTDOWN)
		shutdown_session(s);
	else
		smtpd_unknown_reply(s, line, r);
	free(line);
}

int milter_unknown(struct smtpd_session *s, const char *line)
{
	if (!usable(s) || s->milter->conn_verdict)
		return 0;
	free((char *)s->milter->unknown_line);
	s->milter->unknown_line = xstrdup(line);
	return milter_run(s->milter, MO_UNKNOWN, "unknown", step_unknown, NULL, NULL, cont_unknown);
}

/* ---- end of message ---- */

static void eom_free(struct eom_ctx *e)
{
	if (e == NULL)
		return;
	qf_env_free(&e->env);
	free(e->msgid);
	if (e->dfd >= 0)
		close(e->dfd);
	for (size_t i = 0; i < e->nmods; i++) {
		free(e->mods[i].a);
		free(e->mods[i].b);
	}
	free(e->mods);
	sb_free(&e->newbody);
	free(e);
}

/* The next body chunk, LF line ends made CR LF again: 0 at the end. */
static size_t body_chunk(struct eom_ctx *e, long *off, struct strbuf *chunk)
{
	char raw[MP_CHUNK / 2];
	ssize_t n;
	do
		n = pread(e->dfd, raw, sizeof(raw), *off);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	*off += n;
	sb_reset(chunk);
	for (ssize_t i = 0; i < n; i++) {
		if (raw[i] == '\n')
			sb_putc(chunk, '\r');
		sb_putc(chunk, raw[i]);
	}
	return chunk->len;
}

static int step_eom(struct milter_sess *m, struct mfilter *f, struct strbuf *out)
{
	struct eom_ctx *e = m->eom;
	for (;;) {
		switch (f->phase) {
		case PH_HDR:
			if (milter_filter_skips(f, MPP_NOHDRS) || f->idx >= e->env.headers.count) {
				f->phase = PH_EOH;
				continue;
			}
			{
				const struct header *h = &e->env.headers.h[f->idx++];
				const char *v = h->value;
				if (!(f->pflags & MPP_HDR_LEADSPC) && (*v == ' ' || *v == '\t'))
					v++;
				const char *pair[2] = { h->name, v };
				mp_put_strings(out, MPC_HEADER, pair, 2);
			}
			if (!milter_filter_skips(f, MPP_NR_HDR))
				return 1;
			continue;
		case PH_EOH:
			f->phase = PH_BODY;
			if (milter_filter_skips(f, MPP_NOEOH))
				continue;
			put_macros(m, f, MPS_EOH, C_MILTER_MACROS_EOH, MPC_EOH, out);
			mp_put(out, MPC_EOH, NULL, 0);
			if (!milter_filter_skips(f, MPP_NR_EOH))
				return 1;
			continue;
		case PH_BODY: {
			if (milter_filter_skips(f, MPP_NOBODY)) {
				f->phase = PH_EOM;
				continue;
			}
			struct strbuf chunk;
			sb_init(&chunk);
			size_t n = body_chunk(e, &f->body_off, &chunk);
			if (n == 0) {
				sb_free(&chunk);
				f->phase = PH_EOM;
				continue;
			}
			mp_put(out, MPC_BODY, chunk.s, chunk.len);
			sb_free(&chunk);
			if (!milter_filter_skips(f, MPP_NR_BODY))
				return 1;
			continue;
		}
		case PH_EOM:
			f->phase = PH_DONE;
			put_macros(m, f, MPS_EOM, C_MILTER_MACROS_EOM, MPC_BODYEOB, out);
			mp_put(out, MPC_BODYEOB, NULL, 0);
			return 1;
		default:
			return 0;
		}
	}
}

static uint32_t action_needs(char cmd)
{
	switch (cmd) {
	case MPR_ADDHEADER: case MPR_INSHEADER: return MPF_ADDHDRS;
	case MPR_CHGHEADER: return MPF_CHGHDRS;
	case MPR_REPLBODY: return MPF_CHGBODY;
	case MPR_ADDRCPT: return MPF_ADDRCPT;
	case MPR_ADDRCPT_PAR: return MPF_ADDRCPT_PAR;
	case MPR_DELRCPT: return MPF_DELRCPT;
	case MPR_CHGFROM: return MPF_CHGFROM;
	case MPR_QUARANTINE: return MPF_QUARANTINE;
	default: return 0;
	}
}

static int eom_action(struct milter_sess *m, struct mfilter *f, char cmd, const char *data, size_t len)
{
	struct eom_ctx *e = m->eom;
	if (cmd == MPR_SKIP) {
		if (f->phase != PH_BODY)
			return -1;
		f->phase = PH_EOM;
		return 0;
	}
	uint32_t need = action_needs(cmd);
	if (need == 0 || f->phase != PH_DONE)
		return -1;	/* modifications come only after the end of message */
	if (!(f->actions & need))
		return -1;	/* not negotiated */
	if (cmd == MPR_REPLBODY) {
		/* bounded: the message size limit, plus room for what a filter adds */
		long max = conf_num(C_MAX_MESSAGE_SIZE);
		size_t cap = (size_t)64 * 1024 * 1024 + (max > 0 ? (size_t)max : 0);
		if (e->newbody.len + len > cap)
			return -1;
		/* CR LF back to the queue's LF */
		for (size_t i = 0; i < len; i++)
			if (!(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n'))
				sb_putc(&e->newbody, data[i]);
		e->body_replaced = 1;
		return 0;
	}
	struct mod md = { .cmd = cmd };
	const char *strs[3];
	const char *p = data;
	size_t plen = len;
	if (cmd == MPR_INSHEADER || cmd == MPR_CHGHEADER) {
		if (len < 4)
			return -1;
		md.idx = mp_get32(data);
		p += 4;
		plen -= 4;
	}
	int ns = mp_strings(p, plen, strs, 3);
	int want = cmd == MPR_ADDHEADER || cmd == MPR_INSHEADER || cmd == MPR_CHGHEADER ? 2 : 1;
	if (ns < want)
		return -1;
	if (want == 2 && !hdr_name_ok(strs[0]))
		return -1;	/* a field name that would corrupt the header */
	if ((cmd == MPR_ADDRCPT || cmd == MPR_ADDRCPT_PAR || cmd == MPR_DELRCPT || cmd == MPR_CHGFROM) &&
	    (!*strs[0] || !addr_chars_ok(strs[0])))
		return -1;
	md.a = xstrdup(strs[0]);
	md.b = ns > 1 ? xstrdup(strs[1]) : NULL;
	e->mods = xreallocarray(e->mods, e->nmods + 1, sizeof(*e->mods));
	e->mods[e->nmods++] = md;
	return 0;
}

static void strip_brackets(char *buf, size_t size, const char *a)
{
	snprintf(buf, size, "%s", a[0] == '<' ? a + 1 : a);
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '>')
		buf[n - 1] = '\0';
}

/* A header value from a filter as the queue keeps it: CR dropped, a line
 * break always followed by a blank (a filter cannot start a new field or
 * queue record that way), and a leading blank unless the filter sends its
 * own (SMFIP_HDR_LEADSPC). */
static char *hdr_value(const struct mfilter *f, const char *v)
{
	struct strbuf b;
	sb_init(&b);
	if (!(f->pflags & MPP_HDR_LEADSPC) && *v && *v != ' ' && *v != '\t')
		sb_putc(&b, ' ');
	for (const char *p = v; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n') {
			while (p[1] == '\r' || p[1] == '\n')
				p++;
			if (!p[1])
				break;		/* no trailing line end */
			sb_putc(&b, '\n');
			if (p[1] != ' ' && p[1] != '\t')
				sb_putc(&b, '\t');
			continue;
		}
		sb_putc(&b, *p);
	}
	return sb_steal(&b);
}

/* A field name: printable ASCII without blanks or colon (RFC 5322 2.2). */
static int hdr_name_ok(const char *n)
{
	if (!*n || strlen(n) > 200)
		return 0;
	for (const unsigned char *p = (const unsigned char *)n; *p; p++)
		if (*p <= ' ' || *p >= 127 || *p == ':')
			return 0;
	return 1;
}

static long nth_header(const struct header_list *hl, const char *name, uint32_t n)
{
	long at = -1;
	for (uint32_t k = 0; k < (n ? n : 1); k++) {
		at = hdrlist_find(hl, name, (size_t)(at + 1));
		if (at < 0)
			return -1;
	}
	return at;
}

static void header_delete(struct header_list *hl, size_t at)
{
	free(hl->h[at].name);
	free(hl->h[at].value);
	memmove(&hl->h[at], &hl->h[at + 1], (hl->count - at - 1) * sizeof(hl->h[0]));
	hl->count--;
}

static const char *skip_blank(const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

static void apply_mod(struct smtpd_session *s, struct mfilter *f, struct eom_ctx *e, const struct mod *md)
{
	const char *qid = s->eq.qid;
	struct header_list *hl = &e->env.headers;
	char addr[1100], br[1110];
	switch (md->cmd) {
	case MPR_ADDHEADER: {
		char *v = hdr_value(f, md->b);
		hdrlist_add(hl, md->a, v);
		maillog(qid, "Milter add: header: %s:%s", md->a, v);
		free(v);
		break;
	}
	case MPR_INSHEADER: {
		char *v = hdr_value(f, md->b);
		size_t at = md->idx > hl->count ? hl->count : md->idx;
		hdrlist_insert(hl, at, md->a, v);
		maillog(qid, "Milter insert (%u): header: %s:%s", md->idx, md->a, v);
		free(v);
		break;
	}
	case MPR_CHGHEADER: {
		long at = nth_header(hl, md->a, md->idx);
		if (!*md->b) {
			if (at >= 0) {
				maillog(qid, "Milter delete: header: %s: %s", md->a, skip_blank(hl->h[at].value));
				header_delete(hl, (size_t)at);
			}
			break;
		}
		char *v = hdr_value(f, md->b);
		if (at < 0) {
			hdrlist_add(hl, md->a, v);
			maillog(qid, "Milter add: header: %s:%s", md->a, v);
		} else {
			maillog(qid, "Milter change: header: %s: from %s to %s", md->a, skip_blank(hl->h[at].value),
				skip_blank(v));
			free(hl->h[at].value);
			hl->h[at].value = v;
			v = NULL;
		}
		free(v);
		break;
	}
	case MPR_ADDRCPT:
	case MPR_ADDRCPT_PAR: {
		strip_brackets(addr, sizeof(addr), md->a);
		snprintf(br, sizeof(br), "<%s>", addr);
		char flags[8] = "P";
		char *orcpt = NULL;
		if (md->cmd == MPR_ADDRCPT_PAR && md->b) {
			char args[1024];
			snprintf(args, sizeof(args), "%s", md->b);
			char *save = NULL;
			for (char *w = strtok_r(args, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
				if (strncasecmp(w, "NOTIFY=", 7) == 0) {
					size_t k = 1;
					if (strcasestr(w, "SUCCESS")) flags[k++] = 'S';
					if (strcasestr(w, "FAILURE")) flags[k++] = 'F';
					if (strcasestr(w, "DELAY")) flags[k++] = 'D';
					if (strcasestr(w, "NEVER")) flags[k++] = 'N';
					flags[k] = '\0';
				} else if (strncasecmp(w, "ORCPT=", 6) == 0) {
					free(orcpt);
					orcpt = xstrdup(w + 6);
				}
			}
		}
		qf_env_add_rcpt(&e->env, br, flags, orcpt);
		free(orcpt);
		e->rcpts_changed = 1;
		maillog(qid, "Milter add: rcpt: %s%s%s", br, md->b ? " " : "", md->b ? md->b : "");
		break;
	}
	case MPR_DELRCPT: {
		strip_brackets(addr, sizeof(addr), md->a);
		for (size_t i = 0; i < e->env.nrcpts; i++) {
			char have[1100];
			strip_brackets(have, sizeof(have), e->env.rcpts[i].addr);
			if (strcasecmp(have, addr) != 0)
				continue;
			free(e->env.rcpts[i].addr);
			free(e->env.rcpts[i].flags);
			free(e->env.rcpts[i].orcpt);
			memmove(&e->env.rcpts[i], &e->env.rcpts[i + 1], (e->env.nrcpts - i - 1) * sizeof(e->env.rcpts[0]));
			e->env.nrcpts--;
			i--;
		}
		e->rcpts_changed = 1;
		maillog(qid, "Milter delete: rcpt %s", md->a);
		break;
	}
	case MPR_CHGFROM:
		strip_brackets(addr, sizeof(addr), md->a);
		snprintf(br, sizeof(br), "<%s>", addr);
		maillog(qid, "Milter change: from %s to %s%s%s", e->env.sender ? e->env.sender : "<>", br,
			md->b ? " " : "", md->b ? md->b : "");
		qf_set(&e->env.sender, br);
		break;
	case MPR_QUARANTINE:
		qf_set(&e->env.quarantine, md->a);
		maillog(qid, "quarantine=%s", md->a);
		break;
	default:
		break;
	}
}

static void eom_filter_done(struct milter_sess *m, struct mfilter *f)
{
	struct eom_ctx *e = m->eom;
	struct smtpd_session *s = m->s;
	f->in_msg = 0;
	for (size_t i = 0; i < e->nmods; i++) {
		apply_mod(s, f, e, &e->mods[i]);
		free(e->mods[i].a);
		free(e->mods[i].b);
	}
	e->nmods = 0;
	if (e->body_replaced) {
		char err[300];
		if (enqueue_replace_body(&s->eq, e->newbody.s, e->newbody.len, err, sizeof(err)) < 0)
			maillog(s->eq.qid, "SYSERR: Milter (%s): replace body: %s", f->def->name, err);
		else
			maillog(s->eq.qid, "Milter (%s): message body replaced (%zu bytes)", f->def->name, e->newbody.len);
		s->msg_bytes = (long)(e->env.headers.bytes + e->newbody.len);
		sb_reset(&e->newbody);
		e->body_replaced = 0;
	}
}

static void cont_eom(struct smtpd_session *s, struct milter_sess *m)
{
	struct eom_ctx *e = m->eom;
	m->eom = NULL;
	milter_abort_all(m);	/* the filters the message did not reach the end of */
	for (size_t i = 0; i < e->nmods; i++) {
		free(e->mods[i].a);
		free(e->mods[i].b);
	}
	e->nmods = 0;
	if (verdict_reply(m, 1)) {
		refuse(s, m, "data", NULL, 1);
		smtpd_data_abort(s);
		smtpd_reset_transaction(s);
		eom_free(e);
		return;
	}
	int discard = m->verdict == MPR_DISCARD || e->env.nrcpts == 0;
	if (m->verdict == MPR_DISCARD) {
		log_decision(s, m, NULL);
		maillog(s->eq.qid, "Milter: data, discard");
	}
	else if (e->env.nrcpts == 0)
		maillog(s->eq.qid, "Milter: data, no recipients left: discarded");
	int was = s->discard;
	if (discard)
		s->discard = 1;
	smtpd_data_commit(s, &e->env, e->msgid);
	s->discard = was;
	eom_free(e);
}

int milter_eom(struct smtpd_session *s, struct qf_env *env, const char *msgid)
{
	if (!usable(s) || s->milter->conn_verdict || s->eq.failed)
		return 0;
	char err[300];
	if (enqueue_flush(&s->eq, err, sizeof(err)) < 0)
		return 0;	/* the commit reports it */
	char path[2048];
	qf_path(path, sizeof(path), s->eq.qdir, 'd', s->eq.qid);
	int dfd = open(path, O_RDONLY | O_CLOEXEC);
	if (dfd < 0) {
		maillog(s->eq.qid, "SYSERR: Milter: cannot read %s: %s", path, strerror(errno));
		smtpd_reply(s, "451 4.3.0 Cannot read the message for the mail filters; try again later");
		qf_env_free(env);
		smtpd_data_abort(s);
		smtpd_reset_transaction(s);
		return 1;
	}
	struct eom_ctx *e = xcalloc(1, sizeof(*e));
	e->env = *env;
	qf_env_init(env);
	e->msgid = msgid ? xstrdup(msgid) : NULL;
	e->dfd = dfd;
	sb_init(&e->newbody);
	s->milter->eom = e;
	return milter_run(s->milter, MO_EOM, "eom", step_eom, eom_action, eom_filter_done, cont_eom);
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
	eom_free(m->eom);
	m->eom = NULL;
	free((char *)m->cur_rcpt);
	free((char *)m->unknown_line);
	s->milter = NULL;
	milter_sess_free(m);
}
