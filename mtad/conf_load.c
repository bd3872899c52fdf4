/* conf_load: loads the .mc configuration and -O options into lib/config,
 * works out $j, and reads the small files that decide what is local
 * (local-host-names, relay-domains, the local user file). */
#include "mtad.h"
#include "ldaproute.h"
#include "milter.h"
#include "config.h"
#include "diag.h"
#include "dns.h"
#include "map.h"
#include "conf_mc.h"
#include "mc.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct mtad_globals G;

struct name_set {
	char **names;
	size_t count;
};
static struct name_set local_domains, relay_domains, local_users, virtual_domains;

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

/* ---- .mc macros ---- */

static void find_hostname(void)
{
	const char *conf = conf_str(C_HOSTNAME);
	if (*conf) {
		snprintf(G.hostname, sizeof(G.hostname), "%s", conf);
		return;
	}
	char name[256];
	if (gethostname(name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "localhost");
	name[sizeof(name) - 1] = '\0';
	snprintf(G.hostname, sizeof(G.hostname), "%s", name);
	if (!strchr(name, '.')) {
		struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *ai = NULL;
		if (getaddrinfo(name, NULL, &hints, &ai) == 0 && ai && ai->ai_canonname &&
		    strchr(ai->ai_canonname, '.'))
			snprintf(G.hostname, sizeof(G.hostname), "%s", ai->ai_canonname);
		if (ai)
			freeaddrinfo(ai);
	}
}

int conf_load(const char *mc_path, char **oopts, size_t noopts)
{
	conf_reset();
	if (mc_path && conf_read_mc(mc_path) < 0)
		return -1;
	if (conf_apply_options(oopts, noopts) < 0)
		return -1;
	if (dns_set_server(conf_str(C_RESOLVER)) < 0) {
		msg_error("Resolver=%s: expected an IPv4 address, optionally with :port", conf_str(C_RESOLVER));
		return -1;
	}
	find_hostname();
	if (milter_load() < 0)
		return -1;
	set_clear(&local_domains);
	set_clear(&relay_domains);
	set_clear(&local_users);
	set_clear(&virtual_domains);
	set_load_file(&virtual_domains, conf_str(C_VIRTUSER_DOMAIN_FILE));
	for (size_t i = 0; i < conf_list_count(C_LOCAL_DOMAIN); i++)
		set_add(&local_domains, conf_list_get(C_LOCAL_DOMAIN, i));
	set_add(&local_domains, G.hostname);
	set_add(&local_domains, "localhost");
	set_add(&local_domains, "localhost.localdomain");
	set_load_file(&local_domains, conf_str(C_CW_FILE));
	set_load_file(&relay_domains, conf_str(C_CR_FILE));
	set_load_file(&local_users, conf_str(C_LOCAL_USER_FILE));
	return ldaproute_load();
}

const char *mtad_queue_dir(void)
{
	return conf_str(G.msp ? C_MSP_QUEUE_DIR : C_QUEUE_DIR);
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

int conf_is_virtual_domain(const char *domain)
{
	return domain && (set_has(&virtual_domains, domain) || domaintable_has(domain));
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
	return getpwnam(lower) != NULL;
}

void conf_print_changed(void)
{
	for (int i = 0; i < C_COUNT; i++) {
		const struct conf_param *p = &conf_params[i];
		if (p->type == CT_LIST) {
			if (conf_is_default(p->id) && conf_list_count(p->id) == 1 &&
			    strcmp(conf_list_get(p->id, 0), p->defval) == 0)
				continue;
			for (size_t j = 0; j < conf_list_count(p->id); j++)
				printf("O %s=%s\n", p->oname, conf_list_get(p->id, j));
			continue;
		}
		if (!conf_is_default(p->id))
			printf("O %s=%s\n", p->oname, conf_str(p->id));
	}
}

void conf_print_identity(void)
{
	char shortname[256];
	snprintf(shortname, sizeof(shortname), "%s", G.hostname);
	char *dot = strchr(shortname, '.');
	const char *domain = dot ? dot + 1 : "";
	if (dot)
		*dot = '\0';
	printf("Version " MTAD_VERSION "\n");
	/* AUTH is ours (PLAIN and LOGIN, no SASL library): sendmail says SASLv2 */
	printf(" Compiled with: AUTH DNSMAP LOG MAP_REGEX NAMED_BIND NETINET NETINET6 NEWDB MILTER\n\t\tPIPELINING STARTTLS\n");
	printf("\n============ SYSTEM IDENTITY (after readcf) ============\n");
	printf("      (short domain name) $w = %s\n", shortname);
	printf("  (canonical domain name) $j = %s\n", G.hostname);
	printf("         (subdomain name) $m = %s\n", domain);
	printf("              (node name) $k = %s\n", G.hostname);
	printf("========================================================\n\n");
}
