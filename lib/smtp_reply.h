/* smtp_reply: one SMTP reply (RFC 5321 4.2), parsed line by line.
 *
 * A reply is one or more lines "NNN-text" ... "NNN text" with the same
 * three-digit code.  smtp_reply_feed() takes the lines one at a time
 * (without their CRLF) and says when the reply is complete.  The parser
 * is pure: no I/O, so the client (smtp_client.h), the tests and any
 * other reader share it.
 *
 * Bounds: a reply may have at most SMTP_REPLY_MAX_LINES lines; the
 * caller bounds the line length (smtp_client reads at most
 * SMTP_LINE_MAX octets per line). */
#ifndef MTA_SMTP_REPLY_H
#define MTA_SMTP_REPLY_H
#include <stddef.h>

#include "strbuf.h"

#define SMTP_REPLY_MAX_LINES 256

struct smtp_reply {
	int code;		/* 200..599 (100..599 accepted), 0 when none yet */
	char esc[16];		/* enhanced status code "2.1.0" of the first line, or "" */
	size_t nlines;
	struct strbuf text;	/* the lines' text after "NNN-"/"NNN ", joined by '\n';
				 * the enhanced status code is kept in the text */
	struct strbuf raw;	/* the lines as received, joined by '\n' */
};

enum smtp_feed {
	SMTP_FEED_MORE = 0,	/* a continuation line: feed the next one */
	SMTP_FEED_DONE = 1,	/* the last line: the reply is complete */
	SMTP_FEED_BAD = -1,	/* malformed line, code mismatch or too many lines */
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_free(struct smtp_reply *r);
void smtp_reply_reset(struct smtp_reply *r);
/* Copies src into dst (both initialised). */
void smtp_reply_copy(struct smtp_reply *dst, const struct smtp_reply *src);

/* Adds one line (no CR/LF) to r.  After DONE or BAD, reset r before
 * feeding a new reply.  A bare "NNN" line (no text) is a last line. */
enum smtp_feed smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len);

/* The reply's class digit: 2 success, 3 intermediate, 4 temporary
 * failure, 5 permanent failure; 0 when there is no code. */
static inline int smtp_reply_class(const struct smtp_reply *r)
{
	return r->code / 100;
}

/* Parses an enhanced status code ("class.subject.detail", RFC 3463) at
 * the start of s.  Returns its length (0 when there is none) and copies it
 * into out (size outsz) when out is not NULL. */
size_t smtp_esc_parse(const char *s, char *out, size_t outsz);

/* The text of line n (0-based) of r, without the code, copied into
 * scratch; returns scratch->s, or NULL past the last line. */
const char *smtp_reply_line(struct smtp_reply *r, size_t n, struct strbuf *scratch);

#endif
