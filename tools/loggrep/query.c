/* query: what a QUERY term means (queue ID, address, @domain, Message-ID,
 * IP, host name) and whether a parsed log line matches it. */
#include "loggrep.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *prefix;
	enum qkind kind;
} prefixes[] = {
	{ "id:", Q_QID }, { "addr:", Q_ADDR }, { "domain:", Q_DOMAIN },
	{ "msgid:", Q_MSGID }, { "ip:", Q_IP }, { "host:", Q_HOST },
};

const char *query_kind_name(enum qkind k)
{
	static const char *names[] = { "id", "addr", "domain", "msgid", "ip", "host" };
	return names[k];
}

static int looks_ip(const char *s)
{
	int dots = 0, colons = 0;
	size_t n = strlen(s);
	if (n == 0)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p == ':')
			colons++;
		else if (!(colons ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)))
			return 0;
	}
	return (dots == 3 && !colons) || colons >= 2;
}

static enum qkind guess(const char *s)
{
	size_t n = strlen(s);
	if (n >= 3 && s[0] == '<' && s[n - 1] == '>')
		return Q_MSGID;
	if (s[0] == '@')
		return Q_DOMAIN;
	if (strchr(s, '@'))
		return Q_ADDR;
	if (looks_ip(s))
		return Q_IP;
	if (logparse_is_qid(s, n))
		return Q_QID;
	return Q_HOST;
}

int query_is_term(const char *arg)
{
	return arg[0] && strcmp(arg, "-") != 0;
}

int query_parse(const char *arg, struct query *q)
{
	memset(q, 0, sizeof(*q));
	const char *t = arg;
	int explicit = 0;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i].prefix);
		if (strncasecmp(arg, prefixes[i].prefix, pl) == 0) {
			q->kind = prefixes[i].kind;
			t = arg + pl;
			explicit = 1;
			break;
		}
	}
	if (!explicit)
		q->kind = guess(arg);
	if (!*t)
		return -1;
	q->text = xstrdup(t);
	char *nd = q->text;
	size_t n = strlen(nd);
	q->nd.icase = 1;
	switch (q->kind) {
	case Q_QID:
	case Q_IP:
		q->nd.icase = 0;
		break;
	case Q_MSGID:
		if (n >= 2 && nd[0] == '<' && nd[n - 1] == '>') {
			nd++;
			n -= 2;
		}
		q->nd.icase = 0;
		break;
	case Q_DOMAIN:
		if (nd[0] == '@') {
			nd++;
			n--;
		}
		break;
	case Q_ADDR:
		if (n >= 2 && nd[0] == '<' && nd[n - 1] == '>') {
			nd++;
			n -= 2;
		}
		break;
	case Q_HOST:
		if (n > 1 && nd[n - 1] == '.')
			n--;
		break;
	}
	if (n == 0)
		return -1;
	if (q->nd.icase)
		for (size_t i = 0; i < n; i++)
			nd[i] = (char)tolower((unsigned char)nd[i]);
	q->nd.s = nd;
	q->nd.n = n;
	return 0;
}

struct addr_match {
	const struct query *q;
};

static int span_caseeq_n(struct logspan a, const char *s, size_t n)
{
	return a.n == n && strncasecmp(a.p, s, n) == 0;
}

static int match_addr(struct logspan a, void *arg)
{
	const struct query *q = arg;
	if (q->kind == Q_ADDR || q->kind == Q_MSGID)
		return span_caseeq_n(a, q->nd.s, q->nd.n);
	/* Q_DOMAIN: the domain or a subdomain of it */
	const char *at = memrchr(a.p, '@', a.n);
	if (!at)
		return 0;
	struct logspan d = { at + 1, a.n - (size_t)(at + 1 - a.p) };
	if (span_caseeq_n(d, q->nd.s, q->nd.n))
		return 1;
	return d.n > q->nd.n && d.p[d.n - q->nd.n - 1] == '.' &&
	       strncasecmp(d.p + d.n - q->nd.n, q->nd.s, q->nd.n) == 0;
}

static const char *const addr_keys[] = {
	"from", "to", "ctladdr", "arg1", "orig_to", "sasl_sender", NULL,
};

static int match_msgid(const struct query *q, const struct logline *ll)
{
	static const char *const keys[] = { "msgid", "message-id" };
	for (size_t i = 0; i < 2; i++) {
		const struct logspan *v = logline_get(ll, keys[i]);
		if (!v)
			continue;
		struct logspan m = *v;
		if (m.n >= 2 && m.p[0] == '<' && m.p[m.n - 1] == '>') {
			m.p++;
			m.n -= 2;
		}
		if (m.n == q->nd.n && memcmp(m.p, q->nd.s, m.n) == 0)
			return 1;
		if (q->kind == Q_ADDR && span_caseeq_n(m, q->nd.s, q->nd.n))
			return 1;
	}
	return 0;
}

static int match_relay(const struct query *q, const struct logline *ll)
{
	static const char *const keys[] = { "relay", "client" };
	for (size_t i = 0; i < 2; i++) {
		const struct logspan *v = logline_get(ll, keys[i]);
		struct logspan name, ip;
		if (!v || logparse_relay(*v, &name, &ip) < 0)
			continue;
		if (q->kind == Q_IP && ip.p && ip.n == q->nd.n &&
		    strncasecmp(ip.p, q->nd.s, ip.n) == 0)
			return 1;
		if (q->kind == Q_HOST && name.p && span_caseeq_n(name, q->nd.s, q->nd.n))
			return 1;
	}
	return 0;
}

int query_match(const struct query *q, const struct logline *ll)
{
	switch (q->kind) {
	case Q_QID:
		return ll->qid.p && ll->qid.n == q->nd.n &&
		       memcmp(ll->qid.p, q->nd.s, ll->qid.n) == 0;
	case Q_MSGID:
		if (match_msgid(q, ll))
			return 1;
		/* "<a@b>" may be an address too */
		/* fall through */
	case Q_ADDR:
	case Q_DOMAIN:
		if (q->kind == Q_ADDR && match_msgid(q, ll))
			return 1;
		for (size_t i = 0; addr_keys[i]; i++) {
			const struct logspan *v = logline_get(ll, addr_keys[i]);
			if (v && logparse_addrs(*v, match_addr, (void *)q))
				return 1;
		}
		return 0;
	case Q_IP:
	case Q_HOST:
		return match_relay(q, ll);
	}
	return 0;
}
