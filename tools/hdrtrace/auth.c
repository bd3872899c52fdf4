/* auth: DKIM-Signature and ARC headers, verified offline with lib/dkim.
 * Keys come from --dkim-key files (zone-file lines as opendkim-genkey
 * writes them, "name TXT-text" lines, or a bare "v=DKIM1; k=...; p=..."
 * record that serves any selector), and with --dns from DNS TXT through
 * lib/dns.  Without either a signature is read but left "neutral". */
#include "hdrtrace.h"
#include "diag.h"
#include "dns.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct keyrec {
	char *name;	/* NULL: any selector */
	char *txt;
};

static struct keyrec *keys;
static size_t nkeys;
static int use_dns;

static void add_key(const char *name, const char *txt)
{
	keys = xreallocarray(keys, nkeys + 1, sizeof(*keys));
	char *n = NULL;
	if (name) {
		size_t l = strlen(name);
		while (l > 0 && name[l - 1] == '.')
			l--;
		n = xstrndup(name, l);
	}
	keys[nkeys].name = n;
	keys[nkeys].txt = xstrdup(txt);
	nkeys++;
}

/* One logical record (parentheses joined, comments gone). */
static void record(const char *rec)
{
	const char *p = rec;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return;
	struct strbuf val;
	sb_init(&val);
	int quoted = 0;
	for (const char *q = p; *q; q++) {
		if (*q != '"')
			continue;
		quoted = 1;
		for (q++; *q && *q != '"'; q++) {
			if (*q == '\\' && q[1])
				q++;
			sb_putc(&val, *q);
		}
		if (!*q)
			break;
	}
	char *name = NULL;
	size_t tl = strcspn(p, " \t");
	int first_is_tag = memchr(p, '=', tl) != NULL || *p == '"';
	if (!first_is_tag)
		name = xstrndup(p, tl);
	if (!quoted) {
		const char *v = first_is_tag ? p : p + tl;
		/* skip "IN" and "TXT" */
		for (int k = 0; k < 3; k++) {
			while (isspace((unsigned char)*v))
				v++;
			size_t wl = strcspn(v, " \t");
			if ((wl == 2 && !strncasecmp(v, "IN", 2)) || (wl == 3 && !strncasecmp(v, "TXT", 3)))
				v += wl;
			else if (wl > 0 && wl < 7 && strspn(v, "0123456789") == wl)
				v += wl;	/* a TTL */
		}
		while (isspace((unsigned char)*v))
			v++;
		sb_puts(&val, v);
	}
	if (val.len)
		add_key(name, val.s);
	free(name);
	sb_free(&val);
}

int auth_add_key_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	struct strbuf rec;
	sb_init(&rec);
	int depth = 0;
	char *line = NULL;
	size_t cap = 0;
	size_t before = nkeys;
	while (getline(&line, &cap, f) > 0) {
		int inq = 0;
		for (char *c = line; *c; c++) {
			if (*c == '"')
				inq = !inq;
			else if (!inq && *c == ';' && (c == line || isspace((unsigned char)c[-1]) ||
						      c[-1] == ')')) {
				/* a zone-file comment (a record's own ';' follows text) */
				*c = '\0';
				break;
			} else if (!inq && *c == '(') {
				depth++;
				*c = ' ';
			} else if (!inq && *c == ')') {
				depth--;
				*c = ' ';
			} else if (*c == '\n' || *c == '\r') {
				*c = ' ';
			}
		}
		sb_puts(&rec, line);
		if (depth <= 0) {
			record(rec.s);
			sb_reset(&rec);
			depth = 0;
		}
	}
	if (rec.len)
		record(rec.s);
	free(line);
	sb_free(&rec);
	int err = ferror(f);
	fclose(f);
	if (err)
		return -1;
	if (nkeys == before) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void auth_use_dns(int on)
{
	use_dns = on;
}

static int key_lookup(const char *name, char *out, size_t size, void *arg)
{
	(void)arg;
	const struct keyrec *any = NULL, *rel = NULL;
	for (size_t i = 0; i < nkeys; i++) {
		const char *kn = keys[i].name;
		if (!kn) {
			if (!any)
				any = &keys[i];
			continue;
		}
		size_t l = strlen(kn);
		if (!strcasecmp(kn, name)) {
			snprintf(out, size, "%s", keys[i].txt);
			return 0;
		}
		/* "sel._domainkey" written relative to its zone */
		if (!rel && !strncasecmp(kn, name, l) && name[l] == '.' &&
		    l >= 11 && !strcasecmp(kn + l - 11, "._domainkey"))
			rel = &keys[i];
	}
	if (rel || any) {
		snprintf(out, size, "%s", (rel ? rel : any)->txt);
		return 0;
	}
	if (!use_dns)
		return 1;
	enum dns_status st = dns_txt(name, out, size);
	if (st == DNS_OK)
		return 0;
	return st == DNS_NXDOMAIN || st == DNS_NODATA ? 1 : -1;
}

static const char *kind_name(enum dkim_kind k)
{
	return k == DKIM_SIG ? "DKIM-Signature" : k == ARC_MS ? "ARC-Message-Signature" : "ARC-Seal";
}

const char *auth_kind_name(enum dkim_kind k)
{
	return kind_name(k);
}

/* Line of header index hi in the header block. */
static int header_line(const struct header_list *hl, size_t hi)
{
	int line = 1;
	for (size_t i = 0; i < hi && i < hl->count; i++) {
		line++;
		for (const char *p = hl->h[i].value; *p; p++)
			if (*p == '\n')
				line++;
	}
	return line;
}

/* RFC 8617 5.2: the chain passes when every ARC-Seal verifies (cv=none at
 * i=1, pass above it, none says fail) and the newest
 * ARC-Message-Signature does. */
static void arc_chain(struct message *m, int top)
{
	if (top == 0)
		return;
	const char *why = NULL;
	char buf[300];
	int seals = 0;
	for (size_t i = 0; i < m->nauth && !why; i++) {
		const struct dkim_result *r = &m->auth[i];
		if (r->kind == ARC_SEAL) {
			seals++;
			if (!strcasecmp(r->cv, "fail")) {
				snprintf(buf, sizeof(buf), "the seal of instance %d (header line %d) says "
					 "cv=fail: the chain was already broken there", r->instance,
					 m->auth_line[i]);
				why = buf;
			} else if (r->status != DKIM_PASS && r->status != DKIM_NEUTRAL) {
				snprintf(buf, sizeof(buf), "the seal of instance %d (header line %d) is %s",
					 r->instance, m->auth_line[i], dkim_status_str(r->status));
				why = buf;
			}
		} else if (r->kind == ARC_MS && r->instance == top && r->status != DKIM_PASS &&
			   r->status != DKIM_NEUTRAL) {
			snprintf(buf, sizeof(buf), "the newest ARC-Message-Signature (i=%d, header "
				 "line %d) is %s", top, m->auth_line[i], dkim_status_str(r->status));
			why = buf;
		}
	}
	if (!why && seals != top) {
		snprintf(buf, sizeof(buf), "%d ARC-Seal header%s for %d instance%s", seals,
			 seals == 1 ? "" : "s", top, top == 1 ? "" : "s");
		why = buf;
	}
	m->arc_instances = top;
	if (why) {
		verdict_add(m, "arc-fail", "warning", "hops", 0, "ARC chain of %d instance%s fails: %s",
			    top, top == 1 ? "" : "s", why);
		m->arc_result = "fail";
		m->arc_why = xstrdup(why);
	} else {
		int unchecked = 0;
		for (size_t i = 0; i < m->nauth; i++)
			if (m->auth[i].kind != DKIM_SIG && m->auth[i].status == DKIM_NEUTRAL)
				unchecked = 1;
		m->arc_result = unchecked ? "neutral" : "pass";
		m->arc_why = xstrdup(unchecked ? "no key for some ARC headers" :
				     "every seal verifies and the newest ARC-Message-Signature too");
	}
}

/* The ARC-Authentication-Results of instance i (what that sealer saw). */
const char *auth_arc_results(const struct message *m, int inst, int *line)
{
	int l = 1;
	for (size_t i = 0; i < m->hl.count; i++) {
		const struct header *h = &m->hl.h[i];
		if (!strcasecmp(h->name, "ARC-Authentication-Results")) {
			const char *v = h->value;
			while (isspace((unsigned char)*v))
				v++;
			if (v[0] == 'i' && v[1] == '=' && atoi(v + 2) == inst) {
				*line = l;
				return h->value;
			}
		}
		l++;
		for (const char *p = h->value; *p; p++)
			if (*p == '\n')
				l++;
	}
	return NULL;
}

void auth_check(struct message *m)
{
	struct dkim_result tmp[32];
	size_t n = dkim_verify_all(&m->hl, m->body, m->body_len, key_lookup, NULL, tmp, 32);
	if (n > 32)
		n = 32;
	if (n == 0)
		return;
	m->auth = xcalloc(n, sizeof(*m->auth));
	memcpy(m->auth, tmp, n * sizeof(*tmp));
	m->nauth = n;
	m->auth_line = xcalloc(n, sizeof(int));
	int top = 0;	/* the newest ARC instance */
	for (size_t i = 0; i < n; i++)
		if (m->auth[i].kind != DKIM_SIG && m->auth[i].instance > top)
			top = m->auth[i].instance;
	for (size_t i = 0; i < n; i++) {
		const struct dkim_result *r = &m->auth[i];
		int line = header_line(&m->hl, r->header);
		m->auth_line[i] = line;
		char inst[32] = "";
		if (r->kind != DKIM_SIG)
			snprintf(inst, sizeof(inst), " i=%d", r->instance);
		/* an older ARC-Message-Signature may fail (a later hop changed the
		 * message, which is what ARC is for): the seals vouch for it */
		if (r->kind == ARC_MS && r->instance < top)
			continue;
		if (r->status == DKIM_FAIL)
			verdict_add(m, r->kind == DKIM_SIG ? "dkim-fail" : "arc-fail", "warning", "hops",
				    0, "%s%s d=%s s=%s (header line %d): %s", kind_name(r->kind), inst,
				    r->d, r->s, line, r->why);
		else if (r->status == DKIM_PASS && r->body_unsigned)
			verdict_add(m, r->kind == DKIM_SIG ? "dkim-partial-body" : "arc-partial-body",
				    "warning", "hops", 0, "%s%s d=%s s=%s (header line %d): %s",
				    kind_name(r->kind), inst, r->d, r->s, line, r->why);
		else if (r->status == DKIM_PERMERROR || r->status == DKIM_TEMPERROR)
			verdict_add(m, r->kind == DKIM_SIG ? "dkim-error" : "arc-error", "info", "hops",
				    0, "%s%s d=%s s=%s (header line %d): %s: %s", kind_name(r->kind), inst,
				    r->d, r->s, line, dkim_status_str(r->status), r->why);
	}
	arc_chain(m, top);
}
