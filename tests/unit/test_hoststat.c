/* Unit tests for lib/hoststat: sendmail's HostStatusDirectory layout and
 * file format, the down test, scan and purge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hoststat.h"

static void test_paths(void **state)
{
	(void)state;
	static const struct { const char *host, *want; } t[] = {
		{ "mx.example.com", "/d/com./example./mx" },
		{ "mx.example.com.", "/d/com./example./mx" },
		{ "[192.0.2.1]", "/d/1./2./0./192" },
		{ "[192.0.2.1]:2526", "/d/1./2./0./192:2526" },
		{ "localhost", "/d/localhost" },
		{ "mx.example.com:587", "/d/com./example./mx:587" },
	};
	char buf[512];
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(hoststat_path("/d", t[i].host, buf, sizeof(buf)), 0);
		assert_string_equal(buf, t[i].want);
	}
	static const char *const bad[] = { "", ".x", "a/b", "../etc", "a..b", "a b", "x\ny" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hoststat_path("/d", bad[i], buf, sizeof(buf)), -1);
}

static void test_parse(void **state)
{
	(void)state;
	struct hoststat hs;
	memset(&hs, 0, sizeof(hs));
	assert_int_equal(hoststat_parse("V0\nE111\nH0\nS75\nD4.4.1\nR421 too busy\nU1700000000\n.\n", &hs), 0);
	assert_int_equal(hs.err, 111);
	assert_int_equal(hs.status, 75);
	assert_string_equal(hs.dsn, "4.4.1");
	assert_string_equal(hs.reply, "421 too busy");
	assert_int_equal((long)hs.updated, 1700000000L);
	memset(&hs, 0, sizeof(hs));
	assert_int_equal(hoststat_parse("V0\nE0\nS0\n", &hs), -1);		/* no terminator */
	assert_int_equal(hoststat_parse("E0\nS0\n.\n", &hs), -1);		/* no version */
	assert_int_equal(hoststat_parse("V0\nXjunk\n.\n", &hs), -1);	/* unknown record */
}

static void test_down(void **state)
{
	(void)state;
	struct hoststat hs = { .status = 75, .updated = 1000 };
	assert_true(hoststat_down(&hs, 1100, 1800));
	assert_false(hoststat_down(&hs, 2800, 1800));	/* expired */
	assert_false(hoststat_down(&hs, 1100, 0));	/* Timeout.hoststatus 0 */
	hs.status = 0;
	assert_false(hoststat_down(&hs, 1100, 1800));	/* it worked */
}

static void count(const struct hoststat *hs, void *arg)
{
	int *n = arg;
	if (strcmp(hs->host, "[192.0.2.1]:2526") == 0 && hs->status == 75 &&
	    strcmp(hs->reply, "Deferred: Connection timed out with [192.0.2.1]") == 0)
		(*n) += 100;
	if (strcmp(hs->host, "mx.example.com") == 0 && hs->status == 0)
		(*n) += 1;
}

static void test_write_scan_purge(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_hoststat.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char top[600];
	snprintf(top, sizeof(top), "%s/hs", dir);
	struct hoststat a = { .status = 75, .err = 110, .updated = 5 };
	snprintf(a.host, sizeof(a.host), "[192.0.2.1]:2526");
	snprintf(a.dsn, sizeof(a.dsn), "4.4.1");
	/* a newline in a reply cannot forge a record */
	snprintf(a.reply, sizeof(a.reply), "Deferred: Connection timed out with [192.0.2.1]");
	struct hoststat b = { .status = 0, .updated = 6 };
	snprintf(b.host, sizeof(b.host), "mx.example.com");
	snprintf(b.reply, sizeof(b.reply), "250 ok\nS0");
	char err[256];
	assert_int_equal(hoststat_write(top, &a, err, sizeof(err)), 0);
	assert_int_equal(hoststat_write(top, &b, err, sizeof(err)), 0);
	struct hoststat r;
	assert_int_equal(hoststat_read(top, "mx.example.com", &r), 0);
	assert_string_equal(r.reply, "250 ok S0");
	int n = 0;
	assert_int_equal(hoststat_scan(top, count, &n), 2);
	assert_int_equal(n, 101);
	assert_int_equal(hoststat_remove(top, "mx.example.com"), 0);
	assert_int_equal(hoststat_read(top, "mx.example.com", &r), -1);
	assert_int_equal(hoststat_purge(top), 1);
	assert_int_equal(hoststat_scan(top, count, &n), 0);
	rmdir(top);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_down),
		cmocka_unit_test(test_write_scan_purge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
