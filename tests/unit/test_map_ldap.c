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

#include <arpa/inet.h>
#include <fcntl.h>
#include <ldap.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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


/* A tiny LDAP server for the fork test: answers binds and searches with
 * success (no entries), closes a connection on an UnbindRequest as slapd
 * does, and writes what it saw to `out': "A<n>" (connection n accepted),
 * "S<n>" (a search on it), "U<n>" (an unbind on it). */
static void fake_ldap_server(int lfd, int out)
{
	struct pollfd p[16];
	static unsigned char buf[16][4096];
	size_t len[16];
	int id[16], n = 1, nconn = 0;
	p[0].fd = lfd;
	p[0].events = POLLIN;
	for (;;) {
		if (poll(p, (nfds_t)n, -1) < 0)
			_exit(1);
		if ((p[0].revents & POLLIN) && n < 16) {
			p[n].fd = accept(lfd, NULL, NULL);
			p[n].events = POLLIN;
			p[n].revents = 0;
			len[n] = 0;
			id[n] = ++nconn;
			dprintf(out, "A%d\n", id[n]);
			n++;
		}
		for (int i = 1; i < n; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = read(p[i].fd, buf[i] + len[i], sizeof(buf[i]) - len[i]);
			if (r <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				continue;
			}
			len[i] += (size_t)r;
			size_t off = 0;
			while (p[i].fd >= 0 && len[i] - off >= 2) {
				unsigned char *m = buf[i] + off;
				size_t hl = 2, ml = m[1];
				if (m[1] & 0x80) {
					size_t k = m[1] & 0x7f;
					if (len[i] - off < 2 + k)
						break;
					ml = 0;
					for (size_t j = 0; j < k; j++)
						ml = ml << 8 | m[2 + j];
					hl += k;
				}
				if (len[i] - off < hl + ml)
					break;
				unsigned char *c = m + hl, idl = c[1], op = c[2 + idl];
				if (op == 0x60 || op == 0x63) {	/* bind, search: success */
					unsigned char rep[32];
					int k = 0;
					rep[k++] = 0x30;
					rep[k++] = (unsigned char)(2 + idl + 9);
					rep[k++] = 0x02;
					rep[k++] = idl;
					memcpy(rep + k, c + 2, idl);
					k += idl;
					const unsigned char done[] = { op == 0x60 ? 0x61 : 0x65, 7, 0x0a, 1, 0,
								       4, 0, 4, 0 };
					memcpy(rep + k, done, sizeof(done));
					k += (int)sizeof(done);
					if (op == 0x63)
						dprintf(out, "S%d\n", id[i]);
					if (write(p[i].fd, rep, (size_t)k) != k)
						_exit(1);
				} else if (op == 0x42) {
					dprintf(out, "U%d\n", id[i]);
					close(p[i].fd);
					p[i].fd = -1;
				}
				off += hl + ml;
			}
			if (p[i].fd >= 0) {
				memmove(buf[i], buf[i] + off, len[i] - off);
				len[i] -= off;
			}
		}
	}
}

/* A child of fork() (a queue runner, a delivery agent) that looks up in
 * an ldap map opens its own connection and must not end the parent's
 * session on the shared socket: freeing the inherited handle with
 * ldap_destroy() sends an UnbindRequest on it. */
static void test_fork_child_leaves_parents_session(void **state)
{
	(void)state;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
	int ev[2];
	assert_int_equal(pipe(ev), 0);
	signal(SIGPIPE, SIG_IGN);	/* as in mtad: a closed socket is an error, not death */
	pid_t srv = fork();
	assert_true(srv >= 0);
	if (srv == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ev[0]);
		fake_ldap_server(lfd, ev[1]);
	}
	close(lfd);
	close(ev[1]);

	char err[512], spec[200];
	conf_reset();
	snprintf(spec, sizeof(spec), "ldap -H ldap://127.0.0.1:%d -b o=x -k (uid=%%0) -v mail -l 3 -c 3",
		 ntohs(sin.sin_port));
	struct map *m = map_open(spec, err, sizeof(err));
	assert_non_null(m);
	char *v = NULL;
	assert_int_equal(map_lookup(m, "ann", &v, err, sizeof(err)), MAP_NOTFOUND);
	pid_t ch = fork();
	assert_true(ch >= 0);
	if (ch == 0) {
		int r = map_lookup(m, "ben", &v, err, sizeof(err));
		map_close(m);
		_exit(r == MAP_NOTFOUND ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(ch, &st, 0), ch);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the parent's session is still there: asked on it, no reconnect */
	assert_int_equal(map_lookup(m, "cid", &v, err, sizeof(err)), MAP_NOTFOUND);
	fcntl(ev[0], F_SETFL, O_NONBLOCK);
	char seen[4096];
	ssize_t got = read(ev[0], seen, sizeof(seen) - 1);
	seen[got > 0 ? got : 0] = '\0';
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	close(ev[0]);
	map_close(m);
	assert_null(strstr(seen, "U1\n"));	/* nobody unbound the parent's connection */
	assert_null(strstr(seen, "A3\n"));	/* the parent did not have to reconnect */
	assert_non_null(strstr(seen, "A2\n"));	/* the child had its own */
	assert_non_null(strstr(seen, "S2\n"));
	char *s1 = strstr(seen, "S1\n");
	assert_non_null(s1);
	assert_non_null(strstr(s1 + 3, "S1\n"));	/* both of the parent's searches on it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sendmail_options),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_default_spec_and_alias_schema),
		cmocka_unit_test(test_filter_escaping),
		cmocka_unit_test(test_map_class_dispatch_and_down_server),
		cmocka_unit_test(test_fork_child_leaves_parents_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
