/* Unit tests for lib/milter_proto (the milter wire format, checked against
 * libmilter's own constants in <libmilter/mfdef.h>) and lib/milter_def
 * (sendmail's filter definitions: S=, F=, T=). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "milter_def.h"
#include "milter_proto.h"

/* The packets are what libmilter expects: length (command byte included)
 * in network order, the command, the data. */
static void test_encode(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	mp_put_optneg(&sb, 6, MPF_ALL, MPP_OFFER);
	assert_int_equal(sb.len, 4 + 1 + 12);
	assert_int_equal(mp_get32(sb.s), 13);
	assert_int_equal(sb.s[4], 'O');
	assert_int_equal(mp_get32(sb.s + 5), 6);
	assert_int_equal(mp_get32(sb.s + 9), 0x1ff);
	assert_int_equal(mp_get32(sb.s + 13) & MPP_RCPT_REJ, 0);
	sb_reset(&sb);
	mp_put_connect(&sb, "host.example", '4', 2525, "192.0.2.1");
	static const char want[] = "host.example\0" "4" "\x09\xdd" "192.0.2.1";
	assert_int_equal(mp_get32(sb.s), 1 + sizeof(want));
	assert_int_equal(sb.s[4], 'C');
	assert_memory_equal(sb.s + 5, want, sizeof(want));
	sb_reset(&sb);
	const char *names[] = { "j", "{daemon_name}" }, *values[] = { "mx.example", "MTA" };
	mp_put_macros(&sb, 'C', names, values, 2);
	static const char mac[] = "Cj\0mx.example\0{daemon_name}\0MTA";
	assert_int_equal(mp_get32(sb.s), 1 + sizeof(mac));
	assert_memory_equal(sb.s + 5, mac, sizeof(mac));
	sb_reset(&sb);
	mp_put(&sb, 'E', NULL, 0);
	assert_int_equal(sb.len, 5);
	assert_int_equal(mp_get32(sb.s), 1);
	sb_free(&sb);
}

static void test_take(void **state)
{
	(void)state;
	struct strbuf sb;
	sb_init(&sb);
	const char *pair[] = { "X-Spam", "yes" };
	mp_put_strings(&sb, 'h', pair, 2);
	mp_put(&sb, 'c', NULL, 0);
	char cmd;
	const char *data;
	size_t dlen, used;
	/* a partial packet needs more bytes, whatever is missing */
	for (size_t cut = 0; cut < 15; cut++)
		assert_int_equal(mp_take(sb.s, cut, 65535, &cmd, &data, &dlen, &used), 0);
	assert_int_equal(mp_take(sb.s, sb.len, 65535, &cmd, &data, &dlen, &used), 1);
	assert_int_equal(cmd, 'h');
	const char *s[3];
	assert_int_equal(mp_strings(data, dlen, s, 3), 2);
	assert_string_equal(s[0], "X-Spam");
	assert_string_equal(s[1], "yes");
	assert_int_equal(mp_take(sb.s + used, sb.len - used, 65535, &cmd, &data, &dlen, &used), 1);
	assert_int_equal(cmd, 'c');
	assert_int_equal(dlen, 0);
	/* impossible lengths: 0, and more than the limit */
	static const char zero[] = "\0\0\0\0c", huge[] = "\xff\xff\xff\xff" "c";
	assert_int_equal(mp_take(zero, 5, 65535, &cmd, &data, &dlen, &used), -1);
	assert_int_equal(mp_take(huge, 5, 65535, &cmd, &data, &dlen, &used), -1);
	/* strings must end in NUL */
	assert_int_equal(mp_strings("abc", 3, s, 3), -1);
	assert_int_equal(mp_strings("", 0, s, 3), -1);
	sb_free(&sb);
}

static void test_optneg_reply(void **state)
{
	(void)state;
	char buf[64];
	uint32_t v[3] = { htonl(6), htonl(MPF_ADDHDRS | MPF_SETSYMLIST), htonl(MPP_NOHELO | MPP_NR_HDR) };
	memcpy(buf, v, 12);
	uint32_t stage = htonl(MPS_ENVFROM);
	memcpy(buf + 12, &stage, 4);
	memcpy(buf + 16, "{mail_addr} i", 14);
	struct mp_optneg o;
	char err[128];
	assert_int_equal(mp_parse_optneg(buf, 30, &o, err, sizeof(err)), 0);
	assert_int_equal(o.version, 6);
	assert_int_equal(o.actions, MPF_ADDHDRS | MPF_SETSYMLIST);
	assert_int_equal(o.protocol, MPP_NOHELO | MPP_NR_HDR);
	assert_string_equal(o.symlist[MPS_ENVFROM], "{mail_addr} i");
	assert_null(o.symlist[MPS_CONNECT]);
	mp_optneg_free(&o);
	assert_int_equal(mp_parse_optneg(buf, 11, &o, err, sizeof(err)), -1);
	assert_int_equal(mp_parse_optneg(buf, 18, &o, err, sizeof(err)), -1);	/* list not ended */
}

static void test_replycode(void **state)
{
	(void)state;
	static const char *const good[] = {
		"550 5.7.1 Command rejected", "451 4.3.2 try later", "550",
		"550-5.7.0 one\r\n550-5.7.0 two\r\n550 5.7.0 three", "550-a\r\n550 b\r\n",
	};
	static const char *const bad[] = {
		"250 ok", "55", "5x0 no", "550-5.7.0 one\r\n551 5.7.0 two", "550 one\r\n550 two",
		"550-only a continuation", "550 bell\007", "",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(mp_replycode_ok(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(mp_replycode_ok(bad[i], strlen(bad[i])));
}

static void test_definitions(void **state)
{
	(void)state;
	struct milter_def d;
	char err[256], buf[700];
	assert_int_equal(milter_def_parse("opendkim", "S=inet:8891@localhost", &d, err, sizeof(err)), 0);
	assert_string_equal(d.name, "opendkim");
	assert_int_equal(d.family, AF_INET);
	assert_int_equal(d.port, 8891);
	assert_string_equal(d.host, "localhost");
	assert_int_equal(d.flag, 0);
	/* sendmail's default timeouts */
	assert_int_equal(d.to_connect, 300);
	assert_int_equal(d.to_send, 10);
	assert_int_equal(d.to_read, 10);
	assert_int_equal(d.to_eom, 300);
	assert_int_equal(milter_def_parse(NULL, "clamav, S=local:/run/clamav/clamav-milter.ctl, F=T, T=S:4m;R:4m;E:10m",
					  &d, err, sizeof(err)), 0);
	assert_string_equal(d.name, "clamav");
	assert_int_equal(d.family, AF_UNIX);
	assert_string_equal(d.path, "/run/clamav/clamav-milter.ctl");
	assert_int_equal(d.flag, 'T');
	assert_int_equal(d.to_send, 240);
	assert_int_equal(d.to_eom, 600);
	milter_def_format(&d, buf, sizeof(buf));
	assert_string_equal(buf, "S=local:/run/clamav/clamav-milter.ctl, F=T, T=C:5m;S:4m;R:4m;E:10m");
	assert_int_equal(milter_def_parse("g", "S=inet6:3333@::1, F=R", &d, err, sizeof(err)), 0);
	assert_int_equal(d.family, AF_INET6);
	assert_string_equal(d.host, "::1");
	assert_int_equal(milter_def_parse("p", "S=inet:99", &d, err, sizeof(err)), 0);
	assert_string_equal(d.host, "127.0.0.1");
	static const char *const bad[][2] = {
		{ "S=tcp:1@h", "unknown socket type" }, { "S=inet:0@h", "port" }, { "S=unix:rel", "absolute" },
		{ "S=unix:/x, F=X", "unknown flag" }, { "S=unix:/x, T=C", "letter:duration" },
		{ "S=unix:/x, T=Z:5s", "unknown timeout" }, { "F=T", "no S=" }, { "S=unix:/x, Q=1", "unknown equate" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(milter_def_parse("f", bad[i][0], &d, err, sizeof(err)), -1);
		assert_non_null(strstr(err, bad[i][1]));
	}
	assert_int_equal(milter_def_parse("bad name", "S=unix:/x", &d, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_optneg_reply),
		cmocka_unit_test(test_replycode),
		cmocka_unit_test(test_definitions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
