/* Unit tests for lib/hopchain: Received: fields -> hops, origin first, with
 * UTC times, borrowed zones, delays and totals.  The chains are real: the
 * SpamAssassin sample (std.com, 2001), seed 002's testcase1, and a fetchmail
 * chain whose retrieving machine's clock is behind (seed 001). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "header.h"
#include "hopchain.h"

static void build(struct header_list *hl, struct hopchain *c, const char *text)
{
	hdrlist_init(hl);
	hdr_parse_block(hl, text, strlen(text));
	hopchain_build(c, hl, "Received");
}

static void test_order_delays_totals(void **state)
{
	(void)state;
	struct header_list hl;
	struct hopchain c;
	build(&hl, &c,
	      "Received: from europe.std.com (europe.std.com [199.172.62.20])\n"
	      "\tby mail.netnoteinc.com (Postfix) with ESMTP id 392E1114061\n"
	      "\tfor <foo@foo.com>; Fri, 20 Apr 2001 21:34:46 +0000 (Eire)\n"
	      "Received: (from daemon@localhost)\n"
	      "\tby europe.std.com (8.9.3/8.9.3) id RAA09630\n"
	      "\tfor tbtf-outgoing; Fri, 20 Apr 2001 17:31:18 -0400 (EDT)\n"
	      "Received: from sgi04-e.std.com (sgi04-e.std.com [199.172.62.134])\n"
	      "\tby europe.std.com (8.9.3/8.9.3) with ESMTP id RAA08749\n"
	      "\tfor <tbtf@facteur.std.com>; Fri, 20 Apr 2001 17:24:31 -0400 (EDT)\n"
	      "Subject: x\n\nbody\n");
	assert_int_equal(c.n, 3);
	assert_int_equal(c.hops[0].n, 1);
	assert_string_equal(c.hops[0].r.from_ip, "199.172.62.134");
	assert_string_equal(c.hops[2].r.by, "mail.netnoteinc.com");
	assert_false(c.hops[0].has_delay);
	assert_true(c.hops[1].has_delay);
	assert_int_equal(c.hops[1].delay, 6 * 60 + 47);
	assert_int_equal(c.hops[2].delay, 3 * 60 + 28);
	assert_int_equal(c.hops[2].total, 10 * 60 + 15);
	assert_int_equal(c.hops[0].t, 987801871);	/* 2001-04-20 21:24:31 UTC */
	hopchain_free(&c);
	hdrlist_free(&hl);
}

static void test_zone_borrowed_from_same_host(void **state)
{
	(void)state;
	struct header_list hl;
	struct hopchain c;
	/* seed 002 testcase1: deer.deer-run.com's date lost its zone; the other
	 * hop it wrote is not there, so the neighbour's -0800 is borrowed */
	build(&hl, &c,
	      "Received: from bullwinkle.deer-run.com (deer.deer-run.com [10.66.1.2])\n"
	      "        by deer.deer-run.com (8.11.7p1+Sun/8.11.6) with ESMTP id x\n"
	      "        for <info@loopme.deer-run.com>; Wed, 14 Dec 2005 10:18:45\n"
	      "Received: from n082.sc1.cp.net (smtpout0157.sc1.cp.net [64.97.136.157])\n"
	      "        by bullwinkle.deer-run.com (8.12.11/8.12.11) with ESMTP id y\n"
	      "        for <info@deer-run.com>; Wed, 14 Dec 2005 10:18:45 -0800 (PST)\n"
	      "\n");
	assert_int_equal(c.n, 2);
	assert_true(c.hops[1].zone_assumed);
	assert_false(c.hops[0].zone_assumed);
	assert_int_equal(c.hops[1].t, c.hops[0].t);
	assert_int_equal(c.hops[1].delay, 0);
	hopchain_free(&c);
	hdrlist_free(&hl);
}

static void test_negative_delay_kept(void **state)
{
	(void)state;
	struct header_list hl;
	struct hopchain c;
	/* seed 001: fetchmail's machine is 714 s behind the mailbox server */
	build(&hl, &c,
	      "Received: from\n"
	      "        by localhost with POP3 (fetchmail-5.1.2)\n"
	      "        for eddy@localhost (multi-drop); Thu, 01 Jun 2000 21:12:44 +0100 (BST)\n"
	      "Received: from ( [])\n"
	      "        by (8.9.3/8.8.7) with SMTP id VAA29981\n"
	      "        for <>; Thu, 1 Jun 2000 21:24:38 +0100\n"
	      "Received: garbage without clauses\n"
	      "\n");
	assert_int_equal(c.n, 3);
	assert_false(c.hops[0].r.parsed);	/* kept, not dropped */
	assert_false(c.hops[0].has_time);
	assert_true(c.hops[2].has_delay);
	assert_int_equal(c.hops[2].delay, -714);
	assert_int_equal(c.hops[2].total, -714);
	hopchain_free(&c);
	hdrlist_free(&hl);
}

static void test_empty_and_other_name(void **state)
{
	(void)state;
	struct header_list hl;
	struct hopchain c;
	build(&hl, &c, "Subject: none\n\n");
	assert_int_equal(c.n, 0);
	assert_null(c.hops);
	hopchain_free(&c);
	hdrlist_free(&hl);
	hdrlist_init(&hl);
	const char *t = "X-Received: by 2002:a05:6402:1:b0:5:6 with SMTP id a1;"
			" Mon, 1 Jan 2024 12:00:00 -0800\nReceived: by x; Mon, 1 Jan 2024 12:00:00 +0000\n\n";
	hdr_parse_block(&hl, t, strlen(t));
	hopchain_build(&c, &hl, "X-Received");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.hops[0].r.id, "a1");
	hopchain_free(&c);
	hdrlist_free(&hl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_delays_totals),
		cmocka_unit_test(test_zone_borrowed_from_same_host),
		cmocka_unit_test(test_negative_delay_kept),
		cmocka_unit_test(test_empty_and_other_name),
	};
	return cmocka_run_group_tests_name("hopchain", tests, NULL, NULL);
}
