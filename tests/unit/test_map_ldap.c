/* Unit tests for lib/map_ldap: sendmail's ldap map options (as 8.17's
 * ldapmap_parseargs reads them), LDAPDefaultSpec under a map's own
 * options, the default alias schema, filter escaping (RFC 4515), the class
 * dispatch in lib/map, and a directory nobody serves (MAP_TEMPFAIL with the
 * server named, quickly).  Lookups against a real slapd are in
 * tests/e2e/test_ldap.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "map.h"
#include "map_ldap.h"

static void test_sendmail_options(void **state)
{
	(void)state;
	struct ldap_spec s;
	char err[256];
	conf_reset();
	assert_int_equal(ldap_spec_parse("-1 -T<TMPF> -h \"ldap1 ldap2\" -p 3389 -b dc=example,dc=com "
					 "-k (&(objectClass=inetLocalMailRecipient)(mailLocalAddress=%0)) "
					 "-v mailHost,mailRoutingAddress -z, -s one -r always -l 7 -c 3 "
					 "-d cn=mta -M simple -w 3 -R -n",
					 0, 1, &s, err, sizeof(err)), 0);
	assert_string_equal(s.uri, "ldap://ldap1:3389 ldap://ldap2:3389");
	assert_string_equal(s.base, "dc=example,dc=com");
	assert_string_equal(s.filter, "(&(objectClass=inetLocalMailRecipient)(mailLocalAddress=%0))");
	assert_string_equal(s.attrs[0], "mailHost");
	assert_string_equal(s.attrs[1], "mailRoutingAddress");
	assert_null(s.attrs[2]);
	assert_int_equal(s.single, 1);
	assert_int_equal(s.sizelimit, 2);	/* -1: enough to see a second match */
	assert_string_equal(s.tmpf_tag, "<TMPF>");
	assert_int_equal(s.delim, ',');
	assert_int_equal(s.scope, LDAP_SCOPE_ONELEVEL);
	assert_int_equal(s.deref, LDAP_DEREF_ALWAYS);
	assert_int_equal(s.timelimit, 7);
	assert_int_equal(s.net_timeout, 3);
	assert_string_equal(s.binddn, "cn=mta");
	assert_int_equal(s.method, 1);
	assert_int_equal(s.no_referrals, 1);
	assert_int_equal(s.attrsonly, 1);
	ldap_spec_free(&s);

	/* -H; attached arguments; objectClass and :TYPE: suffixes dropped */
	assert_int_equal(ldap_spec_parse("-Hldap://127.0.0.1:3890 -kuid=%0 "
					 "-v objectClass,sendmailMTAMapValue,sendmailMTAMapSearch:FILTER:sendmailMTAMapObject",
					 0, 1, &s, err, sizeof(err)), 0);
	assert_string_equal(s.uri, "ldap://127.0.0.1:3890");
	assert_string_equal(s.filter, "uid=%0");
	assert_string_equal(s.attrs[0], "sendmailMTAMapValue");
	assert_string_equal(s.attrs[1], "sendmailMTAMapSearch");
	assert_null(s.attrs[2]);
	assert_int_equal(s.scope, LDAP_SCOPE_SUBTREE);
	assert_int_equal(s.delim, 0);
	ldap_spec_free(&s);
}

static void test_errors(void **state)
{
	(void)state;
	struct ldap_spec s;
	char err[256];
	conf_reset();
	assert_int_equal(ldap_spec_parse("-v mail", 0, 1, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "no filter (-k) given");
	assert_int_equal(ldap_spec_parse("-k x=%0 -s nowhere", 0, 1, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "scope must be base, one or sub"));
	assert_int_equal(ldap_spec_parse("-k x=%0 -Q", 0, 1, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown LDAP map option -Q");
	assert_int_equal(ldap_spec_parse("-k x=%0 -p 99999", 0, 1, &s, err, sizeof(err)), -1);
	assert_int_equal(ldap_spec_parse("-k x=%0 stray", 0, 1, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"stray\""));
	assert_int_equal(ldap_spec_parse("-k x=%0 -H http://dir.example/", 0, 1, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "bad LDAP URI \"http://dir.example/\"");
	assert_int_equal(ldap_spec_parse("-k x=%0 -M kerberos", 0, 1, &s, err, sizeof(err)), -1);
	assert_int_equal(ldap_spec_parse("-k x=%0 -P /nonexistent/secret", 0, 1, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/secret"));
}

static void test_default_spec_and_alias_schema(void **state)
{
	(void)state;
	struct ldap_spec s;
	char err[256];
	conf_reset();
	assert_int_equal(conf_set(C_LDAP_DEFAULT_SPEC, "-h dir.example -p 389 -b o=site -l 4", err, sizeof(err)), 0);
	assert_int_equal(conf_set(C_LDAP_CLUSTER, "relays", err, sizeof(err)), 0);
	map_ldap_set_hostname("mx1.example");
	/* the map's own -b wins; the rest comes from the defaults */
	assert_int_equal(ldap_spec_parse("-b o=other -k cn=%0 -v mail", 0, 1, &s, err, sizeof(err)), 0);
	assert_string_equal(s.uri, "ldap://dir.example:389");
	assert_string_equal(s.base, "o=other");
	assert_int_equal(s.timelimit, 4);
	ldap_spec_free(&s);
	/* AliasFile=ldap: with no options: sendmail's default alias schema */
	assert_int_equal(ldap_spec_parse("", 1, 1, &s, err, sizeof(err)), 0);
	assert_string_equal(s.filter, "(&(objectClass=sendmailMTAAliasObject)(sendmailMTAAliasGrouping=aliases)"
			    "(|(sendmailMTACluster=relays)(sendmailMTAHost=mx1.example))(sendmailMTAKey=%0))");
	assert_string_equal(s.attrs[0], "sendmailMTAAliasValue");
	assert_int_equal(s.delim, ',');
	assert_string_equal(s.base, "o=site");
	ldap_spec_free(&s);
	/* a bad default names itself */
	assert_int_equal(conf_set(C_LDAP_DEFAULT_SPEC, "-x", err, sizeof(err)), 0);
	assert_int_equal(ldap_spec_parse("-k a=%0", 0, 1, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "LDAPDefaultSpec"));
	conf_reset();
}

static void test_filter_escaping(void **state)
{
	(void)state;
	char *f = ldap_filter_expand("(&(mailLocalAddress=%0)(x=%s)(pct=100%%))", "a*b(c)\\d@x");
	assert_string_equal(f, "(&(mailLocalAddress=a\\2ab\\28c\\29\\5cd@x)(x=a\\2ab\\28c\\29\\5cd@x)(pct=100%))");
	free(f);
}

static void test_map_class_dispatch_and_down_server(void **state)
{
	(void)state;
	char err[512];
	conf_reset();
	struct map_spec ms;
	assert_int_equal(map_spec_parse("ldap -1 -H ldap://127.0.0.1:1 -k (uid=%0) -v mail -l 1 -c 1",
					&ms, err, sizeof(err)), 0);
	assert_int_equal(ms.type, MAP_LDAP);
	assert_string_equal(ms.path, "ldap:ldap://127.0.0.1:1");
	map_spec_free(&ms);
	assert_int_equal(map_spec_parse("ldap -v mail", &ms, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no filter"));
	assert_int_equal(map_spec_parse("nis mail.aliases", &ms, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hash, btree and ldap are supported"));

	/* nobody listens on port 1: a temporary failure naming the server */
	struct map *m = map_open("ldap -H ldap://127.0.0.1:1 -k (uid=%0) -v mail -l 1 -c 1", err, sizeof(err));
	assert_non_null(m);
	char *v = (char *)1;
	time_t t0 = time(NULL);
	assert_int_equal(map_lookup(m, "ann", &v, err, sizeof(err)), MAP_TEMPFAIL);
	assert_null(v);
	assert_true(time(NULL) - t0 <= 2);
	assert_non_null(strstr(err, "ldap map ldap://127.0.0.1:1"));
	assert_non_null(strstr(err, "Can't contact LDAP server"));
	map_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sendmail_options),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_default_spec_and_alias_schema),
		cmocka_unit_test(test_filter_escaping),
		cmocka_unit_test(test_map_class_dispatch_and_down_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
