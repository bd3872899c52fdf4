/* trust: which hosts are ours.  --trusted takes a domain or host name
 * (matches itself and every name under it), an IP address, or a CIDR
 * block; --trusted-file reads the same, one a line, '#' comments.  With
 * none given, the receiving host of the newest hop (and its organisational
 * domain) is assumed to be ours, for the verdicts only. */
#include "hdrtrace.h"
#include "diag.h"
#include "strbuf.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct trust_entry {
	char *domain;		/* NULL for a network */
	int family;		/* AF_INET / AF_INET6 */
	unsigned char addr[16];
	int prefix;
	int implicit;		/* assumed for the current message only */
	char *spec;		/* as given, for the reasons */
};

static struct trust_entry *entries;
static size_t nentries, centries;
static int explicit_given;
static struct strbuf desc;

static int parse_ip(const char *s, unsigned char out[16], int *family)
{
	char tmp[64];
	size_t n = strlen(s);
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n + 1);
	if (tmp[0] == '[' && n > 2 && tmp[n - 1] == ']') {
		memmove(tmp, tmp + 1, n - 2);
		tmp[n - 2] = '\0';
	}
	char *a = tmp;
	if (!strncasecmp(a, "IPv6:", 5))
		a += 5;
	if (inet_pton(AF_INET, a, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, a, out) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(out, mapped, 12) == 0) {
			memmove(out, out + 12, 4);
			*family = AF_INET;
		} else {
			*family = AF_INET6;
		}
		return 0;
	}
	return -1;
}

static int prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

static void add_entry(struct trust_entry *e, const char *spec)
{
	if (nentries == centries) {
		centries = centries ? centries * 2 : 8;
		entries = xreallocarray(entries, centries, sizeof(*entries));
	}
	e->spec = xstrdup(spec);
	entries[nentries++] = *e;
	if (e->implicit == 2)
		return;		/* not shown in "Trusted:" */
	if (desc.cap == 0)
		sb_init(&desc);
	if (desc.len)
		sb_puts(&desc, ", ");
	sb_puts(&desc, spec);
}

static int add_spec(const char *spec)
{
	struct trust_entry e;
	memset(&e, 0, sizeof(e));
	char *s = xstrdup(spec);
	char *slash = strchr(s, '/');
	if (slash)
		*slash = '\0';
	if (parse_ip(s, e.addr, &e.family) == 0) {
		int max = e.family == AF_INET ? 32 : 128;
		e.prefix = max;
		if (slash) {
			char *end;
			long p = strtol(slash + 1, &end, 10);
			if (*end || end == slash + 1 || p < 0 || p > max) {
				free(s);
				return -1;
			}
			e.prefix = (int)p;
		}
		free(s);
		add_entry(&e, spec);
		return 0;
	}
	if (slash) {
		free(s);
		return -1;
	}
	/* a domain or host name: letters, digits, '-', '.', '_' */
	char *p = s;
	while (*p == '.' || *p == '*')
		p++;	/* ".example.com" and "*.example.com" mean the same */
	size_t n = strlen(p);
	while (n > 0 && p[n - 1] == '.')
		p[--n] = '\0';
	if (n == 0 || n > 253) {
		free(s);
		return -1;
	}
	for (char *c = p; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_') {
			free(s);
			return -1;
		}
		*c = (char)tolower((unsigned char)*c);
	}
	e.domain = xstrdup(p);
	free(s);
	add_entry(&e, spec);
	return 0;
}

int trust_add(const char *spec)
{
	if (add_spec(spec) < 0)
		return -1;
	explicit_given = 1;
	return 0;
}

int trust_add_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int rc = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		char *h = strchr(line, '#');
		if (h)
			*h = '\0';
		for (char *save = NULL, *w = strtok_r(line, " \t\r\n,", &save); w;
		     w = strtok_r(NULL, " \t\r\n,", &save)) {
			if (trust_add(w) < 0) {
				msg_error("%s:%ld: not a domain, host, IP or CIDR: %s", path, lineno, w);
				rc = -2;
			}
		}
	}
	free(line);
	if (ferror(f))
		rc = -1;
	fclose(f);
	if (rc == -2) {
		errno = EINVAL;
		rc = -1;
	}
	return rc;
}

int trust_explicit(void)
{
	return explicit_given;
}

void trust_reset(void)
{
	size_t k = 0;
	for (size_t i = 0; i < nentries; i++) {
		if (entries[i].implicit) {
			free(entries[i].domain);
			free(entries[i].spec);
		} else {
			entries[k++] = entries[i];
		}
	}
	nentries = k;
	if (explicit_given)
		return;
	if (desc.cap)
		sb_reset(&desc);
}

void trust_add_implicit(const char *domain)
{
	if (trust_which(domain))
		return;
	struct trust_entry e;
	memset(&e, 0, sizeof(e));
	e.domain = xstrdup(domain);
	e.implicit = 2;
	add_entry(&e, domain);
}

const char *trust_describe(void)
{
	return desc.len ? desc.s : "";
}

static const char *which_ip(const char *ip)
{
	unsigned char a[16];
	int fam;
	if (!ip || parse_ip(ip, a, &fam) < 0)
		return NULL;
	for (size_t i = 0; i < nentries; i++)
		if (!entries[i].domain && entries[i].family == fam &&
		    prefix_match(a, entries[i].addr, entries[i].prefix))
			return entries[i].spec;
	return NULL;
}

const char *trust_which(const char *host)
{
	if (!host || !*host)
		return NULL;
	if (received_ip_family(host) || host[0] == '[' || !strncasecmp(host, "IPv6:", 5))
		return which_ip(host);
	size_t hl = strlen(host);
	while (hl > 0 && host[hl - 1] == '.')
		hl--;
	for (size_t i = 0; i < nentries; i++) {
		const char *d = entries[i].domain;
		if (!d)
			continue;
		size_t dl = strlen(d);
		if (hl == dl && !strncasecmp(host, d, dl))
			return entries[i].spec;
		if (hl > dl && host[hl - dl - 1] == '.' && !strncasecmp(host + hl - dl, d, dl))
			return entries[i].spec;
	}
	return NULL;
}

int trust_ip(const char *ip)
{
	return which_ip(ip) != NULL;
}

int trust_host(const char *host)
{
	return trust_which(host) != NULL;
}

/* Second-level labels under which registrations happen (co.uk, com.au...). */
static int registry_label(const char *label, size_t n, size_t tld_len)
{
	static const char *const sl[] = { "co", "com", "net", "org", "ac", "gov", "edu", "ne",
					  "or", "go", "gen", "ltd", "plc" };
	if (tld_len != 2)
		return 0;
	for (size_t i = 0; i < sizeof(sl) / sizeof(sl[0]); i++)
		if (strlen(sl[i]) == n && !strncasecmp(label, sl[i], n))
			return 1;
	return 0;
}

const char *org_domain(const char *host, char *buf, size_t size)
{
	if (!host || !*host || size == 0)
		return NULL;
	size_t n = strlen(host);
	while (n > 0 && host[n - 1] == '.')
		n--;
	if (n == 0 || n >= size)
		return NULL;
	/* find the last two (or three, under co.uk-style registries) labels */
	const char *end = host + n;
	const char *dots[3] = { NULL, NULL, NULL };
	int nd = 0;
	for (const char *p = end - 1; p >= host && nd < 3; p--)
		if (*p == '.')
			dots[nd++] = p;
	const char *start = host;
	if (nd >= 1) {
		size_t tld_len = (size_t)(end - dots[0] - 1);
		if (nd >= 2) {
			const char *sld = dots[1] + 1;
			size_t sl = (size_t)(dots[0] - sld);
			if (registry_label(sld, sl, tld_len))
				start = nd >= 3 ? dots[2] + 1 : host;
			else
				start = sld;
		}
	}
	size_t len = (size_t)(end - start);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)start[i]);
	buf[len] = '\0';
	return buf;
}

void trust_implicit_from(const struct hopchain *c)
{
	if (explicit_given)
		return;
	trust_reset();
	for (size_t i = c->n; i-- > 0;) {
		const struct received *r = &c->hops[i].r;
		if (!r->by || hop_is_retrieval(r))
			continue;
		struct trust_entry e;
		memset(&e, 0, sizeof(e));
		e.implicit = 1;
		if (received_ip_family(r->by)) {
			if (parse_ip(r->by, e.addr, &e.family) == 0) {
				e.prefix = e.family == AF_INET ? 32 : 128;
				add_entry(&e, r->by);
			}
			return;
		}
		char buf[256];
		const char *od = org_domain(r->by, buf, sizeof(buf));
		/* a bare host name ("localhost", "mailhost") trusts only itself */
		if (!od)
			return;
		e.domain = xstrdup(od);
		add_entry(&e, od);
		return;
	}
}

int ip_loopback(const char *ip)
{
	unsigned char a[16];
	int fam;
	if (!ip || parse_ip(ip, a, &fam) < 0)
		return 0;
	if (fam == AF_INET)
		return a[0] == 127;
	static const unsigned char one[16] = { [15] = 1 };
	return memcmp(a, one, 16) == 0;
}

int ip_private(const char *ip)
{
	unsigned char a[16];
	int fam;
	if (!ip || parse_ip(ip, a, &fam) < 0)
		return 0;
	if (fam == AF_INET) {
		return a[0] == 10 || a[0] == 127 || a[0] == 0 ||
		       (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		       (a[0] == 192 && a[1] == 168) ||
		       (a[0] == 169 && a[1] == 254) ||
		       (a[0] == 100 && (a[1] & 0xc0) == 64);
	}
	if ((a[0] & 0xfe) == 0xfc)			/* fc00::/7 unique local */
		return 1;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)	/* fe80::/10 link local */
		return 1;
	return ip_loopback(ip);
}

void trust_mark(struct hopchain *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct hop *h = &c->hops[i];
		const struct received *r = &h->r;
		h->trusted_by = trust_host(r->by) || trust_ip(r->by_ip);
		int has_from = r->from_helo || r->from_rdns || r->from_ip;
		if (!has_from) {
			/* made on the receiving host itself (pickup, qmail-inject) */
			h->trusted_from = h->trusted_by;
		} else if (ip_loopback(r->from_ip) ||
			   (!r->from_ip && r->from_rdns && !strcasecmp(r->from_rdns, "localhost"))) {
			/* handed over on the receiving host: as trusted as it is */
			h->trusted_from = h->trusted_by;
		} else {
			h->trusted_from = trust_host(r->from_rdns) || trust_ip(r->from_ip);
		}
	}
}
