/* addr: SMTP path parsing and address splitting. */
#include "addr.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int addr_chars_ok(const char *a)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++, n++)
		if (*p < ' ' || *p == 127)
			return 0;
	return n <= ADDR_MAXLEN;
}

/* Finds the '>' closing the path that starts at s[0] == '<', honouring
 * quoted strings and backslash escapes. */
static const char *path_close(const char *s)
{
	int quoted = 0;
	for (const char *p = s + 1; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '<')
			return NULL;
		else if (!quoted && *p == '>')
			return p;
	}
	return NULL;
}

static const char *skip_route(const char *a, const char *end)
{
	/* "@host1,@host2:user@dom" -> "user@dom" (RFC 5321 4.1.2 source route) */
	if (a < end && *a == '@') {
		const char *colon = memchr(a, ':', (size_t)(end - a));
		if (colon)
			return colon + 1;
	}
	return a;
}

int addr_parse_path(const char *s, struct smtp_path *path, const char **end, const char **why)
{
	memset(path, 0, sizeof(*path));
	while (*s == ' ' || *s == '\t')
		s++;
	const char *a, *aend;
	if (*s == '<') {
		const char *close = path_close(s);
		if (close == NULL) {
			*why = strchr(s + 1, '<') ? "Extra '<'" : "Unbalanced '<'";
			return -1;
		}
		a = s + 1;
		aend = close;
		*end = close + 1;
		path->bracketed = 1;
	} else {
		int quoted = 0;
		const char *p = s;
		for (; *p; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				continue;
			}
			if (*p == '"')
				quoted = !quoted;
			else if (!quoted && (*p == ' ' || *p == '\t'))
				break;
			else if (!quoted && *p == '>') {
				*why = "Unbalanced '>'";
				return -1;
			}
		}
		a = s;
		aend = p;
		*end = p;
	}
	while (a < aend && (*a == ' ' || *a == '\t'))
		a++;
	while (aend > a && (aend[-1] == ' ' || aend[-1] == '\t'))
		aend--;
	a = skip_route(a, aend);
	if ((size_t)(aend - a) > ADDR_MAXLEN) {
		*why = "Address too long";
		return -1;
	}
	path->addr = xstrndup(a, (size_t)(aend - a));
	if (!addr_chars_ok(path->addr)) {
		*why = "Invalid character in address";
		addr_path_free(path);
		return -1;
	}
	path->null = path->addr[0] == '\0';
	if (path->null && !path->bracketed) {
		*why = "Missing address";
		addr_path_free(path);
		return -1;
	}
	return 0;
}

void addr_path_free(struct smtp_path *path)
{
	free(path->addr);
	path->addr = NULL;
}

void addr_split(const char *addr, char **local, char **domain)
{
	const char *at = NULL;
	int quoted = 0;
	for (const char *p = addr; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '@')
			at = p;
	}
	if (at == NULL) {
		*local = xstrdup(addr);
		*domain = NULL;
		return;
	}
	*local = xstrndup(addr, (size_t)(at - addr));
	*domain = xstrdup(at + 1);
}

void addr_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* One item of an address list: [start, end) of the whole item; the address
 * inside is [as, ae). */
static void rewrite_item(struct strbuf *out, const char *start, const char *end,
			 addr_rewrite_fn *fn, void *ctx)
{
	const char *lt = NULL, *gt = NULL;
	int quoted = 0, paren = 0;
	for (const char *p = start; p < end; p++) {
		if (*p == '\\' && p + 1 < end) {
			p++;
			continue;
		}
		if (*p == '"' && !paren)
			quoted = !quoted;
		else if (!quoted && *p == '(')
			paren++;
		else if (!quoted && *p == ')' && paren)
			paren--;
		else if (!quoted && !paren && *p == '<' && !lt)
			lt = p;
		else if (!quoted && !paren && *p == '>' && lt && !gt)
			gt = p;
	}
	const char *as, *ae;
	if (lt && gt) {
		as = lt + 1;
		ae = gt;
	} else {
		/* a bare address: the first word that is not a comment */
		as = start;
		while (as < end && (*as == ' ' || *as == '\t' || *as == '\n'))
			as++;
		ae = as;
		while (ae < end && *ae != ' ' && *ae != '\t' && *ae != '\n' && *ae != '(')
			ae++;
	}
	char *addr = xstrndup(as, (size_t)(ae - as));
	char *nw = (ae > as && !memchr(as, ':', (size_t)(ae - as))) ? fn(ctx, addr) : NULL;
	sb_append(out, start, (size_t)(as - start));
	sb_puts(out, nw ? nw : addr);
	sb_append(out, ae, (size_t)(end - ae));
	free(nw);
	free(addr);
}

char *addr_list_rewrite(const char *value, addr_rewrite_fn *fn, void *ctx)
{
	struct strbuf out;
	sb_init(&out);
	const char *start = value;
	int quoted = 0, paren = 0, angle = 0;
	for (const char *p = value;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '\0' || (*p == ',' && !quoted && !paren && !angle)) {
			rewrite_item(&out, start, p, fn, ctx);
			if (*p == '\0')
				break;
			sb_putc(&out, ',');
			start = p + 1;
			continue;
		}
		if (*p == '"' && !paren)
			quoted = !quoted;
		else if (!quoted && *p == '(')
			paren++;
		else if (!quoted && *p == ')' && paren)
			paren--;
		else if (!quoted && !paren && *p == '<')
			angle = 1;
		else if (!quoted && !paren && *p == '>')
			angle = 0;
	}
	char *r = sb_steal(&out);
	sb_free(&out);
	return r;
}
