/* milter: the MTA side of sendmail's mail filter protocol (version 6).
 *
 * milter.c is the engine: the configured filters (MailFilter definitions,
 * InputMailFilters order), one conversation per filter per SMTP session on
 * a non-blocking socket, driven by "readable / writable / timed out"
 * events from the daemon's loop (loop.h) or, without a loop (-bs), by a
 * blocking poll().  An operation (connect, helo, mail, rcpt, data, unknown,
 * eom) goes through the filters in order, one packet and its reply at a
 * time; its verdict comes back through a continuation in the event loop
 * (through the work queue, so the daemon resumes the session as it does
 * after a commit).  Meanwhile the session holds its input (s->waiting).
 *
 * milter_smtpd.c is the glue with the SMTP session: the macros, the
 * packets of each step, the replies; milter_eom.c the end of message and
 * the changes filters ask for then (headers, body, recipients, sender,
 * quarantine). */
#ifndef MTAD_MILTER_H
#define MTAD_MILTER_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "milter_def.h"
#include "milter_proto.h"
#include "strbuf.h"

struct smtpd_session;
struct qf_env;

/* ---- configuration (milter.c) ---- */

/* Reads MailFilter and InputMailFilters; 0, or -1 with a message logged
 * (a filter named in InputMailFilters without a definition, a bad one). */
int milter_load(void);
size_t milter_count(void);		/* filters SMTP mail goes through */
const struct milter_def *milter_def_at(size_t i);
/* What is configured, for -bC and -d. */
void milter_print(FILE *out);

/* ---- the engine (milter.c) ---- */

enum milter_op { MO_NONE, MO_CONNECT, MO_HELO, MO_MAIL, MO_RCPT, MO_DATA, MO_UNKNOWN, MO_EOM };

struct mfilter;
struct milter_sess;

/* The packets of one operation for one filter, produced step by step by
 * milter_smtpd.c: appends the next packets to out and returns 1 when the
 * last one expects a reply, 0 when the operation is over for this filter. */
typedef int milter_step_fn(struct milter_sess *m, struct mfilter *f, struct strbuf *out);
/* A filter's answer that is not a plain verdict (EOM modifications):
 * 0 taken, -1 a protocol error (the filter goes to its error state). */
typedef int milter_action_fn(struct milter_sess *m, struct mfilter *f, char cmd, const char *data,
			     size_t len);
/* A filter finished its part of the operation with continue or accept. */
typedef void milter_filter_done_fn(struct milter_sess *m, struct mfilter *f);
/* The verdict, in the event loop. */
typedef void milter_cont_fn(struct smtpd_session *s, struct milter_sess *m);

struct mfilter {
	const struct milter_def *def;
	struct milter_sess *m;
	int fd;
	enum { MF_DOWN, MF_CONNECTING, MF_NEGOTIATING, MF_READY, MF_FAILED, MF_OFF } st;
	int accepted;		/* SMFIR_ACCEPT: skipped until the message (or session) ends */
	int conn_accepted;	/* accepted at connect/helo: skipped for the session */
	int in_msg;		/* MAIL sent: an abort is due if the message does not end */
	uint32_t actions, pflags;
	char *symlist[MPS_COUNT];
	struct strbuf out;
	size_t out_off;
	struct strbuf in;
	uint32_t watched;
	int registered;		/* known to the event loop */
	int awaiting;		/* a reply is expected */
	int got_bytes;		/* some of the reply came ("during" in timeout logs) */
	/* the operation's progress through this filter (milter_smtpd.c) */
	int phase;
	size_t idx;
	long body_off;
};

struct milter_sess {
	struct smtpd_session *s;
	struct mfilter *f;
	size_t n;
	/* the operation in progress */
	enum milter_op op;
	int busy;
	size_t cur;
	milter_step_fn *step;
	milter_action_fn *action;
	milter_filter_done_fn *filter_done;
	milter_cont_fn *cont;
	const char *where;		/* for logs: "connect", "eom", ... */
	long long deadline;		/* ms, loop clock */
	long long eom_deadline;
	unsigned long timer;
	long long timer_due;
	struct work *wk;		/* the continuation's trip through the work queue */
	int wk_submitted;
	/* the verdict */
	char verdict;			/* MPR_CONTINUE, MPR_ACCEPT, MPR_REJECT, MPR_TEMPFAIL,
					 * MPR_DISCARD, MPR_REPLYCODE, MPR_SHUTDOWN */
	char reply[2048];		/* for MPR_REPLYCODE: "550 5.7.1 text" (lines CR LF) */
	char decided_by[64];		/* the filter's name */
	int failed_filter;		/* the verdict comes from a filter's F= flag */
	/* per-session state kept by milter_smtpd.c */
	char conn_verdict;		/* what the connect step said (0: go on) */
	char **mail_args;		/* ESMTP arguments of MAIL / the current RCPT */
	size_t nmail_args;
	char **rcpt_args;
	size_t nrcpt_args;
	const char *cur_rcpt;
	const char *unknown_line;
	struct eom_ctx *eom;
};

struct milter_sess *milter_sess_new(struct smtpd_session *s);
void milter_sess_free(struct milter_sess *m);
/* Starts op through every filter; cont is called with the verdict.
 * Returns 1 (the session waits for cont; in -bs it has run already). */
int milter_run(struct milter_sess *m, enum milter_op op, const char *where, milter_step_fn *step,
	       milter_action_fn *action, milter_filter_done_fn *filter_done, milter_cont_fn *cont);
/* SMFIC_ABORT to the filters in a message (no reply). */
void milter_abort_all(struct milter_sess *m);
/* Filters that take part in op now (not failed, off, or accepted). */
int milter_active(const struct milter_sess *m);
int milter_filter_skips(const struct mfilter *f, uint32_t no_flag);

/* ---- the glue (milter_smtpd.c, milter_eom.c), called from smtpd.c and smtpd_data.c ---- */

/* Each returns 1 when the filters were asked (the session's reply comes
 * from the continuation), 0 when there is nothing to ask (reply now). */
int milter_connect(struct smtpd_session *s);
int milter_helo(struct smtpd_session *s);
/* The ESMTP parameters of MAIL, sent with it ("SIZE=100"). */
struct smtp_mailrcpt;
void milter_set_mail_args(struct smtpd_session *s, const struct smtp_mailrcpt *mr);
int milter_mail(struct smtpd_session *s);
int milter_rcpt(struct smtpd_session *s, const char *given);
int milter_data(struct smtpd_session *s);
int milter_unknown(struct smtpd_session *s, const char *line);
/* End of message: env holds the headers, sender and recipients; the body
 * is in the session's df.  The filters may change all of it; then
 * smtpd_data_commit (or a rejection) follows.  Takes env over. */
int milter_eom(struct smtpd_session *s, struct qf_env *env, const char *msgid);
void milter_abort(struct smtpd_session *s);	/* RSET, a new transaction */
void milter_close(struct smtpd_session *s);	/* the session ends */
/* Refused at connect: MAIL, RCPT, DATA get the filter's answer. */
int milter_mail_refused(struct smtpd_session *s);

#endif
