/* received: Received: field parsing.  Three steps:
 *   1. normalise white space and split at the last ';' outside comments;
 *   2. cut the clause part into words and comments (nested comments kept
 *      whole, "word(comment)" split);
 *   3. walk the tokens: a keyword (from, by, via, with, id, for) opens a
 *      clause, the words and comments that follow belong to it.
 * The comment readers know the shapes MTAs use: "(rdns [ip])", "(HELO x)",
 * "([ip] helo=x)", "(user@ip)", "(envelope-from x)", "(using TLS...)". */
#include "received.h"
#include "strbuf.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum tok_type { T_WORD, T_COMMENT };

struct tok {
	enum tok_type type;
	const char *s;	/* NUL-terminated, inside the token buffer */
};

struct toks {
	struct tok *v;
	size_t n, cap;
	char *buf;	/* all token texts, NUL-separated */
	size_t used;
};

enum clause { C_NONE, C_FROM, C_BY, C_VIA, C_WITH, C_ID, C_FOR };

/* What the from clause has collected before it is resolved. */
struct from_state {
	const char *first_word;	/* first word after "from" */
	struct strbuf extra;	/* further plain words ("Http Client") */
	char *word_ip;		/* a bare IP or literal among the words */
	int first_is_literal;
	char *comment_ip;
	char *comment_rdns;
	char *comment_helo;
	int saw_unknown;
};

const char *received_mta_name(enum received_mta m)
{
	static const char *const names[] = {
		"", "sendmail", "postfix", "exim", "qmail", "exchange",
		"google", "fetchmail", "notes", "ironport", "getmail",
	};
	if ((unsigned)m < sizeof(names) / sizeof(names[0]))
		return names[m];
	return "";
}

int received_ip_family(const char *s)
{
	unsigned char buf[16];
	if (!s || !*s)
		return 0;
	if (strchr(s, ':')) {
		if (strlen(s) < INET6_ADDRSTRLEN + 8 && inet_pton(AF_INET6, s, buf) == 1)
			return 6;
		return 0;
	}
	if (strlen(s) < INET_ADDRSTRLEN && inet_pton(AF_INET, s, buf) == 1)
		return 4;
	return 0;
}

void received_free(struct received *r)
{
	free(r->raw);
	free(r->from_helo);
	free(r->from_rdns);
	free(r->from_ip);
	free(r->from_ident);
	free(r->by);
	free(r->by_ip);
	free(r->via);
	free(r->with);
	free(r->id);
	free(r->for_addr);
	free(r->envelope_from);
	free(r->auth);
	free(r->tls);
	free(r->software);
	free(r->note);
	free(r->date_raw);
	memset(r, 0, sizeof(*r));
}

static void set_once(char **dst, const char *s, size_t n)
{
	if (*dst || n == 0)
		return;
	*dst = xstrndup(s, n);
}

static void set_once_str(char **dst, const char *s)
{
	if (s)
		set_once(dst, s, strlen(s));
}

/* Copies s with runs of white space (folding included) made one space,
 * trimmed at both ends. */
static char *squeeze(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n + 1);
	size_t o = 0;
	int sp = 0;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
			sp = 1;
			continue;
		}
		if (sp && o > 0)
			out[o++] = ' ';
		sp = 0;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

/* Index of the last ';' outside comments, or -1. */
static long last_semicolon(const char *s)
{
	long pos = -1;
	int depth = 0;
	for (long i = 0; s[i]; i++) {
		char c = s[i];
		if (c == '\\' && s[i + 1]) {
			i++;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (c == ';' && depth == 0)
			pos = i;
	}
	return pos;
}

static void toks_push(struct toks *t, enum tok_type type, const char *s, size_t n)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	char *dst = t->buf + t->used;
	memcpy(dst, s, n);
	dst[n] = '\0';
	t->used += n + 1;
	t->v[t->n].type = type;
	t->v[t->n].s = dst;
	t->n++;
}

static void tokenize(const char *s, size_t len, struct toks *t)
{
	t->buf = xmalloc(2 * len + 2);	/* texts + one NUL per token */
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ') {
			i++;
			continue;
		}
		if (c == '(') {
			int depth = 0;
			size_t start = i + 1, j = i;
			for (; j < len; j++) {
				if (s[j] == '\\' && j + 1 < len) {
					j++;
					continue;
				}
				if (s[j] == '(')
					depth++;
				else if (s[j] == ')' && --depth == 0)
					break;
			}
			/* an unclosed comment runs to the end */
			size_t end = j < len ? j : len;
			toks_push(t, T_COMMENT, s + start, end - start);
			i = j < len ? j + 1 : len;
			continue;
		}
		if (c == ')') {		/* stray close: skip */
			i++;
			continue;
		}
		size_t j = i;
		if (c == '<') {		/* an address may hold blanks only if broken */
			while (j < len && s[j] != '>' && s[j] != ' ')
				j++;
			if (j < len && s[j] == '>')
				j++;
		}
		while (j < len && s[j] != ' ' && s[j] != '(')
			j++;
		toks_push(t, T_WORD, s + i, j - i);
		i = j;
	}
}

static enum clause keyword(const char *w)
{
	switch (tolower((unsigned char)w[0])) {
	case 'f':
		if (!strcasecmp(w, "from"))
			return C_FROM;
		if (!strcasecmp(w, "for"))
			return C_FOR;
		break;
	case 'b':
		if (!strcasecmp(w, "by"))
			return C_BY;
		break;
	case 'v':
		if (!strcasecmp(w, "via"))
			return C_VIA;
		break;
	case 'w':
		if (!strcasecmp(w, "with"))
			return C_WITH;
		break;
	case 'i':
		if (!strcasecmp(w, "id"))
			return C_ID;
		break;
	}
	return C_NONE;
}

/* An IP written as "1.2.3.4", "[1.2.3.4]", "[IPv6:2001:db8::1]",
 * "[1.2.3.4]:25" or "user@1.2.3.4".  Returns the bare address or NULL. */
static char *ip_of(const char *w, char **user)
{
	const char *p = w;
	const char *at = strchr(w, '@');
	if (at && user) {
		p = at + 1;
	}
	size_t n = strlen(p);
	if (n == 0 || n > 100)
		return NULL;
	char tmp[128];
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close)
			close = p + n;	/* "[1.2.3.4" truncated */
		size_t l = (size_t)(close - p - 1);
		memcpy(tmp, p + 1, l);
		tmp[l] = '\0';
		if (close[0] == ']' && close[1] && close[1] != ':')
			return NULL;
	} else {
		memcpy(tmp, p, n + 1);
		/* trailing punctuation from sloppy writers */
		while (n > 0 && (tmp[n - 1] == ',' || tmp[n - 1] == ';'))
			tmp[--n] = '\0';
	}
	char *a = tmp;
	if (!strncasecmp(a, "IPv6:", 5))
		a += 5;
	if (!received_ip_family(a))
		return NULL;
	if (at && user)
		*user = xstrndup(w, (size_t)(at - w));
	return xstrdup(a);
}

static int hostlike(const char *w)
{
	if (!*w || strlen(w) > 255)
		return 0;
	for (const char *p = w; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return 0;
	return 1;
}

/* Host name as recorded, without a trailing dot (Google writes one). */
static char *host_dup(const char *w)
{
	size_t n = strlen(w);
	while (n > 1 && w[n - 1] == '.')
		n--;
	return xstrndup(w, n);
}

static int has_prefix_ci(const char *s, const char *pfx)
{
	return strncasecmp(s, pfx, strlen(pfx)) == 0;
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

static char *addr_dup(const char *w)
{
	while (*w == '<' || *w == ' ')
		w++;
	size_t n = strlen(w);
	while (n > 0 && (w[n - 1] == '>' || w[n - 1] == ';' || w[n - 1] == ',' ||
			 w[n - 1] == ' '))
		n--;
	return xstrndup(w, n);
}

/* Comments that mean the same wherever they appear.  Returns 1 if used. */
static int common_comment(struct received *r, const char *c)
{
	c = skip_blanks(c);
	if (has_prefix_ci(c, "envelope-from")) {
		const char *v = skip_blanks(c + 13);
		if (*v == '=' || *v == ':')
			v = skip_blanks(v + 1);
		if (!r->envelope_from) {
			char *a = addr_dup(v);
			char *sp = strchr(a, ' ');
			if (sp)
				*sp = '\0';
			r->envelope_from = a;
		}
		return 1;
	}
	if (has_prefix_ci(c, "authenticated")) {
		const char *v = c + 13;
		v = skip_blanks(v);
		if (has_prefix_ci(v, "as "))
			v = skip_blanks(v + 3);
		else if (has_prefix_ci(v, "sender:"))
			v = skip_blanks(v + 7);
		set_once_str(&r->auth, *v ? v : "yes");
		return 1;
	}
	if (has_prefix_ci(c, "using ")) {
		set_once_str(&r->tls, skip_blanks(c + 6));
		return 1;
	}
	if (has_prefix_ci(c, "version=") || strstr(c, "cipher=")) {
		set_once_str(&r->tls, c);
		return 1;
	}
	if (has_prefix_ci(c, "No client certificate") || has_prefix_ci(c, "Client did not present") ||
	    has_prefix_ci(c, "Client CN") || has_prefix_ci(c, "single-drop") ||
	    has_prefix_ci(c, "multi-drop"))
		return 1;
	return 0;
}

/* "(rdns [ip])", "(user@rdns [ip])", "([ip] helo=x)", "(HELO x)", "(ip)",
 * "(user@ip)", "(rdns [ip] (may be forged))", "([ip]:port helo=x)". */
static void from_comment(struct received *r, struct from_state *fs, const char *c)
{
	if (common_comment(r, c))
		return;
	c = skip_blanks(c);
	if (strstr(c, "may be forged"))
		r->rdns_forged = 1;
	if (has_prefix_ci(c, "HELO ") || has_prefix_ci(c, "EHLO ")) {
		const char *v = skip_blanks(c + 5);
		size_t n = strcspn(v, " ()");
		if (!fs->comment_helo && n)
			fs->comment_helo = xstrndup(v, n);
		return;
	}
	/* split into blank-separated pieces; nested comments end the scan */
	char *copy = xstrdup(c);
	char *nest = strchr(copy, '(');
	if (nest)
		*nest = '\0';
	char *pieces[16];
	int np = 0;
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && np < 16;
	     w = strtok_r(NULL, " ", &save))
		pieces[np++] = w;
	char *ip = NULL;
	for (int i = 0; i < np && !ip; i++) {
		if (has_prefix_ci(pieces[i], "helo=") || has_prefix_ci(pieces[i], "port="))
			continue;
		char *user = NULL;
		ip = ip_of(pieces[i], &user);
		if (ip) {
			if (user) {
				if (!r->from_ident)
					r->from_ident = user;
				else
					free(user);
			}
		}
	}
	for (int i = 0; i < np; i++) {
		char *w = pieces[i];
		if (has_prefix_ci(w, "helo=")) {
			if (!fs->comment_helo && w[5])
				fs->comment_helo = xstrdup(w + 5);
			continue;
		}
		if (has_prefix_ci(w, "ident=")) {
			set_once_str(&r->from_ident, w + 6);
			continue;
		}
		if (has_prefix_ci(w, "port=") || w[0] == '[' || received_ip_family(w))
			continue;
		if (i == 0 && (ip || np == 1 || (np > 1 && pieces[1][0] == '['))) {
			char *at = strchr(w, '@');
			if (at && !ip) {
				/* sendmail "(user@host)" with no address */
				set_once_str(&r->from_ident, w);
				w = at + 1;
			} else if (at) {
				set_once(&r->from_ident, w, (size_t)(at - w));
				w = at + 1;
			}
			if (!strcasecmp(w, "unknown")) {
				fs->saw_unknown = 1;
				continue;
			}
			if (hostlike(w) && (ip || strchr(w, '.') || !strcasecmp(w, "localhost") || at) &&
			    !fs->comment_rdns)
				fs->comment_rdns = host_dup(w);
		}
	}
	if (ip && !fs->comment_ip)
		fs->comment_ip = ip;
	else
		free(ip);
	free(copy);
}

static void from_word(struct from_state *fs, const char *w)
{
	char *ip = ip_of(w, NULL);
	if (!fs->first_word) {
		fs->first_word = w;
		if (ip) {
			fs->first_is_literal = w[0] == '[';
			if (!fs->word_ip)
				fs->word_ip = ip;
			else
				free(ip);
		}
		return;
	}
	if (ip) {
		if (!fs->word_ip)
			fs->word_ip = ip;
		else
			free(ip);
		return;
	}
	if (fs->extra.len)
		sb_putc(&fs->extra, ' ');
	sb_puts(&fs->extra, w);
}

static void from_resolve(struct received *r, struct from_state *fs)
{
	if (fs->first_word) {
		if (fs->comment_helo) {
			/* qmail / Exim / IronPort: the word is the reverse name */
			if (strcasecmp(fs->first_word, "unknown") && !fs->first_is_literal &&
			    fs->first_word[0] != '[')
				r->from_rdns = host_dup(fs->first_word);
			r->from_helo = fs->comment_helo;
			fs->comment_helo = NULL;
		} else if (fs->extra.len) {
			struct strbuf sb;
			sb_init(&sb);
			sb_puts(&sb, fs->first_word);
			sb_putc(&sb, ' ');
			sb_puts(&sb, fs->extra.s);
			r->from_helo = sb_steal(&sb);
			sb_free(&sb);
		} else {
			r->from_helo = xstrdup(fs->first_word);
		}
	}
	if (fs->comment_rdns && !r->from_rdns) {
		r->from_rdns = fs->comment_rdns;
		fs->comment_rdns = NULL;
	}
	if (fs->comment_ip) {
		r->from_ip = fs->comment_ip;
		fs->comment_ip = NULL;
	} else if (fs->word_ip) {
		r->from_ip = fs->word_ip;
		fs->word_ip = NULL;
	}
	free(fs->comment_helo);
	free(fs->comment_rdns);
	free(fs->comment_ip);
	free(fs->word_ip);
	sb_free(&fs->extra);
}

/* "8.13.4/8.13.4", "8.11.7p1+Sun/8.11.6": sendmail's version pair. */
static int sendmail_version(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)slash[1]))
		return 0;
	for (const char *p = s; p < slash; p++)
		if (*p == ' ')
			return 0;
	return strchr(s, '.') != NULL;
}

static void by_comment(struct received *r, const char *c)
{
	if (common_comment(r, c))
		return;
	c = skip_blanks(c);
	char *ip = ip_of(c, NULL);
	if (ip) {
		if (!r->by_ip)
			r->by_ip = ip;
		else
			free(ip);
		return;
	}
	set_once_str(&r->software, c);
}

static void with_comment(struct received *r, const char *c)
{
	if (common_comment(r, c))
		return;
	c = skip_blanks(c);
	if (has_prefix_ci(c, "TLS") || has_prefix_ci(c, "SSL") ||
	    has_prefix_ci(c, "Google Transport Security")) {
		set_once_str(&r->tls, c);
		return;
	}
	set_once_str(&r->software, c);
}

/* Comments before any clause: qmail's "(qmail 123 invoked by uid 1000)". */
static int lead_comment(struct received *r, const char *c)
{
	if (common_comment(r, c))
		return 0;
	c = skip_blanks(c);
	if (has_prefix_ci(c, "from ")) {
		/* sendmail's submission form: "(from user@localhost) by host" */
		const char *u = skip_blanks(c + 5);
		size_t n = strcspn(u, " ");
		set_once(&r->from_ident, u, n);
		return 0;
	}
	if (!has_prefix_ci(c, "qmail "))
		return 0;
	const char *inv = strstr(c, "invoked");
	if (!inv)
		return 0;
	r->mta = RCV_MTA_QMAIL;
	set_once_str(&r->software, "qmail");
	set_once_str(&r->note, inv);
	if (strstr(inv, "from network"))
		set_once_str(&r->with, "network");
	else if (strstr(inv, "for bounce"))
		set_once_str(&r->with, "bounce");
	else
		set_once_str(&r->with, "local");
	return 1;
}

static int ends_with_ci(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static void guess_mta(struct received *r, int helo_comment, int ip_bracketed)
{
	if (r->mta != RCV_MTA_UNKNOWN)
		return;
	const char *sw = r->software ? r->software : "";
	const char *with = r->with ? r->with : "";
	const char *by = r->by ? r->by : "";
	if (sendmail_version(sw))
		r->mta = RCV_MTA_SENDMAIL;
	else if (has_prefix_ci(sw, "Postfix"))
		r->mta = RCV_MTA_POSTFIX;
	else if (has_prefix_ci(sw, "Exim"))
		r->mta = RCV_MTA_EXIM;
	else if (has_prefix_ci(sw, "fetchmail"))
		r->mta = RCV_MTA_FETCHMAIL;
	else if (strstr(sw, "Lotus") || strstr(sw, "Domino") || has_prefix_ci(sw, "Release "))
		r->mta = RCV_MTA_NOTES;
	else if (strstr(with, "Microsoft") || strstr(with, "SMTPSVC") ||
		 ends_with_ci(by, ".outlook.com") || ends_with_ci(by, ".outlook.office365.com"))
		r->mta = RCV_MTA_EXCHANGE;
	else if (ends_with_ci(by, ".google.com") || ends_with_ci(by, "gmail.com") ||
		 (r->tls && strstr(r->tls, "Google")) ||
		 (received_ip_family(by) == 6 && r->id && !strcasecmp(with, "SMTP")))
		r->mta = RCV_MTA_GOOGLE;
	else if (ends_with_ci(by, ".iphmx.com") || strstr(with, "ESMTP/TLS") ||
		 (helo_comment && ip_bracketed))
		r->mta = RCV_MTA_IRONPORT;
	else if (helo_comment)
		r->mta = RCV_MTA_QMAIL;
}

/* With no ';', some writers still end with a date: find "Day, DD Mon ..."
 * or "DD Mon YYYY" starting at a word.  Returns its offset or -1. */
static long find_bare_date(const char *s)
{
	struct mail_date d;
	for (long i = 0; s[i]; i++) {
		if (i > 0 && s[i - 1] != ' ')
			continue;
		if (!isalnum((unsigned char)s[i]))
			continue;
		if (mail_date_parse(s + i, &d, NULL) == 0)
			return i;
	}
	return -1;
}

int received_parse(const char *value, struct received *r)
{
	memset(r, 0, sizeof(*r));
	r->raw = squeeze(value ? value : "");

	const char *s = r->raw;
	size_t clen;
	long semi = last_semicolon(s);
	if (semi >= 0) {
		clen = (size_t)semi;
		const char *d = skip_blanks(s + semi + 1);
		if (*d)
			r->date_raw = xstrdup(d);
	} else {
		long at = find_bare_date(s);
		if (at >= 0) {
			clen = (size_t)at;
			r->date_raw = xstrdup(s + at);
		} else {
			clen = strlen(s);
		}
	}
	if (r->date_raw && mail_date_parse(r->date_raw, &r->date, NULL) == 0)
		r->has_date = 1;
	/* "(envelope-from x)" after the date, as FreeBSD's sendmail writes */
	if (r->date_raw) {
		const char *ef = strstr(r->date_raw, "(envelope-from");
		if (ef) {
			const char *e = strchr(ef, ')');
			size_t n = e ? (size_t)(e - ef - 1) : strlen(ef + 1);
			char *c = xstrndup(ef + 1, n);
			common_comment(r, c);
			free(c);
		}
	}

	struct toks t;
	memset(&t, 0, sizeof(t));
	tokenize(s, clen, &t);

	struct from_state fs;
	memset(&fs, 0, sizeof(fs));
	sb_init(&fs.extra);
	struct strbuf with, via;
	sb_init(&with);
	sb_init(&via);
	enum clause cur = C_NONE;
	int seen_from = 0, seen_by = 0, lead = 0, with_tls = 0, by_words = 0;
	int id_done = 0, for_done = 0;

	for (size_t i = 0; i < t.n; i++) {
		const struct tok *k = &t.v[i];
		if (k->type == T_WORD) {
			enum clause kw = keyword(k->s);
			/* "from" twice is a word, not a clause (from from by ...) */
			if (kw != C_NONE && !(kw == C_FROM && seen_from)) {
				cur = kw;
				if (kw == C_FROM)
					seen_from = 1;
				else if (kw == C_BY)
					seen_by = 1;
				continue;
			}
		}
		switch (cur) {
		case C_NONE:
			if (k->type == T_COMMENT && lead_comment(r, k->s))
				lead = 1;
			break;
		case C_FROM:
			if (k->type == T_WORD)
				from_word(&fs, k->s);
			else
				from_comment(r, &fs, k->s);
			break;
		case C_BY:
			if (k->type == T_COMMENT) {
				by_comment(r, k->s);
			} else if (by_words++ == 0) {
				r->by = host_dup(k->s);
			} else {
				char *ip = ip_of(k->s, NULL);
				if (ip && !r->by_ip)
					r->by_ip = ip;
				else
					free(ip);
			}
			break;
		case C_WITH:
			if (k->type == T_COMMENT) {
				with_comment(r, k->s);
			} else if (with_tls) {
				set_once_str(&r->tls, k->s);
			} else if (with.len && has_prefix_ci(k->s, "getmail")) {
				set_once_str(&r->software, k->s);	/* getmail: "with POP3 getmail6" */
				r->mta = RCV_MTA_GETMAIL;
			} else if (r->mta == RCV_MTA_GETMAIL && has_prefix_ci(k->s, "msgid:")) {
				if (!r->id)
					r->id = addr_dup(k->s + 6);
			} else if (!strcasecmp(k->s, "tls") && with.len) {
				with_tls = 1;	/* Exim: "with esmtps tls CIPHER" */
			} else {
				if (with.len)
					sb_putc(&with, ' ');
				sb_puts(&with, k->s);
			}
			break;
		case C_VIA:
			if (k->type == T_WORD) {
				if (via.len)
					sb_putc(&via, ' ');
				sb_puts(&via, k->s);
			} else {
				common_comment(r, k->s);
			}
			break;
		case C_ID:
			if (k->type == T_WORD && !id_done) {
				free(r->id);	/* an "id" clause wins over getmail's msgid: */
				r->id = addr_dup(k->s);
				id_done = 1;
			} else if (k->type == T_COMMENT) {
				common_comment(r, k->s);
			}
			break;
		case C_FOR:
			if (k->type == T_WORD && !for_done) {
				r->for_addr = addr_dup(k->s);
				for_done = 1;
			} else if (k->type == T_COMMENT) {
				if (!common_comment(r, k->s) &&
				    has_prefix_ci(skip_blanks(k->s), "Google Transport Security"))
					set_once_str(&r->tls, skip_blanks(k->s));
			}
			break;
		}
	}
	int helo_comment = fs.comment_helo != NULL;
	int ip_bracketed = fs.comment_ip != NULL && strstr(r->raw, "([") != NULL;
	from_resolve(r, &fs);
	if (with.len) {
		/* IronPort: "ESMTP/TLS/DHE-RSA-AES256-SHA256" */
		char *slash = strchr(with.s, '/');
		if (slash && !strchr(with.s, ' ') && strstr(slash, "TLS")) {
			set_once_str(&r->tls, slash + 1);
			*slash = '\0';
		}
		if (!r->with)
			r->with = xstrdup(with.s);
	}
	if (via.len)
		r->via = xstrdup(via.s);
	sb_free(&with);
	sb_free(&via);
	free(t.v);
	free(t.buf);

	r->parsed = seen_from || seen_by || lead;
	if (r->parsed)
		guess_mta(r, helo_comment, ip_bracketed);
	return r->parsed ? 0 : -1;
}
