/* route: where a recipient goes, in sendmail's order: local names, then
 * MAIL_HUB for local mail, mailertable (domain, then parent domains, then
 * "."), SMART_HOST, and finally MX records of the domain. */
#ifndef MTAD_ROUTE_H
#define MTAD_ROUTE_H

enum route_kind { ROUTE_LOCAL, ROUTE_SMTP, ROUTE_ERROR };

struct route {
	enum route_kind kind;
	char mailer[16];	/* "local", "esmtp", "smtp", "relay" */
	char host[256];		/* host or domain to look up; "" for local */
	int port;		/* 25 unless given as host:port or [ip]:port */
	int no_mx;		/* [host]: connect to the host itself */
	char error[256];	/* ROUTE_ERROR: "5.1.2 ..." text from mailertable error: */
};

/* Parses "mailer:host", "[host]", "[ip]:port", "host:port" into r. */
int route_parse_spec(const char *spec, const char *default_mailer, struct route *r);
/* the port of a mailer from its *_MAILER_ARGS ("TCP $h 2525"), else 25 */
int route_mailer_port(const char *mailer);
/* Routes one recipient address (brackets already removed). */
void route_address(const char *addr, struct route *r);
/* Same next hop (so one SMTP transaction can carry both)? */
int route_same(const struct route *a, const struct route *b);

#endif
