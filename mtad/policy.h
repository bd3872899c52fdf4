/* policy: who may send what to whom, decided at SMTP time: the access map,
 * DNSBLs, relay control (local names, relay-domains, trusted clients),
 * sender domain checks, delay_checks, greet_pause.  smtpd.c asks; this file
 * answers with a reply to send, or nothing. */
#ifndef MTAD_POLICY_H
#define MTAD_POLICY_H
#include <stddef.h>

struct smtpd_session;

/* At connection: Connect: entry and DNSBL lookups. */
void policy_connect(struct smtpd_session *s);
/* Milliseconds to wait before the greeting for this client (0: none). */
long policy_greet_pause(const struct smtpd_session *s);
/* At MAIL: 0 to accept, or -1 with the reply in buf. */
int policy_mail(struct smtpd_session *s, const char *given, const char *addr, char *buf, size_t size);
/* At RCPT: 0 to accept, or -1 with the reply in buf. */
int policy_rcpt(struct smtpd_session *s, const char *given, const char *addr, char *buf, size_t size);

#endif
