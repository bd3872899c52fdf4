/* dkim: DKIM and ARC signature verification (see dkim.h).  Tag lists,
 * canonicalization and hashing are done here; OpenSSL only checks the
 * signature over the bytes we built. */
#include "dkim.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_TAGS 32

const char *dkim_status_str(enum dkim_status s)
{
	switch (s) {
	case DKIM_PASS: return "pass";
	case DKIM_FAIL: return "fail";
	case DKIM_NEUTRAL: return "neutral";
	case DKIM_TEMPERROR: return "temperror";
	case DKIM_PERMERROR: return "permerror";
	}
	return "permerror";
}

static int wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A tag list "a=b; c=d" -> names and values with folding white space
 * removed around them.  Returns the count or -1 when malformed. */
struct tag {
	char name[16];
	char *value;
};

static void tags_free(struct tag *t, int n)
{
	for (int i = 0; i < n; i++)
		free(t[i].value);
}

static int tags_parse(const char *s, struct tag *t, int max)
{
	int n = 0;
	const char *p = s;
	while (*p) {
		while (wsp((unsigned char)*p))
			p++;
		if (!*p)
			break;
		const char *semi = strchr(p, ';');
		const char *end = semi ? semi : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (!eq || n == max) {
			tags_free(t, n);
			return -1;
		}
		const char *ne = eq;
		while (ne > p && wsp((unsigned char)ne[-1]))
			ne--;
		size_t nl = (size_t)(ne - p);
		if (nl == 0 || nl >= sizeof(t[n].name)) {
			tags_free(t, n);
			return -1;
		}
		memcpy(t[n].name, p, nl);
		t[n].name[nl] = '\0';
		const char *v = eq + 1;
		while (v < end && wsp((unsigned char)*v))
			v++;
		const char *ve = end;
		while (ve > v && wsp((unsigned char)ve[-1]))
			ve--;
		for (int k = 0; k < n; k++)
			if (!strcmp(t[k].name, t[n].name)) {	/* duplicate tag: invalid */
				tags_free(t, n);
				return -1;
			}
		t[n].value = xstrndup(v, (size_t)(ve - v));
		n++;
		p = semi ? semi + 1 : end;
	}
	return n;
}

static const char *tag(const struct tag *t, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return t[i].value;
	return NULL;
}

/* base64 with white space ignored; returns the length or -1. */
static long b64_decode(const char *s, unsigned char *out, size_t size)
{
	unsigned v = 0;
	int bits = 0, pad = 0;
	size_t n = 0;
	for (const char *p = s; *p; p++) {
		int c = (unsigned char)*p, d;
		if (wsp(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad)
			return -1;
		if (c >= 'A' && c <= 'Z')
			d = c - 'A';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			d = c - '0' + 52;
		else if (c == '+')
			d = 62;
		else if (c == '/')
			d = 63;
		else
			return -1;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == size)
				return -1;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	return (long)n;
}

static void b64_encode(const unsigned char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

char *dkim_canon_body(const char *body, size_t len, int relaxed, size_t *outlen)
{
	struct strbuf o;
	sb_init(&o);
	size_t keep = 0;	/* length up to the last non-empty line's CRLF */
	const char *p = body, *end = body + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t ll = (size_t)(le - p);
		if (nl && ll > 0 && p[ll - 1] == '\r')
			ll--;
		size_t start = o.len;
		if (relaxed) {
			int in_wsp = 0;
			for (size_t i = 0; i < ll; i++) {
				char c = p[i];
				if (c == ' ' || c == '\t') {
					in_wsp = 1;
					continue;
				}
				if (in_wsp)
					sb_putc(&o, ' ');
				in_wsp = 0;
				sb_putc(&o, c);
			}
		} else {
			sb_append(&o, p, ll);
		}
		int empty = o.len == start;
		sb_puts(&o, "\r\n");
		if (!empty)
			keep = o.len;
		p = nl ? nl + 1 : end;
	}
	sb_truncate(&o, keep);
	if (!relaxed && o.len == 0)
		sb_puts(&o, "\r\n");
	*outlen = o.len;
	if (o.len == 0) {
		sb_free(&o);
		return xstrdup("");
	}
	char *r = sb_steal(&o);
	sb_free(&o);
	return r;
}

char *dkim_canon_header(const char *name, const char *value, int relaxed)
{
	struct strbuf o;
	sb_init(&o);
	if (!relaxed) {
		sb_puts(&o, name);
		sb_putc(&o, ':');
		for (const char *p = value; *p; p++) {
			if (*p == '\n')
				sb_putc(&o, '\r');
			sb_putc(&o, *p);
		}
		sb_puts(&o, "\r\n");
	} else {
		size_t nl = strlen(name);
		while (nl > 0 && wsp((unsigned char)name[nl - 1]))
			nl--;
		for (size_t i = 0; i < nl; i++)
			sb_putc(&o, (char)tolower((unsigned char)name[i]));
		sb_putc(&o, ':');
		const char *p = value;
		while (wsp((unsigned char)*p))
			p++;
		int in_wsp = 0;
		for (; *p; p++) {
			if (*p == '\r' || *p == '\n')
				continue;	/* unfold */
			if (*p == ' ' || *p == '\t') {
				in_wsp = 1;
				continue;
			}
			if (in_wsp)
				sb_putc(&o, ' ');
			in_wsp = 0;
			sb_putc(&o, *p);
		}
		sb_puts(&o, "\r\n");
	}
	char *r = sb_steal(&o);
	sb_free(&o);
	return r;
}

/* The signature header's value with the b= value emptied. */
static char *strip_b(const char *value)
{
	struct strbuf o;
	sb_init(&o);
	const char *p = value;
	while (*p) {
		const char *semi = strchr(p, ';');
		const char *end = semi ? semi : p + strlen(p);
		const char *q = p;
		while (q < end && wsp((unsigned char)*q))
			q++;
		const char *r = q;
		if (r < end && *r == 'b') {
			r++;
			while (r < end && wsp((unsigned char)*r))
				r++;
		}
		if (q < end && *q == 'b' && r < end && *r == '=') {
			sb_append(&o, p, (size_t)(r + 1 - p));
		} else {
			sb_append(&o, p, (size_t)(end - p));
		}
		if (semi)
			sb_putc(&o, ';');
		p = semi ? semi + 1 : end;
	}
	char *s = sb_steal(&o);
	sb_free(&o);
	return s;
}

static EVP_PKEY *key_from(const char *ktype, const unsigned char *der, long n, char *why, size_t wsz)
{
	const unsigned char *q = der;
	EVP_PKEY *pk = NULL;
	if (!strcasecmp(ktype, "ed25519")) {
		if (n != 32) {
			snprintf(why, wsz, "the ed25519 key is %ld bytes, not 32", n);
			return NULL;
		}
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, 32);
	} else if (!strcasecmp(ktype, "rsa")) {
		pk = d2i_PUBKEY(NULL, &q, n);
		if (pk && EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
			/* any SubjectPublicKeyInfo parses: a DSA key must not
			 * verify an rsa-sha256 signature */
			EVP_PKEY_free(pk);
			snprintf(why, wsz, "the key (k=rsa) is not an RSA key");
			return NULL;
		}
		if (!pk) {
			q = der;
			pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, n);
		}
	} else {
		snprintf(why, wsz, "unknown key type k=%s", ktype);
		return NULL;
	}
	if (!pk)
		snprintf(why, wsz, "the public key (p=) cannot be decoded");
	return pk;
}

static int verify_sig(EVP_PKEY *pk, int ed, const EVP_MD *md, const char *data, size_t dlen,
		      const unsigned char *sig, size_t slen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;
	if (!ctx)
		return 0;
	if (ed) {
		unsigned char h[EVP_MAX_MD_SIZE];
		unsigned hl = 0;
		if (EVP_Digest(data, dlen, h, &hl, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1)
			ok = EVP_DigestVerify(ctx, sig, slen, h, hl) == 1;
	} else {
		ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) == 1 &&
		     EVP_DigestVerifyUpdate(ctx, data, dlen) == 1 &&
		     EVP_DigestVerifyFinal(ctx, sig, slen) == 1;
	}
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Which header of name is the next one up from the bottom not used yet. */
static long pick_header(const struct header_list *hl, const char *name, unsigned char *used)
{
	for (size_t i = hl->count; i-- > 0;)
		if (!used[i] && !strcasecmp(hl->h[i].name, name)) {
			used[i] = 1;
			return (long)i;
		}
	return -1;
}

/* Fetches and checks the key; returns the key or NULL with r's status set. */
static EVP_PKEY *get_key(struct dkim_result *r, const char *q, dkim_key_fn key, void *arg,
			 const char *want_k)
{
	if (q && strncasecmp(q, "dns/txt", 7) != 0) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "unknown key query method q=%s", q);
		return NULL;
	}
	char name[512], txt[8192];
	snprintf(name, sizeof(name), "%s._domainkey.%s", r->s, r->d);
	int k = key ? key(name, txt, sizeof(txt), arg) : 1;
	if (k != 0) {
		r->status = !key ? DKIM_NEUTRAL : k < 0 ? DKIM_TEMPERROR : DKIM_NEUTRAL;
		snprintf(r->why, sizeof(r->why), "no key for %s%s", name,
			 k < 0 ? " (lookup failed; try again later)" :
			 " (give it with --dkim-key FILE, or look it up with --dns)");
		return NULL;
	}
	struct tag kt[MAX_TAGS];
	int kn = tags_parse(txt, kt, MAX_TAGS);
	if (kn < 0) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "the key record of %s is malformed", name);
		return NULL;
	}
	const char *v = tag(kt, kn, "v"), *kk = tag(kt, kn, "k"), *p = tag(kt, kn, "p");
	EVP_PKEY *pk = NULL;
	if (v && strcmp(v, "DKIM1")) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "the key record of %s has v=%s, not DKIM1", name, v);
	} else if (!p) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "the key record of %s has no p=", name);
	} else if (!*p) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "the key %s is revoked (empty p=)", name);
	} else if (strcasecmp(kk ? kk : "rsa", want_k)) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "the key %s is k=%s but the signature is a=%s", name,
			 kk ? kk : "rsa", r->a);
	} else {
		unsigned char der[4096];
		long n = b64_decode(p, der, sizeof(der));
		if (n <= 0) {
			r->status = DKIM_PERMERROR;
			snprintf(r->why, sizeof(r->why), "the key %s is not valid base64", name);
		} else {
			char why[200] = "";
			pk = key_from(want_k, der, n, why, sizeof(why));
			if (!pk) {
				r->status = DKIM_PERMERROR;
				snprintf(r->why, sizeof(r->why), "%s: %s", name, why);
			}
		}
	}
	tags_free(kt, kn);
	return pk;
}

/* The ARC set members of instance i: AAR, AMS, AS indexes (-1 if missing). */
static void arc_set(const struct header_list *hl, int inst, long idx[3])
{
	static const char *const names[3] = { "ARC-Authentication-Results",
					      "ARC-Message-Signature", "ARC-Seal" };
	for (int k = 0; k < 3; k++) {
		idx[k] = -1;
		for (size_t i = 0; i < hl->count; i++) {
			if (strcasecmp(hl->h[i].name, names[k]))
				continue;
			const char *v = hl->h[i].value;
			while (wsp((unsigned char)*v))
				v++;
			if (strncmp(v, "i", 1))
				continue;
			v++;
			while (wsp((unsigned char)*v))
				v++;
			if (*v != '=')
				continue;
			if (atoi(v + 1) == inst) {
				idx[k] = (long)i;
				break;
			}
		}
	}
}

static void verify_one(const struct header_list *hl, size_t hi, enum dkim_kind kind,
		       const char *body, size_t blen, dkim_key_fn key, void *arg,
		       struct dkim_result *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->header = hi;
	r->body_ok = -1;
	struct tag t[MAX_TAGS];
	int n = tags_parse(hl->h[hi].value, t, MAX_TAGS);
	if (n < 0) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "the tag list cannot be read");
		return;
	}
	const char *v = tag(t, n, "v"), *a = tag(t, n, "a"), *b = tag(t, n, "b"),
		   *bh = tag(t, n, "bh"), *c = tag(t, n, "c"), *d = tag(t, n, "d"),
		   *h = tag(t, n, "h"), *s = tag(t, n, "s"), *l = tag(t, n, "l"),
		   *x = tag(t, n, "x"), *q = tag(t, n, "q"), *i = tag(t, n, "i"),
		   *cv = tag(t, n, "cv");
	snprintf(r->d, sizeof(r->d), "%s", d ? d : "");
	snprintf(r->s, sizeof(r->s), "%s", s ? s : "");
	snprintf(r->a, sizeof(r->a), "%s", a ? a : "");
	snprintf(r->cv, sizeof(r->cv), "%s", cv ? cv : "");
	if (kind != DKIM_SIG)
		r->instance = i ? atoi(i) : 0;
	else
		snprintf(r->i_tag, sizeof(r->i_tag), "%s", i ? i : "");
	char *cc = NULL;
	EVP_PKEY *pk = NULL;
	struct strbuf data;
	sb_init(&data);
	const char *missing = !a ? "a" : !b ? "b" : !d ? "d" : !s ? "s" :
			      kind != ARC_SEAL && !bh ? "bh" : kind != ARC_SEAL && !h ? "h" :
			      kind == DKIM_SIG && !v ? "v" : kind != DKIM_SIG && !i ? "i" :
			      kind == ARC_SEAL && !cv ? "cv" : NULL;
	if (missing) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "the required tag %s= is missing", missing);
		goto out;
	}
	if (kind == DKIM_SIG && strcmp(v, "1")) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "v=%s is not 1", v);
		goto out;
	}
	int ed = 0;
	const EVP_MD *md = NULL;
	if (!strcasecmp(a, "rsa-sha256"))
		md = EVP_sha256();
	else if (!strcasecmp(a, "rsa-sha1") && kind == DKIM_SIG)
		md = EVP_sha1();
	else if (!strcasecmp(a, "ed25519-sha256"))
		ed = 1, md = EVP_sha256();
	else {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "unknown algorithm a=%s", a);
		goto out;
	}
	const EVP_MD *bmd = ed ? EVP_sha256() : md;
	int hrel = 0, brel = 0;
	if (kind == ARC_SEAL) {
		hrel = 1;
		snprintf(r->c, sizeof(r->c), "relaxed");
	} else {
		cc = xstrdup(c ? c : "simple/simple");
		char *slash = strchr(cc, '/');
		if (slash)
			*slash++ = '\0';
		if ((strcmp(cc, "simple") && strcmp(cc, "relaxed")) ||
		    (slash && strcmp(slash, "simple") && strcmp(slash, "relaxed"))) {
			r->status = DKIM_PERMERROR;
			snprintf(r->why, sizeof(r->why), "unknown canonicalization c=%s", c);
			goto out;
		}
		hrel = !strcmp(cc, "relaxed");
		brel = slash && !strcmp(slash, "relaxed");
		snprintf(r->c, sizeof(r->c), "%s/%s", hrel ? "relaxed" : "simple",
			 brel ? "relaxed" : "simple");
	}
	if (kind == DKIM_SIG && i) {
		const char *at = strrchr(i, '@');
		size_t il = at ? strlen(at + 1) : 0, dl = strlen(d);
		if (!at || il < dl || strcasecmp(at + 1 + il - dl, d) ||
		    (il > dl && at[1 + il - dl - 1] != '.')) {
			r->status = DKIM_PERMERROR;
			snprintf(r->why, sizeof(r->why), "i=%s is not in the domain d=%s", i, d);
			goto out;
		}
	}
	if (x && *x && time(NULL) > atol(x)) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "the signature expired (x=%s)", x);
		goto out;
	}
	if (kind == DKIM_SIG) {
		int signs_from = 0;
		char *hl2 = xstrdup(h);
		for (char *save = NULL, *w = strtok_r(hl2, ":", &save); w; w = strtok_r(NULL, ":", &save)) {
			while (wsp((unsigned char)*w))
				w++;
			size_t wl = strcspn(w, " \t\r\n");
			if (wl == 4 && !strncasecmp(w, "from", 4))
				signs_from = 1;
		}
		free(hl2);
		if (!signs_from) {
			r->status = DKIM_PERMERROR;
			snprintf(r->why, sizeof(r->why), "h= does not sign From: (RFC 6376 5.4)");
			goto out;
		}
	}
	/* body */
	if (kind != ARC_SEAL) {
		size_t cl;
		char *cb = dkim_canon_body(body ? body : "", body ? blen : 0, brel, &cl);
		size_t use = cl;
		if (l) {
			/* 1*76DIGIT (RFC 6376 3.5): no sign, no blank, not empty */
			char *e = (char *)l;
			unsigned long lv = 0;
			if (*l >= '0' && *l <= '9' && strspn(l, "0123456789") <= 76)
				lv = strtoul(l, &e, 10);
			if (*e || e == l || lv > cl) {
				free(cb);
				r->status = DKIM_PERMERROR;
				snprintf(r->why, sizeof(r->why),
					 "l=%s is longer than the canonicalized body (%zu bytes)", l, cl);
				goto out;
			}
			use = lv;
			r->body_unsigned = cl - use;
		}
		unsigned char hv[EVP_MAX_MD_SIZE];
		unsigned hvl = 0;
		EVP_Digest(cb, use, hv, &hvl, bmd, NULL);
		free(cb);
		char enc[2 * EVP_MAX_MD_SIZE];
		b64_encode(hv, hvl, enc);
		char bhs[200];
		unsigned char tmp[EVP_MAX_MD_SIZE];
		long bn = b64_decode(bh, tmp, sizeof(tmp));
		snprintf(bhs, sizeof(bhs), "%s", bh);
		if (bn != (long)hvl || memcmp(tmp, hv, hvl)) {
			r->body_ok = 0;
			r->status = DKIM_FAIL;
			snprintf(r->why, sizeof(r->why),
				 "body hash mismatch: bh=%.60s but the %s body hashes to %s%s", bhs,
				 brel ? "relaxed" : "simple", enc,
				 l ? "" : " (the body was changed after signing)");
			goto out;
		}
		r->body_ok = 1;
		/* headers named in h=, bottom-up, each used once */
		unsigned char *used = xcalloc(hl->count ? hl->count : 1, 1);
		char *hlist = xstrdup(h);
		for (char *save = NULL, *w = strtok_r(hlist, ":", &save); w;
		     w = strtok_r(NULL, ":", &save)) {
			while (wsp((unsigned char)*w))
				w++;
			size_t wl = strlen(w);
			while (wl > 0 && wsp((unsigned char)w[wl - 1]))
				w[--wl] = '\0';
			long k = pick_header(hl, w, used);
			if (k < 0)
				continue;
			char *ch = dkim_canon_header(hl->h[k].name, hl->h[k].value, hrel);
			sb_puts(&data, ch);
			free(ch);
		}
		free(hlist);
		free(used);
	} else {
		/* ARC-Seal: the sets 1..i, AAR, AMS, AS each */
		if (r->instance < 1 || r->instance > 50) {
			r->status = DKIM_PERMERROR;
			snprintf(r->why, sizeof(r->why), "i=%s is out of range", i);
			goto out;
		}
		if ((r->instance == 1) != !strcmp(cv, "none")) {
			r->status = DKIM_FAIL;
			snprintf(r->why, sizeof(r->why), "cv=%s is wrong for instance %d", cv,
				 r->instance);
			goto out;
		}
		for (int k = 1; k <= r->instance; k++) {
			long set[3];
			arc_set(hl, k, set);
			if (set[0] < 0 || set[1] < 0 || set[2] < 0) {
				r->status = DKIM_FAIL;
				snprintf(r->why, sizeof(r->why), "the ARC set of instance %d is incomplete",
					 k);
				goto out;
			}
			for (int m = 0; m < 3; m++) {
				if (k == r->instance && m == 2)
					break;
				char *ch = dkim_canon_header(hl->h[set[m]].name, hl->h[set[m]].value, 1);
				sb_puts(&data, ch);
				free(ch);
			}
		}
	}
	/* the signature header itself, b= emptied, no CRLF */
	char *sv = strip_b(hl->h[hi].value);
	char *ch = dkim_canon_header(hl->h[hi].name, sv, hrel);
	free(sv);
	size_t chl = strlen(ch);
	sb_append(&data, ch, chl >= 2 ? chl - 2 : chl);
	free(ch);
	pk = get_key(r, q, key, arg, ed ? "ed25519" : "rsa");
	if (!pk)
		goto out;
	unsigned char sig[1024];
	long sl = b64_decode(b, sig, sizeof(sig));
	if (sl <= 0) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "b= is not valid base64");
		goto out;
	}
	if (!ed && EVP_PKEY_get_bits(pk) < 1024) {
		r->status = DKIM_PERMERROR;
		snprintf(r->why, sizeof(r->why), "the RSA key has only %d bits (RFC 8301: at least 1024)",
			 EVP_PKEY_get_bits(pk));
		goto out;
	}
	if (verify_sig(pk, ed, md, data.s ? data.s : "", data.len, sig, (size_t)sl)) {
		r->status = DKIM_PASS;
		snprintf(r->why, sizeof(r->why), "%s signature by %s._domainkey.%s verified%s",
			 r->a, r->s, r->d,
			 !strcasecmp(a, "rsa-sha1") ? " (rsa-sha1 is historic, RFC 8301)" : "");
		if (r->body_unsigned) {
			size_t wl = strlen(r->why);
			snprintf(r->why + wl, sizeof(r->why) - wl,
				 "; l=%s: %zu bytes of the body after them are not covered "
				 "(added after signing?)", l, r->body_unsigned);
		}
	} else {
		r->status = DKIM_FAIL;
		snprintf(r->why, sizeof(r->why),
			 "%ssignature does not verify with the key %s._domainkey.%s (signed headers "
			 "changed, or a different key)", kind == DKIM_SIG || kind == ARC_MS ?
			 "body hash matches but the " : "the ", r->s, r->d);
	}
out:
	EVP_PKEY_free(pk);
	sb_free(&data);
	free(cc);
	tags_free(t, n);
}

size_t dkim_verify_all(const struct header_list *hl, const char *body, size_t blen,
		       dkim_key_fn key, void *arg, struct dkim_result *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < hl->count; i++) {
		enum dkim_kind k;
		if (!strcasecmp(hl->h[i].name, "DKIM-Signature"))
			k = DKIM_SIG;
		else if (!strcasecmp(hl->h[i].name, "ARC-Message-Signature"))
			k = ARC_MS;
		else if (!strcasecmp(hl->h[i].name, "ARC-Seal"))
			k = ARC_SEAL;
		else
			continue;
		if (n < max)
			verify_one(hl, i, k, body, blen, key, arg, &out[n]);
		n++;
	}
	return n;
}
