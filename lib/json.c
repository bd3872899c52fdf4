/* json: a JSON writer whose output is always valid UTF-8. */
#include "json.h"

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

void json_quote(FILE *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	putc('"', out);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t len = utf8_len(s + i, n - i);
			if (len) {
				fwrite(s + i, 1, len, out);
				i += len;
			} else {
				fprintf(out, "\\u%04x", c);	/* the byte as latin-1 */
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(out, "\\u%04x", c);
			else
				putc(c, out);
		}
		i++;
	}
	putc('"', out);
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

void json_key(struct json *j, const char *key)
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
