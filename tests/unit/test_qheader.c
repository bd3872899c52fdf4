/* Unit tests for lib/qheader: sendmail's conditional qf headers resolved for
 * a mailer (H?P?Return-Path for local only, H?D?/H?M? for both), macro
 * conditions, \201x and \201{name} expansion, fields that expand to nothing
 * left out, and no \201 octet ever written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "qheader.h"

static const char *macros(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "g") == 0)
		return "carol@remote.example";
	if (strcmp(name, "j") == 0)
		return "mx.example.org";
	if (strcmp(name, "daemon_name") == 0)
		return "MTA";
	if (strcmp(name, "empty") == 0)
		return "";
	return NULL;
}

/* A field as a qf record gives it: with \201 in it, in the internal form. */
static void add(struct header_list *hl, const char *cond, const char *name, const char *value)
{
	hdrlist_add_cond(hl, cond, name, value);
	hl->h[hl->count - 1].macros = strchr(value, '\201') != NULL;
}

static void fill(struct header_list *hl)
{
	hdrlist_init(hl);
	add(hl, "P", "Return-Path", " <\201g>");
	add(hl, NULL, "Received", " by \201j\n\tid 1");
	add(hl, "D", "Date", " Fri, 4 Dec 2026 05:09:00 GMT");
	add(hl, "x", "Full-Name", " \201x");
	add(hl, "\201{daemon_name}", "X-Daemon", " \201{daemon_name} on \201j \377\201\377\377");
	add(hl, "\201{empty}", "X-Never", " v");
	add(hl, NULL, "X-Unknown", " [\201{nosuch}] \201");
	add(hl, NULL, "X-Only-Macro", " \201{nosuch}");
	hdrlist_add(hl, "Subject", " hi \320\201\320\266 \201j");	/* UTF-8 with 0x81: the client's */
}

static void test_smtp_mailer(void **state)
{
	(void)state;
	struct header_list hl;
	struct strbuf out;
	fill(&hl);
	sb_init(&out);
	qhdr_put(&hl, QHDR_FLAGS_SMTP, macros, NULL, &out);
	assert_string_equal(out.s,
		"Received: by mx.example.org\n\tid 1\n"
		"Date: Fri, 4 Dec 2026 05:09:00 GMT\n"
		"X-Daemon: MTA on mx.example.org \201\377\n"
		"X-Unknown: [] \n"
		"Subject: hi \320\201\320\266 \201j\n");
	sb_free(&out);
	hdrlist_free(&hl);
}

static void test_local_mailer(void **state)
{
	(void)state;
	struct header_list hl;
	struct strbuf out;
	fill(&hl);
	sb_init(&out);
	qhdr_put(&hl, QHDR_FLAGS_LOCAL, macros, NULL, &out);
	assert_non_null(strstr(out.s, "Return-Path: <carol@remote.example>\nReceived:"));
	assert_null(strstr(out.s, "Full-Name"));	/* x is no mailer flag here, and $x unset */
	assert_true(qhdr_has_cond(&hl, "return-path"));
	assert_false(qhdr_has_cond(&hl, "Subject"));
	sb_free(&out);
	hdrlist_free(&hl);
}

static void test_wanted_and_expand(void **state)
{
	(void)state;
	struct header h = { "Date", " x", "DM", 0 };
	assert_true(qhdr_wanted(&h, "mDFMuXa8", macros, NULL));
	assert_false(qhdr_wanted(&h, "lsP", macros, NULL));
	h.cond = NULL;
	assert_true(qhdr_wanted(&h, "", macros, NULL));
	h.cond = "\201{nosuch}";
	assert_false(qhdr_wanted(&h, "mDFM", NULL, NULL));
	struct strbuf out;
	sb_init(&out);
	qhdr_expand("a\201{unterminated", macros, NULL, &out);
	assert_string_equal(out.s, "a{unterminated");
	sb_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_mailer),
		cmocka_unit_test(test_local_mailer),
		cmocka_unit_test(test_wanted_and_expand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
