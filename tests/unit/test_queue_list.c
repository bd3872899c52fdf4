/* Unit tests for lib/queue_list: the -bp lines made from qf records as
 * sendmail's printer makes them (prtstr columns and escapes, the body type
 * and reason line, a reason after the S record, -v), the size of a message
 * without a df, the priority order and the hf files of -qQ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue_list.h"

static char qdir[] = "/tmp/test_queue_list.XXXXXX";

static void put(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", qdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *listing(int verbose, const struct queue_select *sel)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct queue_list_opts o = { .sel = sel, .now = 1800000000 };
	assert_int_equal(queue_list_bp(f, qdir, &o, verbose), 0);
	fclose(f);
	/* the first line names the directory: drop it */
	char *nl = strchr(buf, '\n');
	memmove(buf, nl + 1, strlen(nl + 1) + 1);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	assert_non_null(mkdtemp(qdir));
	/* 1136442493 = Thu Jan  5 06:28:13 2006 UTC */
	put("qfk056SDUq003739", "V8\nT1136442493\nK0\nN0\nP90000\nB8BITMIME\n"
	    "Mhost map: lookup (x.example): deferred\nFw\n"
	    "S\"very\\\\odd\001sender\"@a-rather-long-domain-name.example.org\n"
	    "Croot\nMDeferred: 451 after S\n"
	    "RPFD:first@example.net\n"
	    "RPFD:a.recipient.whose.name.is.longer.than.38@example.net\n"
	    "H??Subject: x\n.\n");
	put("dfk056SDUq003739", "body\n");
	put("qfk056SDUq003740", "V8\nT1136442493\nK0\nN0\nP1000\nS<>\nRPFD:postmaster\n.\n");
	put("hfk056SDUq003741", "V8\nT1136442493\nK0\nN0\nP5\nqspam\nSx@y\nRPFD:z@w\n.\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	const char *names[] = { "qfk056SDUq003739", "dfk056SDUq003739", "qfk056SDUq003740",
				"hfk056SDUq003741" };
	char path[256];
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", qdir, names[i]);
		unlink(path);
	}
	rmdir(qdir);
	return 0;
}

static void test_plain(void **state)
{
	(void)state;
	char *out = listing(0, NULL);
	assert_string_equal(out,
		"-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------\n"
		/* priority order: 1000 before 90000; no df: -1 */
		"k056SDUq003740       -1 Thu Jan  5 06:28 <>\n"
		"\t\t\t\t\t postmaster\n"
		/* 39 columns: \\ doubled, \001 as octal, each counted */
		"k056SDUq003739        5 Thu Jan  5 06:28 \"very\\\\\\\\odd\\001sender\"@a-rather-long-d\n"
		"      8BITMIME   (host map: lookup (x.example): deferred)\n"
		"\t\t\t\t\t first@example.net\n"
		"\t\t\t\t\t a.recipient.whose.name.is.longer.than.\n"
		"\t\tTotal requests: 2\n");
	free(out);
}

static void test_verbose(void **state)
{
	(void)state;
	char *out = listing(1, NULL);
	assert_string_equal(out,
		"-----Q-ID----- --Size-- -Priority- ---Q-Time--- --------Sender/Recipient--------\n"
		"k056SDUq003740       -1       1000 Jan  5 06:28 <>\n"
		"\t\t\t\t\t\tpostmaster\n"
		"k056SDUq003739        5      90000+Jan  5 06:28 "
		"\"very\\\\\\\\odd\\001sender\"@a-rather-long-domain-name.example.org\n"
		"      8BITMIME   (host map: lookup (x.example): deferred)\n"
		"\t\t\t\t\t\t(---root---)\n"
		"\t\t\t\t\t\tfirst@example.net\n"
		"\t\t (Deferred: 451 after S)\n"
		"\t\t\t\t\t\ta.recipient.whose.name.is.longer.than.38@example.net\n"
		"\t\tTotal requests: 2\n");
	free(out);
}

static void test_held_files_only_with_qQ(void **state)
{
	(void)state;
	struct queue_select sel;
	char err[128];
	qsel_init(&sel);
	assert_int_equal(qsel_parse_q(&sel, "Q", err, sizeof(err)), 1);
	char *out = listing(0, &sel);
	assert_string_equal(out,
		"-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------\n"
		"k056SDUq003741       -1 Thu Jan  5 06:28 x@y\n"
		"     QUARANTINE: spam\n"
		"\t\t\t\t\t z@w\n"
		"\t\tTotal requests: 1\n");
	free(out);
	qsel_free(&sel);
	assert_int_equal(queue_sort_parse("Priority"), QSORT_PRIORITY);
	assert_int_equal(queue_sort_parse("host"), QSORT_PRIORITY);
	assert_int_equal(queue_sort_parse("filename"), QSORT_FILENAME);
	assert_int_equal(queue_sort_parse("t"), QSORT_TIME);
	assert_int_equal(queue_sort_parse("modification"), QSORT_MODIFICATION);
	assert_int_equal(queue_sort_parse("none"), QSORT_NONE);
	assert_int_equal(queue_sort_parse("bogus"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_verbose),
		cmocka_unit_test(test_held_files_only_with_qQ),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
