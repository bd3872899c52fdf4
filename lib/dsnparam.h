/* dsnparam: RFC 3461 DSN parameters of MAIL (RET=, ENVID=) and RCPT
 * (NOTIFY=, ORCPT=), as sendmail keeps them in the qf: ENVID in Z, RET in
 * the F flags d (RET given) and n (RET=HDRS), NOTIFY in the R flags N
 * (NOTIFY given) S, F, D (SUCCESS, FAILURE, DELAY; N alone is NEVER), ORCPT
 * in Q, all values as the client gave them (xtext). */
#ifndef MTA_DSNPARAM_H
#define MTA_DSNPARAM_H
#include <stddef.h>
#include "qfile.h"

/* Is v valid xtext (RFC 3461 4: printable ASCII but '+' and '=', "+HH")? */
int dsn_xtext_valid(const char *v);
/* NOTIFY=v into R flags appended to flags ("NSF"); -1 when invalid (NEVER
 * with another keyword, an unknown keyword, an empty list). */
int dsn_parse_notify(const char *v, char *flags, size_t size);
/* ORCPT=v: "addr-type;xtext"; 0 valid, -1 not. */
int dsn_orcpt_valid(const char *v);
/* RET=v: 'F' FULL, 'H' HDRS, 0 invalid. */
char dsn_parse_ret(const char *v);
/* Notification wanted for this recipient?  event 'S', 'F' or 'D'.  With no
 * NOTIFY (no N flag), failures and delays are reported (RFC 3461 4.1). */
int dsn_notify_wanted(const char *rflags, char event);
/* Appends " ENVID=... RET=..." (what the qf holds, an ENVID only when it is
 * valid xtext) to buf. */
void dsn_mail_params(const struct qf_env *env, char *buf, size_t size);
/* "NOTIFY=... ORCPT=..." for a recipient (an ORCPT only when valid), or
 * NULL when it has neither; caller frees. */
char *dsn_rcpt_params(const struct qf_rcpt *r);

#endif
