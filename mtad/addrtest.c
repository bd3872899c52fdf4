/* addrtest: -bv (verify addresses) and -bt (address test mode).  They run
 * the pipeline mail takes here (virtusertable and domaintable, aliases,
 * routing, the access map and relay control) and say what would happen,
 * without sending anything.  -bt explains our pipeline, not sendmail's
 * rulesets: "3,0 addr" is accepted for old habits and means /parse. */
#include "mtad.h"
#include "ldaproute.h"
#include "access.h"
#include "addr.h"
#include "aliases.h"
#include "config.h"
#include "local.h"
#include "maillog.h"
#include "map.h"
#include "masquerade.h"
#include "policy.h"
#include "route.h"
#include "smtpd_int.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>
#include <readline/history.h>
#include <readline/readline.h>

static void strip_brackets(char *buf, size_t size, const char *addr)
{
	size_t len = strlen(addr);
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
		snprintf(buf, size, "%.*s", (int)(len - 2), addr + 1);
	else
		snprintf(buf, size, "%s", addr);
}

static int print_route(const char *shown, const char *addr)
{
	struct route r;
	route_address(addr, &r);
	if (r.kind == ROUTE_LOCAL) {
		char *local, *domain;
		addr_split(addr, &local, &domain);
		int known = conf_is_local_user(local);
		if (known)
			printf("%s... deliverable: mailer local, user %s\n", shown, local);
		else
			printf("%s... User unknown\n", shown);
		free(local);
		free(domain);
		return known ? 0 : -1;
	}
	if (r.kind == ROUTE_ERROR) {
		printf("%s... %s\n", shown, r.error);
		return -1;
	}
	printf("%s... deliverable: mailer %s, host %s%s%s", shown, r.mailer, r.no_mx ? "[" : "", r.host,
	       r.no_mx ? "]" : "");
	if (r.port != 25)
		printf(", port %d", r.port);
	printf(", user %s\n", addr);
	return 0;
}

struct verify_ctx {
	int bad;
};

static int verify_target(void *ctx, const struct alias_target *t)
{
	struct verify_ctx *v = ctx;
	switch (t->kind) {
	case ALIAS_FILE:
		printf("%s... deliverable: mailer *file*, user %s\n", t->text, t->text);
		break;
	case ALIAS_PROGRAM:
		printf("|%s... deliverable: mailer prog, user |%s\n", t->text, t->text);
		break;
	case ALIAS_ERROR:
		printf("%s... %s\n", t->alias, t->text);
		v->bad = 1;
		break;
	default:
		if (print_route(t->text, t->text) < 0)
			v->bad = 1;
		break;
	}
	return 0;
}

/* One address through the whole pipeline; 0 when deliverable. */
static int verify_one(const char *given)
{
	char addr[ADDR_MAXLEN + 3], rewritten[1100], err[512];
	strip_brackets(addr, sizeof(addr), given);
	if (!addr_chars_ok(addr) || !*addr) {
		printf("%s... Invalid address\n", given);
		return -1;
	}
	int vr = virtual_rewrite(addr, rewritten, sizeof(rewritten));
	if (vr == 1) {
		const char *text = strchr(rewritten, ' ');
		printf("%s... %s\n", given, text ? text + 1 : rewritten);
		return -1;
	}
	if (vr < 0) {
		printf("%s... Temporary lookup failure\n", given);
		return -1;
	}
	struct ldaproute lr;
	int lrc = ldaproute_lookup(rewritten, &lr, err, sizeof(err));
	if (lrc == LDR_TEMPFAIL || lrc == LDR_ERROR) {
		printf("%s... %s\n", given, lrc == LDR_ERROR ? "User unknown" : "Temporary lookup failure");
		if (lrc == LDR_TEMPFAIL)
			fprintf(stderr, "mtad: ldap_routing: %s\n", err);
		return -1;
	}
	if (lrc == LDR_ROUTED && lr.host[0]) {	/* relayed to its mailHost */
		struct route r;
		if (route_parse_spec(lr.host, "relay", &r) != 0) {
			printf("%s... bad mailHost \"%s\" in the directory\n", given, lr.host);
			return -1;
		}
		printf("%s... deliverable: mailer %s, host %s%s%s", given, r.mailer, r.no_mx ? "[" : "", r.host,
		       r.no_mx ? "]" : "");
		if (r.port != 25)
			printf(", port %d", r.port);
		printf(", user %s\n", lr.addr);
		return 0;
	}
	if (lrc == LDR_ROUTED)
		snprintf(rewritten, sizeof(rewritten), "%s", lr.addr);
	char *local, *domain;
	addr_split(rewritten, &local, &domain);
	int rc = 0;
	struct aliases *al = conf_is_local_domain(domain) ? local_aliases() : NULL;
	int ar = ALIAS_NOTFOUND;
	if (al) {
		struct verify_ctx v = { 0 };
		ar = alias_expand(al, local, NULL, verify_target, &v, err, sizeof(err));
		if (ar == ALIAS_PERMFAIL || ar == ALIAS_TEMPFAIL) {
			printf("%s... %s\n", given, err);
			rc = -1;
		} else if (ar == ALIAS_FOUND) {
			rc = v.bad ? -1 : 0;
		}
	}
	if (ar == ALIAS_NOTFOUND)
		rc = print_route(given, rewritten);
	free(local);
	free(domain);
	return rc;
}

int addrtest_verify(char **addrs, int n)
{
	int bad = 0;
	for (int i = 0; i < n; i++) {
		char *copy = xstrdup(addrs[i]), *save = NULL;
		for (char *a = strtok_r(copy, ", ", &save); a; a = strtok_r(NULL, ", ", &save))
			if (verify_one(a) < 0)
				bad = 1;
		free(copy);
	}
	return bad ? EX_NOUSER : EX_OK;
}

/* ---- -bt ---- */

static char client_addr[64] = "127.0.0.1";

static void bt_help(void)
{
	puts("Address test mode: what this mtad would do with an address (our pipeline,");
	puts("not sendmail's rulesets; nothing is sent).");
	puts("  /parse ADDR         rewriting, aliases and route (also: 3,0 ADDR)");
	puts("  /try MAILER ADDR    the address as MAILER would send it (masquerading)");
	puts("  /map NAME KEY       look KEY up: access, mailertable, virtusertable,");
	puts("                      domaintable, genericstable, aliases");
	puts("  .D{client_addr}IP   act as if the client were IP (default 127.0.0.1)");
	puts("  /relay ADDR         would a client at {client_addr} be let relay to ADDR?");
	puts("  /mail ADDR          would MAIL FROM:<ADDR> from {client_addr} be accepted?");
	puts("  /help, /quit (or end of input)");
}

static void bt_map(const char *name, const char *key)
{
	static const struct { const char *name; enum conf_id id; } maps[] = {
		{ "access", C_ACCESS_DB }, { "mailertable", C_MAILERTABLE },
		{ "virtusertable", C_VIRTUSERTABLE }, { "domaintable", C_DOMAINTABLE },
		{ "genericstable", C_GENERICSTABLE },
	};
	char err[512], *value = NULL;
	if (strcasecmp(name, "aliases") == 0) {
		struct aliases *a = local_aliases();
		int rc = a ? aliases_lookup(a, key, &value, err, sizeof(err)) : ALIAS_NOTFOUND;
		if (rc == ALIAS_FOUND)
			printf("map_lookup: aliases (%s) returns %s\n", key, value);
		else
			printf("map_lookup: aliases (%s) no match%s%s\n", key, rc < 0 ? ": " : "", rc < 0 ? err : "");
		free(value);
		return;
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (strcasecmp(name, maps[i].name) != 0)
			continue;
		const char *spec = conf_str(maps[i].id);
		if (!*spec) {
			printf("map_lookup: %s is not configured\n", name);
			return;
		}
		struct map *m = map_open(spec, err, sizeof(err));
		if (m == NULL) {
			printf("map_lookup: %s: %s\n", name, err);
			return;
		}
		int rc = map_lookup(m, key, &value, err, sizeof(err));
		if (rc == MAP_FOUND)
			printf("map_lookup: %s (%s) returns %s\n", name, key, value);
		else if (rc == MAP_NOTFOUND)
			printf("map_lookup: %s (%s) no match\n", name, key);
		else
			printf("map_lookup: %s (%s) temporary failure: %s\n", name, key, err);
		free(value);
		map_close(m);
		return;
	}
	printf("unknown map %s (access, mailertable, virtusertable, domaintable, genericstable, aliases)\n", name);
}

static struct smtpd_session *bt_session(void)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, client_addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, client_addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		sl = sizeof(*s6);
	} else {
		return NULL;
	}
	return smtpd_new(-1, (struct sockaddr *)&ss, sl, "MTA", 0);
}

static void bt_policy(const char *what, const char *addr)
{
	struct smtpd_session *s = bt_session();
	if (s == NULL) {
		printf("{client_addr} %s is not an IP address\n", client_addr);
		return;
	}
	char given[ADDR_MAXLEN + 3], bare[ADDR_MAXLEN + 3], reply[700];
	strip_brackets(bare, sizeof(bare), addr);
	snprintf(given, sizeof(given), "<%s>", bare);
	int rc;
	if (strcmp(what, "mail") == 0) {
		/* the sender, as a session has it once MAIL is parsed: the
		 * replies name it */
		s->sender = xstrdup(bare);
		s->sender_given = xstrdup(given);
		rc = policy_mail(s, given, bare, reply, sizeof(reply));
	} else {
		s->sender = xstrdup("tester@example.org");
		s->sender_given = xstrdup("<tester@example.org>");
		rc = policy_rcpt(s, given, bare, reply, sizeof(reply));
	}
	printf("client %s (%s): %s\n", client_addr, s->trusted ? "trusted" : "not trusted",
	       rc == 0 ? (strcmp(what, "mail") == 0 ? "sender accepted" : "recipient accepted") : reply);
	smtpd_free(s);
}

static void bt_line(char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	char *end = line + strlen(line);
	while (end > line && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (!*line || line[0] == '#')
		return;
	char cmd[64] = "", a1[600] = "", a2[600] = "";
	if (strncmp(line, ".D{client_addr}", 15) == 0) {
		snprintf(client_addr, sizeof(client_addr), "%s", line + 15);
		printf("{client_addr} = %s\n", client_addr);
		return;
	}
	if (isdigit((unsigned char)line[0])) {	/* "3,0 addr": sendmail habit */
		sscanf(line, "%*s %599s", a1);
		verify_one(a1);
		return;
	}
	sscanf(line, "%63s %599s %599s", cmd, a1, a2);
	if (!strcmp(cmd, "/parse") && a1[0])
		verify_one(a1);
	else if (!strcmp(cmd, "/map") && a2[0])
		bt_map(a1, a2);
	else if (!strcmp(cmd, "/try") && a2[0]) {
		char bare[ADDR_MAXLEN + 3];
		strip_brackets(bare, sizeof(bare), a2);
		char *m = strcmp(a1, "local") ? masquerade_address(bare) : NULL;
		printf("%s as mailer %s sends it: %s\n", bare, a1, m ? m : bare);
		free(m);
	} else if (!strcmp(cmd, "/relay") && a1[0])
		bt_policy("rcpt", a1);
	else if (!strcmp(cmd, "/mail") && a1[0])
		bt_policy("mail", a1);
	else if (!strcmp(cmd, "/help") || !strcmp(cmd, "?"))
		bt_help();
	else
		printf("%s: unknown command (try /help)\n", line);
}

int addrtest_interactive(void)
{
	/* what is tried here (relay and access checks, DNSBL lookups) would log
	 * as if it had happened: address test mode logs nothing, neither to
	 * the LogFile nor to syslog */
	maillog_close();
	maillog_open(G.log_tag, NULL, 0);
	int tty = isatty(0);
	if (tty) {
		printf("ADDRESS TEST MODE (mtad " MTAD_VERSION "): our pipeline, not sendmail's rulesets.\n");
		printf("Enter /help for the commands.\n");
	}
	for (;;) {
		char *line;
		if (tty) {
			line = readline("> ");
			if (line && *line)
				add_history(line);
		} else {
			char buf[2048];
			if (!fgets(buf, sizeof(buf), stdin))
				line = NULL;
			else
				line = xstrdup(buf);
			if (line)
				printf("> %s", line);
		}
		if (line == NULL)
			break;
		if (!strncmp(line, "/quit", 5)) {
			free(line);
			break;
		}
		bt_line(line);
		free(line);
		fflush(stdout);
	}
	return 0;
}
