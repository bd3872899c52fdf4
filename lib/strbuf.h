/* strbuf: the one growable string.  Always NUL-terminated; growth is
 * checked through xalloc, so no call here can fail. */
#ifndef MTA_STRBUF_H
#define MTA_STRBUF_H
#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *s;	/* always valid and NUL-terminated after sb_init */
	size_t len;
	size_t cap;
};

void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
void sb_truncate(struct strbuf *sb, size_t len);
void sb_reserve(struct strbuf *sb, size_t extra);
void sb_append(struct strbuf *sb, const void *data, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putc(struct strbuf *sb, char c);
void sb_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
/* Hands the string to the caller (who frees it) and re-initialises sb. */
char *sb_steal(struct strbuf *sb);

#endif
