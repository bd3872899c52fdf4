/* qheader: conditional, macro-bearing qf headers written for a mailer. */
#include "qheader.h"

#include <string.h>
#include <strings.h>

/* The macro named at p (just after the \201 octet): one character, or
 * {name}; its name into buf, the length consumed returned (0: none). */
static size_t macro_name(const char *p, char *buf, size_t size)
{
	if (*p == '\0')
		return 0;
	if (*p == '{') {
		const char *close = strchr(p, '}');
		if (close == NULL || close == p + 1 || (size_t)(close - p - 1) >= size)
			return 0;
		memcpy(buf, p + 1, (size_t)(close - p - 1));
		buf[close - p - 1] = '\0';
		return (size_t)(close - p) + 1;
	}
	buf[0] = *p;
	buf[1] = '\0';
	return 1;
}

static const char *macro_value(qhdr_macro_fn fn, void *ctx, const char *name)
{
	const char *v = fn ? fn(ctx, name) : NULL;
	return v ? v : "";
}

int qhdr_wanted(const struct header *h, const char *mailer_flags, qhdr_macro_fn fn, void *ctx)
{
	const char *c = h->cond;
	if (c == NULL || *c == '\0')
		return 1;
	if (*c == QHDR_MACRO) {
		char name[128];
		if (macro_name(c + 1, name, sizeof(name)) == 0)
			return 0;
		return *macro_value(fn, ctx, name) != '\0';
	}
	for (; *c; c++)
		if (strchr(mailer_flags, *c))
			return 1;
	return 0;
}

void qhdr_expand(const char *value, qhdr_macro_fn fn, void *ctx, struct strbuf *out)
{
	for (const char *p = value; *p; p++) {
		if (*p == QHDR_QUOTE && p[1]) {	/* a quoted octet of the message's own */
			sb_putc(out, *++p);
			continue;
		}
		if (*p != QHDR_MACRO) {
			sb_putc(out, *p);
			continue;
		}
		char name[128];
		size_t n = macro_name(p + 1, name, sizeof(name));
		if (n == 0)
			continue;	/* a lone \201: dropped, never sent raw */
		sb_puts(out, macro_value(fn, ctx, name));
		p += n;
	}
}

void qhdr_put(const struct header_list *hl, const char *mailer_flags, qhdr_macro_fn fn, void *ctx,
	      struct strbuf *out)
{
	struct strbuf v;
	sb_init(&v);
	for (size_t i = 0; i < hl->count; i++) {
		const struct header *h = &hl->h[i];
		if (!qhdr_wanted(h, mailer_flags, fn, ctx))
			continue;
		if (!h->macros) {	/* plain octets: as they came */
			sb_printf(out, "%s:%s\n", h->name, h->value);
			continue;
		}
		sb_reset(&v);
		qhdr_expand(h->value, fn, ctx, &v);
		size_t k = 0;
		while (k < v.len && (v.s[k] == ' ' || v.s[k] == '\t' || v.s[k] == '\n'))
			k++;
		if (k == v.len)
			continue;	/* a macro field with nothing in it: left out */
		sb_printf(out, "%s:%s\n", h->name, v.s ? v.s : "");
	}
	sb_free(&v);
}

int qhdr_has_cond(const struct header_list *hl, const char *name)
{
	for (size_t i = 0; i < hl->count; i++)
		if (hl->h[i].cond && strcasecmp(hl->h[i].name, name) == 0)
			return 1;
	return 0;
}
