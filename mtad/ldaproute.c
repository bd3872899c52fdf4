/* ldaproute: sendmail's FEATURE(`ldap_routing').  A recipient in one of
 * the LDAPROUTE_DOMAIN domains (or an LDAPROUTE_EQUIVALENT) is looked up in
 * two maps, by default the directory's inetLocalMailRecipient entries:
 * mailLocalAddress -> mailRoutingAddress (the new address) and
 * mailLocalAddress -> mailHost (where it goes).  Keys, in sendmail's order:
 * user+detail@domain, user@domain (when a detail argument is given),
 * user@$M for an equivalent domain, then @domain (unless `nodomain').
 *
 *   mailHost      mailRoutingAddress   result
 *   local/none    set                  the new address, routed as usual
 *   remote        set                  the new address, relayed to mailHost
 *   local         not set              the original address, as usual
 *   remote        not set              the original address, relayed to mailHost
 *   none          not set              unchanged (passthru) or 5.1.1 (bounce)
 *
 * A directory that cannot be asked is a temporary failure: 451 at RCPT and
 * a deferral at delivery, never a bounce (sendmail's `queue' accepts and
 * defers; we refuse at RCPT as its `tempfail' does, so the sending client
 * keeps the message).  Used by smtpd_ldap.c (RCPT, from a worker thread;
 * MAIL) and deliver.c (expansion). */
#include "ldaproute.h"
#include "addr.h"
#include "config.h"
#include "diag.h"
#include "map.h"
#include "map_ldap.h"
#include "mtad.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct map_cache mh_map, mra_map;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

struct names {
	char **v;
	size_t n;
};
static struct names route_domains, equivalents;

static void names_clear(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static void names_add(struct names *s, const char *name)
{
	s->v = xreallocarray(s->v, s->n + 1, sizeof(char *));
	s->v[s->n++] = xstrdup(name);
}

static int names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; name && i < s->n; i++)
		if (strcasecmp(s->v[i], name) == 0)
			return 1;
	return 0;
}

/* One name a line ("#" comments), as sendmail's F{LDAPRoute} reads. */
static int names_load(struct names *s, const char *path)
{
	if (!*path)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;	/* as sendmail's -o class files */
		msg_error("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || !*p)
			continue;
		p[strcspn(p, " \t\r\n")] = '\0';
		names_add(s, p);
	}
	fclose(f);
	return 0;
}

int ldaproute_load(void)
{
	map_ldap_set_hostname(G.hostname);
	names_clear(&route_domains);
	names_clear(&equivalents);
	for (size_t i = 0; i < conf_list_count(C_LDAPROUTE_DOMAIN); i++)
		names_add(&route_domains, conf_list_get(C_LDAPROUTE_DOMAIN, i));
	for (size_t i = 0; i < conf_list_count(C_LDAPROUTE_EQUIVALENT); i++)
		names_add(&equivalents, conf_list_get(C_LDAPROUTE_EQUIVALENT, i));
	if (names_load(&route_domains, conf_str(C_LDAPROUTE_DOMAIN_FILE)) < 0 ||
	    names_load(&equivalents, conf_str(C_LDAPROUTE_EQUIVALENT_FILE)) < 0)
		return -1;
	if (*conf_str(C_LDAP_ROUTING) && route_domains.n == 0 && equivalents.n == 0)
		msg_warn("FEATURE(`ldap_routing') without LDAPROUTE_DOMAIN: no recipient is routed through LDAP");
	return 0;
}

int ldaproute_enabled(void)
{
	return *conf_str(C_LDAP_ROUTING) != '\0';
}

/* Argument n (0-based: 3rd..6th FEATURE argument) of LDAPRouting. */
static int has_arg(int n, const char *word)
{
	const char *p = conf_str(C_LDAP_ROUTING);
	for (int i = 0; i < n && p; i++) {
		p = strchr(p, ',');
		if (p)
			p++;
	}
	if (!p)
		return 0;
	size_t len = strcspn(p, ",");
	return strlen(word) == len && strncasecmp(p, word, len) == 0;
}

/* Sendmail's m4: a third argument other than `passthru' (`bounce',
 * `sendertoo', anything) means the user must exist. */
static int must_exist(void)
{
	const char *p = conf_str(C_LDAP_ROUTING);
	return *p && *p != ',' && !has_arg(0, "passthru");
}

static int is_route_domain(const char *domain)
{
	return names_has(&route_domains, domain) || names_has(&equivalents, domain);
}

/* $M, or $j when not masquerading: what an equivalent domain stands for. */
static const char *masquerade_name(void)
{
	const char *m = conf_str(C_MASQUERADE_AS);
	return *m ? m : G.hostname;
}

/* Looks one key up in both maps.  Returns -1 (tempfail, err set), 0 (no
 * entry) or 1 (mh and/or mra set, malloc'd). */
static int lookup_key(const char *key, char **mh, char **mra, char *err, size_t errsize)
{
	*mh = *mra = NULL;
	/* the SMTP server asks from worker threads: one opens the maps */
	pthread_mutex_lock(&cache_mu);
	struct map *m1 = map_cache_get(&mra_map, conf_str(C_LDAP_ROUTING_MRA), "ldap_routing mailRoutingAddress map");
	struct map *m2 = map_cache_get(&mh_map, conf_str(C_LDAP_ROUTING_MH), "ldap_routing mailHost map");
	pthread_mutex_unlock(&cache_mu);
	if (!m1 || !m2) {
		errf(err, errsize, "ldap_routing: a map cannot be opened");
		return -1;
	}
	char e[512];
	int r1 = map_lookup(m1, key, mra, e, sizeof(e));
	if (r1 == MAP_TEMPFAIL) {
		errf(err, errsize, "mailRoutingAddress lookup of %s: %s", key, e);
		return -1;
	}
	int r2 = map_lookup(m2, key, mh, e, sizeof(e));
	if (r2 == MAP_TEMPFAIL) {
		free(*mra);
		*mra = NULL;
		errf(err, errsize, "mailHost lookup of %s: %s", key, e);
		return -1;
	}
	return r1 == MAP_FOUND || r2 == MAP_FOUND;
}

static void set_result(struct ldaproute *out, const char *addr, const char *mh, const char *mra)
{
	snprintf(out->addr, sizeof(out->addr), "%s", mra && *mra ? mra : addr);
	out->host[0] = '\0';
	if (mh && *mh && !conf_is_local_domain(mh))
		snprintf(out->host, sizeof(out->host), "%s", mh);
}

/* `preserve': "+detail" (up to the @ of detail) goes back into the new
 * address, before its @. */
static void add_detail(char *addr, size_t size, const char *detail)
{
	size_t dlen = strcspn(detail, "@");
	char *at = strrchr(addr, '@');
	size_t llen = at ? (size_t)(at - addr) : strlen(addr);
	char buf[1100];
	snprintf(buf, sizeof(buf), "%.*s%.*s%s", (int)llen, addr, (int)dlen, detail, at ? at : "");
	snprintf(addr, size, "%s", buf);
}

int ldaproute_applies(const char *addr)
{
	if (!ldaproute_enabled())
		return 0;
	const char *at = strrchr(addr, '@');
	return at && at != addr && is_route_domain(at + 1);
}

int ldaproute_lookup(const char *addr, struct ldaproute *out, char *err, size_t errsize)
{
	memset(out, 0, sizeof(*out));
	if (!ldaproute_enabled())
		return LDR_NONE;
	char *local, *domain;
	addr_split(addr, &local, &domain);
	if (!domain || !*local || !is_route_domain(domain)) {
		free(local);
		free(domain);
		return LDR_NONE;
	}
	/* the keys, most specific first */
	char keys[5][600];
	int nk = 0;
	snprintf(keys[nk++], sizeof(keys[0]), "%s@%s", local, domain);
	char *plus = strchr(local, '+');
	if (plus && (has_arg(1, "strip") || has_arg(1, "preserve")))
		snprintf(keys[nk++], sizeof(keys[0]), "%.*s@%s", (int)(plus - local), local, domain);
	int equiv = names_has(&equivalents, domain);
	if (equiv)
		snprintf(keys[nk++], sizeof(keys[0]), "%s@%s", local, masquerade_name());
	if (!has_arg(2, "nodomain")) {
		snprintf(keys[nk++], sizeof(keys[0]), "@%s", domain);
		if (equiv)
			snprintf(keys[nk++], sizeof(keys[0]), "@%s", masquerade_name());
	}
	int stripped = plus && nk > 1 && has_arg(1, "preserve") ? 1 : -1;	/* the key without +detail */
	int rc = LDR_NONE;
	for (int i = 0; i < nk && rc == LDR_NONE; i++) {
		char *mh, *mra;
		int r = lookup_key(keys[i], &mh, &mra, err, errsize);
		if (r < 0)
			rc = LDR_TEMPFAIL;
		else if (r > 0) {
			set_result(out, addr, mh, mra);
			rc = LDR_ROUTED;
			if (i == stripped && mra && *mra)
				add_detail(out->addr, sizeof(out->addr), plus);
		}
		free(mh);
		free(mra);
	}
	if (rc == LDR_NONE && must_exist()) {
		snprintf(out->error, sizeof(out->error), "5.1.1:550 User unknown");
		rc = LDR_ERROR;
	}
	free(local);
	free(domain);
	return rc;
}

int ldaproute_sender_check(const char *addr, char *err, size_t errsize)
{
	if (!ldaproute_enabled() || !has_arg(0, "sendertoo") || !addr || !*addr)
		return LDR_NONE;
	struct ldaproute r;
	return ldaproute_lookup(addr, &r, err, errsize);
}
