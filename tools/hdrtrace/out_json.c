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

static void log_json(struct strbuf *o, const struct hop_log *hl)
{
	sb_putc(o, '[');
	for (size_t i = 0; i < hl->n; i++) {
		const struct log_link *k = &hl->l[i];
		int g = 1;
		if (i)
			sb_putc(o, ',');
		sb_putc(o, '{');
		kstr(o, "file", k->file, &g);
		klong(o, "line", 1, k->lineno, &g);
		kstr(o, "match", k->match, &g);
		kbool(o, "host_matches", k->host_ok, &g);
		kbool(o, "parsed", k->parsed, &g);
		kstr(o, "text", k->text, &g);
		sb_putc(o, '}');
	}
	sb_putc(o, ']');
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
	if (loglink_enabled()) {
		key(&s, "log", &f);
		sb_putc(&s, '[');
		for (size_t i = 0; i < m->hops.n; i++) {
			int g = 1;
			if (i)
				sb_putc(&s, ',');
			sb_putc(&s, '{');
			klong(&s, "hop", 1, m->hops.hops[i].n, &g);
			kstr(&s, "id", m->hops.hops[i].r.id, &g);
			kstr(&s, "by", m->hops.hops[i].r.by, &g);
			key(&s, "lines", &g);
			if (m->logs)
				log_json(&s, &m->logs[i]);
			else
				sb_puts(&s, "[]");
			sb_putc(&s, '}');
		}
		sb_putc(&s, ']');
	}
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
	key(&s, "trust_walk", &f);
	{
		int g = 1;
		sb_putc(&s, '{');
		const struct walk_step *d =
			m->decided_hop && m->walk ? &m->walk[m->decided_hop - 1] : NULL;
		kstr(&s, "result", d && d->role == WALK_ENTRY ? "entry" :
			 d && d->role == WALK_STOP ? "stopped" : m->hops.n ? "all-trusted" : "none", &g);
		klong(&s, "decided_hop", m->decided_hop != 0, m->decided_hop, &g);
		klong(&s, "decided_line", m->decided_line != 0, m->decided_line, &g);
		kstr(&s, "decided_field", d ? m->hops.hops[m->decided_hop - 1].r.raw : NULL, &g);
		kstr(&s, "why", d ? d->why : m->untrusted_note, &g);
		key(&s, "steps", &g);
		sb_putc(&s, '[');
		for (size_t i = 0; m->walk && i < m->hops.n; i++) {
			int k = 1;
			if (i)
				sb_putc(&s, ',');
			sb_putc(&s, '{');
			klong(&s, "hop", 1, m->hops.hops[i].n, &k);
			kstr(&s, "role", walk_role_name(m->walk[i].role), &k);
			kstr(&s, "why", m->walk[i].why, &k);
			sb_putc(&s, '}');
		}
		sb_puts(&s, "]}");
	}
	key(&s, "signatures", &f);
	sb_putc(&s, '[');
	for (size_t i = 0; i < m->nauth; i++) {
		const struct dkim_result *r = &m->auth[i];
		int g = 1;
		if (i)
			sb_putc(&s, ',');
		sb_putc(&s, '{');
		kstr(&s, "header", auth_kind_name(r->kind), &g);
		klong(&s, "line", 1, m->auth_line[i], &g);
		klong(&s, "instance", r->kind != DKIM_SIG, r->instance, &g);
		kstr(&s, "d", r->d, &g);
		kstr(&s, "s", r->s, &g);
		kstr(&s, "a", r->a, &g);
		kstr(&s, "c", r->c, &g);
		if (r->kind == ARC_SEAL)
			kstr(&s, "cv", r->cv, &g);
		if (r->body_ok >= 0)
			kbool(&s, "body_hash_ok", r->body_ok, &g);
		kstr(&s, "result", dkim_status_str(r->status), &g);
		kstr(&s, "why", r->why, &g);
		sb_putc(&s, '}');
	}
	sb_putc(&s, ']');
	key(&s, "arc", &f);
	if (m->arc_instances) {
		int g = 1;
		sb_putc(&s, '{');
		klong(&s, "instances", 1, m->arc_instances, &g);
		kstr(&s, "result", m->arc_result, &g);
		kstr(&s, "why", m->arc_why, &g);
		key(&s, "authentication_results", &g);
		sb_putc(&s, '[');
		for (int i = 1; i <= m->arc_instances; i++) {
			int line = 0, k = 1;
			const char *v = auth_arc_results(m, i, &line);
			char *u = v ? hdr_unfold(v) : NULL;
			if (i > 1)
				sb_putc(&s, ',');
			sb_putc(&s, '{');
			klong(&s, "instance", 1, i, &k);
			klong(&s, "line", line != 0, line, &k);
			kstr(&s, "text", u, &k);
			sb_putc(&s, '}');
			free(u);
		}
		sb_puts(&s, "]}");
	} else {
		sb_puts(&s, "null");
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
		klong(&s, "line", v->line != 0, v->line, &g);
		kstr(&s, "chain", v->chain, &g);
		sb_putc(&s, '}');
	}
	sb_puts(&s, "]}\n");
	fwrite(s.s, 1, s.len, stdout);
	sb_free(&s);
}
