/* addr: SMTP path parsing and address splitting. */
#include "addr.h"
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
