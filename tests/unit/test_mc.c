/* Unit tests for lib/mc: m4 quoting (nested, doubled), dnl and # comments,
 * macro calls with quoted and unquoted arguments, the bare words that act
 * alone, line numbers, and the errors for damaged text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc.h"
#include "strbuf.h"

/* Records every call as "NAME(arg|arg)@line;" ("NAME@line;" when the call
 * has no argument list). */
struct rec {
	struct strbuf out;
	const char *file;
	int fail_on;		/* return -1 on this call number (1-based); 0 never */
	int ncalls;
};

static int record(const struct mc_call *call, void *arg)
{
	struct rec *r = arg;
	r->ncalls++;
	assert_ptr_equal(call->file, r->file);
	sb_puts(&r->out, call->name);
	if (call->nargs > 0) {
		sb_putc(&r->out, '(');
		for (size_t i = 0; i < call->nargs; i++)
			sb_printf(&r->out, "%s%s", i ? "|" : "", call->args[i]);
		sb_putc(&r->out, ')');
	}
	sb_printf(&r->out, "@%d;", call->line);
	return r->ncalls == r->fail_on ? -1 : 0;
}

struct pcase {
	const char *what;
	const char *in;
	const char *calls;
};

static const struct pcase pcases[] = {
	{ "quoted_define", "define(`confFOO', `bar')dnl\n", "define(confFOO|bar)@1;" },
	{ "unquoted_define", "define(confMAX_HOP, 30)\n", "define(confMAX_HOP|30)@1;" },
	{ "mixed_quoting", "define(`confX', 5)define(confY,`6')\n",
	  "define(confX|5)@1;define(confY|6)@1;" },
	{ "nested_quotes", "define(`confSMTP_LOGIN_MSG', `$j `Sendmail' $v')\n",
	  "define(confSMTP_LOGIN_MSG|$j `Sendmail' $v)@1;" },
	{ "doubled_quotes", "FEATURE(`access_db', ``hash -T<TMPF> -o /etc/mail/access'')\n",
	  "FEATURE(access_db|`hash -T<TMPF> -o /etc/mail/access')@1;" },
	{ "doubled_list", "define(`confLIST', ``a', `b'')\n", "define(confLIST|`a', `b')@1;" },
	{ "quoted_comma", "DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')\n",
	  "DAEMON_OPTIONS(Port=smtp,Addr=127.0.0.1, Name=MTA)@1;" },
	{ "unquoted_commas_split", "DAEMON_OPTIONS(Port=587, Name=MSA, M=Ea)\n",
	  "DAEMON_OPTIONS(Port=587|Name=MSA|M=Ea)@1;" },
	{ "blanks", "define(  a ,\n\t b  )\n", "define(a |b  )@1;" },
	{ "nested_parens", "FOO(a(b,c),d)\n", "FOO(a(b,c)|d)@1;" },
	{ "empty_args", "FOO()BAR(,)\n", "FOO()@1;BAR(|)@1;" },
	{ "dnl", "dnl define(`a', `b')\ndefine(`c', `d')dnl trailing words(x)\n",
	  "define(c|d)@2;" },
	{ "dnl_is_a_word", "dnlx(1)\n", "dnlx(1)@1;" },
	{ "hash_comment", "# define(`a', `b')\ndefine(`c', `d') # FEATURE(x)\nMAILER(smtp)\n",
	  "define(c|d)@2;MAILER(smtp)@3;" },
	{ "hash_in_quotes", "define(`confX', `a#b')\n", "define(confX|a#b)@1;" },
	{ "quoted_text_skipped", "`define(x, y)'\ndivert(-1)\n", "divert(-1)@2;" },
	{ "word_without_args", "VERSIONID foo bar\nOSTYPE(linux)\n", "OSTYPE(linux)@2;" },
	{ "space_before_paren", "FEATURE (x)\n", "" },
	{ "bare_local_config", "MAILER(local)\nLOCAL_CONFIG\nKfoo hash /etc/foo\n",
	  "MAILER(local)@1;LOCAL_CONFIG@2;" },
	{ "bare_rules", "LOCAL_RULESETS\nLOCAL_RULE_0\nLOCAL_NET_CONFIG\n",
	  "LOCAL_RULESETS@1;LOCAL_RULE_0@2;LOCAL_NET_CONFIG@3;" },
	{ "multiline_call_lines", "define(`a',\n`b\nc')\nFEATURE(`x')\n",
	  "define(a|b\nc)@1;FEATURE(x)@4;" },
	{ "crlf", "define(`a', `b')dnl\r\nFEATURE(`c')\r\n", "define(a|b)@1;FEATURE(c)@2;" },
	{ "no_final_newline", "MAILER(smtp)", "MAILER(smtp)@1;" },
	{ "empty", "", "" },
	{ "digits_and_underscore", "_X1(`v')\n9Y(w)\n", "_X1(v)@1;Y(w)@2;" },
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		struct rec r = { .file = "test.mc" };
		char err[256] = "";
		sb_init(&r.out);
		int rc = mc_parse(c->in, strlen(c->in), r.file, record, &r, err, sizeof(err));
		if (rc != 0)
			fail_msg("%s: rc %d (%s)", c->what, rc, err);
		if (strcmp(r.out.s, c->calls) != 0)
			fail_msg("%s: calls \"%s\", want \"%s\"", c->what, r.out.s, c->calls);
		sb_free(&r.out);
	}
}

struct ecase {
	const char *what;
	const char *in;
	const char *calls;	/* delivered before the error */
	const char *err;
};

static const struct ecase ecases[] = {
	{ "unterminated_top_quote", "dnl\n\n`never closed\nMAILER(x)\n", "",
	  "site.mc:3: unterminated quote" },
	{ "unterminated_nested_quote", "define(`a', `b')\n`x `y' z\n", "define(a|b)@1;",
	  "site.mc:2: unterminated quote" },
	{ "unterminated_arg_quote", "\ndefine(`a',\n `b)\nMAILER(smtp)\n", "",
	  "site.mc:2: unterminated quote in define() (opened on line 3)" },
	{ "unterminated_args", "MAILER(local)\nFEATURE(`x'\nMAILER(smtp\n", "MAILER(local)@1;",
	  "site.mc:2: unterminated argument list of FEATURE()" },
	{ "unterminated_nested_parens", "FOO(a(b)\n", "", "site.mc:1: unterminated argument list of FOO()" },
	{ "too_many_args", "FOO(1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17)\n", "",
	  "site.mc:1: too many arguments to FOO()" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
		const struct ecase *c = &ecases[i];
		struct rec r = { .file = "site.mc" };
		char err[256] = "";
		sb_init(&r.out);
		int rc = mc_parse(c->in, strlen(c->in), r.file, record, &r, err, sizeof(err));
		if (rc != -1)
			fail_msg("%s: accepted", c->what);
		assert_string_equal(r.out.s, c->calls);
		assert_string_equal(err, c->err);
		sb_free(&r.out);
	}
}

static void test_max_args(void **state)
{
	(void)state;
	const char *in = "FOO(1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16)\n";
	struct rec r = { .file = "x.mc" };
	char err[64];
	sb_init(&r.out);
	assert_int_equal(mc_parse(in, strlen(in), r.file, record, &r, err, sizeof(err)), 0);
	assert_string_equal(r.out.s, "FOO(1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16)@1;");
	sb_free(&r.out);
}

/* A callback that fails stops the parse: no later call is made. */
static void test_callback_error(void **state)
{
	(void)state;
	const char *in = "A(1)\nB(2)\nC(3)\n";
	struct rec r = { .file = "x.mc", .fail_on = 2 };
	char err[64] = "untouched";
	sb_init(&r.out);
	assert_int_equal(mc_parse(in, strlen(in), r.file, record, &r, err, sizeof(err)), -1);
	assert_int_equal(r.ncalls, 2);
	assert_string_equal(r.out.s, "A(1)@1;B(2)@2;");
	assert_string_equal(err, "untouched");	/* the callback owns the message */
	sb_free(&r.out);
}

/* The length bounds the text: a call cut off by len is unterminated. */
static void test_len_bound(void **state)
{
	(void)state;
	const char *in = "A(1)B(2)";
	struct rec r = { .file = "x.mc" };
	char err[128];
	sb_init(&r.out);
	assert_int_equal(mc_parse(in, 4, r.file, record, &r, err, sizeof(err)), 0);
	assert_string_equal(r.out.s, "A(1)@1;");
	sb_reset(&r.out);
	assert_int_equal(mc_parse(in, 7, r.file, record, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "x.mc:1: unterminated argument list of B()");
	sb_free(&r.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_max_args),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_len_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
