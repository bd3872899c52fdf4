/* smtp_reply: the SMTP reply parser (multi-line replies, enhanced status
 * codes).  Pure functions; the I/O lives in smtp_client.c. */
#include "smtp_reply.h"

#include <ctype.h>
#include <string.h>

void smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->esc[0] = '\0';
	r->nlines = 0;
	sb_init(&r->text);
	sb_init(&r->raw);
}

void smtp_reply_free(struct smtp_reply *r)
{
	sb_free(&r->text);
	sb_free(&r->raw);
}

void smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->esc[0] = '\0';
	r->nlines = 0;
	sb_reset(&r->text);
	sb_reset(&r->raw);
}

void smtp_reply_copy(struct smtp_reply *dst, const struct smtp_reply *src)
{
	smtp_reply_reset(dst);
	dst->code = src->code;
	memcpy(dst->esc, src->esc, sizeof(dst->esc));
	dst->nlines = src->nlines;
	sb_append(&dst->text, src->text.s, src->text.len);
	sb_append(&dst->raw, src->raw.s, src->raw.len);
}

/* One to three digits; returns how many, 0 when none or too many. */
static size_t esc_number(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && isdigit((unsigned char)s[n]))
		n++;
	if (n == 0 || isdigit((unsigned char)s[n]))
		return 0;
	return n;
}

size_t smtp_esc_parse(const char *s, char *out, size_t outsz)
{
	size_t i = 0, n;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	if (s[1] != '.')
		return 0;
	i = 2;
	if ((n = esc_number(s + i, 3)) == 0 || s[i + n] != '.')
		return 0;
	i += n + 1;
	if ((n = esc_number(s + i, 3)) == 0)
		return 0;
	i += n;
	if (s[i] != '\0' && s[i] != ' ' && s[i] != '\t')
		return 0;
	if (out) {
		if (i >= outsz)
			return 0;
		memcpy(out, s, i);
		out[i] = '\0';
	}
	return i;
}

enum smtp_feed smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len)
{
	int code;
	int last;

	if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1])
	    || !isdigit((unsigned char)line[2]))
		return SMTP_FEED_BAD;
	if (line[0] < '1' || line[0] > '5')
		return SMTP_FEED_BAD;
	if (memchr(line, '\0', len))
		return SMTP_FEED_BAD;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (len == 3 || line[3] == ' ')
		last = 1;
	else if (line[3] == '-')
		last = 0;
	else
		return SMTP_FEED_BAD;
	if (r->nlines > 0 && code != r->code)
		return SMTP_FEED_BAD;
	if (r->nlines >= SMTP_REPLY_MAX_LINES)
		return SMTP_FEED_BAD;

	if (r->nlines > 0) {
		sb_putc(&r->text, '\n');
		sb_putc(&r->raw, '\n');
	}
	sb_append(&r->raw, line, len);
	if (len > 4)
		sb_append(&r->text, line + 4, len - 4);
	if (r->nlines == 0) {
		r->code = code;
		if (len > 4)
			smtp_esc_parse(r->text.s, r->esc, sizeof(r->esc));
		/* RFC 3463: the class must match the reply's class. */
		if (r->esc[0] && r->esc[0] != line[0])
			r->esc[0] = '\0';
	}
	r->nlines++;
	return last ? SMTP_FEED_DONE : SMTP_FEED_MORE;
}

const char *smtp_reply_line(struct smtp_reply *r, size_t n, struct strbuf *scratch)
{
	const char *p = r->text.s;
	const char *end = r->text.s + r->text.len;

	if (n >= r->nlines)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return NULL;
		p = nl + 1;
	}
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	sb_reset(scratch);
	sb_append(scratch, p, nl ? (size_t)(nl - p) : (size_t)(end - p));
	return scratch->s;
}
