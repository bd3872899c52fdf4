/* access: lookups in the access map, most specific entry first. */
#include "access.h"
#include "addr.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "map.h"
#include "mtad.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static struct map_cache accessmap;

static struct map *access_map(void)
{
	return map_cache_get(&accessmap, conf_str(C_ACCESS_DB), "access_db");
}

int access_enabled(void)
{
	return *conf_str(C_ACCESS_DB) != '\0';
}

static void parse_action(const char *v, struct access_result *r)
{
	snprintf(r->value, sizeof(r->value), "%s", v);
	while (isspace((unsigned char)*v))
		v++;
	static const struct { const char *word; enum access_action a; } words[] = {
		{ "OK", ACC_OK }, { "RELAY", ACC_RELAY }, { "REJECT", ACC_REJECT },
		{ "DISCARD", ACC_DISCARD }, { "SKIP", ACC_SKIP }, { "FRIEND", ACC_FRIEND },
		{ "HATER", ACC_HATER },
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].word);
		if (strncasecmp(v, words[i].word, n) == 0 && (v[n] == '\0' || isspace((unsigned char)v[n]))) {
			r->action = words[i].a;
			return;
		}
	}
	if (strncasecmp(v, "ERROR:", 6) == 0) {
		r->action = ACC_ERROR;
		const char *p = v + 6;
		r->code = 550;
		r->dsn[0] = '\0';
		/* optional D.S.N: */
		if (isdigit((unsigned char)p[0]) && p[1] == '.') {
			const char *colon = strchr(p, ':');
			if (colon && colon - p < (long)sizeof(r->dsn)) {
				snprintf(r->dsn, sizeof(r->dsn), "%.*s", (int)(colon - p), p);
				p = colon + 1;
			}
		}
		if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
		    (p[3] == ' ' || p[3] == '\0')) {
			r->code = atoi(p);
			p += 3;
		}
		while (*p == ' ')
			p++;
		size_t len = strlen(p);
		if (len >= 2 && p[0] == '"' && p[len - 1] == '"')
			snprintf(r->text, sizeof(r->text), "%.*s", (int)(len - 2), p + 1);
		else
			snprintf(r->text, sizeof(r->text), "%s", p);
		if (!r->dsn[0])
			snprintf(r->dsn, sizeof(r->dsn), "%d.7.1", r->code / 100);
		return;
	}
	r->action = ACC_VALUE;
}

/* A log line for an access map that cannot be read, once a minute. */
static void log_unreadable(const char *why)
{
	static time_t logged;
	if (time(NULL) - logged >= 60) {
		logged = time(NULL);
		maillog(NULL, "SYSERR: access_db %s: %s; answering 4xx until it can be read", conf_str(C_ACCESS_DB),
			why);
	}
}

/* Looks up "tag:key", then "key"; 1 when found. */
static int lookup(const char *tag, const char *key, struct access_result *r)
{
	struct map *m = access_map();
	if (m == NULL) {
		if (!access_enabled())
			return 0;
		/* configured but unreadable: never "no policy" */
		log_unreadable("cannot be opened");
		r->action = ACC_TEMPFAIL;
		return 1;
	}
	char k[600], err[512];
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			snprintf(k, sizeof(k), "%s:%s", tag, key);
		else if (strcmp(tag, "GreetPause") == 0 || strcmp(tag, "Spam") == 0 ||
			 strncmp(tag, "TLS_", 4) == 0)
			break;		/* these have no untagged form */
		else
			snprintf(k, sizeof(k), "%s", key);
		char *value = NULL;
		int rc = map_lookup(m, k, &value, err, sizeof(err));
		if (rc == MAP_TEMPFAIL) {
			msg_warn("access_db lookup of %s: %s", k, err);
			log_unreadable(err);
			r->action = ACC_TEMPFAIL;
			return 1;
		}
		if (rc == MAP_FOUND) {
			parse_action(value, r);
			free(value);
			return 1;
		}
	}
	return 0;
}

static int lookup_domain(const char *tag, const char *domain, struct access_result *r)
{
	for (const char *d = domain; d && *d; d = strchr(d, '.') ? strchr(d, '.') + 1 : NULL)
		if (lookup(tag, d, r))
			return 1;
	return 0;
}

static int lookup_ip(const char *tag, const char *ip, struct access_result *r)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", ip);
	char sep = strchr(buf, ':') ? ':' : '.';
	for (;;) {
		if (lookup(tag, buf, r))
			return 1;
		char *last = strrchr(buf, sep);
		if (last == NULL)
			return 0;
		*last = '\0';
	}
}

void access_connect(const char *ip, const char *hostname, struct access_result *r)
{
	memset(r, 0, sizeof(*r));
	if (ip && *ip && lookup_ip("Connect", ip, r))
		return;
	if (hostname && *hostname)
		lookup_domain("Connect", hostname, r);
}

void access_address(const char *tag, const char *addr, struct access_result *r)
{
	memset(r, 0, sizeof(*r));
	if (addr == NULL || *addr == '\0')
		return;
	char *local, *domain;
	addr_split(addr, &local, &domain);
	if (domain) {
		char full[600];
		snprintf(full, sizeof(full), "%s@%s", local, domain);
		if (lookup(tag, full, r) || lookup_domain(tag, domain, r))
			goto out;
	}
	char user[300];
	snprintf(user, sizeof(user), "%s@", local);
	if (!lookup(tag, user, r) && !domain)
		lookup(tag, local, r);
out:
	free(local);
	free(domain);
}

long access_greet_pause(const char *ip, const char *hostname)
{
	struct access_result r;
	memset(&r, 0, sizeof(r));
	if ((ip && lookup_ip("GreetPause", ip, &r)) || (hostname && *hostname && lookup_domain("GreetPause", hostname, &r))) {
		char *end;
		long v = strtol(r.value, &end, 10);
		if (end != r.value && v >= 0)
			return v;
	}
	return -1;
}

void access_reply(const struct access_result *r, const char *addr, char *buf, size_t size)
{
	if (r->action == ACC_ERROR)
		snprintf(buf, size, "%d %s %s... %s", r->code, r->dsn, addr, r->text[0] ? r->text : "Access denied");
	else if (r->action == ACC_TEMPFAIL)
		snprintf(buf, size, "451 4.3.0 %s... Temporary system failure. Please try again later.", addr);
	else
		snprintf(buf, size, "550 5.7.1 %s... Access denied", addr);
}

int access_tls_requirement(const char *tag, const char *hostname, const char *ip,
			   struct tls_requirement *req)
{
	struct access_result r;
	memset(&r, 0, sizeof(r));
	memset(req, 0, sizeof(*req));
	if (!access_enabled())
		return 0;
	if (!((hostname && *hostname && lookup_domain(tag, hostname, &r)) ||
	      (ip && *ip && lookup_ip(tag, ip, &r))))
		return 0;
	if (r.action == ACC_TEMPFAIL) {		/* cannot tell: be strict */
		req->verify = 1;
		return 1;
	}
	const char *v = r.value;
	while (isspace((unsigned char)*v))
		v++;
	if (strncasecmp(v, "VERIFY", 6) == 0) {
		req->verify = 1;
		v += 6;
		if (*v == ':')
			req->bits = atoi(v + 1);
	} else if (strncasecmp(v, "ENCR:", 5) == 0) {
		req->bits = atoi(v + 5);
	} else {
		msg_warn("access_db: %s: entry \"%s\" is neither VERIFY nor ENCR:bits; TLS required", tag, v);
	}
	return 1;
}
