/* chain: one message -> its hop chains.  The Received: fields of the
 * message itself (origin first), its X-Received: fields, and the chain of
 * a returned or attached message (message/rfc822, text/rfc822-headers, or
 * the "original message follows" text of old bounces) are kept apart. */
#include "hdrtrace.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void chain_free(struct chain *c)
{
	for (size_t i = 0; i < c->n; i++) {
		received_free(&c->hops[i].r);
		free(c->hops[i].dns.ptr);
		free(c->hops[i].dns.listed);
		free(c->hops[i].dns.error);
	}
	free(c->hops);
	memset(c, 0, sizeof(*c));
}

/* A date written without a zone borrows one: from a hop written by the
 * same host if there is one, else from the nearest dated neighbour. */
static int borrow_zone(const struct chain *c, size_t i, int *off)
{
	const struct received *me = &c->hops[i].r;
	for (size_t j = 0; j < c->n; j++) {
		const struct received *o = &c->hops[j].r;
		if (j != i && o->has_date && !(o->date.flags & DATE_NOZONE) && me->by && o->by &&
		    !strcasecmp(me->by, o->by)) {
			*off = o->date.tzoff;
			return 1;
		}
	}
	for (size_t d = 1; d < c->n; d++) {
		size_t cand[2] = { i + d, i >= d ? i - d : (size_t)-1 };
		for (int k = 0; k < 2; k++) {
			if (cand[k] >= c->n)
				continue;
			const struct received *o = &c->hops[cand[k]].r;
			if (o->has_date && !(o->date.flags & DATE_NOZONE)) {
				*off = o->date.tzoff;
				return 1;
			}
		}
	}
	return 0;
}

void chain_build(struct chain *c, const struct header_list *hl, const char *name)
{
	memset(c, 0, sizeof(*c));
	size_t n = hdrlist_count(hl, name);
	if (n == 0)
		return;
	c->hops = xcalloc(n, sizeof(*c->hops));
	c->n = n;
	/* headers are newest first; hops are origin first */
	size_t k = n;
	for (long i = hdrlist_find(hl, name, 0); i >= 0; i = hdrlist_find(hl, name, (size_t)i + 1)) {
		struct hop *h = &c->hops[--k];
		received_parse(hl->h[i].value, &h->r);
	}
	for (size_t i = 0; i < n; i++) {
		struct hop *h = &c->hops[i];
		h->n = (int)i + 1;
		if (!h->r.has_date)
			continue;
		h->has_time = 1;
		h->t = h->r.date.t;
		int off;
		if ((h->r.date.flags & DATE_NOZONE) && borrow_zone(c, i, &off)) {
			h->t -= (time_t)off * 60;
			h->zone_assumed = 1;
		}
	}
	time_t origin = 0, prev = 0;
	int have_origin = 0, have_prev = 0;
	for (size_t i = 0; i < n; i++) {
		struct hop *h = &c->hops[i];
		if (!h->has_time)
			continue;
		if (!have_origin) {
			origin = h->t;
			have_origin = 1;
		}
		if (have_prev) {
			h->has_delay = 1;
			h->delay = (long)(h->t - prev);
		}
		h->has_total = 1;
		h->total = (long)(h->t - origin);
		prev = h->t;
		have_prev = 1;
	}
}

char *domain_of_addr(const char *addr)
{
	if (!addr)
		return NULL;
	/* the address inside <...> if any, else the last word with an @ */
	const char *lt = strrchr(addr, '<');
	const char *s = lt ? lt + 1 : addr;
	const char *at = NULL;
	for (const char *p = s; *p && *p != '>'; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return NULL;
	size_t n = 0;
	while (at[1 + n] && at[1 + n] != '>' && at[1 + n] != ' ' && at[1 + n] != ',' &&
	       at[1 + n] != ')' && at[1 + n] != ';')
		n++;
	if (n == 0)
		return NULL;
	char *d = xstrndup(at + 1, n);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static char *header_value(const struct header_list *hl, const char *name)
{
	long i = hdrlist_find(hl, name, 0);
	return i < 0 ? NULL : hdr_unfold(hl->h[i].value);
}

static int line_starts_ci(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(end - p) >= n && strncasecmp(p, word, n) == 0;
}

/* Where the returned message's header block starts in body, or NULL. */
static const char *find_returned(const char *body, size_t len)
{
	static const char *const markers[] = {
		"original message follows",
		"below this line is a copy of the message",
		"this is a copy of the message, including all the headers",
		"unsent message below",
		"returned message follows",
		"original message headers",
	};
	const char *end = body + len;
	const char *p = body;
	int in_rfc822_part = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		size_t ll = (size_t)(le - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (in_rfc822_part) {
			/* skip the part's own MIME headers up to the empty line */
			if (ll == 0) {
				const char *q = next;
				while (q < end && (*q == '\n' || *q == '\r'))
					q++;
				if (q < end && hdr_name_len(q, (size_t)(end - q)) > 0)
					return q;
				in_rfc822_part = 0;
			}
			p = next;
			continue;
		}
		char l[256];
		if (ll > 10 && ll < sizeof(l)) {
			for (size_t i = 0; i < ll; i++)
				l[i] = (char)tolower((unsigned char)p[i]);
			l[ll] = '\0';
		} else {
			l[0] = '\0';
		}
		if (line_starts_ci(p, le, "Content-Type:")) {
			if (strstr(l, "message/rfc822") || strstr(l, "rfc822-headers") ||
			    strstr(l, "message/global"))
				in_rfc822_part = 1;
			p = next;
			continue;
		}
		if (l[0]) {
			int hit = 0;
			for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
				if (strstr(l, markers[i]))
					hit = 1;
			if (hit) {
				const char *q = next;
				while (q < end && (*q == '\n' || *q == '\r' || *q == ' ' || *q == '\t'))
					q++;
				if (q < end && hdr_name_len(q, (size_t)(end - q)) > 0)
					return q;
			}
		}
		p = next;
	}
	return NULL;
}

static int contains_ci(const char *s, const char *needle)
{
	return s && strcasestr(s, needle) != NULL;
}

static void detect_bounce(struct message *m)
{
	char *rp = header_value(&m->hl, "Return-Path");
	char *ct = header_value(&m->hl, "Content-Type");
	const char *why = NULL;
	if (rp && strstr(rp, "<>"))
		why = "empty Return-Path";
	else if (ct && contains_ci(ct, "multipart/report") && contains_ci(ct, "delivery-status"))
		why = "delivery status report";
	else if (m->envelope_from && (!strcasecmp(m->envelope_from, "MAILER-DAEMON") ||
				      !strcmp(m->envelope_from, "<>")))
		why = "null envelope sender";
	else if (contains_ci(m->from, "MAILER-DAEMON") || contains_ci(m->from, "Mail Delivery"))
		why = "From: mailer daemon";
	else if (contains_ci(m->subject, "Returned mail") || contains_ci(m->subject, "Undeliver") ||
		 contains_ci(m->subject, "Delivery Status Notification") ||
		 contains_ci(m->subject, "failure notice") ||
		 contains_ci(m->subject, "Mail delivery failed") ||
		 contains_ci(m->subject, "Delivery failure"))
		why = "bounce subject";
	m->is_bounce = why != NULL;
	m->bounce_why = why;
	free(rp);
	free(ct);
}

void message_load(struct message *m, const char *buf, size_t len)
{
	hdrlist_init(&m->hl);
	hdrlist_init(&m->returned_hl);
	size_t off = 0;
	if (len >= 5 && memcmp(buf, "From ", 5) == 0) {
		const char *nl = memchr(buf, '\n', len);
		off = nl ? (size_t)(nl - buf) + 1 : len;
		const char *s = buf + 5;
		size_t n = strcspn(s, " \t\r\n");
		if (s + n <= buf + off)
			m->envelope_from = xstrndup(s, n);
	}
	size_t body = off + hdr_parse_block(&m->hl, buf + off, len - off);
	m->message_id = header_value(&m->hl, "Message-Id");
	m->from = header_value(&m->hl, "From");
	m->subject = header_value(&m->hl, "Subject");
	m->date = header_value(&m->hl, "Date");
	chain_build(&m->hops, &m->hl, "Received");
	chain_build(&m->xrecv, &m->hl, "X-Received");
	detect_bounce(m);
	char *ct = header_value(&m->hl, "Content-Type");
	int multipart = contains_ci(ct, "multipart/");
	free(ct);
	if (body < len && (m->is_bounce || multipart)) {
		const char *r = find_returned(buf + body, len - body);
		if (r) {
			size_t rl = len - (size_t)(r - buf);
			hdr_parse_block(&m->returned_hl, r, rl);
			if (m->returned_hl.count > 0) {
				m->has_returned = 1;
				chain_build(&m->returned, &m->returned_hl, "Received");
			}
		}
	}
}

void message_free(struct message *m)
{
	hdrlist_free(&m->hl);
	hdrlist_free(&m->returned_hl);
	chain_free(&m->hops);
	chain_free(&m->xrecv);
	chain_free(&m->returned);
	free(m->envelope_from);
	free(m->message_id);
	free(m->from);
	free(m->subject);
	free(m->date);
	free(m->untrusted_note);
	for (size_t i = 0; i < m->nv; i++)
		free(m->v[i].text);
	free(m->v);
	memset(m, 0, sizeof(*m));
}
