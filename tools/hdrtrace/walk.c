/* walk: the first-untrusted-hop walk.  From the newest Received: field
 * down, each hop gets a role and the reason for it:
 *   retrieved  written by a retrieval agent (fetchmail, getmail: "with
 *              POP3/IMAP"): the hop is skipped, the walk goes on at the
 *              mailbox server it names;
 *   local      no "from" part, or a hand-over on one host (loopback, a
 *              "by"-less line): as trusted as the host that wrote it;
 *   trusted    received by one of ours from one of ours;
 *   entry      received by one of ours from a host that is not: the
 *              first untrusted hop, the one that decided;
 *   beyond     below the entry (or below the line that stopped the walk):
 *              written by hosts we cannot vouch for.
 * A hop's "by" host is ours when it matches --trusted, or when the hop
 * above was received from a trusted client (that client wrote this line,
 * whatever it calls itself: several relays of one organisation under
 * different names), or when the hop above was a hand-over on the same
 * host.  The walk never trusts a HELO name. */
#include "hdrtrace.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static int word_prefix(const char *s, const char *const *words, size_t n)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strncasecmp(s, words[i], strlen(words[i])))
			return 1;
	return 0;
}

int hop_is_retrieval(const struct received *r)
{
	static const char *const proto[] = { "POP", "IMAP", "ODMR" };
	static const char *const agents[] = { "fetchmail", "getmail", "mpop", "offlineimap",
					      "mbsync", "isync", "fdm " };
	if (word_prefix(r->with, proto, 3) || word_prefix(r->via, proto, 3))
		return 1;
	if (r->mta == RCV_MTA_FETCHMAIL)
		return 1;
	for (size_t i = 0; i < sizeof(agents) / sizeof(agents[0]); i++)
		if ((r->software && strcasestr(r->software, agents[i])) ||
		    (r->raw && strcasestr(r->raw, agents[i]) && r->with))
			return 1;
	return 0;
}

static int has_from(const struct received *r)
{
	return r->from_helo || r->from_rdns || r->from_ip || r->from_ident;
}

/* A name that only makes sense on the host itself. */
static int local_name(const char *h)
{
	return !h || !*h || !strcasecmp(h, "localhost") || !strncasecmp(h, "localhost.", 10) ||
	       !strchr(h, '.') || ip_loopback(h);
}

/* Line number (1-based) in the header block of the field written for hop n
 * of a chain of nhops built from hl's "Received" fields. */
int hop_header_line(const struct header_list *hl, const char *name, size_t nhops, int n)
{
	size_t want = nhops - (size_t)n;	/* 0 = the newest */
	size_t seen = 0;
	int line = 1;
	for (size_t i = 0; i < hl->count; i++) {
		if (!strcasecmp(hl->h[i].name, name)) {
			if (seen == want)
				return line;
			seen++;
		}
		line++;
		for (const char *p = hl->h[i].value; *p; p++)
			if (*p == '\n')
				line++;
	}
	return 0;
}

static void step(struct message *m, size_t i, enum walk_role role, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void step(struct message *m, size_t i, enum walk_role role, const char *fmt, ...)
{
	struct strbuf sb;
	sb_init(&sb);
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	m->walk[i].role = role;
	free(m->walk[i].why);
	m->walk[i].why = sb_steal(&sb);
	sb_free(&sb);
}

const char *walk_role_name(enum walk_role r)
{
	switch (r) {
	case WALK_RETRIEVED: return "retrieved";
	case WALK_LOCAL: return "local";
	case WALK_TRUSTED: return "trusted";
	case WALK_ENTRY: return "entry";
	case WALK_STOP: return "stop";
	case WALK_BEYOND: return "beyond";
	}
	return "beyond";
}

/* Why the client side of hop h is ours, or NULL. */
static const char *client_trusted(const struct received *r, char *buf, size_t size)
{
	const char *spec;
	if (r->from_ip && (spec = trust_which(r->from_ip))) {
		snprintf(buf, size, "its client %s matches --trusted %s", r->from_ip, spec);
		return buf;
	}
	if (r->from_rdns && !r->rdns_forged && (spec = trust_which(r->from_rdns))) {
		snprintf(buf, size, "its client %s (reverse DNS as %s recorded it) matches --trusted %s",
			 r->from_rdns, or_dash(r->by), spec);
		return buf;
	}
	return NULL;
}

void walk_run(struct message *m)
{
	struct hopchain *c = &m->hops;
	m->first_untrusted = 0;
	m->decided_hop = 0;
	if (c->n == 0) {
		m->untrusted_note = xstrdup("the message has no Received: fields");
		return;
	}
	m->walk = xcalloc(c->n, sizeof(*m->walk));
	for (size_t i = 0; i < c->n; i++)
		m->walk[i].role = WALK_BEYOND;
	/* inherit: why the host that wrote the next line down is ours, or NULL */
	char inherit[512] = "";
	int inherit_same_host = 0;	/* only a same-host hand-over vouches */
	const char *same_host = NULL;
	int seen_first = 0;
	struct strbuf note;
	sb_init(&note);
	size_t i = c->n;
	while (i-- > 0) {
		struct hop *h = &c->hops[i];
		struct received *r = &h->r;
		char why[512];
		const char *spec;
		if (hop_is_retrieval(r)) {
			step(m, i, WALK_RETRIEVED,
			     "retrieved by %s from the mailbox server %s with %s: skipped", or_dash(r->by),
			     or_dash(r->from_rdns ? r->from_rdns : r->from_helo ? r->from_helo : r->from_ip),
			     or_dash(r->with ? r->with : r->via));
			h->trusted_by = h->trusted_from = 1;
			const char *srv = r->from_rdns ? r->from_rdns : r->from_helo;
			/* the mailbox server (your provider) wrote the line below */
			snprintf(inherit, sizeof(inherit), "the mailbox server %s that hop %d retrieved from",
				 srv ? srv : "(unnamed)", h->n);
			same_host = NULL;
			inherit_same_host = 0;
			if (srv && !local_name(srv)) {
				char od[256];
				const char *o = org_domain(srv, od, sizeof(od));
				if (o)
					trust_add_implicit(o);
			}
			continue;
		}
		if (!r->parsed && !r->with && !r->id) {
			step(m, i, WALK_STOP, "cannot be read: the walk stops here");
			sb_printf(&note, "hop %d could not be parsed", h->n);
			m->decided_hop = h->n;
			break;
		}
		/* who wrote this line? */
		const char *by_why = NULL;
		if (r->by && (spec = trust_which(r->by))) {
			snprintf(why, sizeof(why), "%s matches --trusted %s", r->by, spec);
			by_why = why;
		} else if (r->by_ip && (spec = trust_which(r->by_ip))) {
			snprintf(why, sizeof(why), "%s [%s] matches --trusted %s", or_dash(r->by),
				 r->by_ip, spec);
			by_why = why;
		} else if (!r->by && (!seen_first || inherit[0])) {
			snprintf(why, sizeof(why), "no \"by\" part: written on %s",
				 seen_first ? "the host above" : "the receiving machine (delivery agent or mail client)");
			by_why = why;
		} else if (inherit[0] && (!inherit_same_host || local_name(r->by) ||
					  (same_host && !strcasecmp(same_host, r->by)))) {
			snprintf(why, sizeof(why), "%s wrote it as %s by %s", inherit,
				 inherit_same_host ? "a hand-over on the same host" : "its own reception",
				 or_dash(r->by));
			by_why = why;
		}
		int first = !seen_first;
		seen_first = 1;
		if (!by_why) {
			step(m, i, WALK_STOP, "received by %s, which is not one of ours: trust ends here",
			     or_dash(r->by));
			if (first)
				sb_printf(&note, "the newest hop was received by %s, which is not trusted",
					  or_dash(r->by));
			else
				sb_printf(&note, "hop %d was received by %s, which is not trusted, "
					  "from a trusted host", h->n, or_dash(r->by));
			m->decided_hop = h->n;
			break;
		}
		h->trusted_by = 1;
		/* who sent it? */
		char cwhy[512];
		const char *cw = client_trusted(r, cwhy, sizeof(cwhy));
		if (cw) {
			h->trusted_from = 1;
			step(m, i, WALK_TRUSTED, "%s; %s", by_why, cw);
			snprintf(inherit, sizeof(inherit), "the trusted client %s of hop %d",
				 r->from_rdns ? r->from_rdns : or_dash(r->from_ip), h->n);
			inherit_same_host = 0;
			same_host = NULL;
			continue;
		}
		/* a client named without any address (not even an emptied "[]"): a
		 * program on the receiving host ("from sims-ms-daemon", its own name) */
		const char *self = r->by ? r->by : same_host;
		int named_only = r->from_helo && !r->from_ip && !r->from_rdns && !strchr(r->raw, '[') &&
				 (!strchr(r->from_helo, '.') || (self && !strcasecmp(r->from_helo, self)));
		if (!has_from(r) || (r->from_ident && !r->from_helo && !r->from_rdns && !r->from_ip) ||
		    ip_loopback(r->from_ip) || named_only ||
		    (!r->from_ip && r->from_rdns && !strcasecmp(r->from_rdns, "localhost"))) {
			h->trusted_from = 1;
			step(m, i, WALK_LOCAL, "%s; %s", by_why,
			     named_only ? "the client is named without an address, as a program on "
					  "that host (or the host itself) is"
			     : !has_from(r) || !(r->from_helo || r->from_rdns || r->from_ip)
				     ? "no client host: made on that host (local submission)"
				     : "the client is on the same host (loopback)");
			snprintf(inherit, sizeof(inherit), "%s, the host of hop %d,", or_dash(r->by), h->n);
			inherit_same_host = 1;
			same_host = r->by;
			continue;
		}
		h->trusted_from = 0;
		step(m, i, WALK_ENTRY, "%s; its client %s%s%s%s is not in --trusted: the message "
		     "entered your hosts here", by_why, or_dash(r->from_ip),
		     r->from_rdns ? " (" : "", r->from_rdns ? r->from_rdns : "",
		     r->from_rdns ? ")" : "");
		m->first_untrusted = h->n;
		m->decided_hop = h->n;
		break;
	}
	if (i == (size_t)-1) {
		sb_puts(&note, "every hop is trusted (internal mail)");
		/* the oldest hop that is not a retrieval decided */
		for (size_t k = 0; k < c->n; k++)
			if (m->walk[k].role != WALK_RETRIEVED) {
				m->decided_hop = c->hops[k].n;
				break;
			}
	}
	/* hops below the decision are written by hosts we cannot vouch for */
	for (size_t k = 0; k + 1 < (size_t)(m->decided_hop > 0 ? m->decided_hop : 1); k++) {
		if (m->walk[k].role == WALK_BEYOND) {
			c->hops[k].trusted_by = 0;
			c->hops[k].trusted_from = 0;
		}
	}
	if (note.len)
		m->untrusted_note = sb_steal(&note);
	sb_free(&note);
	if (m->decided_hop)
		m->decided_line = hop_header_line(&m->hl, "Received", c->n, m->decided_hop);
}
