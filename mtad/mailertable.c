/* mailertable: sendmail's FEATURE(`mailertable'): "domain mailer:host"
 * entries looked up for the domain, then for each parent as ".parent",
 * then "." as the default.  Values: "esmtp:[10.1.1.10]", "relay:host",
 * "smtp:host:2526" (port: ours), "local:", "error:5.7.1:550 text".
 * The map is opened once and lib/map reopens it when the file changes. */
#include "mtad.h"
#include "config.h"
#include "diag.h"
#include "map.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct map_cache table;

static struct map *mailertable(void)
{
	return map_cache_get(&table, conf_str(C_MAILERTABLE), "mailertable");
}

static int try_key(struct map *m, const char *key, const char *domain, struct route *r)
{
	char *value = NULL, err[512];
	int rc = map_lookup(m, key, &value, err, sizeof(err));
	if (rc == MAP_TEMPFAIL) {	/* never fall through to another route: wait */
		msg_warn("mailertable lookup of %s: %s", key, err);
		memset(r, 0, sizeof(*r));
		r->kind = ROUTE_ERROR;
		snprintf(r->mailer, sizeof(r->mailer), "error");
		snprintf(r->error, sizeof(r->error), "4.3.0:451 mailertable lookup failed; will retry");
		return 1;
	}
	if (rc != MAP_FOUND)
		return 0;
	/* "esmtp:" with no host: the domain itself, by its MX records */
	char spec[1200];
	size_t vl = strlen(value);
	if (vl > 0 && value[vl - 1] == ':')
		snprintf(spec, sizeof(spec), "%s%s", value, domain);
	else
		snprintf(spec, sizeof(spec), "%s", value);
	int ok = route_parse_spec(spec, "esmtp", r) == 0;
	if (!ok)
		msg_warn("mailertable: bad entry for %s: \"%s\" (expected mailer:host)", key, value);
	if (ok && r->kind == ROUTE_SMTP && r->host[0] == '\0')
		snprintf(r->host, sizeof(r->host), "%s", domain);
	free(value);
	return ok;
}

int mailertable_route(const char *domain, struct route *r)
{
	struct map *m = mailertable();
	if (m == NULL && *conf_str(C_MAILERTABLE) && domain) {
		/* configured but unreadable (map_cache_get warned): wait, never
		 * fall through to another route */
		memset(r, 0, sizeof(*r));
		r->kind = ROUTE_ERROR;
		snprintf(r->mailer, sizeof(r->mailer), "error");
		snprintf(r->error, sizeof(r->error), "4.3.0:451 mailertable cannot be read; will retry");
		return 1;
	}
	if (m == NULL || domain == NULL)
		return 0;
	if (try_key(m, domain, domain, r))
		return 1;
	for (const char *p = strchr(domain, '.'); p; p = strchr(p + 1, '.'))
		if (try_key(m, p, domain, r))
			return 1;
	return try_key(m, ".", domain, r);
}
