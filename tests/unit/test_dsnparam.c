/* Unit tests for lib/dsnparam: RFC 3461 xtext, NOTIFY into sendmail's R
 * flags, ORCPT, RET, which notifications a recipient wants, and the
 * parameters passed on to a next hop that offers DSN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dsnparam.h"

static void test_xtext(void **state)
{
	(void)state;
	assert_true(dsn_xtext_valid("abc+2Bdef"));
	assert_true(dsn_xtext_valid("QQ314159"));
	assert_false(dsn_xtext_valid(""));
	assert_false(dsn_xtext_valid("a b"));
	assert_false(dsn_xtext_valid("a=b"));
	assert_false(dsn_xtext_valid("a+2"));
	assert_false(dsn_xtext_valid("a+2b"));	/* hex digits are upper case */
	assert_false(dsn_xtext_valid("caf\xc3\xa9"));
}

static void test_notify(void **state)
{
	(void)state;
	char f[16] = "P";
	assert_int_equal(dsn_parse_notify("SUCCESS,FAILURE", f, sizeof(f)), 0);
	assert_string_equal(f, "PNSF");
	strcpy(f, "P");
	assert_int_equal(dsn_parse_notify("never", f, sizeof(f)), 0);
	assert_string_equal(f, "PN");
	strcpy(f, "P");
	assert_int_equal(dsn_parse_notify("DELAY,FAILURE,DELAY", f, sizeof(f)), 0);
	assert_string_equal(f, "PNDF");
	assert_int_equal(dsn_parse_notify("NEVER,SUCCESS", f, sizeof(f)), -1);
	assert_int_equal(dsn_parse_notify("SOMETIMES", f, sizeof(f)), -1);
	assert_int_equal(dsn_parse_notify("SUCCESS,", f, sizeof(f)), -1);
	assert_int_equal(dsn_parse_notify("", f, sizeof(f)), -1);

	assert_true(dsn_notify_wanted("P", 'F'));	/* none given: failures and delays */
	assert_true(dsn_notify_wanted("P", 'D'));
	assert_false(dsn_notify_wanted("P", 'S'));
	assert_false(dsn_notify_wanted("PN", 'F'));	/* NEVER */
	assert_true(dsn_notify_wanted("PNS", 'S'));
	assert_false(dsn_notify_wanted("PNS", 'D'));
}

static void test_orcpt_ret(void **state)
{
	(void)state;
	assert_int_equal(dsn_orcpt_valid("rfc822;Bob@Far.example"), 0);
	assert_int_equal(dsn_orcpt_valid("rfc822;a+20b@x"), 0);
	assert_int_equal(dsn_orcpt_valid("Bob@Far.example"), -1);
	assert_int_equal(dsn_orcpt_valid(";x@y"), -1);
	assert_int_equal(dsn_orcpt_valid("rfc822;a b@x"), -1);
	assert_int_equal(dsn_parse_ret("hdrs"), 'H');
	assert_int_equal(dsn_parse_ret("FULL"), 'F');
	assert_int_equal(dsn_parse_ret("BODY"), 0);
}

static void test_pass_on(void **state)
{
	(void)state;
	struct qf_env env;
	qf_env_init(&env);
	char buf[200] = "SIZE=10";
	dsn_mail_params(&env, buf, sizeof(buf));
	assert_string_equal(buf, "SIZE=10");
	qf_set(&env.envid, "abc+2Bdef");
	qf_add_flag(&env, 'd');
	qf_add_flag(&env, 'n');
	dsn_mail_params(&env, buf, sizeof(buf));
	assert_string_equal(buf, "SIZE=10 ENVID=abc+2Bdef RET=HDRS");
	buf[0] = '\0';
	free(env.flags);
	env.flags = strdup("8d");
	dsn_mail_params(&env, buf, sizeof(buf));
	assert_string_equal(buf, "ENVID=abc+2Bdef RET=FULL");
	qf_env_add_rcpt(&env, "<bob@far.example>", "PNSF", "rfc822;Bob@Far.example");
	qf_env_add_rcpt(&env, "<dave@far.example>", "PN", NULL);
	qf_env_add_rcpt(&env, "<eve@far.example>", "P", NULL);
	char *p = dsn_rcpt_params(&env.rcpts[0]);
	assert_string_equal(p, "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Far.example");
	free(p);
	p = dsn_rcpt_params(&env.rcpts[1]);
	assert_string_equal(p, "NOTIFY=NEVER");
	free(p);
	assert_null(dsn_rcpt_params(&env.rcpts[2]));
	/* a qf value that is not xtext never reaches the wire */
	qf_env_add_rcpt(&env, "<x@far.example>", "P", "rfc822;a b NOTIFY=NEVER");
	assert_null(dsn_rcpt_params(&env.rcpts[3]));
	qf_set(&env.envid, "e1 RET=FULL");
	buf[0] = '\0';
	dsn_mail_params(&env, buf, sizeof(buf));
	assert_string_equal(buf, "RET=FULL");
	qf_env_free(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_orcpt_ret),
		cmocka_unit_test(test_pass_on),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
