/* Unit tests for lib/pwcache: answers (found and not found) come from the
 * cache within their life and from NSS after it, a user removed from the
 * passwd source is gone once the life is over, NSS errors are never kept,
 * more names than slots still answer right.  getpwnam_r is wrapped
 * (-Wl,--wrap, see the Makefile) so the test owns "passwd" and counts the
 * questions; one case asks the real NSS about root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pwcache.h"

static int calls;		/* questions that reached "NSS" */
static int fail_with;		/* nonzero: every question fails with it */
static int real;		/* ask the real NSS */
static const char *users[8];	/* the fake passwd: name i has uid 1000 + i */

int __real_getpwnam_r(const char *name, struct passwd *pwd, char *buf, size_t size, struct passwd **res);

int __wrap_getpwnam_r(const char *name, struct passwd *pwd, char *buf, size_t size, struct passwd **res)
{
	if (real)
		return __real_getpwnam_r(name, pwd, buf, size, res);
	calls++;
	*res = NULL;
	if (fail_with)
		return fail_with;
	for (int i = 0; i < 8; i++) {
		if (users[i] && strcmp(users[i], name) == 0) {
			int n = snprintf(buf, size, "%s", name) + 1;
			snprintf(buf + n, size - (size_t)n, "/home/%s", name);
			memset(pwd, 0, sizeof(*pwd));
			pwd->pw_name = buf;
			pwd->pw_dir = buf + n;
			pwd->pw_uid = (uid_t)(1000 + i);
			pwd->pw_gid = 100;
			*res = pwd;
			return 0;
		}
	}
	return 0;
}

static int reset(void **state)
{
	(void)state;
	calls = 0;
	fail_with = 0;
	real = 0;
	memset(users, 0, sizeof(users));
	pwcache_set_ttl(PWCACHE_TTL_MS);
	return 0;
}

static void test_found_and_not_found_are_kept(void **state)
{
	(void)state;
	users[0] = "alice";
	struct pw_entry pw;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(pwcache_byname("alice", &pw), 1);
		assert_int_equal(pw.uid, 1000);
		assert_int_equal(pw.gid, 100);
		assert_string_equal(pw.name, "alice");
		assert_string_equal(pw.dir, "/home/alice");
		assert_int_equal(pwcache_byname("nobody-here", &pw), 0);
	}
	assert_int_equal(calls, 2);	/* one question per name */
	assert_int_equal(pwcache_byname("", &pw), 0);
}

/* Polls until the cache asks NSS again; the deadline is far above the life. */
static void test_removed_user_gone_after_the_life(void **state)
{
	(void)state;
	pwcache_set_ttl(100);
	users[1] = "bob";
	struct pw_entry pw;
	assert_int_equal(pwcache_byname("bob", &pw), 1);
	users[1] = NULL;		/* userdel */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc;
	do {
		rc = pwcache_byname("bob", &pw);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (rc == 1) {
			struct timespec nap = { 0, 5 * 1000 * 1000 };
			nanosleep(&nap, NULL);
		}
	} while (rc == 1 && t.tv_sec - t0.tv_sec < 5);
	assert_int_equal(rc, 0);
	long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 90 && ms < 1000);	/* the life (a coarse clock), some slack for load */
	assert_int_equal(calls, 2);
}

static void test_errors_never_kept(void **state)
{
	(void)state;
	users[2] = "carol";
	fail_with = EIO;
	struct pw_entry pw;
	assert_int_equal(pwcache_byname("carol", &pw), -1);
	assert_int_equal(errno, EIO);
	fail_with = 0;
	assert_int_equal(pwcache_byname("carol", &pw), 1);
	assert_int_equal(pw.uid, 1002);
	assert_int_equal(calls, 2);
}

static void test_more_names_than_slots(void **state)
{
	(void)state;
	users[3] = "dave";
	struct pw_entry pw;
	char name[32];
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < PWCACHE_SLOTS * 3; i++) {
			snprintf(name, sizeof(name), "u%d", i);
			assert_int_equal(pwcache_byname(name, &pw), 0);
			assert_int_equal(pwcache_byname("dave", &pw), 1);	/* the hot one stays right */
			assert_int_equal(pw.uid, 1003);
		}
	}
}

static void test_no_caching_with_ttl_0(void **state)
{
	(void)state;
	pwcache_set_ttl(0);
	users[4] = "erin";
	struct pw_entry pw;
	assert_int_equal(pwcache_byname("erin", &pw), 1);
	assert_int_equal(pwcache_byname("erin", &pw), 1);
	assert_int_equal(calls, 2);
}

static void test_long_name_not_cached_and_real_root(void **state)
{
	(void)state;
	char longname[200];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	struct pw_entry pw;
	assert_int_equal(pwcache_byname(longname, &pw), 0);
	real = 1;
	assert_int_equal(pwcache_byname("root", &pw), 1);
	struct passwd *r = getpwnam("root");
	assert_non_null(r);
	assert_int_equal(pw.uid, 0);
	assert_string_equal(pw.dir, r->pw_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_found_and_not_found_are_kept, reset),
		cmocka_unit_test_setup(test_removed_user_gone_after_the_life, reset),
		cmocka_unit_test_setup(test_errors_never_kept, reset),
		cmocka_unit_test_setup(test_more_names_than_slots, reset),
		cmocka_unit_test_setup(test_no_caching_with_ttl_0, reset),
		cmocka_unit_test_setup(test_long_name_not_cached_and_real_root, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
