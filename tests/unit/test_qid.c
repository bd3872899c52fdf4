/* Unit tests for lib/qid: the 8.12+ queue ID format, decoding of its time
 * part, the per-second sequence and validation of stored IDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qid.h"

static const char alphabet[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx";

static int b60(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

static time_t utc(int y, int mon, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return timegm(&tm);
}

/* Every ID a recent time can give: 14 characters, 8 base-60 then 6 digits,
 * and the time part decodes back to the time it was made at. */
static void test_format_and_roundtrip(void **state)
{
	(void)state;
	const time_t times[] = {
		utc(2006, 1, 5, 6, 28, 13), utc(2024, 2, 29, 23, 59, 59),
		utc(2025, 12, 31, 0, 0, 0), utc(2019, 7, 1, 12, 30, 45),
		time(NULL),
	};
	pid_t pid = 1000;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		char id[QID_MAXLEN];
		qid_new(id, times[i], ++pid);	/* new pid: sequence starts at 00 */
		assert_int_equal(strlen(id), 14);
		for (int k = 0; k < 8; k++)
			assert_true(b60(id[k]) >= 0);
		for (int k = 8; k < 14; k++)
			assert_true(id[k] >= '0' && id[k] <= '9');
		assert_memory_equal(id + 6, "00", 2);
		char digits[8];
		snprintf(digits, sizeof(digits), "%06d", (int)pid);
		assert_string_equal(id + 8, digits);
		assert_true(qid_valid(id));
		assert_int_equal(qid_time(id), times[i]);
	}
}

static void test_seed_example(void **state)
{
	(void)state;
	assert_true(qid_valid("k056SDUq003739"));
	assert_int_equal(qid_time("k056SDUq003739"), utc(2006, 1, 5, 6, 28, 13));
	/* and generating at that time for that pid gives the same time part */
	char id[QID_MAXLEN];
	qid_new(id, utc(2006, 1, 5, 6, 28, 13), 3739);
	assert_string_equal(id, "k056SD00003739");
}

static void test_field_encoding(void **state)
{
	(void)state;
	char id[QID_MAXLEN];
	/* year 2030 -> 130 % 60 = 10 'A'; Dec -> 11 'B'; 31 'V'; 23 'N'; 59 'x'; 58 'w' */
	qid_new(id, utc(2030, 12, 31, 23, 59, 58), 77);
	assert_string_equal(id, "ABVNxw00000077");
	/* pids beyond six digits are kept whole */
	qid_new(id, utc(2030, 12, 31, 23, 59, 58), 4194303);
	assert_string_equal(id, "ABVNxw004194303");
	assert_true(qid_valid(id));
}

static void test_sequence_within_second(void **state)
{
	(void)state;
	time_t t = utc(2025, 3, 4, 5, 6, 7);
	char a[QID_MAXLEN], b[QID_MAXLEN], c[QID_MAXLEN], d[QID_MAXLEN];
	qid_new(a, t, 4242);
	qid_new(b, t, 4242);
	qid_new(c, t, 4242);
	assert_memory_equal(a + 6, "00", 2);
	assert_memory_equal(b + 6, "01", 2);
	assert_memory_equal(c + 6, "02", 2);
	assert_memory_equal(a, b, 6);
	assert_string_equal(a + 8, "004242");
	/* the next second restarts the sequence */
	qid_new(d, t + 1, 4242);
	assert_memory_equal(d + 6, "00", 2);
	assert_int_equal(qid_time(d), t + 1);
	/* sequence 60 is "10" in base 60 */
	for (int i = 1; i < 60; i++)
		qid_new(d, t + 1, 4242);
	qid_new(d, t + 1, 4242);
	assert_memory_equal(d + 6, "10", 2);
}

static int cmp_id(const void *x, const void *y)
{
	return strcmp((const char *)x, (const char *)y);
}

/* 5000 IDs in one second: 3600 fit in the sequence, the rest borrow the
 * next second; none repeats and none decodes to an earlier time. */
static void test_unique_5000(void **state)
{
	(void)state;
	enum { N = 5000 };
	time_t t = utc(2025, 6, 1, 0, 0, 0);
	char (*ids)[QID_MAXLEN] = calloc(N, QID_MAXLEN);
	assert_non_null(ids);
	for (int i = 0; i < N; i++) {
		qid_new(ids[i], t, 31337);
		assert_true(qid_valid(ids[i]));
		time_t when = qid_time(ids[i]);
		assert_true(when == t || when == t + 1);
	}
	assert_int_equal(qid_time(ids[3599]), t);
	assert_memory_equal(ids[3599] + 6, "xx", 2);
	assert_int_equal(qid_time(ids[3600]), t + 1);
	qsort(ids, N, QID_MAXLEN, cmp_id);
	for (int i = 1; i < N; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) != 0);
	free(ids);
}

struct vcase {
	const char *id;
	int valid;
};

static const struct vcase vcases[] = {
	{ "k056SDUq003739", 1 },	/* 8.12+ */
	{ "ABVNxw004194303", 1 },	/* 8.12+, 7-digit pid */
	{ "k056SDUq00373", 0 },		/* 13: neither form */
	{ "f5MNkVx28394", 1 },		/* pre-8.12: 7 base-60 + 5 digits */
	{ "f5MNkVx2839a", 0 },
	{ "k056SDUq0037x9", 0 },	/* letter in the pid part */
	{ "k056SDy003739", 0 },		/* 'y' is not base 60 */
	{ "k056SD-q003739", 0 },
	{ "k056SDUq00373/", 0 },
	{ "", 0 },
	{ "short", 0 },
	{ "k056SDUq003739123456789", 0 },	/* too long */
	{ "../../etc/pas", 0 },
	{ "k056SD q003739", 0 },
};

static void test_valid_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		if (qid_valid(vcases[i].id) != vcases[i].valid)
			fail_msg("qid_valid(\"%s\") != %d", vcases[i].id, vcases[i].valid);
	}
}

static void test_time_rejects(void **state)
{
	(void)state;
	assert_int_equal(qid_time("f5MNkVx28394"), -1);	/* old form has no decodable time */
	assert_int_equal(qid_time("kC56SDUq003739"), -1);	/* month 12 */
	assert_int_equal(qid_time("k006SDUq003739"), -1);	/* day 0 */
	assert_int_equal(qid_time("k05OSDUq003739"), -1);	/* hour 24 */
	assert_int_equal(qid_time("garbage"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_roundtrip),
		cmocka_unit_test(test_seed_example),
		cmocka_unit_test(test_field_encoding),
		cmocka_unit_test(test_sequence_within_second),
		cmocka_unit_test(test_unique_5000),
		cmocka_unit_test(test_valid_table),
		cmocka_unit_test(test_time_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
