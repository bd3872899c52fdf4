/* Unit tests for lib/smtp_reply and lib/smtp_client: reply parsing,
 * enhanced status codes, EHLO keywords, dot-stuffing, and whole
 * transactions over a socketpair with canned server replies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtp_client.h"
#include "smtp_reply.h"

static enum smtp_feed feed(struct smtp_reply *r, const char *line)
{
	return smtp_reply_feed(r, line, strlen(line));
}

static void test_reply_single(void **state)
{
	(void)state;
	struct smtp_reply r;
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250 2.1.0 Sender ok"), SMTP_FEED_DONE);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.esc, "2.1.0");
	assert_string_equal(r.text.s, "2.1.0 Sender ok");
	assert_int_equal(smtp_reply_class(&r), 2);
	assert_int_equal(r.nlines, 1);
	smtp_reply_free(&r);
}

static void test_reply_multiline(void **state)
{
	(void)state;
	struct smtp_reply r;
	struct strbuf sc;
	smtp_reply_init(&r);
	sb_init(&sc);
	assert_int_equal(feed(&r, "250-mx.example Hello"), SMTP_FEED_MORE);
	assert_int_equal(feed(&r, "250-PIPELINING"), SMTP_FEED_MORE);
	assert_int_equal(feed(&r, "250 SIZE 1000"), SMTP_FEED_DONE);
	assert_int_equal(r.nlines, 3);
	assert_string_equal(r.text.s, "mx.example Hello\nPIPELINING\nSIZE 1000");
	assert_string_equal(r.raw.s, "250-mx.example Hello\n250-PIPELINING\n250 SIZE 1000");
	assert_string_equal(smtp_reply_line(&r, 1, &sc), "PIPELINING");
	assert_string_equal(smtp_reply_line(&r, 2, &sc), "SIZE 1000");
	assert_null(smtp_reply_line(&r, 3, &sc));
	assert_string_equal(r.esc, "");
	sb_free(&sc);
	smtp_reply_free(&r);
}

static void test_reply_bad(void **state)
{
	(void)state;
	struct smtp_reply r;
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "25"), SMTP_FEED_BAD);
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "abc hello"), SMTP_FEED_BAD);
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "250x"), SMTP_FEED_BAD);
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "650 what"), SMTP_FEED_BAD);
	smtp_reply_reset(&r);
	/* the code must not change inside one reply */
	assert_int_equal(feed(&r, "250-first"), SMTP_FEED_MORE);
	assert_int_equal(feed(&r, "251 second"), SMTP_FEED_BAD);
	smtp_reply_reset(&r);
	/* a bare code is a complete reply */
	assert_int_equal(feed(&r, "354"), SMTP_FEED_DONE);
	assert_int_equal(r.code, 354);
	smtp_reply_reset(&r);
	/* bounded line count */
	for (int i = 0; i < SMTP_REPLY_MAX_LINES; i++)
		assert_int_equal(feed(&r, "250-x"), SMTP_FEED_MORE);
	assert_int_equal(feed(&r, "250 x"), SMTP_FEED_BAD);
	smtp_reply_free(&r);
}

static void test_esc(void **state)
{
	(void)state;
	char out[16];
	assert_int_equal(smtp_esc_parse("5.7.1 Relaying denied", out, sizeof(out)), 5);
	assert_string_equal(out, "5.7.1");
	assert_int_equal(smtp_esc_parse("4.4.2", out, sizeof(out)), 5);
	assert_int_equal(smtp_esc_parse("2.0.0\tok", out, sizeof(out)), 5);
	assert_int_equal(smtp_esc_parse("5.123.456 x", out, sizeof(out)), 9);
	assert_int_equal(smtp_esc_parse("3.0.0 x", out, sizeof(out)), 0);
	assert_int_equal(smtp_esc_parse("5.1234.1 x", out, sizeof(out)), 0);
	assert_int_equal(smtp_esc_parse("5.1.1x", out, sizeof(out)), 0);
	assert_int_equal(smtp_esc_parse("Ok", out, sizeof(out)), 0);
	/* a class that disagrees with the reply code is ignored */
	struct smtp_reply r;
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "550 2.0.0 odd"), SMTP_FEED_DONE);
	assert_string_equal(r.esc, "");
	smtp_reply_free(&r);
}

static void test_ehlo_keywords(void **state)
{
	(void)state;
	struct smtp_reply r;
	struct smtp_ext ext;
	smtp_reply_init(&r);
	feed(&r, "250-mx.example Hello client [127.0.0.1], pleased to meet you");
	feed(&r, "250-pipelining");
	feed(&r, "250-SIZE 10240000");
	feed(&r, "250-8BITMIME");
	feed(&r, "250-AUTH=LOGIN");
	feed(&r, "250-AUTH PLAIN LOGIN");
	feed(&r, "250-ENHANCEDSTATUSCODES");
	feed(&r, "250-STARTTLS");
	feed(&r, "250-X-UNKNOWN foo");
	feed(&r, "250 DSN");
	assert_int_equal(smtp_ehlo_parse(&r, &ext), 9);
	assert_true(ext.flags & SMTP_EXT_PIPELINING);
	assert_true(ext.flags & SMTP_EXT_SIZE);
	assert_true(ext.flags & SMTP_EXT_8BITMIME);
	assert_true(ext.flags & SMTP_EXT_STARTTLS);
	assert_true(ext.flags & SMTP_EXT_DSN);
	assert_true(ext.flags & SMTP_EXT_AUTH);
	assert_true(ext.flags & SMTP_EXT_ENHANCEDSTATUSCODES);
	assert_false(ext.flags & SMTP_EXT_SMTPUTF8);
	assert_false(ext.flags & SMTP_EXT_CHUNKING);
	assert_int_equal(ext.size, 10240000);
	assert_string_equal(ext.auth, "LOGIN");

	smtp_reply_reset(&r);
	feed(&r, "250 mx.example");
	assert_int_equal(smtp_ehlo_parse(&r, &ext), 0);
	assert_int_equal(ext.flags, 0);
	/* SIZE without a number: offered, no limit known */
	smtp_reply_reset(&r);
	feed(&r, "250-mx");
	feed(&r, "250 SIZE");
	smtp_ehlo_parse(&r, &ext);
	assert_true(ext.flags & SMTP_EXT_SIZE);
	assert_int_equal(ext.size, 0);
	/* a keyword that merely starts like one we know does not count */
	smtp_reply_reset(&r);
	feed(&r, "250-mx");
	feed(&r, "250 PIPELININGX");
	smtp_ehlo_parse(&r, &ext);
	assert_false(ext.flags & SMTP_EXT_PIPELINING);
	smtp_reply_free(&r);
}

static void stuff_case(const char *in, const char *want)
{
	struct smtp_dotstuff d;
	struct strbuf out;
	sb_init(&out);
	smtp_dotstuff_init(&d);
	smtp_dotstuff(&d, in, strlen(in), &out);
	smtp_dotstuff_end(&d, &out);
	assert_string_equal(out.s, want);
	/* the same input fed one octet at a time gives the same output */
	sb_reset(&out);
	smtp_dotstuff_init(&d);
	for (size_t i = 0; in[i]; i++)
		smtp_dotstuff(&d, in + i, 1, &out);
	smtp_dotstuff_end(&d, &out);
	assert_string_equal(out.s, want);
	sb_free(&out);
}

static void test_dotstuff(void **state)
{
	(void)state;
	stuff_case("", ".\r\n");
	stuff_case("a\r\n", "a\r\n.\r\n");
	stuff_case("a", "a\r\n.\r\n");
	stuff_case("a\nb\n", "a\r\nb\r\n.\r\n");
	stuff_case(".\n", "..\r\n.\r\n");
	stuff_case("..\r\n", "...\r\n.\r\n");
	stuff_case(". x\r\n.x", ".. x\r\n..x\r\n.\r\n");
	stuff_case("x.\r\n", "x.\r\n.\r\n");
	/* bare CR and bare LF never go out alone: smuggling cannot pass */
	stuff_case("a\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
	stuff_case("a\r.\rb", "a\r\n..\r\nb\r\n.\r\n");
	stuff_case("a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
	stuff_case("a\r", "a\r\n.\r\n");
	stuff_case("\r\n\r\n", "\r\n\r\n.\r\n");
}

/* ---- transactions over a socketpair ------------------------------- */

struct pair {
	struct smtp_client c;
	int server;
	struct strbuf log;
};

static void record(void *arg, enum smtp_dir dir, const char *data, size_t len)
{
	struct strbuf *log = arg;
	sb_putc(log, dir == SMTP_DIR_SEND ? '>' : dir == SMTP_DIR_RECV ? '<' : '*');
	sb_append(log, data, len);
	if (dir != SMTP_DIR_SEND)
		sb_putc(log, '\n');
}

static void pair_open(struct pair *p, const char *server_says)
{
	int sv[2];
	struct smtp_timeouts t;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	smtp_timeouts_all(&t, 2000);
	smtp_client_init(&p->c, &t);
	smtp_client_attach_fd(&p->c, sv[0]);
	p->server = sv[1];
	sb_init(&p->log);
	smtp_client_set_transcript(&p->c, record, &p->log);
	size_t n = strlen(server_says);
	assert_int_equal(write(p->server, server_says, n), (ssize_t)n);
}

/* What the client sent, once it is done. */
static char *pair_sent(struct pair *p, struct strbuf *sb)
{
	char buf[4096];
	ssize_t n;
	smtp_client_close(&p->c);
	sb_init(sb);
	while ((n = read(p->server, buf, sizeof(buf))) > 0)
		sb_append(sb, buf, (size_t)n);
	return sb->s;
}

static void pair_close(struct pair *p)
{
	smtp_client_free(&p->c);
	close(p->server);
	sb_free(&p->log);
}

static void test_session_plain(void **state)
{
	(void)state;
	struct pair p;
	struct strbuf sent;
	const char *rcpts[] = { "alice@example", "nobody@example", "bob@example" };
	enum smtp_result res[3];
	const char *phase = NULL;

	pair_open(&p, "220 mx ESMTP\r\n"
		  "250-mx hello\r\n250 8BITMIME\r\n"
		  "250 2.1.0 ok\r\n"
		  "250 2.1.5 ok\r\n550 5.1.1 no such user\r\n451 4.3.0 try later\r\n"
		  "354 go\r\n"
		  "250 2.0.0 queued as X\r\n"
		  "221 bye\r\n");
	assert_int_equal(smtp_greeting(&p.c), SMTP_OK);
	assert_int_equal(smtp_ehlo(&p.c, "client.example"), SMTP_OK);
	assert_true(p.c.esmtp);
	assert_true(p.c.ext.flags & SMTP_EXT_8BITMIME);
	struct smtp_msg m = { .sender = "s@example", .rcpts = rcpts, .nrcpts = 3,
			      .body = "Subject: t\n\n.dot\nend", .len = 20, .pipeline = 1 };
	assert_int_equal(smtp_send_message(&p.c, &m, res, NULL, &phase), SMTP_OK);
	assert_string_equal(phase, "dot");
	assert_int_equal(res[0], SMTP_OK);
	assert_int_equal(res[1], SMTP_PERM);
	assert_int_equal(res[2], SMTP_TEMP);
	assert_int_equal(p.c.reply.code, 250);
	assert_int_equal(smtp_quit(&p.c), SMTP_OK);
	pair_sent(&p, &sent);
	assert_string_equal(sent.s,
			    "EHLO client.example\r\n"
			    "MAIL FROM:<s@example>\r\n"
			    "RCPT TO:<alice@example>\r\nRCPT TO:<nobody@example>\r\n"
			    "RCPT TO:<bob@example>\r\n"
			    "DATA\r\n"
			    "Subject: t\r\n\r\n..dot\r\nend\r\n.\r\n"
			    "QUIT\r\n");
	/* the transcript saw both directions, line by line */
	assert_non_null(strstr(p.log.s, ">EHLO client.example\r\n"));
	assert_non_null(strstr(p.log.s, "<550 5.1.1 no such user\n"));
	assert_non_null(strstr(p.log.s, ">..dot\r\n"));
	sb_free(&sent);
	pair_close(&p);
}

static void test_session_pipelined(void **state)
{
	(void)state;
	struct pair p;
	struct strbuf sent;
	const char *rcpts[] = { "a@x", "b@x" };
	enum smtp_result res[2];
	const char *phase = NULL;

	pair_open(&p, "220 mx\r\n250-mx\r\n250 PIPELINING\r\n"
		  "250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n250 queued\r\n");
	assert_int_equal(smtp_greeting(&p.c), SMTP_OK);
	assert_int_equal(smtp_ehlo(&p.c, "c"), SMTP_OK);
	struct smtp_msg m = { .sender = "", .rcpts = rcpts, .nrcpts = 2,
			      .body = "x\r\n", .len = 3, .pipeline = 1 };
	assert_int_equal(smtp_send_message(&p.c, &m, res, NULL, &phase), SMTP_OK);
	assert_int_equal(res[0], SMTP_OK);
	assert_int_equal(res[1], SMTP_PERM);
	pair_sent(&p, &sent);
	assert_string_equal(sent.s, "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@x>\r\n"
			    "RCPT TO:<b@x>\r\nDATA\r\nx\r\n.\r\n");
	sb_free(&sent);
	pair_close(&p);
}

/* A cached connection: RSET leads the pipelined group (one round trip,
 * not two); a 421 to it is a lost connection before any MAIL reply, so
 * the caller opens a new one and no recipient is decided. */
static void test_session_rset_first(void **state)
{
	(void)state;
	struct pair p;
	struct strbuf sent;
	const char *rcpts[] = { "a@x" };
	enum smtp_result res[1];
	const char *phase = NULL;
	struct smtp_reply mail_reply;

	pair_open(&p, "220 mx\r\n250-mx\r\n250 PIPELINING\r\n"
		  "250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n");
	assert_int_equal(smtp_greeting(&p.c), SMTP_OK);
	assert_int_equal(smtp_ehlo(&p.c, "c"), SMTP_OK);
	struct smtp_msg m = { .sender = "s@x", .rcpts = rcpts, .nrcpts = 1,
			      .body = "x\r\n", .len = 3, .pipeline = 1, .rset_first = 1 };
	assert_int_equal(smtp_send_message(&p.c, &m, res, NULL, &phase), SMTP_OK);
	assert_int_equal(res[0], SMTP_OK);
	assert_int_equal(p.c.reply.code, 250);
	pair_sent(&p, &sent);
	assert_string_equal(sent.s, "EHLO c\r\nRSET\r\nMAIL FROM:<s@x>\r\nRCPT TO:<a@x>\r\nDATA\r\nx\r\n.\r\n");
	sb_free(&sent);
	pair_close(&p);

	pair_open(&p, "220 mx\r\n250-mx\r\n250 PIPELINING\r\n"
		  "421 4.4.2 idle too long, closing\r\n");
	assert_int_equal(smtp_greeting(&p.c), SMTP_OK);
	assert_int_equal(smtp_ehlo(&p.c, "c"), SMTP_OK);
	smtp_reply_init(&mail_reply);
	m.mail_reply = &mail_reply;
	assert_int_equal(smtp_send_message(&p.c, &m, res, NULL, &phase), SMTP_IOERR);
	assert_int_equal(mail_reply.code, 0);
	assert_int_equal(res[0], SMTP_IOERR);
	assert_non_null(strstr(p.c.err.s, "RSET answered 421"));
	smtp_reply_free(&mail_reply);
	pair_close(&p);

	/* no PIPELINING: the probe on its own, and a 421 to it the same */
	pair_open(&p, "220 mx\r\n250 mx\r\n421 4.4.2 closing\r\n");
	assert_int_equal(smtp_greeting(&p.c), SMTP_OK);
	assert_int_equal(smtp_ehlo(&p.c, "c"), SMTP_OK);
	smtp_reply_init(&mail_reply);
	assert_int_equal(smtp_send_message(&p.c, &m, res, NULL, &phase), SMTP_IOERR);
	assert_int_equal(mail_reply.code, 0);
	pair_sent(&p, &sent);
	assert_string_equal(sent.s, "EHLO c\r\nRSET\r\n");	/* nothing after the refused probe */
	sb_free(&sent);
	smtp_reply_free(&mail_reply);
	pair_close(&p);
}

static void test_session_failures(void **state)
{
	(void)state;
	struct pair p;
	const char *rcpts[] = { "a@x", "b@x" };
	enum smtp_result res[2];
	const char *phase = NULL;
	struct smtp_msg m = { .sender = "s@x", .rcpts = rcpts, .nrcpts = 2,
			      .body = "x", .len = 1 };

	/* EHLO refused: HELO fallback, no extensions */
	pair_open(&p, "220 old\r\n502 what\r\n250 old\r\n"
		  "250 ok\r\n550 no\r\n550 no\r\n");
	assert_int_equal(smtp_greeting(&p.c), SMTP_OK);
	assert_int_equal(smtp_ehlo(&p.c, "c"), SMTP_OK);
	assert_false(p.c.esmtp);
	/* every recipient rejected permanently: permanent, phase rcpt */
	assert_int_equal(smtp_send_message(&p.c, &m, res, NULL, &phase), SMTP_PERM);
	assert_string_equal(phase, "rcpt");
	assert_true(smtp_result_is_perm(SMTP_PERM));
	pair_close(&p);

	/* one temporary and one permanent: temporary overall */
	pair_open(&p, "250 ok\r\n450 later\r\n550 no\r\n");
	assert_int_equal(smtp_send_message(&p.c, &m, res, NULL, &phase), SMTP_TEMP);
	assert_string_equal(phase, "rcpt");
	pair_close(&p);

	/* MAIL refused with 4xx */
	pair_open(&p, "421 4.3.2 shutting down\r\n");
	assert_int_equal(smtp_send_message(&p.c, &m, res, NULL, &phase), SMTP_TEMP);
	assert_string_equal(phase, "mail");
	assert_string_equal(p.c.reply.esc, "4.3.2");
	pair_close(&p);

	/* connection lost mid-reply: I/O error, temporary */
	pair_open(&p, "250-partial\r\n");
	shutdown(p.server, SHUT_WR);
	assert_int_equal(smtp_mail(&p.c, "s@x", NULL), SMTP_IOERR);
	assert_true(smtp_result_is_temp(SMTP_IOERR));
	assert_non_null(strstr(p.c.err.s, "closed"));
	pair_close(&p);

	/* malformed reply: protocol error */
	pair_open(&p, "hello there\r\n");
	assert_int_equal(smtp_greeting(&p.c), SMTP_PROTO);
	pair_close(&p);

	/* wrong class for DATA (250 instead of 354) */
	pair_open(&p, "250 sure\r\n");
	assert_int_equal(smtp_data_begin(&p.c), SMTP_PROTO);
	pair_close(&p);

	/* overlong reply line */
	pair_open(&p, "");
	{
		char big[SMTP_LINE_MAX + 64];
		memset(big, 'x', sizeof(big));
		memcpy(big, "250 ", 4);
		assert_int_equal(write(p.server, big, sizeof(big)), (ssize_t)sizeof(big));
		assert_int_equal(write(p.server, "\r\n", 2), 2);
	}
	assert_int_equal(smtp_greeting(&p.c), SMTP_PROTO);
	assert_non_null(strstr(p.c.err.s, "longer"));
	pair_close(&p);

	/* commands with CR or LF are refused before anything is sent */
	pair_open(&p, "");
	assert_int_equal(smtp_command(&p.c, 100, 2, "NOOP\r\nRSET"), SMTP_PROTO);
	pair_close(&p);
}

static void test_starttls_injection(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, "220 2.0.0 ready\r\n");
	p.c.ext.flags = SMTP_EXT_STARTTLS;
	assert_int_equal(smtp_starttls(&p.c), SMTP_OK);
	assert_int_equal(p.c.ext.flags, 0);
	pair_close(&p);
	/* a reply pipelined behind the 220 would be read as if it came
	 * through TLS: refuse it */
	pair_open(&p, "220 2.0.0 ready\r\n250 injected\r\n");
	assert_int_equal(smtp_starttls(&p.c), SMTP_PROTO);
	assert_non_null(strstr(p.c.err.s, "injection"));
	pair_close(&p);
	pair_open(&p, "454 4.7.0 TLS not available\r\n");
	assert_int_equal(smtp_starttls(&p.c), SMTP_TEMP);
	pair_close(&p);
}

static void test_timeout(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, "");
	p.c.t.greeting = 50;
	assert_int_equal(smtp_greeting(&p.c), SMTP_IOERR);
	assert_non_null(strstr(p.c.err.s, "timed out"));
	pair_close(&p);
}

static void test_connect_refused(void **state)
{
	(void)state;
	struct smtp_client c;
	struct smtp_timeouts t;
	smtp_timeouts_all(&t, 2000);
	smtp_client_init(&c, &t);
	/* port 1 on loopback: nobody listens there in a test environment */
	assert_int_equal(smtp_connect(&c, "127.0.0.1", "1", NULL, 0), SMTP_IOERR);
	assert_true(c.err.len > 0);
	assert_int_equal(c.fd, -1);
	smtp_client_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_single),
		cmocka_unit_test(test_reply_multiline),
		cmocka_unit_test(test_reply_bad),
		cmocka_unit_test(test_esc),
		cmocka_unit_test(test_ehlo_keywords),
		cmocka_unit_test(test_dotstuff),
		cmocka_unit_test(test_session_plain),
		cmocka_unit_test(test_session_pipelined),
		cmocka_unit_test(test_session_rset_first),
		cmocka_unit_test(test_session_failures),
		cmocka_unit_test(test_starttls_injection),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_connect_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
