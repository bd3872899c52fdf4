/* Unit tests for lib/maillog: LogFile lines carry the syslog-style prefix
 * "Mon dd hh:mm:ss host tag[pid]: QID: ", from= and to= fields come in
 * sendmail's order, and control characters are escaped (\012) so that one
 * call always writes exactly one line, diagnostics included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "maillog.h"
#include "strbuf.h"
#include "timefmt.h"

#define QID "k056SDUq003739"

struct fixture {
	char dir[64];
	char log[128];
	time_t t0;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_maillog.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/maillog", f->dir);
	setenv("TZ", "UTC", 1);
	tzset();
	diag_set_dest(0);	/* diagnostics only through the hook under test */
	f->t0 = time(NULL);
	maillog_open("sm-mta", f->log, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	maillog_close();
	diag_set_hook(NULL);
	diag_set_dest(DIAG_STDERR);
	unlink(f->log);
	rmdir(f->dir);
	free(f);
	return 0;
}

static char *slurp(const char *path)
{
	struct strbuf sb;
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	sb_init(&sb);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sb_append(&sb, buf, (size_t)n);
	close(fd);
	char *s = sb_steal(&sb);
	sb_free(&sb);
	return s;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Checks that the log holds exactly these bodies, one line each, each with
 * the prefix for a time between f->t0 and now. */
static void assert_log(const struct fixture *f, const char *const *bodies, size_t n)
{
	char host[256] = "";
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	char *dot = strchr(host, '.');
	if (dot)
		*dot = '\0';
	time_t t1 = time(NULL);

	char *text = slurp(f->log);
	assert_int_equal(count_lines(text), n);
	const char *line = text;
	for (size_t i = 0; i < n; i++) {
		const char *nl = strchr(line, '\n');
		assert_non_null(nl);
		size_t len = (size_t)(nl - line);
		int matched = 0;
		char want[2048];
		for (time_t t = f->t0; t <= t1 && !matched; t++) {
			char stamp[32];
			time_syslog(stamp, sizeof(stamp), t);
			snprintf(want, sizeof(want), "%s %s sm-mta[%ld]: %s", stamp, host,
				 (long)getpid(), bodies[i]);
			matched = strlen(want) == len && memcmp(want, line, len) == 0;
		}
		if (!matched)
			fail_msg("line %zu:\n  got  %.*s\n  want %s", i + 1, (int)len, line, want);
		line = nl + 1;
	}
	free(text);
}

static void test_prefix_shape(void **state)
{
	struct fixture *f = *state;
	maillog(QID, "hello %d", 42);
	char *text = slurp(f->log);
	/* "Mon dd hh:mm:ss " */
	assert_true(strlen(text) > 16);
	assert_true(text[0] >= 'A' && text[0] <= 'Z');
	assert_true(text[3] == ' ' && text[6] == ' ' && text[9] == ':' && text[12] == ':' &&
		    text[15] == ' ');
	char tail[64];
	snprintf(tail, sizeof(tail), " sm-mta[%ld]: " QID ": hello 42\n", (long)getpid());
	assert_non_null(strstr(text, tail));
	assert_int_equal(strlen(strstr(text, tail)), strlen(tail));
	free(text);
	const char *const want[] = { QID ": hello 42" };
	assert_log(f, want, 1);
}

static void test_from_lines(void **state)
{
	struct fixture *f = *state;
	const struct maillog_from smtp = {
		.sender = "<alice@example.org>", .size = 1234, .class = 0, .nrcpts = 2,
		.msgid = "<20060105062813.k056SDUq003739@mx.example.net>", .proto = "ESMTP",
		.daemon = "MTA", .relay = "client.example.org [192.0.2.7]",
	};
	const struct maillog_from local = {
		.sender = "root", .size = 10, .class = -60, .nrcpts = 1,
		.relay = "root@localhost",
	};
	const struct maillog_from bounce = {
		.sender = "<>", .size = 0, .nrcpts = 1, .msgid = "<x@y>", .proto = "SMTP",
		.daemon = "MTA", .relay = "[127.0.0.1]",
	};
	maillog_from_line(QID, &smtp);
	maillog_from_line(QID, &local);
	maillog_from_line("k056SDUr003740", &bounce);
	const char *const want[] = {
		QID ": from=<alice@example.org>, size=1234, class=0, nrcpts=2, "
		"msgid=<20060105062813.k056SDUq003739@mx.example.net>, proto=ESMTP, daemon=MTA, "
		"relay=client.example.org [192.0.2.7]",
		QID ": from=root, size=10, class=-60, nrcpts=1, relay=root@localhost",
		"k056SDUr003740: from=<>, size=0, class=0, nrcpts=1, msgid=<x@y>, proto=SMTP, "
		"daemon=MTA, relay=[127.0.0.1]",
	};
	assert_log(f, want, 3);
}

static void test_to_lines(void **state)
{
	struct fixture *f = *state;
	const struct maillog_to local = {
		.to = "<bob@example.com>", .ctladdr = "<root@localhost> (0/0)", .delay = 75,
		.xdelay = 1, .mailer = "local", .pri = 30123, .dsn = "2.0.0", .stat = "Sent",
	};
	const struct maillog_to relay = {
		.to = "<a@example.net>,<b@example.net>", .delay = 93784, .xdelay = 0,
		.mailer = "esmtp", .pri = 120345, .relay = "mx.example.net. [198.51.100.2]",
		.dsn = "4.0.0", .stat = "Deferred: Connection refused by mx.example.net.",
	};
	maillog_to_line(QID, &local);
	maillog_to_line(QID, &relay);
	const char *const want[] = {
		QID ": to=<bob@example.com>, ctladdr=<root@localhost> (0/0), delay=00:01:15, "
		"xdelay=00:00:01, mailer=local, pri=30123, dsn=2.0.0, stat=Sent",
		QID ": to=<a@example.net>,<b@example.net>, delay=1+02:03:04, xdelay=00:00:00, "
		"mailer=esmtp, pri=120345, relay=mx.example.net. [198.51.100.2], dsn=4.0.0, "
		"stat=Deferred: Connection refused by mx.example.net.",
	};
	assert_log(f, want, 2);
}

static void test_escaping(void **state)
{
	struct fixture *f = *state;
	const struct maillog_from from = {
		.sender = "<a\n@b>", .size = 1, .nrcpts = 1,
		.msgid = "<x\r\nk056SDUq003739: to=<evil>, stat=Sent>", .proto = "ESMTP",
		.daemon = "MTA", .relay = "h\t[1.2.3.4]",
	};
	const struct maillog_to to = {
		.to = "<c@d>", .delay = 0, .xdelay = 0, .mailer = "esmtp", .pri = 1,
		.relay = "x\033[2J", .dsn = "5.0.0", .stat = "Bounced\x7f\n",
	};
	maillog_from_line(QID, &from);
	maillog_to_line(QID, &to);
	maillog(NULL, "no qid: %s", "a\nb\001c");
	const char *const want[] = {
		QID ": from=<a\\012@b>, size=1, class=0, nrcpts=1, "
		"msgid=<x\\015\\012k056SDUq003739: to=<evil>, stat=Sent>, proto=ESMTP, daemon=MTA, "
		"relay=h\\011[1.2.3.4]",
		QID ": to=<c@d>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, "
		"relay=x\\033[2J, dsn=5.0.0, stat=Bounced\\177\\012",
		"no qid: a\\012b\\001c",
	};
	assert_log(f, want, 3);
}

/* Diagnostics reach LogFile through the hook, also as one line each. */
static void test_diag_hook(void **state)
{
	struct fixture *f = *state;
	msg_warn("cannot resolve %s", "host\nk056SDUq003739: to=<x>, stat=Sent");
	msg_info("plain");
	const char *const want[] = {
		"warning: cannot resolve host\\012k056SDUq003739: to=<x>, stat=Sent",
		"plain",
	};
	assert_log(f, want, 2);
}

static void test_append_and_reopen(void **state)
{
	struct fixture *f = *state;
	maillog_close();
	int fd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
	maillog_open("sm-mta", f->log, 0);
	maillog(QID, "one");
	maillog_open("sm-mta", f->log, 0);	/* reopen (log rotation): appends */
	maillog(QID, "two");
	const char *const want[] = { QID ": one", QID ": two" };
	assert_log(f, want, 2);

	/* after close nothing more is written */
	maillog_close();
	maillog(QID, "three");
	assert_log(f, want, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prefix_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_to_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diag_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_and_reopen, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
