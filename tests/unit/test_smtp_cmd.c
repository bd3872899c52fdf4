/* Unit tests for lib/smtp_cmd: the verb table, splitting a command line,
 * and MAIL FROM / RCPT TO arguments with their ESMTP parameters and the
 * reply codes and texts of every rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_cmd.h"

struct vcase {
	const char *name;
	enum smtp_verb verb;
};

static const struct vcase vcases[] = {
	{ "HELO", SMTP_HELO }, { "helo", SMTP_HELO }, { "EhLo", SMTP_EHLO },
	{ "MAIL", SMTP_MAIL }, { "rcpt", SMTP_RCPT }, { "Data", SMTP_DATA },
	{ "RSET", SMTP_RSET }, { "noop", SMTP_NOOP }, { "QUIT", SMTP_QUIT },
	{ "help", SMTP_HELP }, { "VRFY", SMTP_VRFY }, { "expn", SMTP_EXPN },
	{ "VERB", SMTP_VERB }, { "etrn", SMTP_ETRN }, { "StartTLS", SMTP_STARTTLS },
	{ "auth", SMTP_AUTH }, { "BDAT", SMTP_BDAT },
	{ "", SMTP_UNKNOWN }, { "HEL", SMTP_UNKNOWN }, { "HELOX", SMTP_UNKNOWN },
	{ "MAILFROM", SMTP_UNKNOWN }, { "STARTTL", SMTP_UNKNOWN }, { "XYZZY", SMTP_UNKNOWN },
};

static void test_verb_lookup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		enum smtp_verb v = smtp_verb_lookup(vcases[i].name, strlen(vcases[i].name));
		if (v != vcases[i].verb)
			fail_msg("lookup \"%s\" = %d, want %d", vcases[i].name, v, vcases[i].verb);
	}
	/* the length bounds the name: a prefix of a longer buffer */
	assert_int_equal(smtp_verb_lookup("DATAXYZ", 4), SMTP_DATA);
	assert_int_equal(smtp_verb_lookup("DATAXYZ", 3), SMTP_UNKNOWN);
	assert_string_equal(smtp_verb_name(SMTP_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_RCPT), "RCPT");
	assert_string_equal(smtp_verb_name(SMTP_UNKNOWN), "UNKNOWN");
}

struct splitcase {
	const char *line;
	enum smtp_verb verb;
	const char *arg;
};

static const struct splitcase splitcases[] = {
	{ "MAIL FROM:<a@b>", SMTP_MAIL, "FROM:<a@b>" },
	{ "mail   \tFROM:<a@b> SIZE=1", SMTP_MAIL, "FROM:<a@b> SIZE=1" },
	{ "  QUIT", SMTP_QUIT, "" },
	{ "DATA", SMTP_DATA, "" },
	{ "EHLO client.example", SMTP_EHLO, "client.example" },
	{ "ehlo\tclient", SMTP_EHLO, "client" },
	{ "RCPT TO:<x@y>  ", SMTP_RCPT, "TO:<x@y>  " },
	{ "MAIL:FROM", SMTP_UNKNOWN, "" },
	{ "", SMTP_UNKNOWN, "" },
	{ "FOO bar baz", SMTP_UNKNOWN, "bar baz" },
};

static void test_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(splitcases) / sizeof(splitcases[0]); i++) {
		const char *arg = NULL;
		enum smtp_verb v = smtp_split(splitcases[i].line, &arg);
		assert_int_equal(v, splitcases[i].verb);
		assert_non_null(arg);
		assert_string_equal(arg, splitcases[i].arg);
	}
}

#define MAXP 4
struct mcase {
	const char *arg;
	const char *keyword;
	int rc;
	/* success */
	const char *addr;
	int bracketed, null;
	size_t nparams;
	const char *keys[MAXP];
	const char *values[MAXP];	/* NULL: no "=" */
	/* failure */
	int code;
	const char *why;
};

#define SCAN_FROM "5.5.2 Syntax error in parameters scanning \"from\""
#define SCAN_TO "5.5.2 Syntax error in parameters scanning \"to\""

static const struct mcase mcases[] = {
	{ "FROM:<a@b> SIZE=100 BODY=8BITMIME", "FROM", 0, "a@b", 1, 0, 2,
	  { "SIZE", "BODY" }, { "100", "8BITMIME" }, 0, NULL },
	{ "FROM: a@b", "FROM", 0, "a@b", 0, 0, 0, { NULL }, { NULL }, 0, NULL },
	{ "FROM: <a@b>", "FROM", 0, "a@b", 1, 0, 0, { NULL }, { NULL }, 0, NULL },
	{ "FROM :<a@b>", "FROM", 0, "a@b", 1, 0, 0, { NULL }, { NULL }, 0, NULL },
	{ "from:<>", "FROM", 0, "", 1, 1, 0, { NULL }, { NULL }, 0, NULL },
	{ "From:<> body=7bit", "FROM", 0, "", 1, 1, 1, { "BODY" }, { "7bit" }, 0, NULL },
	{ "TO:<u@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40d", "TO", 0, "u@d", 1, 0, 2,
	  { "NOTIFY", "ORCPT" }, { "SUCCESS,FAILURE", "rfc822;u+40d" }, 0, NULL },
	{ "to:<@r1,@r2:u@d>", "TO", 0, "u@d", 1, 0, 0, { NULL }, { NULL }, 0, NULL },
	{ "FROM:<a@b>  SMTPUTF8\tX-Y=", "FROM", 0, "a@b", 1, 0, 2,
	  { "SMTPUTF8", "X-Y" }, { NULL, "" }, 0, NULL },
	{ "FROM:<a@b> size=5", "FROM", 0, "a@b", 1, 0, 1, { "SIZE" }, { "5" }, 0, NULL },
	/* errors */
	{ "FROM <a@b>", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501, SCAN_FROM },
	{ "FROM", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501, SCAN_FROM },
	{ "TO <a@b>", "TO", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501, SCAN_TO },
	{ "FROM:<a@b>", "TO", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501, SCAN_TO },
	{ "FROM:", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501, SCAN_FROM },
	{ "TO:   ", "TO", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501, "5.0.0 Missing recipient" },
	{ "TO:<>", "TO", 0, "", 1, 1, 0, { NULL }, { NULL }, 0, NULL },	/* policy is the caller's */
	{ "FROM:<a@b", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 553, "Unbalanced '<'" },
	{ "FROM:a@b>", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 553, "Unbalanced '>'" },
	{ "FROM:<a\001@b>", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 553,
	  "Invalid character in address" },
	{ "FROM:<a@b> SI_ZE=1", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501,
	  "5.5.4 Syntax error in parameters" },
	{ "FROM:<a@b> =1", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501,
	  "5.5.4 Syntax error in parameters" },
	{ "FROM:<a@b> SIZE=1 B\xc3\xa9=2", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501,
	  "5.5.4 Syntax error in parameters" },
	{ "FROM:<a@b> ENVID=a\001b", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501,
	  "5.5.4 Invalid character in parameter value" },
	{ "FROM:<a@b> ENVID=caf\xc3\xa9", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501,
	  "5.5.4 Invalid character in parameter value" },
	{ "FROM:<a@b> ENVID=x\177", "FROM", -1, NULL, 0, 0, 0, { NULL }, { NULL }, 501,
	  "5.5.4 Invalid character in parameter value" },
};

static void test_mailrcpt_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
		const struct mcase *c = &mcases[i];
		struct smtp_mailrcpt mr;
		int code = 0;
		const char *why = NULL;
		int rc = smtp_parse_mailrcpt(c->arg, c->keyword, &mr, &code, &why);
		if (rc != c->rc)
			fail_msg("case %zu \"%s\": rc %d, want %d (%d %s)", i, c->arg, rc, c->rc,
				 code, why ? why : "");
		if (rc < 0) {
			assert_int_equal(code, c->code);
			assert_string_equal(why, c->why);
			assert_null(mr.path.addr);
			assert_int_equal(mr.nparams, 0);
			continue;
		}
		assert_string_equal(mr.path.addr, c->addr);
		assert_int_equal(mr.path.bracketed, c->bracketed);
		assert_int_equal(mr.path.null, c->null);
		assert_int_equal(mr.nparams, c->nparams);
		for (size_t k = 0; k < c->nparams; k++) {
			assert_string_equal(mr.params[k].key, c->keys[k]);
			if (c->values[k] == NULL)
				assert_null(mr.params[k].value);
			else
				assert_string_equal(mr.params[k].value, c->values[k]);
		}
		smtp_mailrcpt_free(&mr);
		assert_null(mr.path.addr);
		assert_int_equal(mr.nparams, 0);
	}
}

static void test_param_limit(void **state)
{
	(void)state;
	char arg[1024];
	size_t n = (size_t)snprintf(arg, sizeof(arg), "FROM:<a@b>");
	for (int i = 0; i < SMTP_MAX_PARAMS; i++)
		n += (size_t)snprintf(arg + n, sizeof(arg) - n, " P%d=%d", i, i);
	struct smtp_mailrcpt mr;
	int code = 0;
	const char *why = NULL;
	assert_int_equal(smtp_parse_mailrcpt(arg, "FROM", &mr, &code, &why), 0);
	assert_int_equal(mr.nparams, SMTP_MAX_PARAMS);
	assert_string_equal(mr.params[15].key, "P15");
	assert_string_equal(mr.params[15].value, "15");
	smtp_mailrcpt_free(&mr);

	snprintf(arg + n, sizeof(arg) - n, " ONEMORE");
	assert_int_equal(smtp_parse_mailrcpt(arg, "FROM", &mr, &code, &why), -1);
	assert_int_equal(code, 501);
	assert_string_equal(why, "5.5.4 Too many parameters");
	assert_null(mr.path.addr);
	assert_int_equal(mr.nparams, 0);
}

static void test_param_lookup(void **state)
{
	(void)state;
	struct smtp_mailrcpt mr;
	int code;
	const char *why;
	assert_int_equal(smtp_parse_mailrcpt("FROM:<a@b> Size=42 BODY=8BITMIME SMTPUTF8", "FROM",
					     &mr, &code, &why), 0);
	const struct esmtp_param *p = smtp_param(&mr, "size");
	assert_non_null(p);
	assert_string_equal(p->key, "SIZE");
	assert_string_equal(p->value, "42");
	p = smtp_param(&mr, "smtputf8");
	assert_non_null(p);
	assert_null(p->value);
	assert_null(smtp_param(&mr, "RET"));
	smtp_mailrcpt_free(&mr);
}

struct xcase {
	const char *s;
	int ok;
};

static const struct xcase xcases[] = {
	{ "abc", 1 }, { "a+2Bb", 1 }, { "+3D", 1 }, { "", 1 },
	{ "a=b", 0 }, { "a b", 0 }, { "a+2", 0 }, { "a+zz", 0 }, { "a+", 0 },
	{ "\x7f", 0 }, { "caf\xc3\xa9", 0 }, { "a\tb", 0 },
};

static void test_xtext(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(xcases) / sizeof(xcases[0]); i++) {
		if (smtp_xtext_ok(xcases[i].s) != xcases[i].ok)
			fail_msg("smtp_xtext_ok(\"%s\") != %d", xcases[i].s, xcases[i].ok);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verb_lookup),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_mailrcpt_table),
		cmocka_unit_test(test_param_limit),
		cmocka_unit_test(test_param_lookup),
		cmocka_unit_test(test_xtext),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
