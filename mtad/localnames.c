/* localnames: the names that decide what is ours: local domains ($=w:
 * local-host-names, LOCAL_DOMAIN, $j), relay-domains (names and client IP
 * prefixes), the local user file, the virtuser domain file. */
#include "mtad.h"
#include "config.h"
#include "diag.h"
#include "pwcache.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


struct name_set {
	char **names;
	size_t count;
};
static struct name_set local_domains, relay_domains, local_users, virtuser_domains;

static void set_add(struct name_set *set, const char *name)
{
	set->names = xreallocarray(set->names, set->count + 1, sizeof(char *));
	set->names[set->count] = xstrdup(name);
	for (char *p = set->names[set->count]; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	set->count++;
}

static void set_clear(struct name_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		free(set->names[i]);
	free(set->names);
	set->names = NULL;
	set->count = 0;
}

static int set_has(const struct name_set *set, const char *name)
{
	for (size_t i = 0; i < set->count; i++)
		if (strcasecmp(set->names[i], name) == 0)
			return 1;
	return 0;
}

/* Reads a file of names, one a line, '#' comments; a missing file is fine
 * (optional, as sendmail's -o), an unreadable one is a warning. */
static void set_load_file(struct name_set *set, const char *path)
{
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (errno != ENOENT)
			msg_warn("%s: %s (ignored)", path, strerror(errno));
		return;
	}
	char line[1024];
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			msg_warn("%s:%d: line too long (ignored)", path, lineno);
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || *p == '\0')
			continue;
		char *e = p;
		while (*e && !isspace((unsigned char)*e))
			e++;
		*e = '\0';
		set_add(set, p);
	}
	fclose(f);
}


/* Reads the name files again (after the configuration was loaded: $j is
 * known). */
void localnames_load(void)
{
	set_clear(&local_domains);
	set_clear(&relay_domains);
	set_clear(&local_users);
	set_clear(&virtuser_domains);
	set_load_file(&virtuser_domains, conf_str(C_VIRTUSER_DOMAIN_FILE));
	for (size_t i = 0; i < conf_list_count(C_LOCAL_DOMAIN); i++)
		set_add(&local_domains, conf_list_get(C_LOCAL_DOMAIN, i));
	set_add(&local_domains, G.hostname);
	set_add(&local_domains, "localhost");
	set_add(&local_domains, "localhost.localdomain");
	set_load_file(&local_domains, conf_str(C_CW_FILE));
	set_load_file(&relay_domains, conf_str(C_CR_FILE));
	set_load_file(&local_users, conf_str(C_LOCAL_USER_FILE));
}

int localnames_in_virtuser_file(const char *domain)
{
	return set_has(&virtuser_domains, domain);
}

int conf_is_local_domain(const char *domain)
{
	if (domain == NULL || *domain == '\0')
		return 1;
	size_t len = strlen(domain);
	if (domain[len - 1] == '.') {		/* a trailing dot is the same name */
		char copy[512];
		snprintf(copy, sizeof(copy), "%.*s", (int)(len - 1), domain);
		return set_has(&local_domains, copy);
	}
	if (domain[0] == '[') {
		/* [127.0.0.1] and [::1] name us; other literals do not */
		return strcmp(domain, "[127.0.0.1]") == 0 || strcasecmp(domain, "[IPv6:::1]") == 0;
	}
	return set_has(&local_domains, domain);
}

/* relay-domains lines that are IP prefixes ("10.1.1", "192.168") let those
 * clients relay; they match on octet boundaries only. */
int conf_client_in_relay_domains(const char *ip)
{
	size_t iplen = strlen(ip);
	for (size_t i = 0; i < relay_domains.count; i++) {
		const char *e = relay_domains.names[i];
		if (strspn(e, "0123456789.") != strlen(e) && !strchr(e, ':'))
			continue;
		size_t n = strlen(e);
		if (n <= iplen && strncmp(ip, e, n) == 0 && (ip[n] == '\0' || ip[n] == '.' || ip[n] == ':'))
			return 1;
	}
	return 0;
}


int conf_is_relay_domain(const char *domain)
{
	if (domain == NULL)
		return 0;
	return set_has(&relay_domains, domain);
}

int conf_is_local_user(const char *local)
{
	if (set_has(&local_users, local))
		return 1;
	char lower[256];
	snprintf(lower, sizeof(lower), "%s", local);
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	struct pw_entry pw;
	return pwcache_byname(lower, &pw) == 1;	/* answers live 2 s: lib/pwcache.h */
}

