/* Unit tests for lib/queue_select: sendmail's -qI/-qR/-qS/-qQ terms with
 * ! negation, same kind OR-ed and kinds AND-ed, --older/--younger/--reason,
 * and the parsing of what follows -q.  Table-driven over a few envelopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue_select.h"

#define NOW 1000000000L

/* three messages: ids, senders, recipients, reasons, holds, ages */
static void make_env(struct qf_env *env, int which)
{
	qf_env_init(env);
	switch (which) {
	case 0:		/* to a dead domain, 3h old, deferred */
		snprintf(env->qid, sizeof(env->qid), "k0679Vv6002665");
		qf_set(&env->sender, "<Bob@Sysiphus.com>");
		qf_env_add_rcpt(env, "<msgbot@spam.com>", "P", NULL);
		qf_set(&env->msg, "Deferred: Connection timed out with spam.com.");
		env->ctime = NOW - 3 * 3600;
		break;
	case 1:		/* two recipients, 5 minutes old */
		snprintf(env->qid, sizeof(env->qid), "k056SDUq003739");
		qf_set(&env->sender, "<bounce@lamers.org>");
		qf_env_add_rcpt(env, "<mary@sysiphus.com>", "P", NULL);
		qf_env_add_rcpt(env, "<hal@spam.com>", "P", NULL);
		qf_set(&env->msg, "host map: lookup (lamers.org): deferred");
		env->ctime = NOW - 300;
		break;
	default:	/* held, new, never tried */
		snprintf(env->qid, sizeof(env->qid), "k0550J0U003615");
		qf_set(&env->sender, "root");
		qf_env_add_rcpt(env, "mary@sysiphus.com", "P", NULL);
		qf_set(&env->quarantine, "Spam review by postmaster");
		env->ctime = NOW - 10;
		break;
	}
}

struct scase {
	const char *name;
	const char *q[4];	/* -q arguments (after "-q") */
	const char *older, *younger, *reason;
	const char *want;	/* which of messages 0,1,2 match: "01", "2", "" */
};

static const struct scase cases[] = {
	{ "empty selects all", { NULL }, NULL, NULL, NULL, "012" },
	{ "-qI substring", { "I003739" }, NULL, NULL, NULL, "1" },
	{ "-qI is case-sensitive", { "Ik056sduq" }, NULL, NULL, NULL, "" },
	{ "-qI! negation", { "I!003739" }, NULL, NULL, NULL, "02" },
	{ "-q!I old negation", { "!I003739" }, NULL, NULL, NULL, "02" },
	{ "-qR domain", { "Rspam.com" }, NULL, NULL, NULL, "01" },
	{ "-qR is case-insensitive", { "RSPAM.COM" }, NULL, NULL, NULL, "01" },
	{ "-qR! some recipient elsewhere", { "R!spam.com" }, NULL, NULL, NULL, "12" },
	{ "-qS sender", { "Sbob@sysiphus" }, NULL, NULL, NULL, "0" },
	{ "-qS! negated sender", { "S!bob@sysiphus" }, NULL, NULL, NULL, "12" },
	{ "same kind is OR", { "I002665", "I003615" }, NULL, NULL, NULL, "02" },
	{ "kinds are AND", { "Rspam.com", "Slamers" }, NULL, NULL, NULL, "1" },
	{ "kinds AND, nothing", { "Rspam.com", "Sroot" }, NULL, NULL, NULL, "" },
	{ "-qQ held only", { "Q" }, NULL, NULL, NULL, "2" },
	{ "-qQ reason substring", { "Qspam review" }, NULL, NULL, NULL, "2" },
	{ "-qQ reason no match", { "Qvirus" }, NULL, NULL, NULL, "" },
	{ "-qQ! held, other reason", { "Q!virus" }, NULL, NULL, NULL, "2" },
	{ "older 1h", { NULL }, "1h", NULL, NULL, "0" },
	{ "older 5m is inclusive", { NULL }, "5m", NULL, NULL, "01" },
	{ "older bare minutes", { NULL }, "4", NULL, NULL, "01" },
	{ "younger 10m", { NULL }, NULL, "10m", NULL, "12" },
	{ "older and younger window", { NULL }, "1m", "1h", NULL, "1" },
	{ "reason regex", { NULL }, NULL, NULL, "timed out|refused", "0" },
	{ "reason case-insensitive", { NULL }, NULL, NULL, "^HOST MAP", "1" },
	{ "reason needs a message", { NULL }, NULL, NULL, ".*", "01" },
	{ "reason and -qR", { "Rsysiphus" }, NULL, NULL, "lookup", "1" },
};

static void test_table(void **state)
{
	(void)state;
	struct qf_env envs[3];
	for (int m = 0; m < 3; m++)
		make_env(&envs[m], m);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct scase *t = &cases[c];
		struct queue_select sel;
		char err[256];
		qsel_init(&sel);
		for (int i = 0; i < 4 && t->q[i]; i++)
			if (qsel_parse_q(&sel, t->q[i], err, sizeof(err)) != 1)
				fail_msg("%s: -q%s: %s", t->name, t->q[i], err);
		if (t->older)
			assert_int_equal(qsel_add(&sel, QSEL_OLDER, t->older, 0, err, sizeof(err)), 0);
		if (t->younger)
			assert_int_equal(qsel_add(&sel, QSEL_YOUNGER, t->younger, 0, err, sizeof(err)), 0);
		if (t->reason)
			assert_int_equal(qsel_add(&sel, QSEL_REASON, t->reason, 0, err, sizeof(err)), 0);
		char got[4] = "";
		size_t n = 0;
		for (int m = 0; m < 3; m++)
			if (qsel_match(&sel, envs[m].qid, &envs[m], NOW))
				got[n++] = (char)('0' + m);
		got[n] = '\0';
		if (strcmp(got, t->want) != 0)
			fail_msg("%s: matched \"%s\", want \"%s\"", t->name, got, t->want);
		qsel_free(&sel);
	}
	for (int m = 0; m < 3; m++)
		qf_env_free(&envs[m]);
}

static void test_parse_q(void **state)
{
	(void)state;
	struct queue_select sel;
	char err[256] = "";
	qsel_init(&sel);
	/* intervals and -qf are not selectors */
	assert_int_equal(qsel_parse_q(&sel, "30m", err, sizeof(err)), 0);
	assert_int_equal(qsel_parse_q(&sel, "f", err, sizeof(err)), 0);
	assert_int_equal(qsel_parse_q(&sel, "", err, sizeof(err)), 0);
	assert_true(qsel_empty(&sel));
	/* a selector needs its substring; -qQ does not */
	assert_int_equal(qsel_parse_q(&sel, "R", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-qR needs a substring"));
	assert_int_equal(qsel_parse_q(&sel, "I!", err, sizeof(err)), -1);
	assert_int_equal(qsel_parse_q(&sel, "!x", err, sizeof(err)), -1);
	assert_true(qsel_empty(&sel));
	assert_int_equal(qsel_parse_q(&sel, "Q", err, sizeof(err)), 1);
	assert_true(qsel_has(&sel, QSEL_HELD));
	assert_false(qsel_id_only(&sel));
	qsel_free(&sel);
	assert_true(qsel_empty(&sel));

	assert_int_equal(qsel_parse_q(&sel, "Iabc", err, sizeof(err)), 1);
	assert_true(qsel_id_only(&sel));
	assert_false(qsel_has(&sel, QSEL_RCPT));
	qsel_free(&sel);

	assert_int_equal(qsel_add(&sel, QSEL_OLDER, "soon", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a duration"));
	assert_int_equal(qsel_add(&sel, QSEL_REASON, "(unclosed", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--reason (unclosed"));
	assert_true(qsel_empty(&sel));
	qsel_free(&sel);
}

/* A qf that could not be read: only -qI can name it. */
static void test_unreadable(void **state)
{
	(void)state;
	struct queue_select sel;
	char err[256];
	qsel_init(&sel);
	assert_true(qsel_match(&sel, "k0679Vv6002665", NULL, NOW));
	assert_int_equal(qsel_parse_q(&sel, "I6002665", err, sizeof(err)), 1);
	assert_true(qsel_match(&sel, "k0679Vv6002665", NULL, NOW));
	assert_false(qsel_match(&sel, "k0679Vv6002666", NULL, NOW));
	assert_int_equal(qsel_parse_q(&sel, "Rspam", err, sizeof(err)), 1);
	assert_false(qsel_match(&sel, "k0679Vv6002665", NULL, NOW));
	qsel_free(&sel);
}

static void test_contains_ci(void **state)
{
	(void)state;
	assert_true(qsel_contains_ci("<Mary@Sysiphus.COM>", "sysiphus.com"));
	assert_false(qsel_contains_ci("<mary@sysiphus.com>", "spam"));
	assert_false(qsel_contains_ci(NULL, "x"));
	assert_true(qsel_contains_ci("x", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_parse_q),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_contains_ci),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
