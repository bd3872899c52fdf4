/* out_json: one JSON object per message, one line each (JSON Lines), with
 * the field names of issue 7 / man hdrtrace(1).  Strings go through
 * lib/json, the one JSON writer: valid UTF-8, a byte that is not UTF-8
 * written as \u00XX (the byte read as latin-1). */
#include "hdrtrace.h"
#include "json.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void jstr(struct strbuf *o, const char *s)
{
	if (!s) {
		sb_puts(o, "null");
		return;
	}
	json_quote_sb(o, s, strlen(s));	/* lib/json: always valid UTF-8 */
}

static void key(struct strbuf *o, const char *k, int *first)
{
	if (!*first)
		sb_putc(o, ',');
	*first = 0;
	jstr(o, k);
	sb_putc(o, ':');
}

static void kstr(struct strbuf *o, const char *k, const char *v, int *first)
{
	key(o, k, first);
	jstr(o, v);
}

static void kbool(struct strbuf *o, const char *k, int v, int *first)
{
	key(o, k, first);
	sb_puts(o, v ? "true" : "false");
}

static void klong(struct strbuf *o, const char *k, int has, long v, int *first)
{
	key(o, k, first);
	if (has)
		sb_printf(o, "%ld", v);
	else
		sb_puts(o, "null");
}

static void iso(time_t t, char *buf, size_t n)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void hop_json(struct strbuf *o, const struct hop *h, int trust_known)
{
	const struct received *r = &h->r;
	int f = 1;
	sb_putc(o, '{');
	klong(o, "hop", 1, h->n, &f);
	kbool(o, "parsed", r->parsed, &f);
	kstr(o, "from_helo", r->from_helo, &f);
	kstr(o, "from_rdns", r->from_rdns, &f);
	kstr(o, "from_ip", r->from_ip, &f);
	kstr(o, "from_ident", r->from_ident, &f);
	kstr(o, "by", r->by, &f);
	kstr(o, "by_ip", r->by_ip, &f);
	kstr(o, "with", r->with, &f);
	kstr(o, "id", r->id, &f);
	kstr(o, "for", r->for_addr, &f);
	kstr(o, "via", r->via, &f);
	kstr(o, "tls", r->tls, &f);
	kstr(o, "auth", r->auth, &f);
	kstr(o, "envelope_from", r->envelope_from, &f);
	kstr(o, "software", r->software, &f);
	kstr(o, "mta", *received_mta_name(r->mta) ? received_mta_name(r->mta) : NULL, &f);
	char buf[32];
	if (h->has_time)
		iso(h->t, buf, sizeof(buf));
	kstr(o, "date", h->has_time ? buf : NULL, &f);
	kstr(o, "date_raw", r->date_raw, &f);
	kbool(o, "zone_assumed", h->zone_assumed, &f);
	klong(o, "delay_s", h->has_delay, h->delay, &f);
	klong(o, "total_s", h->has_total, h->total, &f);
	if (trust_known) {
		kbool(o, "trusted_by", h->trusted_by, &f);
		kbool(o, "trusted_from", h->trusted_from, &f);
	}
	if (r->rdns_forged)
		kbool(o, "rdns_may_be_forged", 1, &f);
	if (h->dns.done) {
		key(o, "dns", &f);
		int g = 1;
		sb_putc(o, '{');
		kbool(o, "live", 1, &g);
		kstr(o, "ptr", h->dns.ptr, &g);
		kbool(o, "forward_confirmed", h->dns.fwd_ok, &g);
		kstr(o, "dnsbl", h->dns.listed, &g);
		kstr(o, "error", h->dns.error, &g);
		sb_putc(o, '}');
	}
	kstr(o, "raw", r->raw, &f);
	sb_putc(o, '}');
}

static void chain_json(struct strbuf *o, const struct hopchain *c, int trust_known)
{
	sb_putc(o, '[');
	for (size_t i = 0; i < c->n; i++) {
		if (i)
			sb_putc(o, ',');
		hop_json(o, &c->hops[i], trust_known);
	}
	sb_putc(o, ']');
}

void out_json(const struct message *m, const struct options *o)
{
	(void)o;
	struct strbuf s;
	sb_init(&s);
	int f = 1;
	sb_putc(&s, '{');
	kstr(&s, "source", m->source, &f);
	klong(&s, "message", 1, (long)m->index, &f);
	kstr(&s, "message_id", m->message_id, &f);
	kstr(&s, "from", m->from, &f);
	kstr(&s, "subject", m->subject, &f);
	kbool(&s, "bounce", m->is_bounce, &f);
	key(&s, "trusted", &f);
	jstr(&s, trust_describe());
	kbool(&s, "trusted_assumed", !trust_explicit(), &f);
	key(&s, "hops", &f);
	chain_json(&s, &m->hops, 1);
	key(&s, "x_received", &f);
	chain_json(&s, &m->xrecv, 0);
	key(&s, "returned_message", &f);
	if (m->has_returned) {
		int g = 1;
		sb_putc(&s, '{');
		long fi = hdrlist_find(&m->returned_hl, "From", 0);
		long si = hdrlist_find(&m->returned_hl, "Subject", 0);
		char *rf = fi >= 0 ? hdr_unfold(m->returned_hl.h[fi].value) : NULL;
		char *rs = si >= 0 ? hdr_unfold(m->returned_hl.h[si].value) : NULL;
		kstr(&s, "from", rf, &g);
		kstr(&s, "subject", rs, &g);
		free(rf);
		free(rs);
		key(&s, "hops", &g);
		chain_json(&s, &m->returned, 1);
		sb_putc(&s, '}');
	} else {
		sb_puts(&s, "null");
	}
	if (trust_explicit()) {
		key(&s, "first_untrusted", &f);
		if (m->first_untrusted) {
			const struct hop *h = &m->hops.hops[m->first_untrusted - 1];
			int g = 1;
			sb_putc(&s, '{');
			klong(&s, "hop", 1, h->n, &g);
			kstr(&s, "ip", h->r.from_ip, &g);
			kstr(&s, "rdns", h->r.from_rdns, &g);
			kstr(&s, "helo", h->r.from_helo, &g);
			kstr(&s, "by", h->r.by, &g);
			kstr(&s, "id", h->r.id, &g);
			sb_putc(&s, '}');
		} else {
			sb_puts(&s, "null");
		}
		kstr(&s, "first_untrusted_note", m->untrusted_note, &f);
	}
	key(&s, "verdicts", &f);
	sb_putc(&s, '[');
	for (size_t i = 0; i < m->nv; i++) {
		const struct verdict *v = &m->v[i];
		int g = 1;
		if (i)
			sb_putc(&s, ',');
		sb_putc(&s, '{');
		kstr(&s, "code", v->code, &g);
		kstr(&s, "severity", v->severity, &g);
		kstr(&s, "text", v->text, &g);
		klong(&s, "hop", v->hop != 0, v->hop, &g);
		kstr(&s, "chain", v->chain, &g);
		sb_putc(&s, '}');
	}
	sb_puts(&s, "]}\n");
	fwrite(s.s, 1, s.len, stdout);
	sb_free(&s);
}
