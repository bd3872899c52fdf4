/* Unit tests for lib/json: commas and nesting, and the escaping that keeps
 * every output valid UTF-8 (latin-1 bytes as \u00XX, UTF-8 kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "strbuf.h"

/* Runs fn on a writer over a memory stream; returns the text (free it). */
static char *capture(void (*fn)(struct json *j, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	struct json j;
	json_init(&j, f);
	fn(&j, arg);
	fclose(f);
	return buf;
}

static void write_string(struct json *j, const void *arg)
{
	json_string(j, arg);
}

struct scase {
	const char *in;
	const char *out;
};

static const struct scase scases[] = {
	{ "plain", "\"plain\"" },
	{ "", "\"\"" },
	{ "q\"b\\", "\"q\\\"b\\\\\"" },
	{ "a\nb\rc\td\be\ff", "\"a\\nb\\rc\\td\\be\\ff\"" },
	{ "\x01\x1b[2J\x7f", "\"\\u0001\\u001b[2J\\u007f\"" },
	/* latin-1 from a remote reply: each byte its own code point */
	{ "zur\xfc" "ck sp\xe4ter", "\"zur\\u00fcck sp\\u00e4ter\"" },
	/* well-formed UTF-8 is kept as it is */
	{ "zur\xc3\xbc" "ck \xe2\x82\xac \xf0\x9f\x93\xa7", "\"zur\xc3\xbc" "ck \xe2\x82\xac \xf0\x9f\x93\xa7\"" },
	/* overlong, surrogate, above U+10FFFF, truncated: bytes as latin-1 */
	{ "\xc0\xaf", "\"\\u00c0\\u00af\"" },
	{ "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"" },
	{ "\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"" },
	{ "\xe2\x82", "\"\\u00e2\\u0082\"" },
	{ "\xc3" "A", "\"\\u00c3A\"" },
};

/* Is s valid UTF-8 with no raw control characters (what a JSON parser
 * reading UTF-8 accepts)? */
static int valid_utf8_json(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if (*p < 0x20)
			return 0;
		if (*p < 0x80) { p++; continue; }
		int n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 ? 2 : 0;
		if (n == 0)
			return 0;
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

static void test_strings(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
		char *out = capture(write_string, scases[i].in);
		if (strcmp(out, scases[i].out) != 0)
			fail_msg("case %zu: got %s, want %s", i, out, scases[i].out);
		assert_true(valid_utf8_json(out));
		free(out);
		/* the strbuf form writes the same */
		struct strbuf sb;
		sb_init(&sb);
		sb_puts(&sb, "x=");
		json_quote_sb(&sb, scases[i].in, strlen(scases[i].in));
		assert_memory_equal(sb.s, "x=", 2);
		assert_string_equal(sb.s + 2, scases[i].out);
		sb_free(&sb);
	}
}

static void test_every_byte_gives_valid_utf8(void **state)
{
	(void)state;
	char in[256 * 3 + 1];
	size_t k = 0;
	for (int b = 1; b < 256; b++) {		/* each byte alone and in pairs */
		in[k++] = (char)b;
		if (k + 2 >= sizeof(in))
			break;
	}
	in[k] = '\0';
	char *out = capture(write_string, in);
	assert_true(valid_utf8_json(out));
	free(out);
	srand(7);
	for (int round = 0; round < 2000; round++) {
		char r[24];
		for (size_t i = 0; i < sizeof(r) - 1; i++)
			r[i] = (char)(1 + rand() % 255);
		r[sizeof(r) - 1] = '\0';
		out = capture(write_string, r);
		assert_true(valid_utf8_json(out));
		free(out);
	}
}

static void write_nested(struct json *j, const void *arg)
{
	(void)arg;
	json_object_begin(j);
	json_member(j, "id"); json_string(j, "X1");
	json_member(j, "n"); json_int(j, -42);
	json_member(j, "ok"); json_bool(j, 1);
	json_member(j, "none"); json_string(j, NULL);
	json_member(j, "list");
	json_array_begin(j);
	json_int(j, 1);
	json_object_begin(j);
	json_member(j, "a"); json_null(j);
	json_object_end(j);
	json_array_begin(j);
	json_array_end(j);
	json_array_end(j);
	json_member(j, "empty");
	json_object_begin(j);
	json_object_end(j);
	json_object_end(j);
	json_newline(j);
	json_object_begin(j);
	json_member(j, "second"); json_bool(j, 0);
	json_object_end(j);
	json_newline(j);
}

static void test_nesting_and_commas(void **state)
{
	(void)state;
	char *out = capture(write_nested, NULL);
	assert_string_equal(out,
		"{\"id\":\"X1\",\"n\":-42,\"ok\":true,\"none\":null,\"list\":[1,{\"a\":null},[]],\"empty\":{}}\n"
		"{\"second\":false}\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_every_byte_gives_valid_utf8),
		cmocka_unit_test(test_nesting_and_commas),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
