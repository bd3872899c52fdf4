/* verdict: judging a chain.  The first untrusted hop (the IP to block) and
 * the verdicts: each has a fixed code for scripts, a severity and one
 * sentence for people.  Only hops whose sending side is not ours are
 * judged for forgery; our own hosts are believed. */
#include "hdrtrace.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SKEW_JITTER 30	/* negative delays up to this many seconds are noise */

void verdict_add(struct message *m, const char *code, const char *severity, const char *chain,
		 int hop, const char *fmt, ...)
{
	if (m->nv == m->vcap) {
		m->vcap = m->vcap ? m->vcap * 2 : 8;
		m->v = xreallocarray(m->v, m->vcap, sizeof(*m->v));
	}
	struct strbuf sb;
	sb_init(&sb);
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	struct verdict *v = &m->v[m->nv++];
	v->code = code;
	v->severity = severity;
	v->chain = chain;
	v->hop = hop;
	v->line = 0;
	if (hop > 0 && !strcmp(chain, "hops"))
		v->line = hop_header_line(&m->hl, "Received", m->hops.n, hop);
	else if (hop > 0 && !strcmp(chain, "returned_message"))
		v->line = hop_header_line(&m->returned_hl, "Received", m->returned.n, hop);
	v->text = sb_steal(&sb);
	sb_free(&sb);
}

static const char *hopname(const char *chain, int n, char *buf, size_t size)
{
	snprintf(buf, size, "%shop %d", strcmp(chain, "hops") ? "returned " : "", n);
	return buf;
}

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

static int has_from(const struct received *r)
{
	return r->from_helo || r->from_rdns || r->from_ip;
}

/* "dialup", "dsl", "pool"...: end-user address space.  Only the labels
 * left of the organisational domain are looked at. */
static const char *dynamic_word(const char *rdns, const char *ip)
{
	static const char *const prefixes[] = {
		"dyn", "dsl", "adsl", "vdsl", "xdsl", "dial", "ppp", "dhcp", "pool", "cable",
		"cpe", "broadband", "client", "customer", "cust", "modem", "catv", "mobile",
		"wireless", "resid", "home", "user",
	};
	char od[256];
	if (!org_domain(rdns, od, sizeof(od)))
		return NULL;
	size_t n = strlen(rdns) - strlen(od);
	if (n == 0)
		return NULL;
	char left[256];
	if (n >= sizeof(left))
		n = sizeof(left) - 1;
	for (size_t i = 0; i < n; i++)
		left[i] = (char)tolower((unsigned char)rdns[i]);
	left[n] = '\0';
	if (ip && received_ip_family(ip) == 4) {
		unsigned a, b, c, d;
		if (sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) == 4) {
			char pat[4][40];
			snprintf(pat[0], sizeof(pat[0]), "%u.%u.%u.%u", a, b, c, d);
			snprintf(pat[1], sizeof(pat[1]), "%u-%u-%u-%u", a, b, c, d);
			snprintf(pat[2], sizeof(pat[2]), "%u.%u.%u.%u", d, c, b, a);
			snprintf(pat[3], sizeof(pat[3]), "%u-%u-%u-%u", d, c, b, a);
			for (int i = 0; i < 4; i++)
				if (strstr(left, pat[i]))
					return "the address is spelled out in the name";
		}
	}
	for (char *save = NULL, *w = strtok_r(left, ".-_", &save); w; w = strtok_r(NULL, ".-_", &save)) {
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			if (!strncmp(w, prefixes[i], strlen(prefixes[i])))
				return prefixes[i];
	}
	return NULL;
}

static int hostname_like(const char *s)
{
	if (!s || !*s)
		return 0;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return 0;
	return 1;
}

/* Do the HELO name and the reverse name agree enough? */
static int helo_fits(const char *helo, const char *rdns)
{
	if (!strcasecmp(helo, rdns))
		return 1;
	size_t hl = strlen(helo), rl = strlen(rdns);
	/* one of them unqualified: "postal" vs "postal.metrogr.org" */
	if (!strchr(helo, '.') && rl > hl && rdns[hl] == '.' && !strncasecmp(helo, rdns, hl))
		return 1;
	if (!strchr(rdns, '.') && hl > rl && helo[rl] == '.' && !strncasecmp(helo, rdns, rl))
		return 1;
	char a[256], b[256];
	const char *oa = org_domain(helo, a, sizeof(a));
	const char *ob = org_domain(rdns, b, sizeof(b));
	return oa && ob && strchr(oa, '.') && !strcmp(oa, ob);
}

static void check_helo(struct message *m, const struct hop *h, const char *chain)
{
	const struct received *r = &h->r;
	char hn[32];
	if (!r->from_helo)
		return;
	hopname(chain, h->n, hn, sizeof(hn));
	const char *helo = r->from_helo;
	if (helo[0] == '[') {
		/* HELO [address]: it should be the address seen */
		size_t n = strlen(helo);
		if (r->from_ip && n > 2) {
			char lit[64];
			snprintf(lit, sizeof(lit), "%.*s", (int)(n - 2), helo + 1);
			const char *l = !strncasecmp(lit, "IPv6:", 5) ? lit + 5 : lit;
			if (received_ip_family(l) && strcasecmp(l, r->from_ip) != 0 &&
			    !ip_private(l))
				verdict_add(m, "helo-rdns-mismatch", "warning", chain, h->n,
					    "%s: the client greeted with the address %s but connected from %s",
					    hn, helo, r->from_ip);
		}
		return;
	}
	if (!hostname_like(helo))
		return;
	int ours = trust_host(helo);
	const char *rdns = r->from_rdns;
	if (rdns && !strcasecmp(rdns, "localhost"))
		return;
	if (rdns && !helo_fits(helo, rdns)) {
		verdict_add(m, "helo-rdns-mismatch", ours ? "alert" : "warning", chain, h->n,
			    "%s: the client said HELO %s%s but its address %s has reverse DNS %s "
			    "(as recorded by %s): the HELO name is not supported by DNS%s",
			    hn, helo, ours ? ", one of your own names," : "", or_dash(r->from_ip), rdns,
			    or_dash(r->by), ours ? " and is forged" : "");
	} else if (!rdns && ours && r->from_ip) {
		verdict_add(m, "helo-rdns-mismatch", "alert", chain, h->n,
			    "%s: the client said HELO %s, one of your own names, but %s has no "
			    "reverse DNS and is not one of your addresses: the HELO name is forged",
			    hn, helo, r->from_ip);
	}
}

static int same_host(const struct received *a, const struct received *b)
{
	return a->by && b->by && !strcasecmp(a->by, b->by);
}

/* Hop i is dated before the dated hop j below it.  One host's clock off
 * (the hops on either side of it agree with each other) is clock skew;
 * one host going back in time, or no single clock explaining it, is an
 * impossible order. */
static void check_order(struct message *m, const struct hopchain *c, size_t i, const char *chain,
			const struct options *o)
{
	const struct hop *h = &c->hops[i];
	size_t j = i;
	while (j-- > 0 && !c->hops[j].has_time)
		;
	const struct hop *lo = &c->hops[j];
	char hn[32];
	hopname(chain, h->n, hn, sizeof(hn));
	long back = -h->delay;
	const char *zone = h->zone_assumed || lo->zone_assumed ? "; a zone was assumed" : "";
	if (same_host(&h->r, &lo->r)) {
		verdict_add(m, "time-reversal", "warning", chain, h->n,
			    "%s: dated %lds before hop %d, yet both were written by %s, whose clock "
			    "cannot run backwards: impossible order (a forged or reordered line)%s",
			    hn, back, lo->n, or_dash(h->r.by), zone);
		return;
	}
	if (hop_is_retrieval(&h->r) || hop_is_retrieval(&lo->r)) {
		verdict_add(m, "clock-skew", "info", chain, h->n,
			    "%s: retrieved %lds before the mailbox server's hop %d was dated: the clock "
			    "of the retrieving machine %s is behind the server's (%s)%s", hn, back,
			    lo->n, or_dash(h->r.by), or_dash(lo->r.by), zone);
		return;
	}
	/* is hop j the odd one (its clock ahead)?  a dated hop below it agrees with h */
	int below = 0, above = 0;
	for (size_t k = j; k-- > 0;) {
		if (!c->hops[k].has_time)
			continue;
		below = 1;
		if (h->t >= c->hops[k].t - SKEW_JITTER) {
			verdict_add(m, "clock-skew", "info", chain, lo->n,
				    "%s: the clock of %s runs about %lds ahead: hop %d above and hop %d "
				    "below it agree with each other, not with it%s",
				    hopname(chain, lo->n, hn, sizeof(hn)), or_dash(lo->r.by), back, h->n,
				    c->hops[k].n, zone);
			return;
		}
		break;
	}
	/* is hop i the odd one (its clock behind)?  a dated hop above agrees with j */
	for (size_t k = i + 1; k < c->n; k++) {
		if (!c->hops[k].has_time)
			continue;
		above = 1;
		if (c->hops[k].t >= lo->t - SKEW_JITTER) {
			verdict_add(m, "clock-skew", "info", chain, h->n,
				    "%s: the clock of %s runs about %lds behind: hop %d below and hop %d "
				    "above it agree with each other, not with it%s",
				    hn, h->r.by ? h->r.by : "the host that wrote it", back, lo->n,
				    c->hops[k].n, zone);
			return;
		}
		break;
	}
	if (back <= o->tolerance)
		verdict_add(m, "clock-skew", "info", chain, h->n,
			    "%s: dated %lds before hop %d: the clocks of %s and %s disagree "
			    "(within the tolerance of %lds)%s", hn, back, lo->n, or_dash(h->r.by),
			    or_dash(lo->r.by), o->tolerance, zone);
	else if (below && above)
		verdict_add(m, "time-reversal", "warning", chain, h->n,
			    "%s: dated %lds before hop %d (tolerance %lds), and the hops above and "
			    "below each agree among themselves: two time lines, not one wrong clock: "
			    "impossible order (a forged or reordered line)%s",
			    hn, back, lo->n, o->tolerance, zone);
	else
		verdict_add(m, "clock-skew", "warning", chain, h->n,
			    "%s: dated %lds before hop %d (tolerance %lds), with no dated hop %s "
			    "to tell which is wrong: the clock of %s or %s, or a forged line%s",
			    hn, back, lo->n, o->tolerance,
			    !below && !above ? "on either side" : below ? "above" : "below them",
			    or_dash(h->r.by), or_dash(lo->r.by), zone);
}

static void check_chain(struct message *m, struct hopchain *c, const char *chain,
			const struct options *o)
{
	char hn[32];
	for (size_t i = 0; i < c->n; i++) {
		struct hop *h = &c->hops[i];
		const struct received *r = &h->r;
		hopname(chain, h->n, hn, sizeof(hn));
		if (!r->parsed) {
			verdict_add(m, "unparsed-received", "info", chain, h->n,
				    "%s: not a Received: field we can read: \"%.80s\"", hn, r->raw);
			continue;
		}
		if (!r->has_date)
			verdict_add(m, "unparsed-received", "info", chain, h->n,
				    "%s: %s date \"%.60s\"", hn,
				    r->date_raw ? "unreadable" : "no", r->date_raw ? r->date_raw : "");
		if (!has_from(r) || h->trusted_from)
			goto times;
		check_helo(m, h, chain);
		if (r->from_rdns) {
			const char *w = dynamic_word(r->from_rdns, r->from_ip);
			if (w)
				verdict_add(m, "dynamic-rdns", "warning", chain, h->n,
					    "%s: %s looks like a dial-up, DSL or address-pool name (%s): "
					    "end-user machines do not normally send mail directly",
					    hn, r->from_rdns, w);
		}
		if (h->dns.done && h->dns.listed)
			verdict_add(m, "dnsbl-listed", "alert", chain, h->n,
				    "%s: %s is listed in %s (live lookup)", hn, or_dash(r->from_ip),
				    h->dns.listed);
		if (h->dns.done && h->dns.ptr && !h->dns.fwd_ok)
			verdict_add(m, "helo-rdns-mismatch", "warning", chain, h->n,
				    "%s: live PTR of %s is %s, which does not resolve back to it",
				    hn, or_dash(r->from_ip), h->dns.ptr);
		if (r->from_ip && ip_private(r->from_ip)) {
			int reinject = ip_loopback(r->from_ip) && i > 0 && c->hops[i - 1].r.by &&
				       r->by && !strcasecmp(c->hops[i - 1].r.by, r->by);
			if (reinject)
				goto times;
			if (h->trusted_by)
				verdict_add(m, "private-ip-external", "warning", chain, h->n,
					    "%s: your host %s received it from the private address %s, "
					    "which is not trusted: an internal relay missing from --trusted?",
					    hn, or_dash(r->by), r->from_ip);
			else
				verdict_add(m, "private-ip-external", "info", chain, h->n,
					    "%s: %s, not one of your hosts, claims it came from the private "
					    "address %s: the sender's internal network, or invented",
					    hn, or_dash(r->by), r->from_ip);
		}
times:
		if (h->has_delay && h->delay < -SKEW_JITTER)
			check_order(m, c, i, chain, o);
		if (h->has_time && h->t > time(NULL) + o->tolerance)
			verdict_add(m, "clock-skew", "warning", chain, h->n,
				    "%s: dated in the future by %lds", hn,
				    (long)(h->t - time(NULL)));
	}
}

static void check_date_header(struct message *m, const struct options *o)
{
	struct mail_date d;
	if (!m->date || mail_date_parse(m->date, &d, NULL) < 0)
		return;
	for (size_t i = 0; i < m->hops.n; i++) {
		const struct hop *h = &m->hops.hops[i];
		if (!h->has_time)
			continue;
		if (d.t > h->t + o->tolerance)
			verdict_add(m, "clock-skew", "info", "hops", 0,
				    "the Date: header is %lds later than the first hop (%d): the "
				    "sender's clock is ahead", (long)(d.t - h->t), h->n);
		break;
	}
}

static void check_backscatter(struct message *m)
{
	if (!m->is_bounce || !m->has_returned || m->returned.n == 0)
		return;
	const struct hopchain *c = &m->returned;
	for (size_t i = 0; i < c->n; i++) {
		const struct hop *h = &c->hops[i];
		if (h->trusted_by || (has_from(&h->r) && h->trusted_from))
			return;
	}
	/* where it really entered: the oldest hop with an address */
	const struct hop *entry = NULL;
	for (size_t i = 0; i < c->n && !entry; i++)
		if (c->hops[i].r.from_ip)
			entry = &c->hops[i];
	const char *sender = NULL;
	for (size_t i = 0; i < c->n && !sender; i++)
		sender = c->hops[i].r.envelope_from;
	char *rfrom = NULL;
	long fi = hdrlist_find(&m->returned_hl, "From", 0);
	if (!sender && fi >= 0)
		sender = rfrom = hdr_unfold(m->returned_hl.h[fi].value);
	const char *trusted = trust_describe();
	struct strbuf where;
	sb_init(&where);
	if (entry)
		sb_printf(&where, "; it entered at %s from %s%s%s%s", or_dash(entry->r.by),
			  or_dash(entry->r.from_ip), entry->r.from_rdns ? " (" : "",
			  entry->r.from_rdns ? entry->r.from_rdns : "", entry->r.from_rdns ? ")" : "");
	verdict_add(m, "backscatter", "alert", "returned_message", 0,
		    "a bounce (%s) of a message that never passed through your hosts (%s)%s: "
		    "the sender address %s was forged and you got the backwash",
		    m->bounce_why, *trusted ? trusted : "none known", where.s,
		    sender ? sender : "(unknown)");
	sb_free(&where);
	free(rfrom);
}

static int org_eq(const char *a_host, const char *org)
{
	char buf[256];
	const char *o = org_domain(a_host, buf, sizeof(buf));
	return o && !strcmp(o, org);
}

static void check_message_id(struct message *m)
{
	char *mid = domain_of_addr(m->message_id);
	if (!mid)
		return;
	char obuf[256];
	const char *org = org_domain(mid, obuf, sizeof(obuf));
	char *fromdom = domain_of_addr(m->from);
	int match = 0;
	if (org) {
		if (fromdom && org_eq(fromdom, org))
			match = 1;
		for (size_t i = 0; i < m->hops.n && !match; i++) {
			const struct received *r = &m->hops.hops[i].r;
			if (org_eq(r->by, org) || org_eq(r->from_rdns, org) ||
			    (hostname_like(r->from_helo) && org_eq(r->from_helo, org)))
				match = 1;
		}
	}
	/* a verified DKIM signature of that domain vouches for it */
	for (size_t i = 0; i < m->nauth && !match && org; i++)
		if (m->auth[i].kind == DKIM_SIG && m->auth[i].status == DKIM_PASS &&
		    org_eq(m->auth[i].d, org))
			match = 1;
	if (!match)
		verdict_add(m, "message-id-mismatch", "warning", "hops", 0,
			    "the Message-Id domain %s matches neither the From: domain %s nor any hop",
			    mid, fromdom ? fromdom : "(none)");
	/* seed 002: a Message-Id made by one of our relays means no mail
	 * client made the message -- unless it was submitted on that relay
	 * itself (the origin hop has no network client), where the MTA adds
	 * the Message-Id the submitting program left out, as sendmail and
	 * Exim do */
	const struct received *o0 = m->hops.n ? &m->hops.hops[0].r : NULL;
	int local_origin = o0 && (!o0->from_ip || ip_loopback(o0->from_ip)) && !o0->from_rdns;
	for (size_t i = 0; i < m->hops.n && !local_origin; i++) {
		const struct hop *h = &m->hops.hops[i];
		if (h->trusted_by && h->r.by && !strcasecmp(h->r.by, mid) &&
		    !(fromdom && org && org_eq(fromdom, org))) {
			verdict_add(m, "message-id-by-relay", "warning", "hops", h->n,
				    "hop %d: the Message-Id was made by your relay %s, not by a mail "
				    "client: the message was typed straight into SMTP (forgery or spam)",
				    h->n, h->r.by);
			break;
		}
	}
	free(mid);
	free(fromdom);
}

void verdicts_run(struct message *m, const struct options *o)
{
	trust_reset();
	trust_implicit_from(&m->hops);
	trust_mark(&m->hops);
	walk_run(m);
	if (!trust_explicit())
		m->first_untrusted = 0;
	trust_mark(&m->returned);
	trust_mark(&m->xrecv);
	if (o->dns)
		dns_check_chain(&m->hops, o);
	check_chain(m, &m->hops, "hops", o);
	check_chain(m, &m->returned, "returned_message", o);
	check_backscatter(m);
	auth_check(m);
	check_message_id(m);
	loglink_message(m);
	check_date_header(m, o);
}
