/* route: next-hop selection for a recipient (the route values themselves,
 * "mailer:host:port" specs, are route_spec.c's). */
#include "route.h"
#include "addr.h"
#include "config.h"
#include "mtad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void route_address(const char *addr, struct route *r)
{
	char *local, *domain;
	addr_split(addr, &local, &domain);
	memset(r, 0, sizeof(*r));
	if (G.msp) {		/* the MSP hands everything to its MTA */
		if (route_parse_spec(conf_str(C_MSP_HOST)[0] ? conf_str(C_MSP_HOST) : "[127.0.0.1]",
				     "relay", r) == 0)
			goto out;
	}
	const char *nullhub = conf_str(C_NULLCLIENT);
	if (*nullhub && route_parse_spec(nullhub, "relay", r) == 0)
		goto out;	/* a null client keeps nothing: all mail goes to its hub */
	if (conf_is_local_domain(domain)) {
		const char *hub = conf_str(C_MAIL_HUB);
		if (*hub && route_parse_spec(hub, "relay", r) == 0)
			goto out;
		const char *luser = conf_str(C_LUSER_RELAY);
		if (*luser && *local && !conf_is_local_user(local) && route_parse_spec(luser, "relay", r) == 0)
			goto out;	/* LUSER_RELAY: unknown local users live elsewhere */
		r->kind = ROUTE_LOCAL;
		snprintf(r->mailer, sizeof(r->mailer), "local");
		goto out;
	}
	if (mailertable_route(domain, r))
		goto out;
	const char *smart = conf_str(C_SMART_HOST);
	if (*smart && route_parse_spec(smart, "relay", r) == 0)
		goto out;
	r->kind = ROUTE_SMTP;
	snprintf(r->mailer, sizeof(r->mailer), "esmtp");
	snprintf(r->host, sizeof(r->host), "%s", domain);
	r->port = route_mailer_port("esmtp");
out:
	free(local);
	free(domain);
}
