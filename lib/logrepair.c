/* logrepair: reads mail-log lines as people post them (web pages, mails,
 * terminals, journalctl) by repairing them into a copy that logparse()
 * understands.  Declared in logparse.h; see logparse_lenient().
 *
 * The steps, each tried only when the ones before did not give a line:
 *   1. a journalctl -o json record is rewritten "STAMP HOST TAG[PID]: MSG";
 *   2. the record is parsed as it is;
 *   3. a copy is cleaned: wrapped lines joined, HTML tags and entities
 *      removed; then parsed from the first time stamp in it (dropping
 *      "> ", grep's "file:" and similar junk before it);
 *   4. the prefix is rebuilt around the "tag[pid]: " anchor: whatever time
 *      can be read before it (seconds or the day may be missing), the host
 *      just before it;
 *   5. a message that starts with "QID: " is taken without any prefix. */
#include "logparse.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void logrepair_free(struct logrepair *rb)
{
	free(rb->buf);
	rb->buf = NULL;
	rb->cap = 0;
}

static char *reserve(struct logrepair *rb, size_t n)
{
	if (rb->cap < n) {
		rb->cap = n < 256 ? 256 : n;
		free(rb->buf);
		rb->buf = xmalloc(rb->cap);
	}
	return rb->buf;
}

static int isdig(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- 1. journalctl -o json ------------------------------------------- */

/* Decodes the JSON string at *pp (after its opening quote) into out, up to
 * cap bytes; leaves *pp after the closing quote.  Returns the length, or
 * (size_t)-1 when the string is not terminated. */
static size_t json_string(const char **pp, const char *end, char *out, size_t cap)
{
	const char *p = *pp;
	size_t n = 0;
	while (p < end && *p != '"') {
		unsigned c = (unsigned char)*p++;
		if (c == '\\' && p < end) {
			char e = *p++;
			switch (e) {
			case 'n': c = ' '; break;	/* a line stays one line */
			case 't': c = ' '; break;
			case 'r': c = ' '; break;
			case 'b': case 'f': c = ' '; break;
			case 'u': {
				unsigned v = 0;
				int k;
				for (k = 0; k < 4 && p < end && isxdigit((unsigned char)*p); k++, p++)
					v = v * 16 + (unsigned)(isdig(*p) ? *p - '0' :
							   (tolower((unsigned char)*p) - 'a' + 10));
				if (v >= 0xd800 && v < 0xdc00 && end - p >= 6 && p[0] == '\\' &&
				    p[1] == 'u') {
					unsigned lo = (unsigned)strtoul((char[]){ p[2], p[3], p[4], p[5], 0 },
									NULL, 16);
					if (lo >= 0xdc00 && lo < 0xe000) {
						v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
						p += 6;
					}
				}
				char u[4];
				size_t un;
				if (v < 0x80) {
					u[0] = (char)(v < 0x20 ? ' ' : v);
					un = 1;
				} else if (v < 0x800) {
					u[0] = (char)(0xc0 | (v >> 6));
					u[1] = (char)(0x80 | (v & 0x3f));
					un = 2;
				} else if (v < 0x10000) {
					u[0] = (char)(0xe0 | (v >> 12));
					u[1] = (char)(0x80 | ((v >> 6) & 0x3f));
					u[2] = (char)(0x80 | (v & 0x3f));
					un = 3;
				} else {
					u[0] = (char)(0xf0 | (v >> 18));
					u[1] = (char)(0x80 | ((v >> 12) & 0x3f));
					u[2] = (char)(0x80 | ((v >> 6) & 0x3f));
					u[3] = (char)(0x80 | (v & 0x3f));
					un = 4;
				}
				for (size_t i = 0; i < un && n < cap; i++)
					out[n++] = u[i];
				continue;
			}
			default: c = (unsigned char)e; break;
			}
		}
		if (n < cap)
			out[n++] = (char)c;
	}
	if (p >= end)
		return (size_t)-1;
	*pp = p + 1;
	return n;
}

/* A byte array value ("MESSAGE":[107,48,...], journald's form for text
 * that is not UTF-8).  Returns the length or (size_t)-1. */
static size_t json_bytes(const char **pp, const char *end, char *out, size_t cap)
{
	const char *p = *pp;
	size_t n = 0;
	while (p < end && *p != ']') {
		if (isdig(*p)) {
			unsigned v = 0;
			while (p < end && isdig(*p))
				v = v * 10 + (unsigned)(*p++ - '0');
			if (n < cap)
				out[n++] = (char)(v == '\n' || v == '\r' ? ' ' : v);
		} else {
			p++;
		}
	}
	if (p >= end)
		return (size_t)-1;
	*pp = p + 1;
	return n;
}

enum { J_MSG, J_HOST, J_IDENT, J_COMM, J_PID, J_SPID, J_TIME, J_N };

/* Rewrites a journal record as a syslog line in rb.  Returns its length or
 * 0 when rec is not a journal record with a MESSAGE. */
static size_t journal_line(const char *rec, size_t len, struct logrepair *rb)
{
	static const char *const names[J_N] = {
		"MESSAGE", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_COMM", "_PID", "SYSLOG_PID",
		"__REALTIME_TIMESTAMP",
	};
	const char *p = rec, *end = rec + len;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p >= end || *p != '{' || !memmem(p, (size_t)(end - p), "\"MESSAGE\"", 9))
		return 0;
	/* values are decoded into a scratch area after the output line */
	char *buf = reserve(rb, 2 * len + 128);
	char *scratch = buf + len + 96;
	size_t used = 0, cap = len + 32;
	const char *val[J_N] = { 0 };
	size_t vn[J_N] = { 0 };
	p++;
	while (p < end) {
		while (p < end && (isspace((unsigned char)*p) || *p == ','))
			p++;
		if (p >= end || *p == '}')
			break;
		if (*p != '"')
			return 0;
		p++;
		char key[32];
		size_t kn = json_string(&p, end, key, sizeof(key));
		if (kn == (size_t)-1)
			return 0;
		while (p < end && (isspace((unsigned char)*p) || *p == ':'))
			p++;
		if (p >= end)
			return 0;
		int which = -1;
		for (int k = 0; k < J_N; k++)
			if (kn == strlen(names[k]) && memcmp(key, names[k], kn) == 0)
				which = k;
		char *dst = scratch + used;
		size_t room = cap > used ? cap - used : 0, got;
		if (*p == '"') {
			p++;
			got = json_string(&p, end, dst, room);
		} else if (*p == '[') {
			p++;
			got = json_bytes(&p, end, dst, room);
		} else {	/* number, null, true, false */
			const char *s = p;
			while (p < end && *p != ',' && *p != '}')
				p++;
			got = (size_t)(p - s);
			if (got > room)
				got = room;
			memcpy(dst, s, got);
			while (got && isspace((unsigned char)dst[got - 1]))
				got--;
		}
		if (got == (size_t)-1)
			return 0;
		if (which >= 0) {
			val[which] = dst;
			vn[which] = got;
			used += got;
		}
	}
	if (!val[J_MSG])
		return 0;
	/* STAMP: microseconds since the epoch, written in UTC */
	char stamp[64] = "-";
	if (val[J_TIME] && vn[J_TIME] > 6 && vn[J_TIME] < 24) {
		char num[24];
		memcpy(num, val[J_TIME], vn[J_TIME]);
		num[vn[J_TIME]] = '\0';
		long long us = strtoll(num, NULL, 10);
		time_t t = (time_t)(us / 1000000);
		struct tm tm;
		if (gmtime_r(&t, &tm))
			snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min, tm.tm_sec, us % 1000000);
	}
	if (stamp[0] == '-')
		return 0;
	int id = val[J_IDENT] ? J_IDENT : val[J_COMM] ? J_COMM : -1;
	int pid = val[J_SPID] ? J_SPID : val[J_PID] ? J_PID : -1;
	size_t n = (size_t)snprintf(buf, len + 96, "%s %.*s %.*s", stamp,
				    val[J_HOST] ? (int)vn[J_HOST] : 1,
				    val[J_HOST] ? val[J_HOST] : "-",
				    id >= 0 ? (int)vn[id] : 7, id >= 0 ? val[id] : "journal");
	if (pid >= 0 && vn[pid] < 12)
		n += (size_t)snprintf(buf + n, 16, "[%.*s]", (int)vn[pid], val[pid]);
	buf[n++] = ':';
	buf[n++] = ' ';
	memmove(buf + n, val[J_MSG], vn[J_MSG]);
	n += vn[J_MSG];
	buf[n] = '\0';
	return n;
}

/* ---- 3. cleaning ------------------------------------------------------ */

static const char *const html_tags[] = {
	"a", "abbr", "b", "big", "blockquote", "body", "br", "code", "dd", "del", "div",
	"dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr",
	"html", "i", "ins", "kbd", "li", "mark", "nobr", "ol", "p", "pre", "s", "samp",
	"small", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "tr",
	"tt", "u", "ul", "var", "wbr", NULL,
};

/* Length of an HTML tag at p ("<br>", "</span>", "<font color=red>"), or 0
 * for anything else (an address "<a@b>" stays). */
static size_t html_tag(const char *p, const char *end)
{
	const char *q = p + 1;
	if (q < end && *q == '/')
		q++;
	const char *n = q;
	while (q < end && isalnum((unsigned char)*q))
		q++;
	size_t nl = (size_t)(q - n);
	if (!nl || q >= end || (*q != '>' && *q != ' ' && *q != '/'))
		return 0;
	int known = 0;
	for (int i = 0; html_tags[i] && !known; i++)
		known = strlen(html_tags[i]) == nl && strncasecmp(n, html_tags[i], nl) == 0;
	if (!known)
		return 0;
	/* a tag is short: look for its '>' in the next 400 bytes only (a
	 * line full of "<b " without one must not be scanned to its end
	 * once per '<') */
	size_t room = (size_t)(end - q) < 400 ? (size_t)(end - q) : 400;
	const char *gt = memchr(q, '>', room);
	if (!gt || memchr(q, '\n', (size_t)(gt - q)) || gt - p > 400)
		return 0;
	return (size_t)(gt + 1 - p);
}

/* "&lt;" etc.: the decoded byte in *c and the entity's length, or 0. */
static size_t html_entity(const char *p, const char *end, char *c)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' }, { "&quot;", '"' },
		{ "&apos;", '\'' }, { "&nbsp;", ' ' }, { "&#39;", '\'' }, { "&#34;", '"' },
		{ "&#60;", '<' }, { "&#62;", '>' }, { "&#x27;", '\'' }, { "&#32;", ' ' },
		{ "&#160;", ' ' },
	};
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		size_t n = strlen(ents[i].name);
		if ((size_t)(end - p) >= n && strncasecmp(p, ents[i].name, n) == 0) {
			*c = ents[i].c;
			return n;
		}
	}
	return 0;
}

/* Copies rec into out, joining physical lines and removing markup.
 * Returns the length; *how gets LOGREP_JOINED / LOGREP_MARKUP. */
static size_t clean(const char *rec, size_t len, char *out, unsigned *how)
{
	const char *p = rec, *end = rec + len;
	size_t n = 0;
	while (p < end) {
		char c = *p;
		if (c == '\r') {
			p++;
			continue;
		}
		if (c == '\n') {
			/* a wrapped line: the break is no character, but leading
			 * blanks of the next piece become one space */
			*how |= LOGREP_JOINED;
			p++;
			int ws = 0;
			while (p < end && (*p == ' ' || *p == '\t')) {
				p++;
				ws = 1;
			}
			if (ws && n && out[n - 1] != ' ')
				out[n++] = ' ';
			/* "QID:" or "size=85," then "to=...": the blank the
			 * mailer or web page took away comes back */
			else if (!ws && n && out[n - 1] && strchr(",:;", out[n - 1]) && p < end &&
				 (isalpha((unsigned char)*p) || *p == '<' || *p == '['))
				out[n++] = ' ';
			continue;
		}
		if (c == '<') {
			size_t t = html_tag(p, end);
			if (t) {
				*how |= LOGREP_MARKUP;
				/* a line break in markup separates words */
				if (n && out[n - 1] != ' ' && (strncasecmp(p, "<br", 3) == 0 ||
							       strncasecmp(p, "<p", 2) == 0 ||
							       strncasecmp(p, "</p", 3) == 0))
					out[n++] = ' ';
				p += t;
				continue;
			}
		}
		if (c == '&') {
			char d;
			size_t t = html_entity(p, end, &d);
			if (t) {
				*how |= LOGREP_MARKUP;
				out[n++] = d;
				p += t;
				continue;
			}
		}
		if ((unsigned char)c == 0xc2 && p + 1 < end && (unsigned char)p[1] == 0xa0) {
			out[n++] = ' ';	/* UTF-8 no-break space from a web page */
			p += 2;
			*how |= LOGREP_MARKUP;
			continue;
		}
		out[n++] = c;
		p++;
	}
	while (n && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
	return n;
}

/* ---- 4. the tag[pid]: anchor and a loose time stamp ------------------- */

static int istagch(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '/' || c == '.';
}

static const char *const bare_tags[] = {
	"sm-mta", "sendmail", "sm-msp-queue", "mtad", NULL,
};

/* Finds "tag[pid]: " (or a known tag without pid, or "postfix/x: ") in the
 * first part of s, before any "=": sets *tag, *tn, *pid and returns the
 * message start; NULL when there is none. */
static const char *find_anchor(const char *s, size_t n, const char **tag, size_t *tn,
			       long *pid)
{
	size_t lim = n < 200 ? n : 200;
	for (size_t i = 0; i < lim; i++) {
		size_t t;
		if (s[i] == '<' && (t = html_tag(s + i, s + n)) != 0) {
			i += t - 1;
			continue;
		}
		if (s[i] == '=')
			return NULL;
		if (s[i] != ':' || (i + 1 < n && s[i + 1] != ' '))
			continue;
		size_t e = i, b;
		long pv = -1;
		if (e > 0 && s[e - 1] == ']') {
			size_t d = e - 1;
			while (d > 0 && isdig(s[d - 1]))
				d--;
			if (d == e - 1 || d == 0 || s[d - 1] != '[')
				continue;
			pv = 0;
			for (size_t k = d; k < e - 1 && pv < 100000000; k++)
				pv = pv * 10 + (s[k] - '0');
			e = d - 1;
		}
		b = e;
		while (b > 0 && istagch(s[b - 1]))
			b--;
		if (b == e || !isalpha((unsigned char)s[b]))
			continue;
		if (b > 0 && s[b - 1] != ' ' && s[b - 1] != '>')
			continue;
		if (pv < 0) {
			int ok = e - b > 8 && strncmp(s + b, "postfix/", 8) == 0;
			for (int k = 0; bare_tags[k] && !ok; k++)
				ok = strlen(bare_tags[k]) == e - b &&
				     memcmp(s + b, bare_tags[k], e - b) == 0;
			if (!ok)
				continue;
		}
		*tag = s + b;
		*tn = e - b;
		*pid = pv;
		return s + i + (i + 1 < n ? 2 : 1);
	}
	return NULL;
}

static int month_ci(const char *p, const char *end)
{
	static const char m[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	if (end - p < 3)
		return 0;
	for (int i = 0; i < 12; i++)
		if (tolower((unsigned char)p[0]) == m[3 * i] &&
		    tolower((unsigned char)p[1]) == m[3 * i + 1] &&
		    tolower((unsigned char)p[2]) == m[3 * i + 2])
			return i + 1;
	return 0;
}

/* Reads "hh:mm[:ss]" at p; returns its length or 0. */
static size_t loose_clock(const char *p, const char *end, int *h, int *m, int *s)
{
	const char *q = p;
	int v[3] = { 0, 0, 0 }, k = 0;
	while (k < 3 && q < end && isdig(*q)) {
		int x = *q++ - '0';
		if (q < end && isdig(*q))
			x = x * 10 + (*q++ - '0');
		v[k++] = x;
		if (k < 3 && q + 1 < end && *q == ':' && isdig(q[1]))
			q++;
		else
			break;
	}
	if (k < 2 || v[0] > 23 || v[1] > 59 || v[2] > 60)
		return 0;
	*h = v[0];
	*m = v[1];
	*s = v[2];
	return (size_t)(q - p);
}

/* Whatever time can be read in s[0..n): "Jan 5 23:09", "2006-01-05 23:09",
 * "Jan  5 23:09:32" with junk around.  Sets the stamp members of ll. */
static void loose_stamp(struct logline *ll, const char *s, size_t n)
{
	const char *end = s + n;
	for (const char *p = s; p < end; p++) {
		int mon, h, mi, sec;
		if (isalpha((unsigned char)*p) && (p == s || !isalpha((unsigned char)p[-1])) &&
		    (mon = month_ci(p, end)) != 0) {
			const char *q = p + 3;
			while (q < end && isalpha((unsigned char)*q))
				q++;
			while (q < end && (*q == ' ' || *q == '.'))
				q++;
			int day = 0;
			while (q < end && isdig(*q) && day < 100)
				day = day * 10 + (*q++ - '0');
			if (day < 1 || day > 31)
				continue;
			while (q < end && (*q == ' ' || *q == ','))
				q++;
			size_t k = loose_clock(q, end, &h, &mi, &sec);
			if (!k)
				continue;
			ll->mon = mon;
			ll->mday = day;
			ll->hour = h;
			ll->min = mi;
			ll->sec = sec;
			return;
		}
		if (isdig(*p) && end - p >= 10 && p[4] == '-' && p[7] == '-' && isdig(p[1]) &&
		    isdig(p[2]) && isdig(p[3]) && isdig(p[5]) && isdig(p[6]) && isdig(p[8]) &&
		    isdig(p[9])) {
			const char *q = p + 10;
			if (q < end && (*q == 'T' || *q == ' '))
				q++;
			int mon2 = (p[5] - '0') * 10 + (p[6] - '0');
			int day = (p[8] - '0') * 10 + (p[9] - '0');
			size_t k = loose_clock(q, end, &h, &mi, &sec);
			if (!k || mon2 < 1 || mon2 > 12 || day < 1 || day > 31)
				continue;
			ll->year = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 +
				   (p[3] - '0');
			ll->mon = mon2;
			ll->mday = day;
			ll->hour = h;
			ll->min = mi;
			ll->sec = sec;
			return;
		}
	}
}

static int prefix_from_anchor(struct logline *ll, const char *s, size_t n)
{
	const char *tag, *msg;
	size_t tn;
	long pid;
	msg = find_anchor(s, n, &tag, &tn, &pid);
	if (!msg)
		return -1;
	memset(ll, 0, sizeof(*ll));
	ll->pid = pid;
	ll->line = s;
	ll->len = n;
	ll->tag.p = tag;
	ll->tag.n = tn;
	/* the host: the word before the tag, unless it is part of the time */
	const char *he = tag;
	while (he > s && he[-1] == ' ')
		he--;
	const char *hb = he;
	while (hb > s && hb[-1] != ' ' && hb[-1] != '>')
		hb--;
	int host_ok = he > hb;
	int letters = 0;
	for (const char *q = hb; q < he && host_ok; q++) {
		if (isalpha((unsigned char)*q))
			letters = 1;
		else if (!isdig(*q) && *q != '.' && *q != '-' && *q != '_')
			host_ok = 0;
	}
	/* "192.0.2.1" is a host, "23" or "2006" are not */
	if (host_ok && !letters && !memchr(hb, '.', (size_t)(he - hb)))
		host_ok = 0;
	if (host_ok && month_ci(hb, he) && he - hb == 3)
		host_ok = 0;
	if (host_ok) {
		ll->host.p = hb;
		ll->host.n = (size_t)(he - hb);
	} else {
		hb = tag;
	}
	loose_stamp(ll, s, (size_t)(hb - s));
	logparse_message(ll, msg, (size_t)(s + n - msg));
	return 0;
}

/* ---- the entry points ------------------------------------------------- */

/* Does the line hold HTML markup ("<br>", "</span>", "&lt;")? */
static int has_markup(const char *s, size_t n)
{
	const char *end = s + n;
	for (const char *p = s; p < end; p++) {
		char c;
		if (*p == '&' && html_entity(p, end, &c))
			return 1;
		if (*p == '<' && html_tag(p, end))
			return 1;
	}
	return 0;
}

/* Skips what may come before a line's time stamp on a page: blanks, quote
 * marks, markup. */
static const char *skip_lead(const char *p, const char *end)
{
	for (;;) {
		char c;
		size_t t;
		if (p < end && (*p == ' ' || *p == '\t' || *p == '>' || *p == '|'))
			p++;
		else if (p < end && *p == '<' && (t = html_tag(p, end)) != 0)
			p += t;
		else if (p < end && *p == '&' && (t = html_entity(p, end, &c)) != 0)
			p += t;
		else
			return p;
	}
}

/* Where a time stamp starts in s (searching the first 200 bytes), or -1. */
static long stamp_start(const char *s, size_t n)
{
	size_t lim = n < 200 ? n : 200;
	for (size_t i = 0; i < lim; i++) {
		char c = s[i];
		if (i && (isalnum((unsigned char)s[i - 1])))
			continue;
		if ((isupper((unsigned char)c) && n - i >= 3 && logparse_month(s + i)) ||
		    (isdig(c) && i + 4 < n && s[i + 4] == '-') || c == '<') {
			struct logline tmp;
			if (logparse(&tmp, s + i, n - i) == 0)
				return (long)i;
		}
	}
	return -1;
}

int logparse_lenient(struct logline *ll, const char *rec, size_t len, struct logrepair *rb,
		     unsigned *how)
{
	*how = 0;
	while (len && (rec[len - 1] == '\n' || rec[len - 1] == '\r'))
		len--;
	if (len && (rec[0] == '{' || rec[0] == ' ' || rec[0] == '\t')) {
		size_t n = journal_line(rec, len, rb);
		if (n && logparse(ll, rb->buf, n) == 0) {
			*how = LOGREP_JOURNAL;
			return 0;
		}
	}
	if (!memchr(rec, '\n', len) && !has_markup(rec, len) && logparse(ll, rec, len) == 0)
		return 0;
	char *buf = reserve(rb, len + 1);
	unsigned h = 0;
	size_t n = clean(rec, len, buf, &h);
	long st = stamp_start(buf, n);
	if (st >= 0) {
		logparse(ll, buf + st, n - (size_t)st);
		*how = h | (st > 0 ? LOGREP_JUNK : 0);
		return 0;
	}
	if (prefix_from_anchor(ll, buf, n) == 0) {
		*how = h | LOGREP_PREFIX;
		return 0;
	}
	/* a bare message: "QID: to=..." after whatever junk and time */
	const char *eq = memchr(buf, '=', n);
	size_t lim = eq ? (size_t)(eq - buf) : n;
	for (size_t i = 0; i < lim && i < 200; i++) {
		if (!isalnum((unsigned char)buf[i]) || (i && isalnum((unsigned char)buf[i - 1])))
			continue;
		size_t e = i;
		while (e < n && isalnum((unsigned char)buf[e]))
			e++;
		if (e + 1 < n && buf[e] == ':' && buf[e + 1] == ' ' &&
		    logparse_is_qid(buf + i, e - i)) {
			memset(ll, 0, sizeof(*ll));
			ll->pid = -1;
			ll->line = buf;
			ll->len = n;
			loose_stamp(ll, buf, i);
			logparse_message(ll, buf + i, n - i);
			*how = h | LOGREP_PREFIX;
			return 0;
		}
		i = e;
	}
	memset(ll, 0, sizeof(*ll));
	ll->pid = -1;
	ll->line = rec;
	ll->len = len;
	return -1;
}

int logparse_is_start(const char *line, size_t len)
{
	if (!len)
		return 0;
	const char *end = line + len;
	char c = line[0];
	if (c == '{')
		return 1;
	if (c == '<' && len > 2 && isdig(line[1])) {	/* "<PRI>", not "<2006...@host>" */
		size_t i = 1;
		while (i < len && i < 5 && isdig(line[i]))
			i++;
		if (i < len && line[i] == '>')
			return 1;
	}
	if (len > 4 && line[3] == ' ' && logparse_month(line))
		return 1;
	if (len > 10 && isdig(c) && line[4] == '-' && isdig(line[1]))
		return 1;
	const char *p = skip_lead(line, end);
	if (p > line && p < end && end - p > 4 &&
	    ((p[3] == ' ' && logparse_month(p)) || (isdig(p[0]) && end - p > 10 && p[4] == '-')))
		return 1;
	const char *tag;
	size_t tn;
	long pid;
	if (find_anchor(p, (size_t)(end - p), &tag, &tn, &pid))
		return 1;
	/* a message whose prefix was cut away: "QID: " before any "=" */
	for (const char *q = p; q < end && q - p < 200 && *q != '='; q++) {
		if (!isalnum((unsigned char)*q) || (q > p && isalnum((unsigned char)q[-1])))
			continue;
		const char *e = q;
		while (e < end && isalnum((unsigned char)*e))
			e++;
		if (e + 1 < end && e[0] == ':' && e[1] == ' ' && logparse_is_qid(q, (size_t)(e - q)))
			return 1;
		q = e - 1;
	}
	return 0;
}
