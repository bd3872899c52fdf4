/* smtpd_int: the SMTP session's internals, shared by smtpd.c (commands)
 * and smtpd_data.c (the DATA automaton). */
#ifndef SMTPD_INT_H
#define SMTPD_INT_H
#include "access.h"
#include "mtad.h"
#include "smtp_cmd.h"
#include "workq.h"
#include <sys/socket.h>

void smtpd_set_client_name(struct smtpd_session *s, const char *name);
/* MAIL after its sender's domain was looked up: reply and state. */
void smtpd_mail_finish(struct smtpd_session *s, int dns_result);
/* Looks the sender's domain up in a worker; 1 when started. */
int smtpd_lookup_sender(struct smtpd_session *s);
/* ETRN (smtpd_etrn.c) */
void smtpd_cmd_etrn(struct smtpd_session *s, const char *arg);
int smtpd_etrn_offered(const struct smtpd_session *s);
/* ldap_routing (smtpd_ldap.c): RCPT's lookup in a worker, 1 when started
 * (the answer comes to smtpd_rcpt_after_ldap in smtpd.c); the verdict
 * (-1 refused and replied, 1 accepted, 0 go on with addr); MAIL's
 * sendertoo check (-1 with the reply in buf). */
struct ldaproute;
int smtpd_ldap_rcpt_start(struct smtpd_session *s, const char *given, const char *addr,
			  const char *rewritten);
int smtpd_ldap_verdict(struct smtpd_session *s, const char *given, int rc, const struct ldaproute *r,
		       const char *err, char *addr, size_t size);
int smtpd_ldap_mail(struct smtpd_session *s, char *buf, size_t size);
void smtpd_rcpt_after_ldap(struct smtpd_session *s, const char *given, const char *addr,
			   char *rewritten, size_t size, int ldap_rc, const struct ldaproute *lr,
			   const char *err);
#include "tls.h"

enum smtpd_state { SS_GREET, SS_READY, SS_MAIL, SS_RCPT, SS_DATA, SS_CLOSED };

struct smtpd_session {
	enum smtpd_state state;
	struct strbuf in;
	struct strbuf out;
	struct strbuf line;	/* the line being assembled */
	int overlong;		/* discarding the rest of a too-long command line */
	int done, quit, eof_logged;
	int local_bs;
	int trusted;		/* may relay */
	int esmtp;
	int bad_commands;
	int mail_count;		/* MAIL/EXPN/VRFY/ETRN seen (for the NOQUEUE log line) */
	enum smtp_verb last_cmd;
	char *daemon_name;
	char client_ip[64];
	char client_name[256];
	char relay[340];	/* "name [ip]" for logs */
	char helo[256];
	/* transaction */
	char *sender;		/* without brackets; "" for <> */
	char *sender_given;	/* as given, for logs and replies */
	char **rcpts;		/* as given */
	size_t nrcpts;
	char *body_type;
	/* sendmail fidelity (issue 21): the transaction's queue ID (chosen at
	 * MAIL, as sendmail does, so RCPT refusals log under it), DSN */
	char txn_qid[QID_MAXLEN];
	int txn_mail_ok;	/* MAIL accepted: an unqueued end logs nrcpts=0 */
	char *envid;		/* MAIL ENVID= (xtext) */
	char ret;		/* MAIL RET=: 'F' FULL, 'H' HDRS, 0 none */
	char **rcpt_flags;	/* per recipient: qf R flags ("PNSF") */
	char **rcpt_orcpt;	/* per recipient: ORCPT= or NULL */
	char pending_rflags[16];	/* a RCPT waiting for ldap_routing: its flags */
	char *pending_orcpt;		/* ... and its ORCPT= */
	int eightbit;		/* an octet >= 128 in the message */
	/* policy (policy.c) */
	struct access_result conn_acc;	/* Connect: entry */
	char dnsbl_reply[400];		/* "550 5.7.1 ..." when the client is listed */
	struct access_result from_acc;	/* From: entry of the current sender */
	int sender_dns;			/* 0 resolves, 1 temporary failure, 2 does not exist */
	int discard;			/* DISCARD: accept and drop */
	int greet_rejected;		/* talked before the greeting (greet_pause) */
	int pipelining_logged;
	unsigned long lines;		/* complete lines read: what resets the timeout */
	struct work *waiting;		/* a commit or lookup in a worker, if any */
	struct strbuf held;		/* input that arrived behind it */
	void *user;			/* the daemon's connection */
	struct sockaddr_storage peer;	/* for the reverse lookup */
	socklen_t peerlen;
	/* DATA automaton */
	struct enqueue eq;
	int eq_open;
	int in_headers;
	int prev_crlf;		/* the previous line ended in CRLF (or DATA just began) */
	int pending_cr;		/* the last byte seen was a CR */
	int bare_lf, bare_cr, long_line, long_line_cur, too_big, headers_too_big, nul_byte;
	long msg_bytes;
	struct strbuf hdrtext;
	/* STARTTLS (daemon.c drives the handshake) and AUTH (smtpd_auth.c) */
	char modifiers[32];		/* the listener's M= flags */
	int tls_offer;			/* a server certificate is loaded */
	int tls_wanted;			/* 220 sent to STARTTLS: handshake next */
	int tls_active;
	struct tls_info tls;
	enum { AUTH_IDLE, AUTH_PLAIN_WAIT, AUTH_LOGIN_USER, AUTH_LOGIN_PASS } auth_step;
	char auth_mech[16];
	char auth_login_user[256];	/* LOGIN: the user name while the password comes */
	char auth_user[256];		/* authenticated as; "" when not */
	int auth_failures;
	struct milter_sess *milter;	/* mail filters (milter.c), or NULL */
	int fd;				/* the client's socket (-bs: stdout) */
};

/* smtpd_auth.c */
int smtpd_auth_offered(const struct smtpd_session *s);
void smtpd_auth_ehlo(struct smtpd_session *s);		/* the 250-AUTH line */
void smtpd_cmd_auth(struct smtpd_session *s, const char *arg);
void smtpd_auth_line(struct smtpd_session *s, const char *line);	/* a continuation */
/* The session's protocol name for logs and Received: (RFC 3848). */
const char *smtpd_proto(const struct smtpd_session *s);

void smtpd_reply(struct smtpd_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void smtpd_enter_state(struct smtpd_session *s, enum smtpd_state st);
void smtpd_reset_transaction(struct smtpd_session *s);
void smtpd_data_begin(struct smtpd_session *s);
size_t smtpd_data_input(struct smtpd_session *s, const char *data, size_t len);
void smtpd_data_abort(struct smtpd_session *s);
/* The halves of steps a mail filter may hold (milter_smtpd.c calls them
 * when the filters have answered). */
void smtpd_greet_reply(struct smtpd_session *s);
void smtpd_helo_reply(struct smtpd_session *s);
void smtpd_mail_accept(struct smtpd_session *s);
void smtpd_rcpt_accept(struct smtpd_session *s, const char *given);
/* reply: a filter's refusal, or NULL for "500 Command unrecognized" */
void smtpd_unknown_reply(struct smtpd_session *s, const char *line, const char *reply);
/* Commits the message env describes (taking it over): the second half of
 * the final dot. */
void smtpd_data_commit(struct smtpd_session *s, struct qf_env *env, const char *msgid);

#endif
