/* conf_mc: reading a sendmail .mc into lib/config, and -O options.  The one
 * loader of the configuration for mtad and every tool.  define()s set
 * parameters by their .mc names, FEATURE(name, args) sets the parameter
 * named "FEATURE(name)", macros such as MASQUERADE_AS set theirs; what is not
 * supported is reported with file:line (a warning, or an error where
 * ignoring it would change routing or security). */
#include "conf_mc.h"
#include "milter_def.h"
#include "config.h"
#include "diag.h"
#include "map.h"
#include "mc.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static int quiet;

void conf_mc_quiet(int on)
{
	quiet = on;
}

/* Warnings are for mtad -bC and the daemon; tools reading the same file ask
 * for quiet. */
static void mc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mc_warn(const char *fmt, ...)
{
	if (quiet)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	msg_warn("%s", buf);
}

/* When m4 expands a defined macro into the .cf, a second level of quotes
 * goes: ``a,b'' is the value a,b and $`'&{x} is $&{x}.  Quote characters
 * are dropped pairwise; an apostrophe outside quotes stays. */
static void m4_unquote(char *s)
{
	int depth = 0;
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '`') {
			depth++;
			continue;
		}
		if (*r == '\'' && depth > 0) {
			depth--;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
}

static int warn_unsupported(const struct mc_call *c, const char *what)
{
	mc_warn("%s:%d: unsupported %s%s%s%s (ignored)", c->file, c->line, c->name,
		 c->nargs ? "(`" : "", c->nargs ? c->args[0] : "", c->nargs ? "')" : "");
	(void)what;
	return 0;
}

/* FEATURE(name[, args]) sets the parameter whose .mc name is
 * "FEATURE(name)"; these are the arguments a bare FEATURE(name) means. */
static const struct {
	const char *name;
	const char *defarg;
} feature_defaults[] = {
	{ "mailertable", "hash /etc/mail/mailertable" },
	{ "access_db", "hash /etc/mail/access" },
	{ "virtusertable", "hash /etc/mail/virtusertable" },
	{ "domaintable", "hash /etc/mail/domaintable" },
	{ "genericstable", "hash /etc/mail/genericstable" },
	{ "msp", "[127.0.0.1]" },
	{ "delay_checks", "on" },
	{ "greet_pause", "0" },
	{ "dnsbl", "blackholes.mail-abuse.org" },
	{ "local_procmail", "/usr/bin/procmail" },
	{ NULL, NULL },
};

static int greet_pause_seen;

/* A map named in a FEATURE must be of a kind we read, or routing and policy
 * would silently change. */
static int check_map_spec(const struct mc_call *c, const char *spec)
{
	struct map_spec ms;
	char err[512];
	if (map_spec_parse(spec, &ms, err, sizeof(err)) < 0) {
		msg_error("%s:%d: %s(`%s'): %s", c->file, c->line, c->name, c->nargs ? c->args[0] : "", err);
		return -1;
	}
	map_spec_free(&ms);
	return 0;
}

/* FEATURE(`ldap_routing', mailHost map, mailRoutingAddress map, passthru |
 * bounce | sendertoo, detail, nodomain, queue | tempfail): the two maps go
 * to their own parameters, the rest to LDAPRouting as "bounce,strip,...". */
static int mc_ldap_routing(const struct mc_call *c)
{
	char err[512];
	static const enum conf_id mapid[] = { C_LDAP_ROUTING_MH, C_LDAP_ROUTING_MRA };
	for (size_t i = 1; i < 3 && i < c->nargs; i++) {
		if (!*c->args[i])
			continue;
		if (check_map_spec(c, c->args[i]) < 0 || conf_set(mapid[i - 1], c->args[i], err, sizeof(err)) < 0)
			return -1;
	}
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, c->nargs > 3 && *c->args[3] ? c->args[3] : "passthru");
	for (size_t i = 4; i < c->nargs && i < 7; i++)
		sb_printf(&sb, ",%s", c->args[i]);
	int rc = conf_set(C_LDAP_ROUTING, sb.s, err, sizeof(err));
	sb_free(&sb);
	if (rc < 0)
		msg_error("%s:%d: FEATURE(`ldap_routing'): %s", c->file, c->line, err);
	return rc;
}

/* FEATURE(`access_db', `LDAP'): sendmail's default LDAP schema for a map. */
static const char *ldap_default_map(const char *feature, char *buf, size_t size)
{
	static const struct { const char *feature, *mapname; } names[] = {
		{ "access_db", "access" }, { "virtusertable", "virtuser" }, { "mailertable", "mailer" },
		{ "domaintable", "domain" }, { "genericstable", "generics" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(feature, names[i].feature) == 0) {
			snprintf(buf, size, "ldap -1 -T<TMPF> -v sendmailMTAMapValue -k "
				 "(&(objectClass=sendmailMTAMapObject)"
				 "(|(sendmailMTACluster=${sendmailMTACluster})(sendmailMTAHost=$j))"
				 "(sendmailMTAMapName=%s)(sendmailMTAKey=%%0))", names[i].mapname);
			return buf;
		}
	return NULL;
}

static int mc_feature(const struct mc_call *c)
{
	char key[160], err[512], ldapspec[512];
	for (size_t i = 1; i < c->nargs; i++)
		m4_unquote(c->args[i]);
	if (strcmp(c->args[0], "ldap_routing") == 0)
		return mc_ldap_routing(c);
	int rbl = strcmp(c->args[0], "rbl") == 0;	/* rbl: dnsbl's old name (8.9) */
	const char *f = rbl ? "dnsbl" : c->args[0];
	snprintf(key, sizeof(key), "FEATURE(%s)", f);
	const struct conf_param *p = conf_by_mcname(key);
	if (p == NULL) {
		/* features that only undo an m4 default, or that we do anyway */
		static const char *const noops[] = { "always_add_domain_if_local", "no_default_msa",
			"redirect", "use_ct_file", "smrsh", "blacklist_recipients", NULL };
		for (int i = 0; noops[i]; i++)
			if (strcmp(f, noops[i]) == 0)
				return 0;
		return warn_unsupported(c, "feature");
	}
	const char *arg = c->nargs > 1 && *c->args[1] ? c->args[1] : NULL;
	if (arg == NULL && rbl)
		arg = "rbl.maps.vix.com";
	if (arg && strcmp(arg, "LDAP") == 0 && ldap_default_map(f, ldapspec, sizeof(ldapspec)))
		arg = ldapspec;
	if (arg == NULL)
		for (int i = 0; feature_defaults[i].name; i++)
			if (strcmp(feature_defaults[i].name, f) == 0)
				arg = feature_defaults[i].defarg;
	char value[1024];
	if (p->type == CT_BOOL)
		snprintf(value, sizeof(value), "True");
	else if (p->id == C_DNSBL)
		snprintf(value, sizeof(value), "%s%s%s", arg ? arg : "", c->nargs > 2 ? "|" : "",
			 c->nargs > 2 ? c->args[2] : "");
	else
		snprintf(value, sizeof(value), "%s", arg ? arg : "");
	if (p->id == C_NULLCLIENT && !value[0]) {
		msg_error("%s:%d: FEATURE(`nullclient') needs the hub's name", c->file, c->line);
		return -1;
	}
	if (conf_set(p->id, value, err, sizeof(err)) < 0) {
		msg_error("%s:%d: FEATURE(`%s'): %s", c->file, c->line, f, err);
		return -1;
	}
	/* the warnings m4 prints for these */
	if (p->id == C_PROMISCUOUS_RELAY)
		if (!quiet)
			fprintf(stderr, "*** WARNING: FEATURE(`promiscuous_relay') configures your system as open relay.  "
			"Do NOT use it on a server that is connected to the Internet!\n");
	if (p->id == C_GREET_PAUSE && !*conf_str(C_ACCESS_DB))
		greet_pause_seen = 1;
	if (p->id == C_ACCESS_DB && greet_pause_seen)
		if (!quiet)
			fprintf(stderr, "*** WARNING: FEATURE(`greet_pause') before FEATURE(`access_db')"
			"-- greet_pause will not use access_db!\n");
	static const enum conf_id maps[] = { C_ACCESS_DB, C_MAILERTABLE, C_VIRTUSERTABLE, C_DOMAINTABLE,
		C_GENERICSTABLE };
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (p->id == maps[i] && check_map_spec(c, value) < 0)
			return -1;
	return 0;
}

/* Macros that set a parameter: MASQUERADE_AS(`x'), EXPOSED_USER(`a b'),
 * VIRTUSER_DOMAIN_FILE(`-o /path'), ... */
static int mc_macro(const struct mc_call *c, const struct conf_param *p)
{
	char err[512];
	const char *arg = c->nargs ? c->args[0] : "";
	if (p->type == CT_PATH && strncmp(arg, "-o", 2) == 0) {	/* optional: we treat files so anyway */
		arg += 2;
		while (*arg == ' ' || *arg == '\t')
			arg++;
	}
	if (p->type != CT_LIST)
		return conf_set(p->id, arg, err, sizeof(err)) < 0
			? (msg_error("%s:%d: %s: %s", c->file, c->line, c->name, err), -1) : 0;
	char *copy = xstrdup(arg), *save = NULL;
	int rc = 0;
	for (char *w = strtok_r(copy, " \t\n,", &save); w && rc == 0; w = strtok_r(NULL, " \t\n,", &save)) {
		if (conf_set(p->id, w, err, sizeof(err)) < 0) {
			msg_error("%s:%d: %s: %s", c->file, c->line, c->name, err);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

/* INPUT_MAIL_FILTER(`name', `S=..., F=..., T=...') defines a filter and
 * appends it to confINPUT_MAIL_FILTERS; MAIL_FILTER only defines it. */
static int mc_mail_filter(const struct mc_call *c)
{
	char err[512];
	if (c->nargs < 1) {
		msg_error("%s:%d: %s() without a filter name", c->file, c->line, c->name);
		return -1;
	}
	char *name = xstrdup(c->args[0]);
	m4_unquote(name);
	struct strbuf eq;
	sb_init(&eq);
	for (size_t i = 1; i < c->nargs; i++) {
		char *a = xstrdup(c->args[i]);
		m4_unquote(a);
		sb_printf(&eq, "%s%s", eq.len ? ", " : "", a);
		free(a);
	}
	struct milter_def d;
	int rc = milter_def_parse(name, eq.s, &d, err, sizeof(err));
	if (rc < 0) {
		msg_error("%s:%d: %s(`%s'): %s", c->file, c->line, c->name, name, err);
	} else {
		struct strbuf def;
		sb_init(&def);
		sb_printf(&def, "%s, %s", d.name, eq.s);
		rc = conf_set(C_MAIL_FILTERS, def.s, err, sizeof(err));
		sb_free(&def);
	}
	if (rc == 0 && strcmp(c->name, "INPUT_MAIL_FILTER") == 0) {
		struct strbuf list;
		sb_init(&list);
		const char *cur = conf_str(C_INPUT_MAIL_FILTERS);
		sb_printf(&list, "%s%s%s", cur, *cur ? ", " : "", d.name);
		rc = conf_set(C_INPUT_MAIL_FILTERS, list.s, err, sizeof(err));
		sb_free(&list);
	}
	free(name);
	sb_free(&eq);
	return rc;
}

static int mc_apply(const struct mc_call *c, void *arg)
{
	(void)arg;
	char err[512];
	if (strcmp(c->name, "define") == 0) {
		if (c->nargs < 1 || !*c->args[0]) {
			msg_error("%s:%d: define() without a name", c->file, c->line);
			return -1;
		}
		const struct conf_param *p = conf_by_mcname(c->args[0]);
		if (p == NULL) {
			static const char *const no_effect[] = { "confCF_VERSION", "confTIME_ZONE",
				"confDONT_INIT_GROUPS", "__OSTYPE__", "confTO_ICONNECT", "confMIN_FREE_BLOCKS",
				"confBIND_OPTS", NULL };
			for (int i = 0; no_effect[i]; i++)
				if (strcmp(c->args[0], no_effect[i]) == 0)
					return 0;	/* no bearing on what mtad does */
			mc_warn("%s:%d: unsupported define `%s' (ignored)", c->file, c->line, c->args[0]);
			return 0;
		}
		if (c->nargs > 1)
			m4_unquote(c->args[1]);
		if (conf_set(p->id, c->nargs > 1 ? c->args[1] : "", err, sizeof(err)) < 0) {
			msg_error("%s:%d: %s", c->file, c->line, err);
			return -1;
		}
		if (p->id == C_MAILERTABLE && check_map_spec(c, c->nargs > 1 ? c->args[1] : "") < 0)
			return -1;
		return 0;
	}
	if (strcmp(c->name, "DAEMON_OPTIONS") == 0) {
		struct strbuf sb;
		sb_init(&sb);
		for (size_t i = 0; i < c->nargs; i++)
			sb_printf(&sb, "%s%s", i ? ", " : "", c->args[i]);
		struct listen_opts lo;
		int rc = listen_opts_parse(sb.s, &lo, err, sizeof(err));
		if (rc == 0)
			rc = conf_set(C_DAEMON_PORT_OPTIONS, sb.s, err, sizeof(err));
		sb_free(&sb);
		if (rc < 0) {
			msg_error("%s:%d: DAEMON_OPTIONS: %s", c->file, c->line, err);
			return -1;
		}
		return 0;
	}
	if (strcmp(c->name, "FEATURE") == 0 && c->nargs >= 1)
		return mc_feature(c);
	if (strcmp(c->name, "INPUT_MAIL_FILTER") == 0 || strcmp(c->name, "MAIL_FILTER") == 0)
		return mc_mail_filter(c);
	const struct conf_param *mp = conf_by_mcname(c->name);
	if (mp && strcmp(c->name, "DAEMON_OPTIONS") != 0)
		return mc_macro(c, mp);
	if (strncmp(c->name, "LOCAL_RULE", 10) == 0 || strcmp(c->name, "LOCAL_CONFIG") == 0 ||
	    strcmp(c->name, "LOCAL_NET_CONFIG") == 0) {
		msg_error("%s:%d: unsupported %s: rewriting rules and raw .cf text are not "
			  "supported; express the policy with FEATUREs and maps", c->file, c->line, c->name);
		return -1;
	}
	/* Accepted without effect: they only set up m4 or name the OS. */
	static const char *const harmless[] = { "include", "VERSIONID", "OSTYPE", "DOMAIN",
		"divert", "undefine", "MAILER_DEFINITIONS", NULL };
	for (int i = 0; harmless[i]; i++)
		if (strcmp(c->name, harmless[i]) == 0)
			return 0;
	if (strcmp(c->name, "MAILER") == 0) {
		static const char *const mailers[] = { "local", "smtp", "procmail", "relay", NULL };
		for (int i = 0; c->nargs && mailers[i]; i++)
			if (strcmp(c->args[0], mailers[i]) == 0)
				return 0;
		return warn_unsupported(c, "mailer");
	}
	if (isupper((unsigned char)c->name[0]))
		return warn_unsupported(c, "macro");
	return 0;
}

int conf_read_mc(const char *path)
{
	greet_pause_seen = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		msg_error("cannot open configuration %s: %s", path, strerror(errno));
		return -1;
	}
	struct strbuf sb;
	sb_init(&sb);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		sb_append(&sb, buf, n);
		if (sb.len > 4 * 1024 * 1024) {
			msg_error("%s: configuration larger than 4 MB", path);
			fclose(f);
			sb_free(&sb);
			return -1;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		msg_error("cannot read %s", path);
		sb_free(&sb);
		return -1;
	}
	char err[512] = "";
	int rc = mc_parse(sb.s, sb.len, path, mc_apply, NULL, err, sizeof(err));
	if (rc < 0 && err[0])
		msg_error("%s", err);
	sb_free(&sb);
	return rc;
}

int conf_apply_options(char **oopts, size_t noopts)
{
	for (size_t i = 0; i < noopts; i++) {
		char *eq = strchr(oopts[i], '=');
		char name[128];
		if (!eq || eq == oopts[i] || (size_t)(eq - oopts[i]) >= sizeof(name)) {
			msg_error("-O %s: expected Option=value", oopts[i]);
			return -1;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - oopts[i]), oopts[i]);
		const struct conf_param *p = conf_by_oname(name);
		if (p == NULL) {
			msg_error("-O %s: unknown option %s (see mtad.mc(5) for the list)", oopts[i], name);
			return -1;
		}
		char err[512];
		if (p->id == C_DAEMON_PORT_OPTIONS) {
			struct listen_opts lo;
			if (listen_opts_parse(eq + 1, &lo, err, sizeof(err)) < 0) {
				msg_error("-O %s: %s", oopts[i], err);
				return -1;
			}
		}
		if (conf_set(p->id, eq + 1, err, sizeof(err)) < 0) {
			msg_error("-O %s", err);
			return -1;
		}
	}
	return 0;
}

int listen_opts_parse(const char *text, struct listen_opts *lo, char *err, size_t errsize)
{
	memset(lo, 0, sizeof(*lo));
	lo->port = 25;
	lo->family = AF_INET;
	snprintf(lo->name, sizeof(lo->name), "MTA");
	char *copy = xstrdup(text), *save = NULL;
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*tok)
			continue;
		char *eq = strchr(tok, '=');
		if (!eq) {
			snprintf(err, errsize, "\"%s\": expected Key=value", tok);
			rc = -1;
			break;
		}
		*eq = '\0';
		const char *v = eq + 1;
		if (!strcasecmp(tok, "Port") || !strcasecmp(tok, "P")) {
			if (!strcasecmp(v, "smtp"))
				lo->port = 25;
			else if (!strcasecmp(v, "submission"))
				lo->port = 587;
			else {
				char *e;
				long p = strtol(v, &e, 10);
				if (*e || e == v || p < 0 || p > 65535) {
					snprintf(err, errsize, "Port=%s: not a port number (0-65535)", v);
					rc = -1;
					break;
				}
				lo->port = (int)p;
			}
		} else if (!strcasecmp(tok, "Addr") || !strcasecmp(tok, "A")) {
			snprintf(lo->addr, sizeof(lo->addr), "%s", v);
		} else if (!strcasecmp(tok, "Family") || !strcasecmp(tok, "F")) {
			if (!strcasecmp(v, "inet"))
				lo->family = AF_INET;
			else if (!strcasecmp(v, "inet6"))
				lo->family = AF_INET6;
			else {
				snprintf(err, errsize, "Family=%s: expected inet or inet6", v);
				rc = -1;
				break;
			}
		} else if (!strcasecmp(tok, "Name") || !strcasecmp(tok, "N")) {
			snprintf(lo->name, sizeof(lo->name), "%s", v);
		} else if (!strcasecmp(tok, "Modifiers") || !strcasecmp(tok, "M")) {
			snprintf(lo->modifiers, sizeof(lo->modifiers), "%s", v);
		} else {
			/* sendmail has more keys (Listen, SndBufSize...): accepted */
		}
	}
	if (rc == 0 && lo->addr[0] && strchr(lo->addr, ':'))
		lo->family = AF_INET6;
	free(copy);
	return rc;
}

