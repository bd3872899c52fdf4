/* map_ldap: sendmail's `ldap' map class through OpenLDAP's libldap.
 *
 * A spec is what follows the class name on a K line or in a FEATURE():
 *   ldap -1 -T<TMPF> -h "ldap1 ldap2" -p 389 -b dc=example,dc=com
 *        -k (&(objectClass=inetLocalMailRecipient)(mailLocalAddress=%0))
 *        -v mailRoutingAddress
 * with sendmail 8.17's ldapmap_parseargs options (see ldap_spec_parse).
 * confLDAP_DEFAULT_SPEC (LDAPDefaultSpec) gives the defaults each map's own
 * options override.  An alias source "ldap:" with no options uses
 * sendmail's default LDAP alias schema (sendmailMTAAliasObject).
 *
 * One connection per process for all maps with the same servers and bind,
 * opened on first use and reused; after an error it is dropped and the
 * next lookup reconnects (a lookup that finds a stale connection retries
 * once on a fresh one); a child of fork() opens its own.  Every wait
 * is bounded: connect by -c (default 5 s), each operation by -l (default
 * 5 s), so a directory that is down or hung gives MAP_TEMPFAIL quickly.
 * After a slow failure (a timeout, or a failure that took a second or
 * more, such as a connect that hung) the connection answers MAP_TEMPFAIL
 * at once for the next 10 seconds instead of waiting again.  Lookups are
 * serialised per connection. */
#ifndef MTA_MAP_LDAP_H
#define MTA_MAP_LDAP_H
#include <stddef.h>

#define LDAPMAP_MAX_ATTRS	16

struct ldap_spec {
	char *uri;		/* -H, or built from -h and -p; NULL: ldap.conf */
	char *hosts;		/* -h as given */
	int port;		/* -p; 0: the URI's default */
	char *base;		/* -b */
	char *filter;		/* -k, with $j and ${sendmailMTACluster} expanded */
	char *attrs[LDAPMAP_MAX_ATTRS + 1];	/* -v, NULL-terminated */
	char *binddn;		/* -d */
	char *secret;		/* the first line of the -P file */
	char *secret_file;	/* -P */
	int method;		/* -M: 0 none, 1 simple */
	int version;		/* -w: 2 or 3 (default 3) */
	int scope;		/* -s: LDAP_SCOPE_* (default subtree) */
	int deref;		/* -r: LDAP_DEREF_* */
	int timelimit;		/* -l seconds; 0: not set */
	int net_timeout;	/* -c seconds; 0: not set */
	int sizelimit;		/* -Z */
	int attrsonly;		/* -n */
	int no_referrals;	/* -R */
	int single;		/* -1 */
	char delim;		/* -z: joins several values; 0: first value only */
	int nofold;		/* -f */
	int matchonly;		/* -m */
	int optional;		/* -o */
	char *append;		/* -a */
	char *tmpf_tag;		/* -T */
};

/* Parses the options after "ldap" (the defaults from LDAPDefaultSpec are
 * applied first, unless defaults is 0).  alias: an alias source (values
 * joined with ',', and the default alias filter when no -k is given).
 * Returns 0, or -1 with err naming the bad option. */
int ldap_spec_parse(const char *args, int alias, int defaults, struct ldap_spec *out,
		    char *err, size_t errsize);
void ldap_spec_free(struct ldap_spec *s);

/* The filter for key: %0 and %s become the key with the characters RFC
 * 4515 reserves escaped (\2a \28 \29 \5c \00), %% a percent sign.
 * Returns malloc'd. */
char *ldap_filter_expand(const char *filter, const char *key);

/* $j, for the default alias filter and "$j" in filters (set by mtad once
 * it knows its name; "localhost" until then). */
void map_ldap_set_hostname(const char *j);

struct ldap_map;

/* Parses and keeps the spec; does not connect yet.  NULL with err set on
 * a bad spec. */
struct ldap_map *ldap_map_open(const char *args, int alias, char *err, size_t errsize);
void ldap_map_close(struct ldap_map *m);
/* "ldap map ldap://host:port" for messages. */
const char *ldap_map_name(const struct ldap_map *m);
/* MAP_FOUND (*value malloc'd), MAP_NOTFOUND or MAP_TEMPFAIL with err
 * naming the server and the reason. */
int ldap_map_lookup(struct ldap_map *m, const char *key, char **value,
		    char *err, size_t errsize);
/* Connections made so far (for tests of reuse). */
unsigned ldap_map_connects(const struct ldap_map *m);

#endif
