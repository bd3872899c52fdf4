/* logparse: splits syslog mail-log lines (sendmail 8.9-8.18, mtad, Postfix)
 * into prefix, queue ID, event and key=value fields, without copying. */
#include "logparse.h"
#include "xalloc.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

int logparse_month(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (memcmp(s, months[i], 3) == 0)
			return i + 1;
	return 0;
}

static struct logspan span(const char *p, size_t n)
{
	struct logspan sp = { p, n };
	return sp;
}

static int isdig(char c)
{
	return c >= '0' && c <= '9';
}

static int two(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

int logspan_eq(struct logspan sp, const char *s)
{
	size_t n = strlen(s);
	return sp.p && sp.n == n && memcmp(sp.p, s, n) == 0;
}

int logspan_caseeq(struct logspan sp, const char *s)
{
	size_t n = strlen(s);
	return sp.p && sp.n == n && strncasecmp(sp.p, s, n) == 0;
}

char *logspan_dup(struct logspan sp)
{
	return sp.p ? xstrndup(sp.p, sp.n) : xstrdup("");
}

int logparse_is_qid(const char *s, size_t n)
{
	int digit = 0;
	if (n < 6 || n > 24)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (isdig(s[i]))
			digit = 1;
		else if (!isalpha((unsigned char)s[i]))
			return 0;
	}
	return digit;
}

static size_t skip_frac(const char *p, size_t i, size_t n)
{
	if (i < n && (p[i] == '.' || p[i] == ',')) {
		i++;
		while (i < n && isdig(p[i]))
			i++;
	}
	return i;
}

/* Traditional "Mon dd hh:mm:ss " (also "Mon d hh:mm:ss", as web pages
 * collapse spaces, and "Mon dd hh:mm:ss.frac", journalctl -o short-precise):
 * the length with the space after it, else 0. */
static size_t parse_bsd_stamp(struct logline *ll, const char *p, size_t n)
{
	if (n < 15 || p[3] != ' ')
		return 0;
	int mon = logparse_month(p);
	if (!mon)
		return 0;
	size_t i = 4;
	if (p[i] == ' ')
		i++;
	if (!isdig(p[i]))
		return 0;
	int mday = p[i++] - '0';
	if (i < n && isdig(p[i]))
		mday = mday * 10 + (p[i++] - '0');
	if (i + 9 > n || p[i] != ' ')
		return 0;
	i++;
	const char *t = p + i;
	if (!isdig(t[0]) || !isdig(t[1]) || t[2] != ':' || !isdig(t[3]) || !isdig(t[4]) ||
	    t[5] != ':' || !isdig(t[6]) || !isdig(t[7]) || mday < 1 || mday > 31)
		return 0;
	ll->mon = mon;
	ll->mday = mday;
	ll->hour = two(t);
	ll->min = two(t + 3);
	ll->sec = two(t + 6);
	i = skip_frac(p, i + 8, n);
	if (i >= n || p[i] != ' ')
		return 0;
	return i + 1;
}

/* RFC 3339 / ISO 8601: 2024-01-04T22:29:53[.frac][Z|+hh:mm|+hhmm| ZONE] */
static size_t parse_iso_stamp(struct logline *ll, const char *p, size_t n)
{
	if (n < 20 || !isdig(p[0]) || !isdig(p[1]) || !isdig(p[2]) || !isdig(p[3]) ||
	    p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' ') ||
	    p[13] != ':' || p[16] != ':')
		return 0;
	static const int digs[] = { 5, 6, 8, 9, 11, 12, 14, 15, 17, 18 };
	for (size_t i = 0; i < sizeof(digs) / sizeof(digs[0]); i++)
		if (!isdig(p[digs[i]]))
			return 0;
	ll->year = two(p) * 100 + two(p + 2);
	ll->mon = two(p + 5);
	ll->mday = two(p + 8);
	ll->hour = two(p + 11);
	ll->min = two(p + 14);
	ll->sec = two(p + 17);
	if (ll->mon < 1 || ll->mon > 12) {
		ll->year = 0;
		return 0;
	}
	size_t i = skip_frac(p, 19, n);
	if (i < n && p[i] == 'Z') {
		ll->has_tz = 1;
		ll->tzoff = 0;
		i++;
	} else if (i + 3 <= n && (p[i] == '+' || p[i] == '-') && isdig(p[i + 1]) &&
		   isdig(p[i + 2])) {
		int sign = p[i] == '-' ? -1 : 1;
		long h = two(p + i + 1), m = 0;
		i += 3;
		if (i < n && p[i] == ':')
			i++;
		if (i + 2 <= n && isdig(p[i]) && isdig(p[i + 1])) {
			m = two(p + i);
			i += 2;
		}
		ll->has_tz = 1;
		ll->tzoff = sign * (h * 3600 + m * 60);
	} else if (i + 4 < n && p[i] == ' ' && (strncmp(p + i, " UTC ", 5) == 0 ||
						strncmp(p + i, " GMT ", 5) == 0)) {
		/* journalctl -o short-full: "... 22:29:53 UTC host" */
		ll->has_tz = 1;
		ll->tzoff = 0;
		i += 4;
	}
	if (i >= n || p[i] != ' ') {
		ll->year = 0;
		ll->has_tz = 0;
		return 0;
	}
	return i + 1;
}

/* journalctl -o short-unix: "1704407393.123456 host tag[pid]: ..." */
static size_t parse_unix_stamp(struct logline *ll, const char *p, size_t n)
{
	size_t i = 0;
	long long v = 0;
	while (i < n && isdig(p[i]) && i < 12)
		v = v * 10 + (p[i++] - '0');
	if (i < 9 || i >= n || p[i] != '.')
		return 0;
	i = skip_frac(p, i, n);
	if (i >= n || p[i] != ' ')
		return 0;
	time_t t = (time_t)v;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return 0;
	ll->year = tm.tm_year + 1900;
	ll->mon = tm.tm_mon + 1;
	ll->mday = tm.tm_mday;
	ll->hour = tm.tm_hour;
	ll->min = tm.tm_min;
	ll->sec = tm.tm_sec;
	ll->has_tz = 1;
	ll->tzoff = 0;
	return i + 1;
}

/* The syslog stamp at p and the space after it: its length, else 0. */
static size_t parse_stamp(struct logline *ll, const char *p, size_t n)
{
	size_t k;
	if ((k = parse_bsd_stamp(ll, p, n)) != 0)
		return k;
	if ((k = parse_iso_stamp(ll, p, n)) != 0)
		return k;
	/* journalctl -o short-full: "Thu 2024-01-04 22:29:53 CET host" */
	if (n > 4 && p[3] == ' ' && isupper((unsigned char)p[0]) && islower((unsigned char)p[1]) &&
	    (k = parse_iso_stamp(ll, p + 4, n - 4)) != 0) {
		size_t i = 4 + k;
		/* a zone name after the time: "CET " */
		if (!ll->has_tz) {
			size_t z = i;
			while (z < n && isupper((unsigned char)p[z]))
				z++;
			if (z > i && z - i <= 5 && z < n && p[z] == ' ')
				i = z + 1;
		}
		return i;
	}
	return parse_unix_stamp(ll, p, n);
}

static int iskeych(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* Length of "key" when p starts with "key=", else 0. */
static size_t key_at(const char *p, const char *end)
{
	const char *q = p;
	while (q < end && iskeych(*q))
		q++;
	if (q == p || q >= end || *q != '=')
		return 0;
	return (size_t)(q - p);
}

static int rest_of_line_key(const char *k, size_t n)
{
	return (n == 4 && memcmp(k, "stat", 4) == 0) ||
	       (n == 6 && memcmp(k, "status", 6) == 0) ||
	       (n == 6 && memcmp(k, "reject", 6) == 0);
}

/* End of a value starting at p: the next separator (", " or ' ') followed by
 * "key=" outside brackets and quotes.  With nest == 0 the brackets are
 * ignored (the fallback for unbalanced values). */
static const char *value_end(const char *p, const char *end, int comma, int nest)
{
	int depth = 0, quote = 0;
	for (const char *q = p; q < end; q++) {
		char c = *q;
		if (quote) {
			if (c == '"')
				quote = 0;
			continue;
		}
		if (nest) {
			if (c == '"') {
				quote = 1;
				continue;
			}
			if (c == '<' || c == '(' || c == '[')
				depth++;
			else if ((c == '>' || c == ')' || c == ']') && depth > 0)
				depth--;
		}
		if (depth)
			continue;
		if (comma && c == ',' && q + 1 < end && q[1] == ' ' &&
		    key_at(q + 2, end))
			return q;
		if (!comma && c == ' ' && key_at(q + 1, end))
			return q;
	}
	if (nest && (depth || quote))
		return NULL;
	return end;
}

static void add_field(struct logline *ll, const char *k, size_t kn, const char *v,
		      size_t vn)
{
	if (ll->nfields >= LOGPARSE_MAXFIELDS)
		return;
	ll->f[ll->nfields].key = span(k, kn);
	ll->f[ll->nfields].val = span(v, vn);
	ll->nfields++;
}

/* Splits "key=value, key=value" (comma) or "key=value key=value". */
static void parse_fields(struct logline *ll, const char *p, const char *end, int comma)
{
	while (p < end) {
		size_t kn = key_at(p, end);
		if (!kn)
			return;
		const char *v = p + kn + 1, *ve;
		if (comma && rest_of_line_key(p, kn)) {
			ve = end;
		} else {
			ve = value_end(v, end, comma, 1);
			if (!ve)
				ve = value_end(v, end, comma, 0);
		}
		add_field(ll, p, kn, v, (size_t)(ve - v));
		if (ve >= end)
			return;
		p = ve + (comma ? 2 : 1);
	}
}

static int starts(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

static const char *find(const char *p, const char *end, const char *s)
{
	return memmem(p, (size_t)(end - p), s, strlen(s));
}

static void classify(struct logline *ll)
{
	const char *p = ll->text.p, *end = p + ll->text.n;
	const char *q;

	if (ll->qid.p) {
		/* sendmail: "PARENT: CHILD: DSN: reason" */
		const char *t = p;
		while (t < end && isalnum((unsigned char)*t))
			t++;
		if (t + 1 < end && t[0] == ':' && t[1] == ' ' &&
		    logparse_is_qid(p, (size_t)(t - p))) {
			ll->child = span(p, (size_t)(t - p));
			ll->event = LOGEV_DSN;
			return;
		}
	}
	if (starts(p, end, "from=")) {
		ll->event = LOGEV_FROM;
		parse_fields(ll, p, end, 1);
	} else if (starts(p, end, "to=")) {
		ll->event = LOGEV_TO;
		parse_fields(ll, p, end, 1);
	} else if (starts(p, end, "ruleset=")) {
		ll->event = LOGEV_RULESET;
		parse_fields(ll, p, end, 1);
	} else if (starts(p, end, "DSN: ")) {
		ll->event = LOGEV_DSN;
	} else if (starts(p, end, "lost input channel")) {
		ll->event = LOGEV_LOST_INPUT;
		q = find(p, end, " from ");
		if (q) {
			const char *r = find(q + 6, end, " to ");
			add_field(ll, "relay", 5, q + 6, (size_t)((r ? r : end) - (q + 6)));
		}
	} else if ((q = find(p, end, " did not issue MAIL/EXPN/VRFY/ETRN")) != NULL) {
		ll->event = LOGEV_NO_MAIL;
		add_field(ll, "relay", 5, p, (size_t)(q - p));
	} else if (starts(p, end, "client=")) {
		ll->event = LOGEV_CLIENT;
		parse_fields(ll, p, end, 1);
	} else if (starts(p, end, "message-id=")) {
		ll->event = LOGEV_MSGID;
		parse_fields(ll, p, end, 1);
	} else if (p + 7 == end && starts(p, end, "removed")) {
		ll->event = LOGEV_REMOVED;
	} else if (starts(p, end, "uid=")) {
		ll->event = LOGEV_PICKUP;
		parse_fields(ll, p, end, 0);
	} else if (starts(p, end, "reject: ") || starts(p, end, "milter-reject: ")) {
		ll->event = LOGEV_REJECT;
		q = find(p, end, " from ");
		if (q) {
			const char *r = find(q + 6, end, ": ");
			if (r)
				add_field(ll, "client", 6, q + 6, (size_t)(r - (q + 6)));
		}
		q = find(p, end, "; from=");
		if (q)
			parse_fields(ll, q + 2, end, 0);
	} else if ((q = find(p, end, "notification: ")) != NULL &&
		   logparse_is_qid(q + 14, (size_t)(end - (q + 14)))) {
		/* Postfix bounce: "sender non-delivery notification: CHILD" */
		ll->event = LOGEV_DSN;
		ll->child = span(q + 14, (size_t)(end - (q + 14)));
	} else if (ll->qid.p || ll->noqueue) {
		ll->event = LOGEV_OTHER;
		if (starts(p, end, "Milter: "))
			p += 8;
		if (key_at(p, end))
			parse_fields(ll, p, end, 1);
	} else if (key_at(p, end)) {
		/* "STARTTLS=server, relay=..." and other ID-less field lines */
		parse_fields(ll, p, end, 1);
	}
}

/* The message after "tag[pid]: ": NOQUEUE or queue ID, then the event. */
static void parse_message(struct logline *ll, const char *p, const char *end)
{
	ll->msg = span(p, (size_t)(end - p));
	ll->text = ll->msg;
	if (starts(p, end, "NOQUEUE: ")) {
		ll->noqueue = 1;
		ll->text = span(p + 9, (size_t)(end - p - 9));
	} else {
		const char *q = p;
		while (q < end && isalnum((unsigned char)*q))
			q++;
		if (q < end && *q == ':' && (q + 1 == end || q[1] == ' ') &&
		    logparse_is_qid(p, (size_t)(q - p))) {
			ll->qid = span(p, (size_t)(q - p));
			q += q + 1 < end ? 2 : 1;
			ll->text = span(q, (size_t)(end - q));
		}
	}
	classify(ll);
}

int logparse_message(struct logline *ll, const char *msg, size_t n)
{
	const char *end = msg + n;
	while (end > msg && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	ll->noqueue = 0;
	ll->qid = span(NULL, 0);
	ll->child = span(NULL, 0);
	ll->event = LOGEV_NONE;
	ll->nfields = 0;
	parse_message(ll, msg, end);
	return ll->qid.p || ll->noqueue ? 0 : -1;
}

/* RFC 5424 after "<PRI>1 ": TIMESTAMP HOST APP PROCID MSGID SD [BOM]MSG */
static int parse_5424(struct logline *ll, const char *p, const char *end)
{
	const char *w[5];
	size_t wn[5];
	for (int k = 0; k < 5; k++) {
		const char *s = p;
		while (p < end && *p != ' ')
			p++;
		if (p >= end || p == s)
			return -1;
		w[k] = s;
		wn[k] = (size_t)(p - s);
		p++;
	}
	if (!(wn[0] == 1 && w[0][0] == '-') &&
	    parse_stamp(ll, w[0], (size_t)(end - w[0])) != wn[0] + 1)
		return -1;
	if (!(wn[1] == 1 && w[1][0] == '-'))
		ll->host = span(w[1], wn[1]);
	if (wn[2] == 1 && w[2][0] == '-')
		return -1;
	ll->tag = span(w[2], wn[2]);
	if (isdig(w[3][0])) {
		long pid = 0;
		for (size_t i = 0; i < wn[3] && isdig(w[3][i]); i++)
			if (pid < 100000000)
				pid = pid * 10 + (w[3][i] - '0');
		ll->pid = pid;
	}
	/* structured data: "-" or one or more [id k="v" ...] */
	if (p < end && *p == '-') {
		p++;
	} else {
		while (p < end && *p == '[') {
			int quote = 0;
			for (p++; p < end; p++) {
				if (quote && *p == '\\' && p + 1 < end)
					p++;
				else if (*p == '"')
					quote = !quote;
				else if (!quote && *p == ']')
					break;
			}
			if (p >= end)
				return -1;
			p++;
		}
	}
	if (p < end && *p == ' ')
		p++;
	if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	parse_message(ll, p, end);
	return 0;
}

int logparse(struct logline *ll, const char *line, size_t len)
{
	memset(ll, 0, sizeof(*ll));
	ll->pid = -1;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	ll->line = line;
	ll->len = len;

	const char *p = line, *end = line + len;
	/* "<PRI>": syslog on the wire, RFC 5424 ("<22>1 ...") and RFC 3164 */
	if (p < end && *p == '<') {
		const char *q = p + 1;
		while (q < end && isdig(*q) && q - p <= 3)
			q++;
		if (q > p + 1 && q < end && *q == '>') {
			p = q + 1;
			if (end - p >= 2 && p[0] == '1' && p[1] == ' ') {
				if (parse_5424(ll, p + 2, end) < 0)
					goto bad;
				return 0;
			}
		}
	}
	size_t n = parse_stamp(ll, p, (size_t)(end - p));
	if (!n)
		goto bad;
	p += n;
	const char *h = p;
	while (p < end && *p != ' ')
		p++;
	if (p == h || p >= end)
		goto bad;
	ll->host = span(h, (size_t)(p - h));
	p++;
	const char *t = p;
	while (p < end && *p != '[' && *p != ':' && *p != ' ')
		p++;
	if (p == t || p >= end || *p == ' ')
		goto bad;
	ll->tag = span(t, (size_t)(p - t));
	if (*p == '[') {
		long pid = 0;
		p++;
		if (p >= end || !isdig(*p))
			goto bad;
		while (p < end && isdig(*p)) {
			if (pid < 100000000)
				pid = pid * 10 + (*p - '0');
			p++;
		}
		if (p >= end || *p != ']')
			goto bad;
		p++;
		ll->pid = pid;
	}
	if (p >= end || *p != ':')
		goto bad;
	p++;
	if (p < end && *p == ' ')
		p++;
	parse_message(ll, p, end);
	return 0;
bad:
	memset(ll, 0, sizeof(*ll));
	ll->pid = -1;
	ll->line = line;
	ll->len = len;
	return -1;
}

const struct logspan *logline_get(const struct logline *ll, const char *key)
{
	size_t n = strlen(key);
	for (int i = 0; i < ll->nfields; i++)
		if (ll->f[i].key.n == n && memcmp(ll->f[i].key.p, key, n) == 0)
			return &ll->f[i].val;
	return NULL;
}

static struct logspan trim(struct logspan sp)
{
	while (sp.n && isspace((unsigned char)sp.p[0])) {
		sp.p++;
		sp.n--;
	}
	while (sp.n && isspace((unsigned char)sp.p[sp.n - 1]))
		sp.n--;
	return sp;
}

static struct logspan strip_ipv6(struct logspan ip)
{
	if (ip.n > 5 && strncasecmp(ip.p, "IPv6:", 5) == 0) {
		ip.p += 5;
		ip.n -= 5;
	}
	return ip;
}

int logparse_relay(struct logspan val, struct logspan *name, struct logspan *ip)
{
	*name = span(NULL, 0);
	*ip = span(NULL, 0);
	val = trim(val);
	if (!val.p || !val.n)
		return -1;
	const char *end = val.p + val.n;
	const char *lb = memchr(val.p, '[', val.n);
	if (!lb) {
		*name = val;
		if (name->n > 1 && name->p[name->n - 1] == '.')
			name->n--;
		return 0;
	}
	const char *rb = memchr(lb, ']', (size_t)(end - lb));
	if (!rb)
		rb = end;
	if (lb == val.p) {
		/* "[1.2.3.4] [1.2.3.4]": a literal without a name */
		*name = strip_ipv6(span(lb + 1, (size_t)(rb - lb - 1)));
		const char *lb2 = rb < end ? memchr(rb, '[', (size_t)(end - rb)) : NULL;
		if (lb2) {
			const char *rb2 = memchr(lb2, ']', (size_t)(end - lb2));
			*ip = strip_ipv6(span(lb2 + 1, (size_t)((rb2 ? rb2 : end) - lb2 - 1)));
		} else {
			*ip = *name;
		}
		return 0;
	}
	*name = trim(span(val.p, (size_t)(lb - val.p)));
	if (name->n > 1 && name->p[name->n - 1] == '.')
		name->n--;
	*ip = strip_ipv6(span(lb + 1, (size_t)(rb - lb - 1)));
	return 0;
}

int logparse_addrs(struct logspan val, int (*fn)(struct logspan addr, void *arg),
		   void *arg)
{
	if (!val.p)
		return 0;
	const char *p = val.p, *end = val.p + val.n;
	while (p <= end) {
		const char *q = p;
		int depth = 0, quote = 0;
		for (; q < end; q++) {
			if (quote) {
				if (*q == '"')
					quote = 0;
			} else if (*q == '"') {
				quote = 1;
			} else if (*q == '<' || *q == '(') {
				depth++;
			} else if ((*q == '>' || *q == ')') && depth) {
				depth--;
			} else if (*q == ',' && !depth) {
				break;
			}
		}
		struct logspan a = trim(span(p, (size_t)(q - p)));
		/* "root (0/0)": drop the (uid/gid) comment */
		if (a.n && a.p[a.n - 1] == ')') {
			const char *op = NULL;
			for (size_t i = a.n; i-- > 0;)
				if (a.p[i] == '(') {
					op = a.p + i;
					break;
				}
			if (op && op > a.p && op[-1] == ' ')
				a = trim(span(a.p, (size_t)(op - a.p)));
		}
		if (a.n >= 2 && a.p[0] == '<' && a.p[a.n - 1] == '>')
			a = span(a.p + 1, a.n - 2);
		int r = fn(a, arg);
		if (r)
			return r;
		if (q >= end)
			break;
		p = q + 1;
	}
	return 0;
}

static int isidch(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

int logparse_sent_id(struct logspan stat, struct logspan *id)
{
	*id = span(NULL, 0);
	if (!stat.p || stat.n < 6 || strncasecmp(stat.p, "sent", 4) != 0)
		return -1;
	const char *end = stat.p + stat.n;
	const char *op = memchr(stat.p, '(', stat.n);
	if (!op)
		return -1;
	const char *in = op + 1, *ie = end;
	if (ie > in && ie[-1] == ')')
		ie--;
	const char *q;
	size_t n = (size_t)(ie - in);
	/* "queued as ID" (Postfix), "id=ID" (Exim) */
	for (size_t i = 0; i + 10 <= n; i++) {
		if (strncasecmp(in + i, "queued as ", 10) == 0) {
			q = in + i + 10;
			const char *e = q;
			while (e < ie && isidch(*e))
				e++;
			while (e > q && e[-1] == '.')
				e--;
			if (e > q) {
				*id = span(q, (size_t)(e - q));
				return 0;
			}
		}
	}
	for (size_t i = 0; i + 3 <= n; i++) {
		if ((i == 0 || in[i - 1] == ' ') && strncasecmp(in + i, "id=", 3) == 0) {
			q = in + i + 3;
			const char *e = q;
			while (e < ie && isidch(*e))
				e++;
			if (e > q) {
				*id = span(q, (size_t)(e - q));
				return 0;
			}
		}
	}
	/* sendmail: "[250 [2.0.0 ]]ID Message accepted for delivery" */
	q = in;
	for (;;) {
		const char *e = q;
		while (e < ie && *e != ' ')
			e++;
		int code = (e - q == 3 && isdig(q[0]) && isdig(q[1]) && isdig(q[2])) ||
			   (e - q >= 5 && isdig(q[0]) && q[1] == '.' &&
			    memchr(q + 2, '.', (size_t)(e - q - 2)));
		if (!code) {
			if (logparse_is_qid(q, (size_t)(e - q)) && ie - e >= 17 &&
			    strncasecmp(e, " message accepted", 17) == 0) {
				*id = span(q, (size_t)(e - q));
				return 0;
			}
			return -1;
		}
		if (e >= ie)
			return -1;
		q = e + 1;
	}
}

struct logspan logparse_stat_word(struct logspan stat)
{
	if (!stat.p)
		return stat;
	size_t i = 0;
	while (i < stat.n && stat.p[i] != ':' &&
	       !(stat.p[i] == ' ' && i + 1 < stat.n && stat.p[i + 1] == '('))
		i++;
	return trim(span(stat.p, i));
}

time_t logtime_infer(int mon, int mday, int hour, int min, int sec, time_t ref,
		     int force_year)
{
	struct tm tm, rt;
	memset(&tm, 0, sizeof(tm));
	localtime_r(&ref, &rt);
	tm.tm_year = (force_year ? force_year : rt.tm_year + 1900) - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	struct tm copy = tm;
	time_t t = mktime(&tm);
	if (!force_year && t != (time_t)-1 && t > ref + 86400) {
		copy.tm_year--;
		t = mktime(&copy);
	}
	return t;
}

time_t logline_time(const struct logline *ll, time_t ref, int force_year)
{
	if (!ll->mon)
		return (time_t)-1;
	if (ll->year) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = ll->year - 1900;
		tm.tm_mon = ll->mon - 1;
		tm.tm_mday = ll->mday;
		tm.tm_hour = ll->hour;
		tm.tm_min = ll->min;
		tm.tm_sec = ll->sec;
		if (ll->has_tz)
			return timegm(&tm) - ll->tzoff;
		tm.tm_isdst = -1;
		return mktime(&tm);
	}
	return logtime_infer(ll->mon, ll->mday, ll->hour, ll->min, ll->sec, ref,
			     force_year);
}

static int has_word(struct logspan s, const char *w)
{
	size_t n = strlen(w);
	for (size_t i = 0; i + n <= s.n; i++)
		if (strncasecmp(s.p + i, w, n) == 0)
			return 1;
	return 0;
}

/* A remote 4xx reply in the text: "451 4.7.1 ...", "said: 450 ..." */
static int has_4xx_reply(struct logspan s)
{
	for (size_t i = 0; i + 4 <= s.n; i++)
		if (s.p[i] == '4' && isdig(s.p[i + 1]) && isdig(s.p[i + 2]) &&
		    (s.p[i + 3] == ' ' || s.p[i + 3] == '-') &&
		    (i == 0 || s.p[i - 1] == ' ' || s.p[i - 1] == '('))
			return 1;
	return 0;
}

const char *logparse_defer_class(struct logspan stat, struct logspan dsn)
{
	static const char *const tls[] = { "TLS", "SSL", "certificate", "handshake", NULL };
	static const char *const dns[] = { "name server", "lookup fail", "host unknown",
		"name service error", "domain name not found", "dns", "no mx",
		"nxdomain", "servfail", NULL };
	static const char *const tmo[] = { "timed out", "timeout", "time out", NULL };
	static const char *const conn[] = { "connection refused", "no route to host",
		"network is unreachable", "connection reset", "host is down",
		"lost connection", "connection closed", NULL };
	int deferred = (stat.p && ((stat.n >= 8 && strncasecmp(stat.p, "deferred", 8) == 0) ||
				    has_word(stat, "queued for retry"))) ||
		       (dsn.p && dsn.n && dsn.p[0] == '4');
	if (!deferred || !stat.p)
		return NULL;
	for (int i = 0; tls[i]; i++)
		if (has_word(stat, tls[i]))
			return "TLS";
	if (has_4xx_reply(stat))
		return "4xx policy";
	if (dsn.p && logspan_eq(dsn, "4.4.3"))
		return "DNS";
	for (int i = 0; dns[i]; i++)
		if (has_word(stat, dns[i]))
			return "DNS";
	for (int i = 0; tmo[i]; i++)
		if (has_word(stat, tmo[i]))
			return "timeout";
	for (int i = 0; conn[i]; i++)
		if (has_word(stat, conn[i]))
			return "connection refused";
	if (dsn.p && dsn.n >= 3 && memcmp(dsn.p, "4.7", 3) == 0)
		return "4xx policy";
	return "other";
}
