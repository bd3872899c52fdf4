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
/* The same in two steps, around a DNS lookup done elsewhere (a worker):
 * begin returns -1 (refused, reply in buf), 0 (no lookup needed) or 1 (look
 * up the sender's domain with policy_sender_domain_check, then call end). */
int policy_mail_begin(struct smtpd_session *s, const char *given, const char *addr, char *buf, size_t size);
int policy_mail_end(struct smtpd_session *s, const char *given, int dns_result, char *buf, size_t size);
int policy_sender_needs_dns(const char *addr);
/* 0 resolves, 1 temporary failure, 2 no such domain; thread-safe. */
int policy_sender_domain_check(const char *addr);
/* DNSBL lookups for ip, thread-safe: 1 when listed. */
int policy_dnsbl_lookup(const char *ip, char *reply, size_t size, char *zone_out, size_t zsize,
			char *answer_out, size_t asize);
/* Applies the Connect: entry and a DNSBL result to the session. */
void policy_connect_verdict(struct smtpd_session *s, int listed, const char *reply, const char *zone,
			    const char *answer);
/* At RCPT: 0 to accept, or -1 with the reply in buf. */
int policy_rcpt(struct smtpd_session *s, const char *given, const char *addr, char *buf, size_t size);

#endif
