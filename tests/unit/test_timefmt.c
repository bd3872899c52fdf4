/* Unit tests for lib/timefmt: delay=, duration parsing, and the RFC 5322,
 * syslog, ctime and -bp time formats under fixed time zones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

/* 2006-01-05 06:28:13 UTC, a Thursday (the seed queue ID's time) */
#define T_SEED ((time_t)1136442493)
/* 2026-11-21 23:58:36 UTC, a Saturday; day of month has two digits */
#define T_NOV ((time_t)1795305516)

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

struct dcase {
	long secs;
	const char *expect;
};

static const struct dcase dcases[] = {
	{ 0, "00:00:00" },
	{ 75, "00:01:15" },
	{ 3599, "00:59:59" },
	{ 3600, "01:00:00" },
	{ 86399, "23:59:59" },
	{ 86400, "1+00:00:00" },
	{ 86400 + 2 * 3600 + 3 * 60 + 4, "1+02:03:04" },
	{ 12 * 86400 + 5, "12+00:00:05" },
	{ -5, "00:00:00" },		/* clock stepped back: never negative */
};

static void test_delay(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		char buf[32];
		memset(buf, 'X', sizeof(buf));
		time_delay(buf, sizeof(buf), dcases[i].secs);
		assert_string_equal(buf, dcases[i].expect);
	}
}

struct pcase {
	const char *in;
	char unit;
	long expect;
};

static const struct pcase pcases[] = {
	{ "30s", 'm', 30 },
	{ "5m", 's', 300 },
	{ "4h", 's', 14400 },
	{ "5d", 's', 432000 },
	{ "2w", 's', 1209600 },
	{ "1h30m", 's', 5400 },
	{ "1d2h3m4s", 's', 93784 },
	{ "90", 's', 90 },		/* bare number: default unit */
	{ "90", 'm', 5400 },
	{ "1h30", 's', 3630 },		/* trailing bare number uses default unit */
	{ "0s", 's', 0 },
	{ "0", 'm', 0 },
	{ "", 's', -1 },
	{ "m", 's', -1 },
	{ "5x", 's', -1 },
	{ "-5m", 's', -1 },
	{ "5 m", 's', -1 },
	{ "1h-3m", 's', -1 },
	{ "5m ", 's', -1 },
	{ "100000001s", 's', -1 },	/* beyond the per-part bound */
	{ "99999999999999999999s", 's', -1 },
	{ "5", 'q', -1 },		/* unknown default unit */
};

static void test_parse_duration(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		long got = time_parse_duration(pcases[i].in, pcases[i].unit);
		if (got != pcases[i].expect)
			fail_msg("time_parse_duration(\"%s\", '%c') = %ld, want %ld",
				 pcases[i].in, pcases[i].unit, got, pcases[i].expect);
	}
}

struct fcase {
	const char *tz;
	time_t t;
	const char *rfc5322, *syslog, *ctime, *queue;
};

static const struct fcase fcases[] = {
	{ "UTC", T_SEED, "Thu, 05 Jan 2006 06:28:13 +0000", "Jan  5 06:28:13",
	  "Thu Jan  5 06:28:13 2006", "Thu Jan  5 06:28" },
	{ "UTC", T_NOV, "Sat, 21 Nov 2026 23:58:36 +0000", "Nov 21 23:58:36",
	  "Sat Nov 21 23:58:36 2026", "Sat Nov 21 23:58" },
	/* POSIX zone strings need no tz database: UTC+5:30 and UTC-8 */
	{ "IST-5:30", T_NOV, "Sun, 22 Nov 2026 05:28:36 +0530", "Nov 22 05:28:36",
	  "Sun Nov 22 05:28:36 2026", "Sun Nov 22 05:28" },
	{ "PST8", T_SEED, "Wed, 04 Jan 2006 22:28:13 -0800", "Jan  4 22:28:13",
	  "Wed Jan  4 22:28:13 2006", "Wed Jan  4 22:28" },
};

static void test_formats(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		const struct fcase *c = &fcases[i];
		char buf[64];
		set_tz(c->tz);
		time_rfc5322(buf, sizeof(buf), c->t);
		assert_string_equal(buf, c->rfc5322);
		time_syslog(buf, sizeof(buf), c->t);
		assert_string_equal(buf, c->syslog);
		time_ctime(buf, sizeof(buf), c->t);
		assert_string_equal(buf, c->ctime);
		time_queue(buf, sizeof(buf), c->t);
		assert_string_equal(buf, c->queue);
	}
	set_tz("UTC");
}

static void test_small_buffer(void **state)
{
	(void)state;
	char buf[6];
	time_delay(buf, sizeof(buf), 75);	/* truncated, still terminated */
	assert_string_equal(buf, "00:01");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
