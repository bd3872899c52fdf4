/* milter_int: what milter_smtpd.c (the SMTP steps) and milter_eom.c (the
 * end of message) share. */
#ifndef MTAD_MILTER_INT_H
#define MTAD_MILTER_INT_H
#include "config.h"
#include "milter.h"

#define TEMPFAIL_REPLY "451 4.3.2 Please try again later"
#define REJECT_REPLY "550 5.7.1 Command rejected"
#define REJECT_DATA_REPLY "554 5.7.1 Command rejected"

/* The filters can be asked: configured, and not all failed or done. */
int milter_usable(struct smtpd_session *s);
/* SMFIC_MACRO for a step: the filter's own list or the configured one. */
void milter_put_macros(struct milter_sess *m, struct mfilter *f, enum mp_stage stage, enum conf_id id,
		       char cmd, struct strbuf *out);
/* The reply for a verdict that refuses; NULL when the step goes on. */
const char *milter_verdict_reply(const struct milter_sess *m, int data_stage);
/* Answers a refused step and logs it ("Milter: what=arg, reject=..."). */
void milter_refuse(struct smtpd_session *s, struct milter_sess *m, const char *what, const char *arg,
		   int data_stage);
/* sendmail's "milter=NAME, action=STEP, ..." line. */
void milter_log_decision(struct smtpd_session *s, struct milter_sess *m, const char *text);
void milter_eom_free(struct eom_ctx *e);
const char *milter_eom_msgid(const struct eom_ctx *e);	/* {msg_id}, or NULL */

#endif
