/* masquerade: rewriting our own addresses on the way out. */
#include "masquerade.h"
#include "addr.h"
#include "config.h"
#include "diag.h"
#include "map.h"
#include "mtad.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int in_list(enum conf_id id, const char *name)
{
	for (size_t i = 0; i < conf_list_count(id); i++)
		if (strcasecmp(conf_list_get(id, i), name) == 0)
			return 1;
	return 0;
}

static int in_file(const char *path, const char *name)
{
	if (!path || !*path)
		return 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	char line[512];
	int found = 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		char *e = p + strcspn(p, " \t\r\n#");
		*e = '\0';
		found = *p && strcasecmp(p, name) == 0;
	}
	fclose(f);
	return found;
}

/* Is domain one we hide behind MASQUERADE_AS? */
static int masquerade_domain(const char *domain)
{
	if (!conf_num(C_LIMITED_MASQUERADE) && conf_is_local_domain(domain))
		return 1;
	for (const char *d = domain; d; d = strchr(d, '.') ? strchr(d, '.') + 1 : NULL) {
		if (in_list(C_MASQUERADE_DOMAIN, d) || in_file(conf_str(C_MASQUERADE_DOMAIN_FILE), d))
			return 1;
		if (!conf_num(C_MASQUERADE_ENTIRE_DOMAIN))
			break;		/* only the domain itself */
	}
	return 0;
}

int masquerade_active(void)
{
	return *conf_str(C_MASQUERADE_AS) || *conf_str(C_GENERICSTABLE) || conf_num(C_ALWAYS_ADD_DOMAIN);
}

static struct map_cache generics_cache;

static char *generics_lookup(const char *local, const char *domain)
{
	struct map *generics = map_cache_get(&generics_cache, conf_str(C_GENERICSTABLE), "genericstable");
	if (!generics)
		return NULL;
	if (!(in_list(C_GENERICS_DOMAIN, domain) || in_file(conf_str(C_GENERICS_DOMAIN_FILE), domain) ||
	      conf_is_local_domain(domain)))
		return NULL;
	char key[600], err[512], *v = NULL;
	snprintf(key, sizeof(key), "%s@%s", local, domain);
	if (map_lookup(generics, key, &v, err, sizeof(err)) == MAP_FOUND)
		return v;
	if (map_lookup(generics, local, &v, err, sizeof(err)) == MAP_FOUND)
		return v;
	return NULL;
}

char *masquerade_address(const char *addr)
{
	if (!*addr)
		return NULL;
	char *local, *domain;
	addr_split(addr, &local, &domain);
	char *out = NULL;
	const char *as = conf_str(C_MASQUERADE_AS);
	const char *qualify = *as ? as : G.hostname;
	char *gen = generics_lookup(local, domain ? domain : G.hostname);
	if (gen) {
		out = gen;
	} else if (strcasecmp(local, "root") == 0 || in_list(C_EXPOSED_USER, local)) {
		if (!domain) {		/* exposed users are still qualified, with $j */
			size_t n = strlen(local) + strlen(G.hostname) + 2;
			out = xmalloc(n);
			snprintf(out, n, "%s@%s", local, G.hostname);
		}
	} else if (!domain || (*as && masquerade_domain(domain))) {
		size_t n = strlen(local) + strlen(qualify) + 2;
		out = xmalloc(n);
		snprintf(out, n, "%s@%s", local, qualify);
	}
	free(local);
	free(domain);
	return out;
}

static char *rewrite_cb(void *ctx, const char *addr)
{
	int only_qualify = *(int *)ctx;
	if (only_qualify) {
		if (strchr(addr, '@') || !*addr)
			return NULL;
		size_t n = strlen(addr) + strlen(G.hostname) + 2;
		char *out = xmalloc(n);
		snprintf(out, n, "%s@%s", addr, G.hostname);
		return out;
	}
	return masquerade_address(addr);
}

void masquerade_headers(struct header_list *hl, int local)
{
	if (local && !conf_num(C_ALWAYS_ADD_DOMAIN))
		return;
	if (!local && !masquerade_active())
		return;
	static const char *const senders[] = { "From", "Sender", "Reply-To", "Resent-From", "Resent-Sender", NULL };
	static const char *const rcpts[] = { "To", "Cc", "Resent-To", "Resent-Cc", NULL };
	int only_qualify = local;
	for (size_t i = 0; i < hl->count; i++) {
		int is_sender = 0, is_rcpt = 0;
		for (int k = 0; senders[k]; k++)
			is_sender |= strcasecmp(hl->h[i].name, senders[k]) == 0;
		for (int k = 0; rcpts[k]; k++)
			is_rcpt |= strcasecmp(hl->h[i].name, rcpts[k]) == 0;
		if (!is_sender && !(is_rcpt && (conf_num(C_ALLMASQUERADE) || local)))
			continue;
		char *nv = addr_list_rewrite(hl->h[i].value, rewrite_cb, &only_qualify);
		free(hl->h[i].value);
		hl->h[i].value = nv;
	}
}

char *masquerade_envelope_sender(const char *sender)
{
	if (!conf_num(C_MASQUERADE_ENVELOPE) || !*sender)
		return NULL;
	return masquerade_address(sender);
}
