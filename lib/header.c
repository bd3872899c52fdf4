/* header: header block parsing, storage and lookup. */
#include "header.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hdrlist_init(struct header_list *hl)
{
	memset(hl, 0, sizeof(*hl));
}

void hdrlist_free(struct header_list *hl)
{
	for (size_t i = 0; i < hl->count; i++) {
		free(hl->h[i].name);
		free(hl->h[i].value);
		free(hl->h[i].cond);
	}
	free(hl->h);
	memset(hl, 0, sizeof(*hl));
}

void hdrlist_insert(struct header_list *hl, size_t idx, const char *name, const char *value)
{
	if (hl->count == hl->cap) {
		hl->cap = hl->cap ? hl->cap * 2 : 16;
		hl->h = xreallocarray(hl->h, hl->cap, sizeof(*hl->h));
	}
	if (idx > hl->count)
		idx = hl->count;
	memmove(hl->h + idx + 1, hl->h + idx, (hl->count - idx) * sizeof(*hl->h));
	hl->h[idx].name = xstrdup(name);
	hl->h[idx].value = xstrdup(value);
	hl->h[idx].cond = NULL;
	hl->h[idx].macros = 0;
	hl->count++;
	hl->bytes += strlen(name) + 1 + strlen(value) + 1;
}

void hdrlist_add(struct header_list *hl, const char *name, const char *value)
{
	hdrlist_insert(hl, hl->count, name, value);
}

void hdrlist_add_cond(struct header_list *hl, const char *cond, const char *name, const char *value)
{
	hdrlist_add(hl, name, value);
	if (cond && *cond)
		hl->h[hl->count - 1].cond = xstrdup(cond);
}

void hdrlist_remove(struct header_list *hl, size_t idx)
{
	if (idx >= hl->count)
		return;
	struct header *h = &hl->h[idx];
	size_t sz = strlen(h->name) + 1 + strlen(h->value) + 1;
	hl->bytes = hl->bytes > sz ? hl->bytes - sz : 0;
	free(h->name);
	free(h->value);
	free(h->cond);
	memmove(hl->h + idx, hl->h + idx + 1, (hl->count - idx - 1) * sizeof(*hl->h));
	hl->count--;
}

size_t hdr_name_len(const char *line, size_t len)
{
	size_t i;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == ':')
			break;
		if (c <= ' ' || c >= 127)
			return 0;
	}
	if (i == 0 || i == len)
		return 0;
	return i;
}

int hdr_is_continuation(const char *line, size_t len)
{
	return len > 0 && (line[0] == ' ' || line[0] == '\t');
}

size_t hdr_parse_block(struct header_list *hl, const char *buf, size_t len)
{
	size_t pos = 0;
	struct strbuf name, value;
	int have = 0;

	sb_init(&name);
	sb_init(&value);
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t next = nl ? end + 1 : len;
		size_t llen = end - pos;
		const char *line = buf + pos;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0) {
			pos = next;
			break;
		}
		if (have && hdr_is_continuation(line, llen)) {
			sb_putc(&value, '\n');
			sb_append(&value, line, llen);
			pos = next;
			continue;
		}
		size_t nlen = hdr_name_len(line, llen);
		if (nlen == 0)
			break;		/* not a header: the body starts here */
		if (have)
			hdrlist_add(hl, name.s, value.s);
		sb_reset(&name);
		sb_reset(&value);
		sb_append(&name, line, nlen);
		sb_append(&value, line + nlen + 1, llen - nlen - 1);
		have = 1;
		pos = next;
	}
	if (have)
		hdrlist_add(hl, name.s, value.s);
	sb_free(&name);
	sb_free(&value);
	return pos;
}

long hdrlist_find(const struct header_list *hl, const char *name, size_t from)
{
	for (size_t i = from; i < hl->count; i++)
		if (strcasecmp(hl->h[i].name, name) == 0)
			return (long)i;
	return -1;
}

size_t hdrlist_count(const struct header_list *hl, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < hl->count; i++)
		if (strcasecmp(hl->h[i].name, name) == 0)
			n++;
	return n;
}

char *hdr_unfold(const char *value)
{
	struct strbuf sb;
	sb_init(&sb);
	for (const char *p = value; *p; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		sb_putc(&sb, *p);
	}
	size_t start = 0;
	while (start < sb.len && (sb.s[start] == ' ' || sb.s[start] == '\t'))
		start++;
	while (sb.len > start && (sb.s[sb.len - 1] == ' ' || sb.s[sb.len - 1] == '\t'))
		sb.len--;
	sb.s[sb.len] = '\0';
	char *out = xstrdup(sb.s + start);
	sb_free(&sb);
	return out;
}
