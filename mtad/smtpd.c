/* smtpd: the SMTP server session, as a state machine over bytes in and
 * replies out, so the same code serves the daemon's event loop and -bs on
 * stdin/stdout.  Commands go through a table ({verb, handler, flags});
 * DATA is its own strict automaton in smtpd_data.c. */
#include "smtpd_int.h"
#include "ldaproute.h"
#include "commit.h"
#include "local.h"
#include "milter.h"
#include "policy.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "dsnparam.h"
#include "qid.h"
#include "smtp_cmd.h"
#include "timefmt.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void (*smtpd_queued_hook)(const char *qid);

#define MAX_BAD_COMMANDS 25

static void bad_command(struct smtpd_session *s);
static int tls_client_refused(struct smtpd_session *s);

void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&s->out, fmt, ap);
	va_end(ap);
	sb_puts(&s->out, "\r\n");
}

static const char *state_name(enum smtpd_state st)
{
	switch (st) {
	case SS_GREET: return "greeting";
	case SS_READY: return "ready";
	case SS_MAIL: return "mail";
	case SS_RCPT: return "rcpt";
	case SS_DATA: return "data";
	case SS_CLOSED: return "closed";
	}
	return "?";
}

void smtpd_enter_state(struct smtpd_session *s, enum smtpd_state st)
{
	if (G.verbose > 1)
		msg_info("session %s: %s -> %s", s->client_ip, state_name(s->state), state_name(st));
	s->state = st;
}

/* A transaction that ends with MAIL accepted and no recipient: sendmail's
 * "from=<...>, size=0, class=0, nrcpts=0, ..." line. */
static void log_unqueued(struct smtpd_session *s)
{
	if (!s->txn_mail_ok || s->nrcpts > 0 || s->local_bs)
		return;
	s->txn_mail_ok = 0;
	struct maillog_from f = { .sender = s->sender_given, .size = 0, .nrcpts = 0,
				  .proto = smtpd_proto(s), .daemon = s->daemon_name, .relay = s->relay };
	maillog_from_line(s->txn_qid[0] ? s->txn_qid : "NOQUEUE", &f);
}

void smtpd_reset_transaction(struct smtpd_session *s)
{
	milter_abort(s);
	log_unqueued(s);
	s->txn_mail_ok = 0;
	s->txn_qid[0] = '\0';
	free(s->envid);
	s->envid = NULL;
	s->ret = 0;
	s->eightbit = 0;
	for (size_t i = 0; i < s->nrcpts; i++) {
		free(s->rcpt_flags[i]);
		free(s->rcpt_orcpt[i]);
	}
	free(s->rcpt_flags);
	free(s->rcpt_orcpt);
	s->rcpt_flags = s->rcpt_orcpt = NULL;
	free(s->pending_orcpt);
	s->pending_orcpt = NULL;
	free(s->sender);
	s->sender = NULL;
	free(s->sender_given);
	s->sender_given = NULL;
	for (size_t i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
	free(s->body_type);
	s->body_type = NULL;
	if (s->state != SS_GREET && s->state != SS_CLOSED)
		smtpd_enter_state(s, SS_READY);
}

/* Expands $j, $v, $b in the greeting and inserts ESMTP after the first word. */
static void greeting_text(struct strbuf *out)
{
	const char *tmpl = conf_str(C_SMTP_LOGIN_MSG);
	struct strbuf exp;
	sb_init(&exp);
	for (const char *p = tmpl; *p; p++) {
		if (*p == '$' && p[1]) {
			char date[64];
			switch (p[1]) {
			case 'j': sb_puts(&exp, G.hostname); p++; continue;
			case 'v': case 'Z': sb_puts(&exp, MTAD_VERSION); p++; continue;
			case 'b':
				time_rfc5322(date, sizeof(date), time(NULL));
				sb_puts(&exp, date);
				p++;
				continue;
			default: break;
			}
		}
		sb_putc(&exp, *p);
	}
	const char *sp = strchr(exp.s, ' ');
	if (strstr(exp.s, "ESMTP"))
		sb_puts(out, exp.s);
	else if (sp)
		sb_printf(out, "%.*s ESMTP%s", (int)(sp - exp.s), exp.s, sp);
	else
		sb_printf(out, "%s ESMTP", exp.s);
	sb_free(&exp);
}

struct smtpd_session *smtpd_new(int fd_out, const struct sockaddr *peer, socklen_t peerlen,
				const char *daemon_name, int local_bs)
{
	struct smtpd_session *s = xcalloc(1, sizeof(*s));
	s->fd = fd_out;		/* for {if_addr} (milter) */
	sb_init(&s->in);
	sb_init(&s->out);
	sb_init(&s->line);
	sb_init(&s->hdrtext);
	sb_init(&s->held);
	s->local_bs = local_bs;
	s->daemon_name = daemon_name ? xstrdup(daemon_name) : NULL;
	s->state = SS_GREET;
	if (local_bs || peer == NULL) {
		struct passwd *pw = getpwuid(getuid());
		snprintf(s->client_ip, sizeof(s->client_ip), "127.0.0.1");
		snprintf(s->client_name, sizeof(s->client_name), "localhost");
		snprintf(s->relay, sizeof(s->relay), "%s@localhost", pw ? pw->pw_name : "unknown");
		s->trusted = 1;
		return s;
	}
	char host[NI_MAXHOST] = "";
	if (getnameinfo(peer, peerlen, s->client_ip, sizeof(s->client_ip), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(s->client_ip, sizeof(s->client_ip), "unknown");
	if (strncmp(s->client_ip, "::ffff:", 7) == 0)
		memmove(s->client_ip, s->client_ip + 7, strlen(s->client_ip + 7) + 1);
	/* Only the loopback addresses 127.0.0.1 and ::1 are trusted implicitly. */
	s->trusted = strcmp(s->client_ip, "127.0.0.1") == 0 || strcmp(s->client_ip, "::1") == 0;
	snprintf(s->relay, sizeof(s->relay), "[%s]", s->client_ip);
	memcpy(&s->peer, peer, peerlen < sizeof(s->peer) ? peerlen : sizeof(s->peer));
	s->peerlen = peerlen < sizeof(s->peer) ? peerlen : sizeof(s->peer);
	if (workq_async())
		return s;	/* the daemon starts the lookups: smtpd_lookups_start */
	/* reverse lookup and policy here, in this process's only thread */
	if (getnameinfo(peer, peerlen, host, sizeof(host), NULL, 0, NI_NAMEREQD) == 0)
		smtpd_set_client_name(s, host);
	policy_connect(s);
	return s;
}

void smtpd_set_client_name(struct smtpd_session *s, const char *name)
{
	snprintf(s->client_name, sizeof(s->client_name), "%s", name);
	if (s->client_name[0])
		snprintf(s->relay, sizeof(s->relay), "%s [%s]", s->client_name, s->client_ip);
	else
		snprintf(s->relay, sizeof(s->relay), "[%s]", s->client_ip);
}

int smtpd_greeted(const struct smtpd_session *s)
{
	return s->state != SS_GREET;
}

void smtpd_greet_reject(struct smtpd_session *s, long waited_ms)
{
	smtpd_reply(s, "554 %s ESMTP not accepting messages", G.hostname);
	maillog("NOQUEUE", "rejecting commands from %s due to pre-greeting traffic after %ld seconds",
		s->relay, waited_ms / 1000);
	s->greet_rejected = 1;
	s->mail_count++;	/* logged already: no "did not issue MAIL" line */
	smtpd_enter_state(s, SS_READY);
}

void smtpd_greet(struct smtpd_session *s)
{
	if (milter_connect(s))
		return;		/* greeted when the filters have answered */
	smtpd_greet_reply(s);
}

void smtpd_greet_reply(struct smtpd_session *s)
{
	struct strbuf g;
	sb_init(&g);
	greeting_text(&g);
	smtpd_reply(s, "220 %s", g.s);
	sb_free(&g);
	smtpd_enter_state(s, SS_READY);
}

/* ---- command handlers ---- */

static void cmd_helo(struct smtpd_session *s, enum smtp_verb v, const char *arg)
{
	if (!*arg) {
		smtpd_reply(s, "501 5.0.0 %s requires domain address", v == SMTP_EHLO ? "EHLO" : "HELO");
		return;
	}
	char helo[256];
	size_t n = 0;
	for (const char *p = arg; *p && *p != ' ' && n + 1 < sizeof(helo); p++)
		helo[n++] = (*p < ' ' || *p == 127) ? '?' : *p;
	helo[n] = '\0';
	snprintf(s->helo, sizeof(s->helo), "%s", helo);
	s->esmtp = v == SMTP_EHLO;
	smtpd_reset_transaction(s);
	if (milter_helo(s))
		return;		/* answered when the filters have */
	smtpd_helo_reply(s);
}

void smtpd_helo_reply(struct smtpd_session *s)
{
	const char *who = s->client_name[0] ? s->client_name : "";
	if (!s->esmtp) {
		smtpd_reply(s, "250 %s Hello %s%s[%s], pleased to meet you", G.hostname, who,
			    *who ? " " : "", s->client_ip);
		return;
	}
	smtpd_reply(s, "250-%s Hello %s%s[%s], pleased to meet you", G.hostname, who,
		    *who ? " " : "", s->client_ip);
	smtpd_reply(s, "250-ENHANCEDSTATUSCODES");
	smtpd_reply(s, "250-PIPELINING");
	/* goaway is every privacy flag at once, as in sendmail */
	int goaway = conf_has_flag(C_PRIVACY_FLAGS, "goaway");
	if (!goaway && !conf_has_flag(C_PRIVACY_FLAGS, "noexpn"))
		smtpd_reply(s, "250-EXPN");
	if (!goaway && !conf_has_flag(C_PRIVACY_FLAGS, "noverb"))
		smtpd_reply(s, "250-VERB");
	if (smtpd_etrn_offered(s))
		smtpd_reply(s, "250-ETRN");
	smtpd_reply(s, "250-8BITMIME");
	if (s->tls_offer && !s->tls_active)
		smtpd_reply(s, "250-STARTTLS");
	smtpd_auth_ehlo(s);
	if (conf_num(C_MAX_MESSAGE_SIZE) > 0)
		smtpd_reply(s, "250-SIZE %ld", conf_num(C_MAX_MESSAGE_SIZE));
	else
		smtpd_reply(s, "250-SIZE");
	smtpd_reply(s, "250-DSN");
	smtpd_reply(s, "250 HELP");
}

/* The address part of a MAIL/RCPT argument for an error reply: what follows
 * the colon, up to the first blank outside <...>, bounded. */
static const char *mail_arg_addr(const char *arg)
{
	static char buf[ADDR_MAXLEN + 8];
	const char *p = strchr(arg, ':');
	p = p ? p + 1 : arg;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = 0;
	int in_angle = 0;
	for (; *p && n + 1 < sizeof(buf); p++) {
		if (*p == '<')
			in_angle = 1;
		else if (*p == '>')
			in_angle = 0;
		else if ((*p == ' ' || *p == '\t') && !in_angle)
			break;
		buf[n++] = (*p < ' ' || *p == 127) ? '?' : *p;
	}
	buf[n] = '\0';
	return buf;
}

/* RFC 3461 MAIL parameters, checked as sendmail checks them. */
static int mail_dsn_param(struct smtpd_session *s, const char *key, const char *v)
{
	if (v == NULL) {
		smtpd_reply(s, "501 5.5.2 %s requires a value", key);
		return -1;
	}
	if (strcmp(key, "RET") == 0) {
		if (s->ret) {
			smtpd_reply(s, "501 5.5.0 Duplicate RET parameter");
			return -1;
		}
		s->ret = dsn_parse_ret(v);
		if (!s->ret) {
			smtpd_reply(s, "501 5.5.2 Bad argument \"%.100s\" to RET", v);
			return -1;
		}
		return 0;
	}
	if (!dsn_xtext_valid(v) || strlen(v) > 100) {
		smtpd_reply(s, "501 5.5.4 Syntax error in ENVID parameter value");
		return -1;
	}
	if (s->envid) {
		smtpd_reply(s, "501 5.5.0 Duplicate ENVID parameter");
		return -1;
	}
	s->envid = xstrdup(v);
	return 0;
}

/* RFC 3461 RCPT parameters into qf R flags and ORCPT. */
static int rcpt_dsn_params(struct smtpd_session *s, const struct smtp_mailrcpt *mr, char *flags,
			   size_t fsize, char **orcpt)
{
	for (size_t i = 0; i < mr->nparams; i++) {
		const struct esmtp_param *p = &mr->params[i];
		if (strcmp(p->key, "NOTIFY") == 0) {
			if (!p->value) {
				smtpd_reply(s, "501 5.5.2 NOTIFY requires a value");
				return -1;
			}
			if (strchr(flags, 'N') || dsn_parse_notify(p->value, flags, fsize) < 0) {
				smtpd_reply(s, "501 5.5.4 Bad argument \"%.100s\"  to NOTIFY", p->value);
				return -1;
			}
		} else if (strcmp(p->key, "ORCPT") == 0) {
			if (!p->value) {
				smtpd_reply(s, "501 5.5.2 ORCPT requires a value");
				return -1;
			}
			if (dsn_orcpt_valid(p->value) < 0 || strlen(p->value) > 500) {
				smtpd_reply(s, "501 5.5.4 Syntax error in ORCPT parameter value");
				return -1;
			}
			if (*orcpt) {
				smtpd_reply(s, "501 5.5.0 Duplicate ORCPT parameter");
				return -1;
			}
			*orcpt = xstrdup(p->value);
		} else {
			smtpd_reply(s, "555 5.5.4 %s parameter unrecognized", p->key);
			return -1;
		}
	}
	return 0;
}

static void cmd_mail(struct smtpd_session *s, const char *arg)
{
	if (s->greet_rejected) {
		smtpd_reply(s, "550 5.0.0 Command rejected");
		return;
	}
	if (s->sender) {
		smtpd_reply(s, "503 5.5.0 Sender already specified");
		return;
	}
	if (!s->helo[0] && conf_has_flag(C_PRIVACY_FLAGS, "needmailhelo")) {
		smtpd_reply(s, "503 5.0.0 Polite people say HELO first");
		return;
	}
	if (strchr(s->modifiers, 'a') && !s->auth_user[0] && !s->local_bs) {
		smtpd_reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if (!s->local_bs && tls_client_refused(s))
		return;
	struct smtp_mailrcpt mr;
	int code;
	const char *why;
	if (smtp_parse_mailrcpt(arg, "FROM", &mr, &code, &why) < 0) {
		if (code == 553)
			smtpd_reply(s, "553 5.1.7 %s... %s", mail_arg_addr(arg), why);
		else
			smtpd_reply(s, "%d %s", code, why);
		return;
	}
	if (milter_mail_refused(s))
		goto out;
	for (size_t i = 0; i < mr.nparams; i++) {
		const struct esmtp_param *p = &mr.params[i];
		if (strcmp(p->key, "SIZE") == 0) {
			char *end;
			long sz = p->value ? strtol(p->value, &end, 10) : -1;
			if (!p->value || *end || sz < 0) {
				smtpd_reply(s, "501 5.5.2 SIZE requires a number");
				goto out;
			}
			long max = conf_num(C_MAX_MESSAGE_SIZE);
			if (max > 0 && sz > max) {
				smtpd_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size (%ld)", max);
				goto out;
			}
		} else if (strcmp(p->key, "AUTH") == 0 && smtpd_auth_offered(s)) {
			/* RFC 4954 5: accepted; what we record is who logged in */
		} else if (strcmp(p->key, "BODY") == 0) {
			if (!p->value || (strcasecmp(p->value, "7BIT") && strcasecmp(p->value, "8BITMIME"))) {
				smtpd_reply(s, "501 5.5.4 Unknown BODY type %s", p->value ? p->value : "");
				goto out;
			}
			free(s->body_type);
			s->body_type = xstrdup(p->value);
		} else if (strcmp(p->key, "RET") == 0 || strcmp(p->key, "ENVID") == 0) {
			if (mail_dsn_param(s, p->key, p->value) < 0)
				goto out;
		} else {
			smtpd_reply(s, "555 5.5.4 %s parameter unrecognized", p->key);
			goto out;
		}
	}
	if (!mr.path.null && !strchr(mr.path.addr, '@') && !s->local_bs && !conf_num(C_ACCEPT_UNQUALIFIED)) {
		smtpd_reply(s, "553 5.5.4 %s%s%s... Domain name required for sender address %s",
			    mr.path.bracketed ? "<" : "", mr.path.addr, mr.path.bracketed ? ">" : "", mr.path.addr);
		goto out;
	}
	s->sender = xstrdup(mr.path.addr);
	milter_set_mail_args(s, &mr);
	if (mr.path.bracketed) {
		size_t len = strlen(mr.path.addr) + 3;
		s->sender_given = xmalloc(len);
		snprintf(s->sender_given, len, "<%s>", mr.path.addr);
	} else {
		s->sender_given = xstrdup(mr.path.addr);
	}
	char reply[600];
	int need = policy_mail_begin(s, s->sender_given, s->sender, reply, sizeof(reply));
	if (need < 0) {
		smtpd_reply(s, "%s", reply);
		smtpd_reset_transaction(s);
		goto out;
	}
	if (need == 1 && smtpd_lookup_sender(s))
		goto out;		/* answered when the lookup is back */
	smtpd_mail_finish(s, need == 1 ? policy_sender_domain_check(s->sender) : 0);
out:
	smtp_mailrcpt_free(&mr);
}

void smtpd_mail_finish(struct smtpd_session *s, int dns_result)
{
	char reply[600];
	if (policy_mail_end(s, s->sender_given, dns_result, reply, sizeof(reply)) < 0 ||
	    smtpd_ldap_mail(s, reply, sizeof(reply)) < 0) {
		smtpd_reply(s, "%s", reply);
		smtpd_reset_transaction(s);
		return;
	}
	if (milter_mail(s))
		return;		/* answered when the filters have */
	smtpd_mail_accept(s);
}

void smtpd_mail_accept(struct smtpd_session *s)
{
	s->mail_count++;
	s->txn_mail_ok = 1;
	qid_new(s->txn_qid, time(NULL), getpid());
	smtpd_enter_state(s, SS_MAIL);
	smtpd_reply(s, "250 2.1.0 %s... Sender ok", s->sender_given);
}

/* TLS_Clt: the access map may require this client to use TLS (with a
 * verified certificate, or a cipher of at least so many bits). */
static int tls_client_refused(struct smtpd_session *s)
{
	struct tls_requirement req;
	if (!access_tls_requirement("TLS_Clt", s->client_name, s->client_ip, &req))
		return 0;
	char reply[128];
	if (!s->tls_active)
		snprintf(reply, sizeof(reply), "403 4.7.0 TLS required");
	else if (req.verify && strcmp(s->tls.verify, "OK") != 0)
		snprintf(reply, sizeof(reply), "403 4.7.0 not authenticated (verify=%s)", s->tls.verify);
	else if (s->tls.bits < req.bits)
		snprintf(reply, sizeof(reply), "403 4.7.0 encryption too weak %d less than %d", s->tls.bits, req.bits);
	else
		return 0;
	smtpd_reply(s, "%s", reply);
	maillog("NOQUEUE", "ruleset=tls_client, arg1=MAIL, relay=%s, reject=%s", s->relay, reply);
	return 1;
}

static void cmd_starttls(struct smtpd_session *s, const char *arg)
{
	if (!s->tls_offer) {
		smtpd_reply(s, "500 5.5.1 Command unrecognized: \"STARTTLS\"");
		bad_command(s);
		return;
	}
	if (s->tls_active) {
		smtpd_reply(s, "503 5.5.0 TLS already active");
		return;
	}
	if (*arg) {
		smtpd_reply(s, "501 5.5.4 Syntax error (no parameters allowed)");
		return;
	}
	if (s->state == SS_MAIL || s->state == SS_RCPT)
		smtpd_reset_transaction(s);
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	s->tls_wanted = 1;
}

static int rcpt_existence(struct smtpd_session *s, const char *given, const char *addr,
			  char *rewritten, size_t size, int ldap_rc, const struct ldaproute *lr,
			  const char *err);

/* The checks are passed: the mail filters have their say (the filter's
 * answer may come later, then milter_smtpd.c calls smtpd_rcpt_accept). */
static void rcpt_after_checks(struct smtpd_session *s, const char *given)
{
	if (!milter_rcpt(s, given))
		smtpd_rcpt_accept(s, given);
}

void smtpd_rcpt_after_ldap(struct smtpd_session *s, const char *given, const char *addr,
			   char *rewritten, size_t size, int ldap_rc, const struct ldaproute *lr,
			   const char *err)
{
	if (rcpt_existence(s, given, addr, rewritten, size, ldap_rc, lr, err))
		rcpt_after_checks(s, given);
}

/* sendmail's "ID: <x@dom>... User unknown" for a refused recipient. */
static void log_user_unknown(struct smtpd_session *s, const char *given)
{
	maillog(s->txn_qid[0] ? s->txn_qid : "NOQUEUE", "%s... User unknown", given);
}

/* Policy, then existence: a recipient in one of our domains must be a
 * mailbox or an alias once the virtusertable has had its say.  1
 * acceptable, 0 refused (replied), 2 waiting for the directory. */
static int rcpt_acceptable(struct smtpd_session *s, const char *given, const char *addr)
{
	char reply[700], rewritten[1100];
	if (policy_rcpt(s, given, addr, reply, sizeof(reply)) < 0) {
		smtpd_reply(s, "%s", reply);
		return 0;
	}
	int vr = virtual_rewrite(addr, rewritten, sizeof(rewritten));
	if (vr < 0) {
		smtpd_reply(s, "451 4.3.0 %s... Temporary lookup failure, try again later", given);
		return 0;
	}
	if (vr == 1) {		/* "D.S.N:CODE text" from an error: entry */
		const char *colon = strchr(rewritten, ':');
		char dsn[16] = "5.1.1";
		const char *rest = rewritten;
		if (colon && colon - rewritten < (long)sizeof(dsn)) {
			snprintf(dsn, sizeof(dsn), "%.*s", (int)(colon - rewritten), rewritten);
			rest = colon + 1;
		}
		int code = atoi(rest);
		const char *text = strchr(rest, ' ');
		smtpd_reply(s, "%d %s %s... %s", code >= 400 && code < 600 ? code : 550, dsn, given,
			    text ? text + 1 : "User unknown");
		return 0;
	}
	if (smtpd_ldap_rcpt_start(s, given, addr, rewritten))
		return 2;	/* finished by smtpd_rcpt_after_ldap */
	struct ldaproute lr;
	char err[600];
	int rc = ldaproute_lookup(rewritten, &lr, err, sizeof(err));
	return rcpt_existence(s, given, addr, rewritten, sizeof(rewritten), rc, &lr, err);
}

/* The verdict of ldap_routing, then existence: 1 when acceptable. */
static int rcpt_existence(struct smtpd_session *s, const char *given, const char *addr,
			  char *rewritten, size_t size, int ldap_rc, const struct ldaproute *lr,
			  const char *err)
{
	int v = smtpd_ldap_verdict(s, given, ldap_rc, lr, err, rewritten, size);
	if (v != 0)
		return v > 0;
	char *local, *domain;
	addr_split(rewritten, &local, &domain);
	int ok = 1;
	int known = conf_is_local_domain(domain) && *local ? local_name_known(local) : 0;
	if (known < 0) {	/* the aliases cannot be read, or the directory is down */
		smtpd_reply(s, "451 4.3.0 %s... Temporary lookup failure, try again later", given);
		ok = 0;
	} else if (conf_is_local_domain(domain)) {
		if (!*local || (!known && !*conf_str(C_LUSER_RELAY))) {
			smtpd_reply(s, "550 5.1.1 %s... User unknown", given);
			log_user_unknown(s, given);
			ok = 0;
		}
	} else if (domain && conf_is_virtual_domain(domain) && strcasecmp(rewritten, addr) == 0 &&
		   !conf_is_relay_domain(domain)) {
		/* a virtual domain with no entry for this user */
		smtpd_reply(s, "550 5.1.1 %s... User unknown", given);
		log_user_unknown(s, given);
		ok = 0;
	}
	free(local);
	free(domain);
	return ok;
}

static void cmd_rcpt(struct smtpd_session *s, const char *arg)
{
	if (s->greet_rejected) {
		smtpd_reply(s, "550 5.0.0 Command rejected");
		return;
	}
	if (!s->sender) {
		smtpd_reply(s, "503 5.0.0 Need MAIL before RCPT");
		return;
	}
	struct smtp_mailrcpt mr;
	int code;
	const char *why;
	if (smtp_parse_mailrcpt(arg, "TO", &mr, &code, &why) < 0) {
		if (code == 553)
			smtpd_reply(s, "553 5.1.3 %s... %s", mail_arg_addr(arg), why);
		else
			smtpd_reply(s, "%d %s", code, why);
		return;
	}
	char given[ADDR_MAXLEN + 3];
	snprintf(given, sizeof(given), mr.path.bracketed ? "<%s>" : "%s", mr.path.addr);

	char rflags[16] = "P";
	char *orcpt = NULL;
	if (rcpt_dsn_params(s, &mr, rflags, sizeof(rflags), &orcpt) < 0)
		goto out;
	if (mr.path.null) {
		smtpd_reply(s, "553 5.1.3 <>... User address required");
		goto out;
	}
	long max = conf_num(C_MAX_RCPTS);
	if (max > 0 && (long)s->nrcpts >= max) {
		smtpd_reply(s, "452 4.5.3 Too many recipients");
		goto out;
	}
	/* the recipient's DSN parameters wait with it (ldap_routing, filters) */
	snprintf(s->pending_rflags, sizeof(s->pending_rflags), "%s", rflags);
	free(s->pending_orcpt);
	s->pending_orcpt = orcpt;
	orcpt = NULL;
	if (rcpt_acceptable(s, given, mr.path.addr) == 1)
		rcpt_after_checks(s, given);
	/* 2: finished by smtpd_rcpt_after_ldap */
out:
	free(orcpt);
	smtp_mailrcpt_free(&mr);
}

/* The recipient joins the transaction with the DSN flags and ORCPT that
 * its RCPT command left pending. */
void smtpd_rcpt_accept(struct smtpd_session *s, const char *given)
{
	s->rcpts = xreallocarray(s->rcpts, s->nrcpts + 1, sizeof(char *));
	s->rcpt_flags = xreallocarray(s->rcpt_flags, s->nrcpts + 1, sizeof(char *));
	s->rcpt_orcpt = xreallocarray(s->rcpt_orcpt, s->nrcpts + 1, sizeof(char *));
	s->rcpt_flags[s->nrcpts] = xstrdup(s->pending_rflags[0] ? s->pending_rflags : "P");
	s->rcpt_orcpt[s->nrcpts] = s->pending_orcpt;
	s->pending_orcpt = NULL;
	s->rcpts[s->nrcpts++] = xstrdup(given);
	smtpd_enter_state(s, SS_RCPT);
	smtpd_reply(s, "250 2.1.5 %s... Recipient ok", given);
}

static void cmd_data(struct smtpd_session *s, const char *arg)
{
	(void)arg;
	if (s->greet_rejected) {
		smtpd_reply(s, "550 5.0.0 Command rejected");
		return;
	}
	if (!s->sender) {
		smtpd_reply(s, "503 5.0.0 Need MAIL command");
		return;
	}
	if (s->nrcpts == 0) {
		smtpd_reply(s, "503 5.0.0 Need RCPT (recipient)");
		return;
	}
	if (milter_data(s))
		return;		/* the 354 comes when the filters have answered */
	smtpd_data_begin(s);
}

static void cmd_help(struct smtpd_session *s)
{
	if (!*conf_str(C_HELP_FILE)) {	/* define(`HELP_FILE', `'): as sendmail without one */
		smtpd_reply(s, "502 5.3.0 mtad " MTAD_VERSION " -- HELP not implemented");
		return;
	}
	smtpd_reply(s, "214-2.0.0 This is mtad version " MTAD_VERSION);
	smtpd_reply(s, "214-2.0.0 Topics:");
	smtpd_reply(s, "214-2.0.0 \tHELO\tEHLO\tMAIL\tRCPT\tDATA");
	smtpd_reply(s, "214-2.0.0 \tRSET\tNOOP\tQUIT\tHELP\tVRFY");
	smtpd_reply(s, "214-2.0.0 \tEXPN\tVERB\tETRN");
	smtpd_reply(s, "214-2.0.0 To report bugs in the implementation see the mtad(8) manual page.");
	smtpd_reply(s, "214 2.0.0 End of HELP info");
}

static void cmd_vrfy(struct smtpd_session *s, enum smtp_verb v, const char *arg)
{
	if (conf_has_flag(C_PRIVACY_FLAGS, v == SMTP_VRFY ? "novrfy" : "noexpn") ||
	    conf_has_flag(C_PRIVACY_FLAGS, "goaway")) {
		if (v == SMTP_VRFY)
			smtpd_reply(s, "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery (or try finger)");
		else
			smtpd_reply(s, "502 5.7.0 Sorry, we do not allow this operation");
		return;
	}
	struct smtp_path path;
	const char *end, *why;
	if (!*arg || addr_parse_path(arg, &path, &end, &why) < 0) {
		smtpd_reply(s, "501 5.5.2 Argument required");
		return;
	}
	char *local, *domain;
	addr_split(path.addr, &local, &domain);
	int known = conf_is_local_domain(domain) ? local_name_known(local) : 0;
	if (known < 0)
		smtpd_reply(s, "451 4.3.0 %s... Temporary failure: the aliases cannot be read", path.addr);
	else if (known)
		smtpd_reply(s, "250 2.1.5 <%s@%s>", local, G.hostname);
	else if (conf_is_local_domain(domain))
		smtpd_reply(s, "550 5.1.1 %s... User unknown", path.addr);
	else
		smtpd_reply(s, "252 2.1.5 <%s>", path.addr);
	free(local);
	free(domain);
	addr_path_free(&path);
}

/* Printable form of a line for "Command unrecognized" replies and logs. */
static void quote_line(char *buf, size_t size, const char *line)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)line; *p && n + 5 < size; p++) {
		if (*p < ' ' || *p >= 127)
			n += (size_t)snprintf(buf + n, size - n, "\\%03o", *p);
		else
			buf[n++] = (char)*p;
	}
	buf[n] = '\0';
	if (strlen(line) > 100 && size > 104)
		snprintf(buf + 100, size - 100, "...");
}

static void bad_command(struct smtpd_session *s)
{
	if (++s->bad_commands >= MAX_BAD_COMMANDS) {
		smtpd_reply(s, "421 4.7.0 %s Too many bad commands; closing connection", G.hostname);
		maillog("NOQUEUE", "%s: possible SMTP attack: command=%s, count=%d", s->relay, "UNKNOWN", s->bad_commands);
		s->done = 1;
		smtpd_enter_state(s, SS_CLOSED);
	}
}

/* Commands after which a client must wait for our reply: text sent before
 * the 354 to DATA (the trick SMTP smuggling relies on), or any command
 * pipelined in a HELO session, where PIPELINING was never offered. */
static int must_wait_after(enum smtp_verb v, int esmtp)
{
	if (v == SMTP_DATA)
		return 1;
	return !esmtp && v != SMTP_EHLO;
}

static void smtpd_command(struct smtpd_session *s, const char *line, int more_pending)
{
	const char *arg;
	enum smtp_verb v = smtp_split(line, &arg);
	char q[256];
	if (v == SMTP_MAIL || v == SMTP_RCPT || v == SMTP_DATA)
		s->last_cmd = v;
	if (more_pending && !s->local_bs && !s->pipelining_logged && must_wait_after(v, s->esmtp) &&
	    v != SMTP_QUIT) {
		/* noticed and logged; the commands are still answered in order, as
		 * sendmail does (only CRLF.CRLF ends DATA, so nothing is smuggled) */
		quote_line(q, sizeof(q), smtp_verb_name(v));
		maillog("NOQUEUE", "improper command pipelining after %s from %s", q, s->relay);
		s->pipelining_logged = 1;
	}
	switch (v) {
	case SMTP_HELO:
	case SMTP_EHLO: cmd_helo(s, v, arg); break;
	case SMTP_MAIL: cmd_mail(s, arg); break;
	case SMTP_RCPT: cmd_rcpt(s, arg); break;
	case SMTP_DATA: cmd_data(s, arg); break;
	case SMTP_RSET:
		smtpd_reset_transaction(s);
		smtpd_reply(s, "250 2.0.0 Reset state");
		break;
	case SMTP_NOOP: smtpd_reply(s, "250 2.0.0 OK"); break;
	case SMTP_HELP: cmd_help(s); break;
	case SMTP_QUIT:
		log_unqueued(s);
		smtpd_reply(s, "221 2.0.0 %s closing connection", G.hostname);
		s->quit = 1;
		s->done = 1;
		smtpd_enter_state(s, SS_CLOSED);
		break;
	case SMTP_VRFY:
	case SMTP_EXPN: s->mail_count++; cmd_vrfy(s, v, arg); break;
	case SMTP_VERB:
		if (conf_has_flag(C_PRIVACY_FLAGS, "noverb") || conf_has_flag(C_PRIVACY_FLAGS, "goaway"))
			smtpd_reply(s, "502 5.7.0 Verbose unavailable");
		else
			smtpd_reply(s, "250 2.0.0 Verbose mode");
		break;
	case SMTP_STARTTLS: cmd_starttls(s, arg); break;
	case SMTP_AUTH: smtpd_cmd_auth(s, arg); break;
	case SMTP_ETRN: smtpd_cmd_etrn(s, arg); break;
	default:
		if (!milter_unknown(s, line))
			smtpd_unknown_reply(s, line, NULL);
		break;
	}
}

void smtpd_unknown_reply(struct smtpd_session *s, const char *line, const char *reply)
{
	char q[256];
	quote_line(q, sizeof(q), line);
	if (reply)
		smtpd_reply(s, "%s", reply);
	else
		smtpd_reply(s, "500 5.5.1 Command unrecognized: \"%s\"", q);
	bad_command(s);
}

/* Command mode: splits input into lines (CRLF, or a bare LF as hand-typed
 * sessions send), bounded at SMTP_CMD_MAXLEN. */
static size_t command_input(struct smtpd_session *s, const char *data, size_t len)
{
	size_t i = 0;
	while (i < len && s->state != SS_DATA && !s->done && !s->waiting) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t chunk = nl ? (size_t)(nl - (data + i)) : len - i;
		if (!s->overlong) {
			/* the limit counts the line end: the CR is in the line, +1 for the LF */
			if (s->line.len + chunk + 1 > SMTP_CMD_MAXLEN) {
				s->overlong = 1;
				sb_reset(&s->line);
			} else {
				sb_append(&s->line, data + i, chunk);
			}
		}
		i += chunk;
		if (!nl)
			break;
		i++;	/* the LF */
		if (s->overlong) {
			s->overlong = 0;
			smtpd_reply(s, "500 5.5.1 Command line too long (limit %d octets)", SMTP_CMD_MAXLEN);
			bad_command(s);
			continue;
		}
		if (s->line.len > 0 && s->line.s[s->line.len - 1] == '\r')
			sb_truncate(&s->line, s->line.len - 1);
		if (memchr(s->line.s, '\0', s->line.len)) {
			sb_reset(&s->line);
			smtpd_reply(s, "500 5.5.1 NUL character in command");
			bad_command(s);
			continue;
		}
		char *cmd = xstrdup(s->line.s);
		sb_reset(&s->line);
		s->lines++;
		if (s->auth_step != AUTH_IDLE)
			smtpd_auth_line(s, cmd);
		else
			smtpd_command(s, cmd, i < len);
		explicit_bzero(cmd, strlen(cmd));	/* may be a password */
		free(cmd);
		if (s->tls_wanted) {
			/* STARTTLS: whatever came behind it in the clear is not
			 * the client's (CVE-2011-0411): it is dropped, unread */
			sb_reset(&s->line);
			sb_reset(&s->held);
			sb_reset(&s->in);
			return len;
		}
	}
	return i;
}

void smtpd_set_user(struct smtpd_session *s, void *user)
{
	s->user = user;
}

void *smtpd_user(const struct smtpd_session *s)
{
	return s->user;
}

int smtpd_committing(const struct smtpd_session *s)
{
	return s->waiting != NULL;
}

void smtpd_resume(struct smtpd_session *s)
{
	if (s->waiting || s->held.len == 0)
		return;
	struct strbuf h = s->held;
	sb_init(&s->held);
	smtpd_input(s, h.s, h.len);
	sb_free(&h);
}

void smtpd_input(struct smtpd_session *s, const char *data, size_t len)
{
	if (s->waiting) {		/* wait for the work (a commit, a lookup) first */
		sb_append(&s->held, data, len);
		return;
	}
	if (s->tls_wanted)		/* between the 220 and the handshake: nothing counts */
		return;
	while (len > 0 && !s->done && !s->tls_wanted) {
		size_t used;
		if (s->state == SS_DATA)
			used = smtpd_data_input(s, data, len);
		else
			used = command_input(s, data, len);
		data += used;
		len -= used;
		if (used == 0)
			break;
		if (s->waiting) {
			sb_append(&s->held, data, len);
			return;
		}
	}
}

void smtpd_eof(struct smtpd_session *s, int timed_out)
{
	if (s->quit || s->eof_logged)
		return;
	s->eof_logged = 1;
	const char *after = s->state == SS_DATA ? "data" : s->last_cmd == SMTP_RCPT ? "rcpt"
			  : s->last_cmd == SMTP_MAIL ? "mail" : s->last_cmd == SMTP_DATA ? "data" : "connect";
	const char *qid = s->state == SS_DATA && s->eq_open ? s->eq.qid : NULL;
	if (qid == NULL && s->txn_qid[0])
		qid = s->txn_qid;	/* the transaction's, as sendmail logs it */
	if (timed_out) {
		smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded", G.hostname);
		maillog(qid ? qid : "NOQUEUE", "timeout waiting for input from %s during %s",
			s->relay, s->state == SS_DATA ? "message collect" : "server cmd read");
	} else if (s->mail_count == 0 && s->state != SS_DATA) {
		maillog("NOQUEUE", "%s did not issue MAIL/EXPN/VRFY/ETRN during connection to %s",
			s->relay, s->daemon_name ? s->daemon_name : "MTA");
	} else {
		maillog(qid ? qid : "NOQUEUE", "lost input channel from %s to %s after %s", s->relay,
			s->daemon_name ? s->daemon_name : "MTA", after);
	}
	if (s->state == SS_DATA)
		smtpd_data_abort(s);
	log_unqueued(s);
	s->done = 1;
	smtpd_enter_state(s, SS_CLOSED);
}

void smtpd_set_listener(struct smtpd_session *s, const char *modifiers, int tls_offer)
{
	snprintf(s->modifiers, sizeof(s->modifiers), "%s", modifiers ? modifiers : "");
	s->tls_offer = tls_offer;
}

int smtpd_tls_wanted(const struct smtpd_session *s) { return s->tls_wanted; }
const char *smtpd_relay(const struct smtpd_session *s) { return s->relay; }

void smtpd_tls_started(struct smtpd_session *s, const struct tls_info *info)
{
	s->tls_wanted = 0;
	s->tls_active = 1;
	s->tls = *info;
	maillog(NULL, "STARTTLS=server, relay=%s, version=%s, verify=%s, cipher=%s, bits=%d/%d",
		s->relay, info->version, info->verify, info->cipher, info->bits, info->alg_bits);
	/* RFC 3207 4.2: the client starts over; what it said before is forgotten */
	smtpd_reset_transaction(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
	s->auth_user[0] = '\0';
	s->auth_step = AUTH_IDLE;
	sb_reset(&s->line);
	sb_reset(&s->held);
	s->overlong = 0;
	smtpd_enter_state(s, SS_READY);
}

const char *smtpd_proto(const struct smtpd_session *s)
{
	if (!s->esmtp)
		return "SMTP";
	return s->tls_active ? (s->auth_user[0] ? "ESMTPSA" : "ESMTPS") : (s->auth_user[0] ? "ESMTPA" : "ESMTP");
}

int smtpd_done(const struct smtpd_session *s) { return s->done; }
unsigned long smtpd_progress(const struct smtpd_session *s) { return s->lines; }
long smtpd_greet_pause(const struct smtpd_session *s) { return policy_greet_pause(s); }
int smtpd_in_data(const struct smtpd_session *s) { return s->state == SS_DATA; }
struct strbuf *smtpd_output(struct smtpd_session *s) { return &s->out; }

void smtpd_free(struct smtpd_session *s)
{
	if (s->state == SS_DATA)
		smtpd_data_abort(s);
	smtpd_reset_transaction(s);
	sb_free(&s->in);
	sb_free(&s->out);
	sb_free(&s->line);
	sb_free(&s->hdrtext);
	sb_free(&s->held);
	explicit_bzero(s->auth_login_user, sizeof(s->auth_login_user));
	milter_close(s);
	if (s->waiting)
		s->waiting->session = NULL;	/* the work goes on; nobody to answer */
	free(s->daemon_name);
	free(s);
}
