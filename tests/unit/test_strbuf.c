/* Unit tests for lib/strbuf: growth past the initial 64 bytes, printf that
 * does not fit the first try, steal, truncate and reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static void test_init_empty(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	assert_non_null(sb.s);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.s, "");
	assert_true(sb.cap >= 1);
	sb_free(&sb);
	assert_null(sb.s);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);
}

/* Appends pieces of every size so the buffer grows many times; the content
 * must be exactly the concatenation and stay NUL-terminated. */
static void test_growth(void **state)
{
	(void)state;
	struct strbuf sb;
	char expect[20000];
	size_t elen = 0;
	sb_init(&sb);
	for (int i = 0; elen + 200 < sizeof(expect); i++) {
		char piece[200];
		size_t n = (size_t)(i % 150) + 1;
		for (size_t j = 0; j < n; j++)
			piece[j] = (char)('a' + (i + (int)j) % 26);
		sb_append(&sb, piece, n);
		memcpy(expect + elen, piece, n);
		elen += n;
		assert_int_equal(sb.len, elen);
		assert_true(sb.cap > sb.len);
		assert_int_equal(sb.s[sb.len], '\0');
	}
	expect[elen] = '\0';
	assert_memory_equal(sb.s, expect, elen + 1);
	sb_free(&sb);
}

static void test_putc_puts_binary(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "ab");
	sb_putc(&sb, 'c');
	sb_append(&sb, "d\0e", 3);	/* embedded NUL is data, len counts it */
	assert_int_equal(sb.len, 6);
	assert_memory_equal(sb.s, "abcd\0e\0", 7);
	sb_puts(&sb, "");
	assert_int_equal(sb.len, 6);
	sb_free(&sb);
}

struct pcase {
	const char *prefix;	/* already in the buffer */
	int width;		/* %*d width */
	long num;
	const char *word;
	const char *expect;
};

static const struct pcase pcases[] = {
	{ "", 1, 7, "x", "7|x" },
	{ "pre:", 3, 42, "word", "pre: 42|word" },
	/* 100 bytes in one call: beyond the 64-byte first buffer */
	{ "", 98, 5, "", "                                                                                                 5|" },
	/* buffer nearly full before the call, the call itself small but over */
	{ "0123456789012345678901234567890123456789012345678901234567890", 2, 1, "tail",
	  "0123456789012345678901234567890123456789012345678901234567890 1|tail" },
};

static void test_printf_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		struct strbuf sb;
		sb_init(&sb);
		sb_puts(&sb, c->prefix);
		sb_printf(&sb, "%*ld|%s", c->width, c->num, c->word);
		assert_string_equal(sb.s, c->expect);
		assert_int_equal(sb.len, strlen(c->expect));
		sb_free(&sb);
	}
}

static void test_printf_large(void **state)
{
	(void)state;
	char big[5001];
	memset(big, 'Z', 5000);
	big[5000] = '\0';
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "<%s>", big);
	assert_int_equal(sb.len, 5002);
	assert_int_equal(sb.s[0], '<');
	assert_int_equal(sb.s[5001], '>');
	assert_int_equal(sb.s[5002], '\0');
	assert_int_equal(strspn(sb.s + 1, "Z"), 5000);
	sb_printf(&sb, "%d", 12345);
	assert_int_equal(sb.len, 5007);
	assert_string_equal(sb.s + 5002, "12345");
	sb_free(&sb);
}

static void test_steal(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	for (int i = 0; i < 30; i++)
		sb_printf(&sb, "%02d,", i);
	char *s = sb_steal(&sb);
	assert_int_equal(strlen(s), 90);
	assert_memory_equal(s, "00,01,02,", 9);
	assert_string_equal(s + 87, "29,");
	/* sb is usable again and independent of the stolen string */
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.s, "");
	assert_ptr_not_equal(sb.s, s);
	sb_puts(&sb, "new");
	assert_string_equal(sb.s, "new");
	assert_memory_equal(s, "00,", 3);
	free(s);
	sb_free(&sb);
}

static void test_truncate_reset(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "hello world");
	sb_truncate(&sb, 5);
	assert_int_equal(sb.len, 5);
	assert_string_equal(sb.s, "hello");
	sb_truncate(&sb, 50);		/* longer than len: no change */
	assert_int_equal(sb.len, 5);
	assert_string_equal(sb.s, "hello");
	sb_truncate(&sb, 5);
	assert_string_equal(sb.s, "hello");
	sb_puts(&sb, "!");
	assert_string_equal(sb.s, "hello!");
	sb_truncate(&sb, 0);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.s, "");
	sb_puts(&sb, "again");
	sb_reset(&sb);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.s, "");
	sb_free(&sb);
}

static void test_reserve(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "abc");
	sb_reserve(&sb, 1000);
	assert_true(sb.cap >= 1004);
	char *before = sb.s;
	size_t cap = sb.cap;
	for (int i = 0; i < 1000; i++)
		sb_putc(&sb, 'x');
	assert_ptr_equal(sb.s, before);	/* no reallocation once reserved */
	assert_int_equal(sb.cap, cap);
	assert_int_equal(sb.len, 1003);
	assert_string_equal(sb.s + 1000, "xxx");
	sb_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_putc_puts_binary),
		cmocka_unit_test(test_printf_table),
		cmocka_unit_test(test_printf_large),
		cmocka_unit_test(test_steal),
		cmocka_unit_test(test_truncate_reset),
		cmocka_unit_test(test_reserve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
