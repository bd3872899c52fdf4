/* Unit tests for lib/addr: SMTP path parsing (brackets, null path, source
 * routes, quoted local parts, length and character limits) and splitting an
 * address at the last unquoted '@'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

struct pcase {
	const char *in;
	int rc;
	const char *addr;	/* on success */
	int bracketed, null;
	const char *rest;	/* what *end points at, on success */
	const char *why;	/* on failure */
};

static const struct pcase pcases[] = {
	{ "<a@b>", 0, "a@b", 1, 0, "", NULL },
	{ "<a@b> SIZE=10", 0, "a@b", 1, 0, " SIZE=10", NULL },
	{ "  <a@b>", 0, "a@b", 1, 0, "", NULL },
	{ "< a@b >", 0, "a@b", 1, 0, "", NULL },
	{ "a@b", 0, "a@b", 0, 0, "", NULL },
	{ "a@b BODY=7BIT", 0, "a@b", 0, 0, " BODY=7BIT", NULL },
	{ "postmaster", 0, "postmaster", 0, 0, "", NULL },
	{ "<>", 0, "", 1, 1, "", NULL },
	{ "<> SIZE=1", 0, "", 1, 1, " SIZE=1", NULL },
	{ "<@r1,@r2:u@d>", 0, "u@d", 1, 0, "", NULL },
	{ "<@r1:u@d>", 0, "u@d", 1, 0, "", NULL },
	{ "<\"john smith\"@example.com>", 0, "\"john smith\"@example.com", 1, 0, "", NULL },
	{ "<\"a>b\"@x>", 0, "\"a>b\"@x", 1, 0, "", NULL },
	{ "<\"a<b\"@x>", 0, "\"a<b\"@x", 1, 0, "", NULL },
	{ "<a\\>b@x>", 0, "a\\>b@x", 1, 0, "", NULL },
	{ "\"a b\"@c SIZE=1", 0, "\"a b\"@c", 0, 0, " SIZE=1", NULL },
	{ "<a@b", -1, NULL, 0, 0, NULL, "Unbalanced '<'" },
	{ "<\"a@b>", -1, NULL, 0, 0, NULL, "Unbalanced '<'" },	/* '>' is quoted */
	{ "<a<b>", -1, NULL, 0, 0, NULL, "Extra '<'" },
	{ "<<a@b>>", -1, NULL, 0, 0, NULL, "Extra '<'" },
	{ "a@b>", -1, NULL, 0, 0, NULL, "Unbalanced '>'" },
	{ "", -1, NULL, 0, 0, NULL, "Missing address" },
	{ "   ", -1, NULL, 0, 0, NULL, "Missing address" },
	{ "<a\001b@c>", -1, NULL, 0, 0, NULL, "Invalid character in address" },
	{ "<a\rb@c>", -1, NULL, 0, 0, NULL, "Invalid character in address" },
	{ "<a\nRCPT TO:<x@y>>", -1, NULL, 0, 0, NULL, "Extra '<'" },
	{ "<a\nb@c>", -1, NULL, 0, 0, NULL, "Invalid character in address" },
	{ "a\177b@c", -1, NULL, 0, 0, NULL, "Invalid character in address" },
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		struct smtp_path path;
		const char *end = NULL, *why = NULL;
		int rc = addr_parse_path(c->in, &path, &end, &why);
		if (rc != c->rc)
			fail_msg("case %zu \"%s\": rc %d, want %d (%s)", i, c->in, rc, c->rc,
				 why ? why : "");
		if (rc == 0) {
			assert_string_equal(path.addr, c->addr);
			assert_int_equal(path.bracketed, c->bracketed);
			assert_int_equal(path.null, c->null);
			assert_string_equal(end, c->rest);
			addr_path_free(&path);
			assert_null(path.addr);
		} else {
			assert_non_null(why);
			assert_string_equal(why, c->why);
			assert_null(path.addr);
		}
	}
}

static void test_length_limit(void **state)
{
	(void)state;
	char in[300], expect[300];
	struct smtp_path path;
	const char *end, *why = NULL;

	/* exactly ADDR_MAXLEN (256) characters: accepted */
	memset(expect, 'a', 254);
	memcpy(expect + 250, "@b.c", 4);
	expect[254] = 'x';
	expect[255] = 'y';
	expect[256] = '\0';
	assert_int_equal(strlen(expect), ADDR_MAXLEN);
	snprintf(in, sizeof(in), "<%s>", expect);
	assert_int_equal(addr_parse_path(in, &path, &end, &why), 0);
	assert_string_equal(path.addr, expect);
	addr_path_free(&path);

	/* 257: rejected, bracketed or bare */
	expect[256] = 'z';
	expect[257] = '\0';
	snprintf(in, sizeof(in), "<%s>", expect);
	why = NULL;
	assert_int_equal(addr_parse_path(in, &path, &end, &why), -1);
	assert_string_equal(why, "Address too long");
	why = NULL;
	assert_int_equal(addr_parse_path(expect, &path, &end, &why), -1);
	assert_string_equal(why, "Address too long");

	/* a source route does not count against the mailbox length */
	char routed[400];
	expect[256] = '\0';
	snprintf(routed, sizeof(routed), "<@relay.one,@relay.two:%s>", expect);
	assert_int_equal(addr_parse_path(routed, &path, &end, &why), 0);
	assert_string_equal(path.addr, expect);
	addr_path_free(&path);
}

struct scase {
	const char *in;
	const char *local, *domain;	/* domain NULL: unqualified */
};

static const struct scase scases[] = {
	{ "user@example.com", "user", "example.com" },
	{ "user", "user", NULL },
	{ "a@b@c", "a@b", "c" },
	{ "\"a@b\"@c", "\"a@b\"", "c" },
	{ "\"x@y\"", "\"x@y\"", NULL },
	{ "a\\@b", "a\\@b", NULL },
	{ "a\\@b@d", "a\\@b", "d" },
	{ "@d", "", "d" },
	{ "u@", "u", "" },
	{ "", "", NULL },
};

static void test_split_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
		char *local = NULL, *domain = (char *)1;
		addr_split(scases[i].in, &local, &domain);
		assert_string_equal(local, scases[i].local);
		if (scases[i].domain == NULL)
			assert_null(domain);
		else
			assert_string_equal(domain, scases[i].domain);
		free(local);
		free(domain);
	}
}

static void test_chars_ok(void **state)
{
	(void)state;
	assert_true(addr_chars_ok("a@b"));
	assert_true(addr_chars_ok(""));
	assert_true(addr_chars_ok("\"sp ace\"@x"));
	assert_false(addr_chars_ok("a\tb"));
	assert_false(addr_chars_ok("a\x7f"));
	assert_false(addr_chars_ok("\x1b[31m@x"));
	char big[ADDR_MAXLEN + 2];
	memset(big, 'q', sizeof(big) - 1);
	big[ADDR_MAXLEN] = '\0';
	assert_true(addr_chars_ok(big));
	big[ADDR_MAXLEN] = 'q';
	big[ADDR_MAXLEN + 1] = '\0';
	assert_false(addr_chars_ok(big));
}

static void test_lower(void **state)
{
	(void)state;
	char s[] = "Mail.EXAMPLE.Com";
	addr_lower(s);
	assert_string_equal(s, "mail.example.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_split_table),
		cmocka_unit_test(test_chars_ok),
		cmocka_unit_test(test_lower),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
