/* conf_load: loads the .mc configuration and -O options into lib/config,
 * works out $j, and has the small files that decide what is local read
 * (localnames.c). */
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
	localnames_load();
	return ldaproute_load();
}

const char *mtad_queue_dir(void)
{
	return conf_str(G.msp ? C_MSP_QUEUE_DIR : C_QUEUE_DIR);
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
