/* Unit tests for lib/header: parsing header blocks (folding, CRLF and LF,
 * where the body starts), lookup and counting by name, unfolding, and
 * inserting at the top. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "header.h"

#define MAXH 5
struct bcase {
	const char *what;
	const char *in;
	const char *rest;		/* buf from the returned body offset on */
	size_t count;
	const char *names[MAXH];
	const char *values[MAXH];	/* raw: folding kept as "\n" */
};

static const struct bcase bcases[] = {
	{ "lf", "From: a@b\nSubject: hi\n\nbody\n", "body\n", 2,
	  { "From", "Subject" }, { " a@b", " hi" } },
	{ "crlf", "From: a@b\r\nSubject: hi\r\n\r\nbody\r\n", "body\r\n", 2,
	  { "From", "Subject" }, { " a@b", " hi" } },
	{ "folded", "Subject: one\n two\n\tthree\nX: y\n\nB", "B", 2,
	  { "Subject", "X" }, { " one\n two\n\tthree", " y" } },
	{ "folded_crlf", "Received: from a\r\n  by b\r\n\r\n", "", 1,
	  { "Received" }, { " from a\n  by b" } },
	{ "no_body", "A: 1\nB: 2\n", "", 2, { "A", "B" }, { " 1", " 2" } },
	{ "no_final_newline", "A: 1\nB: 2", "", 2, { "A", "B" }, { " 1", " 2" } },
	{ "empty_value", "X-Empty:\nY:z\n\nbody", "body", 2, { "X-Empty", "Y" }, { "", "z" } },
	{ "colon_in_value", "Date: Mon, 1 Jan 2024 10:00:00 +0000\n\n", "", 1,
	  { "Date" }, { " Mon, 1 Jan 2024 10:00:00 +0000" } },
	/* a line that is not a header ends the block: the body starts there */
	{ "non_header_line", "A: 1\nthis is body\nB: 2\n", "this is body\nB: 2\n", 1,
	  { "A" }, { " 1" } },
	{ "space_before_colon", "A: 1\nFrom me: x\n", "From me: x\n", 1, { "A" }, { " 1" } },
	{ "mbox_from_line", "From sender@x Sat Nov 21\nA: 1\n", "From sender@x Sat Nov 21\nA: 1\n",
	  0, { NULL }, { NULL } },
	{ "leading_continuation", " folded: x\nA: 1\n", " folded: x\nA: 1\n", 0, { NULL }, { NULL } },
	{ "empty_block", "\nbody\n", "body\n", 0, { NULL }, { NULL } },
	{ "empty_crlf_block", "\r\nbody", "body", 0, { NULL }, { NULL } },
	{ "nothing", "", "", 0, { NULL }, { NULL } },
	{ "8bit_name", "A: 1\nN\xc3\xa4me: x\n", "N\xc3\xa4me: x\n", 1, { "A" }, { " 1" } },
	{ "dup_names", "Received: 1\nreceived: 2\nRECEIVED: 3\n\n", "", 3,
	  { "Received", "received", "RECEIVED" }, { " 1", " 2", " 3" } },
	/* a blank-only line is a continuation, not the end of the block */
	{ "blank_continuation", "A: x\n \nB: y\n\nZ", "Z", 2, { "A", "B" }, { " x\n ", " y" } },
	/* a bare CR inside a line is kept; only the CR of CRLF goes */
	{ "inner_cr", "A: x\ry\r\n\r\n", "", 1, { "A" }, { " x\ry" } },
};

static void test_parse_block_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bcases) / sizeof(bcases[0]); i++) {
		const struct bcase *c = &bcases[i];
		struct header_list hl;
		hdrlist_init(&hl);
		size_t len = strlen(c->in);
		size_t body = hdr_parse_block(&hl, c->in, len);
		if (body != len - strlen(c->rest) || strcmp(c->in + body, c->rest) != 0)
			fail_msg("%s: body at offset %zu (\"%s\"), want \"%s\"", c->what, body,
				 body <= len ? c->in + body : "?", c->rest);
		if (hl.count != c->count)
			fail_msg("%s: %zu headers, want %zu", c->what, hl.count, c->count);
		for (size_t k = 0; k < c->count; k++) {
			assert_string_equal(hl.h[k].name, c->names[k]);
			assert_string_equal(hl.h[k].value, c->values[k]);
		}
		hdrlist_free(&hl);
		assert_int_equal(hl.count, 0);
		assert_null(hl.h);
	}
}

/* The length passed bounds the parse: nothing past it is read. */
static void test_parse_block_len(void **state)
{
	(void)state;
	const char buf[] = "A: 1\nB: 2\n\nC: 3\n";
	struct header_list hl;
	hdrlist_init(&hl);
	assert_int_equal(hdr_parse_block(&hl, buf, 7), 7);	/* "A: 1\nB:" */
	assert_int_equal(hl.count, 2);
	assert_string_equal(hl.h[1].name, "B");
	assert_string_equal(hl.h[1].value, "");
	hdrlist_free(&hl);
}

static void test_bytes(void **state)
{
	(void)state;
	struct header_list hl;
	hdrlist_init(&hl);
	const char *in = "Subject: hi\r\nX: a\r\n b\r\n\r\n";
	hdr_parse_block(&hl, in, strlen(in));
	/* "Subject: hi\n" + "X: a\n b\n" with LF line ends */
	assert_int_equal(hl.bytes, 12 + 8);
	hdrlist_free(&hl);
	assert_int_equal(hl.bytes, 0);
}

static void test_find_count(void **state)
{
	(void)state;
	struct header_list hl;
	hdrlist_init(&hl);
	const char *in = "Received: r1\nFrom: f\nRECEIVED: r2\nTo: t\nreceived: r3\n\n";
	hdr_parse_block(&hl, in, strlen(in));
	assert_int_equal(hl.count, 5);
	assert_int_equal(hdrlist_find(&hl, "received", 0), 0);
	assert_int_equal(hdrlist_find(&hl, "Received", 1), 2);
	assert_int_equal(hdrlist_find(&hl, "rEcEiVeD", 3), 4);
	assert_int_equal(hdrlist_find(&hl, "received", 5), -1);
	assert_int_equal(hdrlist_find(&hl, "received", 99), -1);
	assert_int_equal(hdrlist_find(&hl, "to", 0), 3);
	assert_int_equal(hdrlist_find(&hl, "Subject", 0), -1);
	assert_int_equal(hdrlist_find(&hl, "Receive", 0), -1);
	assert_int_equal(hdrlist_count(&hl, "RECEIVED"), 3);
	assert_int_equal(hdrlist_count(&hl, "from"), 1);
	assert_int_equal(hdrlist_count(&hl, "Cc"), 0);
	hdrlist_free(&hl);
}

struct ucase {
	const char *raw, *unfolded;
};

static const struct ucase ucases[] = {
	{ " one\n two\n\tthree", "one two\tthree" },
	{ "  padded  ", "padded" },
	{ "\tx\r\n y", "x y" },
	{ "", "" },
	{ " \n \t", "" },
	{ "a\nb", "ab" },	/* only the line break goes; blanks stay as written */
	{ "no change", "no change" },
};

static void test_unfold(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ucases) / sizeof(ucases[0]); i++) {
		char *u = hdr_unfold(ucases[i].raw);
		assert_string_equal(u, ucases[i].unfolded);
		free(u);
	}
}

static void test_insert(void **state)
{
	(void)state;
	struct header_list hl;
	hdrlist_init(&hl);
	hdrlist_add(&hl, "Subject", " s");
	hdrlist_add(&hl, "From", " f");
	hdrlist_insert(&hl, 0, "Received", " top");
	hdrlist_insert(&hl, 2, "X-Mid", " m");
	hdrlist_insert(&hl, 100, "X-End", " e");	/* past the end: appended */
	const char *order[] = { "Received", "Subject", "X-Mid", "From", "X-End" };
	const char *vals[] = { " top", " s", " m", " f", " e" };
	assert_int_equal(hl.count, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(hl.h[i].name, order[i]);
		assert_string_equal(hl.h[i].value, vals[i]);
	}
	/* growth past the initial capacity keeps order with inserts at the top */
	for (int i = 0; i < 40; i++) {
		char v[16];
		snprintf(v, sizeof(v), " %d", i);
		hdrlist_insert(&hl, 0, "Received", v);
	}
	assert_int_equal(hl.count, 45);
	assert_string_equal(hl.h[0].value, " 39");
	assert_string_equal(hl.h[39].value, " 0");
	assert_string_equal(hl.h[40].value, " top");
	assert_string_equal(hl.h[44].name, "X-End");
	assert_int_equal(hdrlist_count(&hl, "received"), 41);
	hdrlist_free(&hl);
}

struct ncase {
	const char *line;
	size_t len;
};

static const struct ncase ncases[] = {
	{ "Subject: x", 7 }, { "X-A-B:", 5 }, { "a:b", 1 }, { ":x", 0 },
	{ "No colon", 0 }, { "Nocolon", 0 }, { "Tab\tName: x", 0 }, { "", 0 },
	{ " Lead: x", 0 }, { "Del\x7f: x", 0 },
};

static void test_name_len(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ncases) / sizeof(ncases[0]); i++)
		assert_int_equal(hdr_name_len(ncases[i].line, strlen(ncases[i].line)), ncases[i].len);
	assert_true(hdr_is_continuation(" x", 2));
	assert_true(hdr_is_continuation("\tx", 2));
	assert_false(hdr_is_continuation("x ", 2));
	assert_false(hdr_is_continuation("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_block_table),
		cmocka_unit_test(test_parse_block_len),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_find_count),
		cmocka_unit_test(test_unfold),
		cmocka_unit_test(test_insert),
		cmocka_unit_test(test_name_len),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
