/* json: a JSON writer whose output is always valid UTF-8. */
#include "json.h"
#include "strbuf.h"

#include <string.h>

void json_init(struct json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned int cp;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2; cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3; cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4; cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The escaping, written through put() to a FILE or a strbuf. */
typedef void (*put_fn)(void *to, const char *s, size_t n);

static void quote(put_fn put, void *to, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];
	put(to, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t len = utf8_len(s + i, n - i);
			if (len) {
				put(to, (const char *)s + i, len);
				i += len;
			} else {
				snprintf(esc, sizeof(esc), "\\u%04x", c);	/* the byte as latin-1 */
				put(to, esc, 6);
				i++;
			}
			continue;
		}
		const char *e = NULL;
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				e = esc;
			}
		}
		if (e)
			put(to, e, strlen(e));
		else
			put(to, (const char *)s + i, 1);
		i++;
	}
	put(to, "\"", 1);
}

static void put_file(void *to, const char *s, size_t n)
{
	fwrite(s, 1, n, to);
}

static void put_sb(void *to, const char *s, size_t n)
{
	sb_append(to, s, n);
}

void json_quote(FILE *out, const char *s, size_t n)
{
	quote(put_file, out, s, n);
}

void json_quote_sb(struct strbuf *sb, const char *s, size_t n)
{
	quote(put_sb, sb, s, n);
}

/* The comma before a value, unless it follows a key or opens its level. */
static void sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->count[j->depth]++ > 0 && j->depth > 0)
		putc(',', j->out);
}

static void open_level(struct json *j, int ch)
{
	sep(j);
	putc(ch, j->out);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
}

static void close_level(struct json *j, int ch)
{
	putc(ch, j->out);
	if (j->depth > 0)
		j->depth--;
}

void json_object_begin(struct json *j) { open_level(j, '{'); }
void json_object_end(struct json *j) { close_level(j, '}'); }
void json_array_begin(struct json *j) { open_level(j, '['); }
void json_array_end(struct json *j) { close_level(j, ']'); }

void json_member(struct json *j, const char *key)
{
	sep(j);
	json_quote(j->out, key, strlen(key));
	putc(':', j->out);
	j->after_key = 1;
}

void json_string_n(struct json *j, const char *s, size_t n)
{
	sep(j);
	json_quote(j->out, s, n);
}

void json_string(struct json *j, const char *s)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	json_string_n(j, s, strlen(s));
}

void json_int(struct json *j, long long v)
{
	sep(j);
	fprintf(j->out, "%lld", v);
}

void json_bool(struct json *j, int v)
{
	sep(j);
	fputs(v ? "true" : "false", j->out);
}

void json_null(struct json *j)
{
	sep(j);
	fputs("null", j->out);
}

void json_newline(struct json *j)
{
	putc('\n', j->out);
	j->count[0] = 0;
	j->after_key = 0;
}
