/* json: the one JSON writer of mtad's tools (mailq --json, smtpprobe --json;
 * hdrtrace and loggrep should move to it).  Output is always valid UTF-8:
 * well-formed UTF-8 in the input is copied, and every byte that is not part
 * of a well-formed sequence (latin-1 text in a remote reply, a stray byte)
 * is written as \u00XX, the code point of the byte read as latin-1 -- so
 * "zur\xfcck" becomes "zur\u00fcck", never U+FFFD and never a lost byte.
 * Control characters are escaped (\n \r \t \b \f, others \u00XX, DEL
 * \u007f), and '"' and '\\'.  Well-formed means RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF.
 *
 * A writer keeps the commas: open an object or array, give keys and
 * values, close it.  Depth is bounded (JSON_MAX_DEPTH). */
#ifndef MTA_JSON_H
#define MTA_JSON_H
#include <stddef.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *out;
	int depth;
	int count[JSON_MAX_DEPTH];	/* values written at each level */
	int after_key;
};

void json_init(struct json *j, FILE *out);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
/* A key in the current object; the next call writes its value. */
void json_member(struct json *j, const char *key);
/* Values.  A NULL string is written as null. */
void json_string(struct json *j, const char *s);
void json_string_n(struct json *j, const char *s, size_t n);
void json_int(struct json *j, long long v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
/* Ends a top-level value with a newline (JSON Lines). */
void json_newline(struct json *j);

/* The quoted, escaped form of s[0..n) alone, for writers that keep their
 * own commas. */
void json_quote(FILE *out, const char *s, size_t n);
/* The same appended to a strbuf (for writers that build a line first). */
struct strbuf;
void json_quote_sb(struct strbuf *sb, const char *s, size_t n);

#endif
