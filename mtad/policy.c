/* policy: SMTP-time decisions, in sendmail's order.
 *
 *   connect  Connect: entries (REJECT, ERROR, OK, RELAY); DNSBL zones
 *   MAIL     (unless delay_checks) the connect verdict, the DNSBL verdict,
 *            From: entries, then the sender's domain must resolve
 *   RCPT     To: entries; with delay_checks the sender checks above, with
 *            friend/hater exceptions from Spam: entries; relay control;
 *            the recipient must exist when it is local */
#include "policy.h"
#include "smtpd_int.h"
#include "addr.h"
#include "config.h"
#include "dns.h"
#include "maillog.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The DNSBL lookups for one client: thread-safe (a worker runs it).
 * Returns 1 with the reply, the zone and the answer when it is listed. */
int policy_dnsbl_lookup(const char *ip, char *reply, size_t size, char *zone_out, size_t zsize,
			char *answer_out, size_t asize)
{
	struct in_addr in;
	if (inet_pton(AF_INET, ip, &in) != 1)
		return 0;		/* IPv6 DNSBLs: not looked up */
	const unsigned char *o = (const unsigned char *)&in;
	for (size_t i = 0; i < conf_list_count(C_DNSBL); i++) {
		const char *entry = conf_list_get(C_DNSBL, i);
		char zone[256], msg[300] = "";
		const char *bar = strchr(entry, '|');
		snprintf(zone, sizeof(zone), "%.*s", bar ? (int)(bar - entry) : (int)strlen(entry), entry);
		if (bar)
			snprintf(msg, sizeof(msg), "%s", bar + 1);
		char name[300], answers[4][16];
		size_t n = 0;
		snprintf(name, sizeof(name), "%u.%u.%u.%u.%s", o[3], o[2], o[1], o[0], zone);
		if (dns_a_text(name, answers, 4, &n) != DNS_OK || n == 0)
			continue;
		/* The message is sendmail's: quoted pieces are joined, $&{client_addr}
		 * is the client's address, and it may begin with its own reply code
		 * ("450 Mail from ... refused"). */
		char text[400] = "";
		if (msg[0]) {
			size_t t = 0;
			int inquote = 0, quoted = strchr(msg, '"') != NULL;
			for (const char *p = msg; *p && t + 1 < sizeof(text); p++) {
				if (strncmp(p, "$&{client_addr}", 15) == 0) {
					t += (size_t)snprintf(text + t, sizeof(text) - t, "%s", ip);
					t = t >= sizeof(text) ? sizeof(text) - 1 : t;
					p += 14;
				} else if (*p == '"') {
					inquote = !inquote;
				} else if (inquote || !quoted || (*p != ' ' && *p != '\t')) {
					text[t++] = *p;	/* blanks between quoted pieces are not text */
				}
			}
			text[t] = '\0';
		} else {
			snprintf(text, sizeof(text), "Rejected: %s listed at %s", ip, zone);
		}
		const char *t = text;
		while (*t == ' ')
			t++;
		if ((t[0] == '4' || t[0] == '5') && isdigit((unsigned char)t[1]) && isdigit((unsigned char)t[2]) &&
		    t[3] == ' ') {
			const char *rest = t + 4;
			if (isdigit((unsigned char)rest[0]) && rest[1] == '.')
				snprintf(reply, size, "%s", t);
			else
				snprintf(reply, size, "%.3s %c.7.1 %s", t, t[0], rest);
		} else {
			snprintf(reply, size, "550 5.7.1 %s", t);
		}
		snprintf(zone_out, zsize, "%s", zone);
		snprintf(answer_out, asize, "%s", answers[0]);
		return 1;
	}
	return 0;
}

void policy_connect(struct smtpd_session *s)
{
	if (s->local_bs)
		return;
	char reply[400], zone[256], answer[16];
	int listed = conf_list_count(C_DNSBL) > 0 &&
		policy_dnsbl_lookup(s->client_ip, reply, sizeof(reply), zone, sizeof(zone), answer, sizeof(answer));
	policy_connect_verdict(s, listed, reply, zone, answer);
}

/* The Connect: entry (the map is read here, in the event loop), and the
 * DNSBL result found earlier, which OK and RELAY entries override. */
void policy_connect_verdict(struct smtpd_session *s, int listed, const char *reply, const char *zone,
			    const char *answer)
{
	if (s->local_bs)
		return;
	access_connect(s->client_ip, s->client_name, &s->conn_acc);
	if (s->conn_acc.action == ACC_OK || s->conn_acc.action == ACC_RELAY || !listed)
		return;
	snprintf(s->dnsbl_reply, sizeof(s->dnsbl_reply), "%s", reply);
	maillog("NOQUEUE", "%s listed at %s (%s)", s->relay, zone, answer);
}

long policy_greet_pause(const struct smtpd_session *s)
{
	if (s->local_bs || s->trusted)
		return 0;
	long ms = access_enabled() ? access_greet_pause(s->client_ip, s->client_name) : -1;
	return ms >= 0 ? ms : conf_num(C_GREET_PAUSE);
}

/* The sender's domain must exist (FEATURE(accept_unresolvable_domains)
 * turns this off): 0 fine, 1 temporary failure, 2 no such domain. */
/* Is the sender's domain to be checked in DNS at all? */
int policy_sender_needs_dns(const char *addr)
{
	if (conf_num(C_ACCEPT_UNRESOLVABLE) || !*addr)
		return 0;
	const char *at = strrchr(addr, '@');
	return at && at[1] && !conf_is_local_domain(at + 1) && at[1] != '[';
}

/* Thread-safe: a worker runs it. */
int policy_sender_domain_check(const char *addr)
{
	if (conf_num(C_ACCEPT_UNRESOLVABLE) || !*addr)
		return 0;
	char *local, *domain;
	addr_split(addr, &local, &domain);
	int rc = 0;
	if (domain && !conf_is_local_domain(domain) && domain[0] != '[') {
		struct dns_mx mx[4];
		size_t n = 0;
		int null_mx = 0;
		enum dns_status st = dns_mx(domain, mx, 4, &n, &null_mx);
		if (st == DNS_NODATA) {
			struct sockaddr_storage ss[2];
			st = dns_addrs(domain, ss, 2, &n);
			if (st == DNS_NODATA)
				st = DNS_NXDOMAIN;
		}
		if (st == DNS_NXDOMAIN)
			rc = 2;
		else if (st != DNS_OK)
			rc = 1;
	}
	free(local);
	free(domain);
	return rc;
}

/* The sender checks; who is the address the reply names. */
static int sender_verdict(struct smtpd_session *s, const char *who, char *buf, size_t size)
{
	const struct access_result *c = &s->conn_acc;
	if (c->action == ACC_REJECT || c->action == ACC_ERROR || c->action == ACC_TEMPFAIL) {
		access_reply(c, who, buf, size);
		return -1;
	}
	const struct access_result *f = &s->from_acc;
	if (f->action == ACC_REJECT || f->action == ACC_ERROR || f->action == ACC_TEMPFAIL) {
		access_reply(f, who, buf, size);
		return -1;
	}
	if (f->action == ACC_OK || f->action == ACC_RELAY || c->action == ACC_OK || c->action == ACC_RELAY)
		return 0;
	if (s->dnsbl_reply[0]) {
		snprintf(buf, size, "%s", s->dnsbl_reply);
		return -1;
	}
	if (s->sender_dns == 1) {
		snprintf(buf, size, "451 4.1.8 Domain of sender address %s does not resolve", s->sender);
		return -1;
	}
	if (s->sender_dns == 2) {
		snprintf(buf, size, "553 5.1.8 %s... Domain of sender address %s does not exist",
			 s->sender_given, s->sender);
		return -1;
	}
	return 0;
}

static void log_reject(struct smtpd_session *s, const char *ruleset, const char *arg, const char *reply)
{
	maillog("NOQUEUE", "ruleset=%s, arg1=%s, relay=%s, reject=%s", ruleset, arg, s->relay, reply);
}

int policy_mail_begin(struct smtpd_session *s, const char *given, const char *addr, char *buf, size_t size)
{
	s->discard = 0;
	s->sender_dns = 0;
	if (s->local_bs)
		return 0;
	if (conf_num(C_NOUUCP) && strchr(addr, '!')) {
		snprintf(buf, size, "553 5.7.1 %s... UUCP address syntax not supported", given);
		return -1;
	}
	access_address("From", addr, &s->from_acc);
	if (s->from_acc.action == ACC_DISCARD || s->conn_acc.action == ACC_DISCARD)
		s->discard = 1;
	if (s->from_acc.action == ACC_OK || s->from_acc.action == ACC_RELAY)
		return 0;
	return policy_sender_needs_dns(addr) ? 1 : 0;
}

int policy_mail_end(struct smtpd_session *s, const char *given, int dns_result, char *buf, size_t size)
{
	if (s->local_bs)
		return 0;
	s->sender_dns = dns_result;
	if (*conf_str(C_DELAY_CHECKS))
		return 0;	/* decided per recipient */
	if (sender_verdict(s, given, buf, size) < 0) {
		log_reject(s, "check_mail", given, buf);
		return -1;
	}
	return 0;
}

int policy_mail(struct smtpd_session *s, const char *given, const char *addr, char *buf, size_t size)
{
	int rc = policy_mail_begin(s, given, addr, buf, size);
	if (rc < 0)
		return -1;
	return policy_mail_end(s, given, rc == 1 ? policy_sender_domain_check(addr) : 0, buf, size);
}

static int ip_in_relay_domains(const char *ip)
{
	/* relay-domains lines that are IP prefixes match on octet boundaries */
	return conf_client_in_relay_domains(ip);
}

static int may_relay(struct smtpd_session *s, const char *domain, const struct access_result *to)
{
	if (s->trusted || s->auth_user[0] || conf_num(C_PROMISCUOUS_RELAY))
		return 1;
	if (s->conn_acc.action == ACC_RELAY || to->action == ACC_RELAY)
		return 1;
	if (conf_num(C_RELAY_MAIL_FROM) && s->from_acc.action == ACC_RELAY)
		return 1;
	if (conf_is_relay_domain(domain) || ip_in_relay_domains(s->client_ip))
		return 1;
	if (access_enabled()) {
		struct access_result d;
		access_address("To", domain, &d);
		if (d.action == ACC_RELAY)
			return 1;
	}
	return 0;
}

int policy_rcpt(struct smtpd_session *s, const char *given, const char *addr, char *buf, size_t size)
{
	if (s->local_bs)
		return 0;
	if (conf_num(C_NOUUCP) && strchr(addr, '!')) {
		snprintf(buf, size, "553 5.7.1 %s... UUCP address syntax not supported", given);
		return -1;
	}
	struct access_result to;
	access_address("To", addr, &to);
	if (to.action == ACC_DISCARD)
		s->discard = 1;		/* as sendmail: the whole message goes */
	if (to.action == ACC_REJECT || to.action == ACC_ERROR || to.action == ACC_TEMPFAIL) {
		access_reply(&to, given, buf, size);
		log_reject(s, "check_rcpt", given, buf);
		return -1;
	}
	const char *mode = conf_str(C_DELAY_CHECKS);
	if (*mode && to.action != ACC_OK && to.action != ACC_RELAY) {
		struct access_result spam;
		access_address("Spam", addr, &spam);
		int check = strcasecmp(mode, "friend") == 0 ? spam.action != ACC_FRIEND
			  : strcasecmp(mode, "hater") == 0 ? spam.action == ACC_HATER : 1;
		if (check && sender_verdict(s, given, buf, size) < 0) {
			log_reject(s, "check_rcpt", given, buf);
			return -1;
		}
	}
	char *local, *domain;
	addr_split(addr, &local, &domain);
	int rc = 0;
	if (domain && !conf_is_local_domain(domain) && !conf_is_virtual_domain(domain) &&
	    !may_relay(s, domain, &to)) {
		snprintf(buf, size, "550 5.7.1 %s... Relaying denied", given);
		log_reject(s, "check_rcpt", given, buf);
		rc = -1;
	}
	free(local);
	free(domain);
	return rc;
}
