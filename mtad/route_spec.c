/* route_spec: a route as a value: parsed from sendmail's "mailer:host"
 * specs (mailertable, SMART_HOST, ldap_routing's mailHost) and compared.
 * Knows nothing of how a route is chosen (route.c). */
#include "route.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The port of a mailer from its *_MAILER_ARGS ("TCP $h 2525"); 25 when
 * none is given or the text is not of that form. */
int route_mailer_port(const char *mailer)
{
	const char *args = conf_str(strcmp(mailer, "relay") == 0 ? C_RELAY_MAILER_ARGS : C_ESMTP_MAILER_ARGS);
	char tcp[8], h[8];
	int port = 25;
	if (sscanf(args, "%7s %7s %d", tcp, h, &port) == 3 && port > 0 && port <= 65535)
		return port;
	return 25;
}

int route_parse_spec(const char *spec, const char *default_mailer, struct route *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = ROUTE_SMTP;
	r->port = 25;
	snprintf(r->mailer, sizeof(r->mailer), "%s", default_mailer);
	const char *colon = strchr(spec, ':');
	const char *host = spec;
	/* "mailer:rest", unless the colon belongs to [ip]:port or host:port */
	if (colon && spec[0] != '[') {
		size_t mlen = (size_t)(colon - spec);
		static const char *const mailers[] = { "esmtp", "smtp", "relay", "smtp8", "dsmtp", "local", "error", NULL };
		for (int i = 0; mailers[i]; i++) {
			if (strlen(mailers[i]) == mlen && strncasecmp(spec, mailers[i], mlen) == 0) {
				snprintf(r->mailer, sizeof(r->mailer), "%s", mailers[i]);
				host = colon + 1;
				break;
			}
		}
	}
	if (strcmp(r->mailer, "error") == 0) {
		r->kind = ROUTE_ERROR;
		snprintf(r->error, sizeof(r->error), "%s", host);
		return 0;
	}
	if (strcmp(r->mailer, "local") == 0) {
		r->kind = ROUTE_LOCAL;
		return 0;
	}
	r->port = route_mailer_port(r->mailer);
	char h[300];
	snprintf(h, sizeof(h), "%s", host);
	char *port = NULL;
	if (h[0] == '[') {
		char *close = strchr(h, ']');
		if (!close)
			return -1;
		*close = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return -1;
		snprintf(r->host, sizeof(r->host), "%s", h + 1);
		r->no_mx = 1;
	} else {
		char *c = strrchr(h, ':');
		if (c && strchr(h, ':') == c) {		/* exactly one colon: host:port */
			*c = '\0';
			port = c + 1;
		}
		snprintf(r->host, sizeof(r->host), "%s", h);
	}
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (*end || p <= 0 || p > 65535)
			return -1;
		r->port = (int)p;
	}
	return r->host[0] ? 0 : -1;
}

int route_same(const struct route *a, const struct route *b)
{
	return a->kind == b->kind && strcasecmp(a->host, b->host) == 0 && a->port == b->port &&
	       a->no_mx == b->no_mx && strcmp(a->mailer, b->mailer) == 0;
}

