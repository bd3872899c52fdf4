/* Unit tests for lib/dkim: the canonicalization examples of RFC 6376
 * section 3.4.6, the empty-body rules, and RFC 8463's signed example
 * (appendix A, as Debian's python3-dkim ships it) verified with its keys,
 * then broken one byte at a time in the body and in a signed header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "header.h"

static void test_rfc6376_canon_examples(void **state)
{
	(void)state;
	char *h = dkim_canon_header("A", " X", 1);
	assert_string_equal(h, "a:X\r\n");
	free(h);
	h = dkim_canon_header("B ", " Y\t\n\tZ  ", 1);
	assert_string_equal(h, "b:Y Z\r\n");
	free(h);
	h = dkim_canon_header("B ", " Y\t\n\tZ  ", 0);
	assert_string_equal(h, "B : Y\t\r\n\tZ  \r\n");
	free(h);
	const char body[] = " C \r\nD \t E\r\n\r\n\r\n";
	size_t n;
	char *b = dkim_canon_body(body, sizeof(body) - 1, 1, &n);
	assert_int_equal(n, strlen(" C\r\nD E\r\n"));
	assert_memory_equal(b, " C\r\nD E\r\n", n);
	free(b);
	b = dkim_canon_body(body, sizeof(body) - 1, 0, &n);
	assert_memory_equal(b, " C \r\nD \t E\r\n", n);
	assert_int_equal(n, strlen(" C \r\nD \t E\r\n"));
	free(b);
	/* LF-only storage gives the same bytes */
	b = dkim_canon_body(" C \nD \t E\n\n\n", 12, 0, &n);
	assert_memory_equal(b, " C \r\nD \t E\r\n", n);
	free(b);
}

static void test_empty_body(void **state)
{
	(void)state;
	size_t n;
	char *b = dkim_canon_body("", 0, 0, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(b, "\r\n", 2);
	free(b);
	b = dkim_canon_body("\r\n\r\n", 4, 1, &n);
	assert_int_equal(n, 0);
	free(b);
	b = dkim_canon_body("no newline", 10, 1, &n);
	assert_memory_equal(b, "no newline\r\n", n);
	free(b);
}

/* tests/data/hdrtrace/corpus/rfc8463-signed.eml, byte for byte */
static const char rfc8463[] =
	"DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; \n"
	" d=football.example.com; i=@football.example.com; \n"
	" q=dns/txt; s=brisbane; t=1518460054; h=from : to : \n"
	" subject : date : message-id : from : subject : date; \n"
	" bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \n"
	" b=9/dsDChY0YMTtD5Eyw3wx7x22BlSJP7M5ECbJ7GWrR45nXlTCGb8l0YB\n"
	" o0wBLR++X5LqmsxXaOYLLJe46l10AQ==\n"
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; \n"
	" d=football.example.com; i=@football.example.com; \n"
	" q=dns/txt; s=test; t=1527915362; h=from : to : subject : \n"
	" date : message-id : from : subject : date; \n"
	" bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \n"
	" b=icKcLSEZYXJ95flvWE8FT6hl5iqd8MC/LEKYH0QjsqYy6MO/4pgVNCZH\n"
	" l/RAXAuADxE/40Fg7uTlxwwD1hjN2Ple6J//cJfslBdDOq6zTVbne1dqtl\n"
	" NOat7iamJ1AfRqyG+ja7a2AZsrpUuJ7VA6O+0zRYPqpwMEkEFIzI9i/Xk=\n"
	"From: Joe SixPack <joe@football.example.com>\n"
	"To: Suzie Q <suzie@shopping.example.net>\n"
	"Subject: Is dinner ready?\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\n"
	"\n"
	"Hi.\n"
	"\n"
	"We lost the game.  Are you hungry yet?\n"
	"\n"
	"Joe.\n"
	"\n";

static int keys(const char *name, char *out, size_t size, void *arg)
{
	(void)arg;
	if (!strcmp(name, "brisbane._domainkey.football.example.com")) {
		snprintf(out, size, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
		return 0;
	}
	if (!strcmp(name, "test._domainkey.football.example.com")) {
		snprintf(out, size, "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
		return 0;
	}
	return 1;
}

static void verify(const char *msg, struct dkim_result res[2])
{
	struct header_list hl;
	hdrlist_init(&hl);
	size_t body = hdr_parse_block(&hl, msg, strlen(msg));
	assert_int_equal(dkim_verify_all(&hl, msg + body, strlen(msg) - body, keys, NULL, res, 2), 2);
	hdrlist_free(&hl);
}

static void test_rfc8463_example(void **state)
{
	(void)state;
	struct dkim_result r[2];
	verify(rfc8463, r);
	assert_int_equal(r[0].status, DKIM_PASS);
	assert_string_equal(r[0].a, "ed25519-sha256");
	assert_int_equal(r[1].status, DKIM_PASS);
	assert_string_equal(r[1].s, "test");
	char *m = strdup(rfc8463);
	*strstr(m, "hungry") = 'H';
	verify(m, r);
	assert_int_equal(r[0].status, DKIM_FAIL);
	assert_int_equal(r[0].body_ok, 0);
	assert_non_null(strstr(r[0].why, "body hash mismatch"));
	free(m);
	m = strdup(rfc8463);
	*strstr(m, "dinner") = 'D';
	verify(m, r);
	assert_int_equal(r[0].status, DKIM_FAIL);
	assert_int_equal(r[0].body_ok, 1);
	assert_int_equal(r[1].status, DKIM_FAIL);
	free(m);
}

static int nokey(const char *name, char *out, size_t size, void *arg)
{
	(void)name, (void)out, (void)size;
	return *(int *)arg;
}

static int eckey(const char *name, char *out, size_t size, void *arg)
{
	(void)name, (void)arg;
	snprintf(out, size, "v=DKIM1; k=rsa; p=MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2NxHeG9LF6dCp2fAQToh"
		 "+fksJh5PWF8C8V3FiIk+gWiqyK+RM1C5Gn0d6B4nLCNXZLD2AjcJuw8MxvtLR7Oa4w==");
	return 0;
}

static void test_errors(void **state)
{
	(void)state;
	struct header_list hl;
	struct dkim_result r[1];
	int tmp = -1;
	hdrlist_init(&hl);
	const char *m = "DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA\n"
			"From: a@x.example\n\nhi\n";
	size_t body = hdr_parse_block(&hl, m, strlen(m));
	dkim_verify_all(&hl, m + body, strlen(m) - body, nokey, &tmp, r, 1);
	assert_int_equal(r[0].status, DKIM_FAIL);	/* bh=AAAA is not the body's hash */
	hdrlist_free(&hl);
	hdrlist_init(&hl);
	const char *bad = "DKIM-Signature: v=1; a=rsa-sha256; a=rsa-sha1; d=x; s=s\nFrom: a\n\n";
	body = hdr_parse_block(&hl, bad, strlen(bad));
	dkim_verify_all(&hl, bad + body, strlen(bad) - body, nokey, &tmp, r, 1);
	assert_int_equal(r[0].status, DKIM_PERMERROR);	/* a duplicated tag */
	hdrlist_free(&hl);
	hdrlist_init(&hl);
	const char *nof = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=x; s=s; h=to; "
			  "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\nTo: a\n\n";
	body = hdr_parse_block(&hl, nof, strlen(nof));
	dkim_verify_all(&hl, nof + body, strlen(nof) - body, nokey, &tmp, r, 1);
	assert_int_equal(r[0].status, DKIM_PERMERROR);
	assert_non_null(strstr(r[0].why, "From"));
	hdrlist_free(&hl);
	hdrlist_init(&hl);
	const char *ok = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=x; s=s; h=from; "
			 "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\nFrom: a\n\n";
	body = hdr_parse_block(&hl, ok, strlen(ok));
	dkim_verify_all(&hl, ok + body, strlen(ok) - body, nokey, &tmp, r, 1);
	assert_int_equal(r[0].status, DKIM_TEMPERROR);	/* lookup failed: never a fail */
	tmp = 1;
	dkim_verify_all(&hl, ok + body, strlen(ok) - body, nokey, &tmp, r, 1);
	assert_int_equal(r[0].status, DKIM_NEUTRAL);
	/* a k=rsa record holding another kind of key (here EC P-256) */
	dkim_verify_all(&hl, ok + body, strlen(ok) - body, eckey, NULL, r, 1);
	assert_int_equal(r[0].status, DKIM_PERMERROR);
	assert_non_null(strstr(r[0].why, "not an RSA key"));
	hdrlist_free(&hl);
}


/* l=: a signature over the first 54 bytes of the body (python3-dkim,
 * length=True, the RFC 8463 ed25519 key).  Content appended after signing
 * still verifies (RFC 6376 8.2) but must be reported, and a bad l= is an
 * error, never "sign nothing". */
static const char lsigned[] =
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\n"
	" d=football.example.com; i=@football.example.com; l=54; q=dns/txt;\n"
	" s=brisbane; t=1796363469; h=from : to : subject;\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\n"
	" b=3U/1RsLaOtAMoXtuVP2ceBvVItjugqws9L/BtHrFwDG2RcMeE1aywSux0ijpKIHKDyI36\n"
	" kpXhqi2ZTCfd3FoDA==\n"
	"From: Joe SixPack <joe@football.example.com>\n"
	"To: Suzie Q <suzie@shopping.example.net>\n"
	"Subject: Is dinner ready?\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\n"
	"\n"
	"Hi.\n"
	"\n"
	"We lost the game.  Are you hungry yet?\n"
	"\n"
	"Joe.\n";

static void verify1(const char *msg, struct dkim_result *r)
{
	struct header_list hl;
	hdrlist_init(&hl);
	size_t body = hdr_parse_block(&hl, msg, strlen(msg));
	assert_int_equal(dkim_verify_all(&hl, msg + body, strlen(msg) - body, keys, NULL, r, 1), 1);
	hdrlist_free(&hl);
}

static void test_body_length_tag(void **state)
{
	(void)state;
	struct dkim_result r[1];
	verify1(lsigned, r);
	assert_int_equal(r[0].status, DKIM_PASS);
	assert_int_equal(r[0].body_unsigned, 0);
	/* a spammer appends to a signed message: still a pass, but said */
	size_t n = strlen(lsigned);
	const char *extra = "\nClick http://phish.example/ now\n";
	char *m = malloc(n + strlen(extra) + 1);
	memcpy(m, lsigned, n);
	strcpy(m + n, extra);
	verify1(m, r);
	assert_int_equal(r[0].status, DKIM_PASS);
	assert_true(r[0].body_unsigned > 0);
	assert_non_null(strstr(r[0].why, "not covered"));
	free(m);
	/* l= must be 1*76DIGIT: empty, signed or blank-led values are errors */
	const char *bad[] = { "l=;", "l=+54;", "l= -1;", "l=0x36;" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = malloc(sizeof(lsigned) + 8);	/* room for a longer l= */
		memcpy(m, lsigned, sizeof(lsigned));
		char *p = strstr(m, "l=54;");
		size_t bl = strlen(bad[i]);
		memmove(p + bl, p + 5, strlen(p + 5) + 1);
		memcpy(p, bad[i], bl);
		verify1(m, r);
		assert_int_equal(r[0].status, DKIM_PERMERROR);
		free(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6376_canon_examples),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_rfc8463_example),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_body_length_tag),
	};
	return cmocka_run_group_tests_name("dkim", tests, NULL, NULL);
}
