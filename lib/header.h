/* header: RFC 5322 header blocks.  The one header parser, used by mtad
 * (headers received in DATA, stored in qf H lines) and by the tools that read
 * stored messages (hdrtrace, the console).
 *
 * A header keeps its raw value exactly as received (folding preserved, CR LF
 * turned into LF, no trailing newline); hdr_unfold() gives the logical value. */
#ifndef MTA_HEADER_H
#define MTA_HEADER_H
#include <stddef.h>

struct header {
	char *name;	/* field name as written, without the colon */
	char *value;	/* raw value after the colon, folded lines joined by "\n" */
	char *cond;	/* qf H?cond? condition (mailer flags, or \201x / \201{name}
			 * macro), NULL when the field is unconditional */
	int macros;	/* value in sendmail's internal form (a qf H record with
			 * \201 macros): octets 0x80-0x9f and 0xff quoted with
			 * \377; 0 for a plain value (the usual case) */
};

struct header_list {
	struct header *h;
	size_t count;
	size_t cap;
	size_t bytes;	/* total size of the block as received (name: value\n) */
};

void hdrlist_init(struct header_list *hl);
void hdrlist_free(struct header_list *hl);
void hdrlist_add(struct header_list *hl, const char *name, const char *value);
/* Appends a field with a qf condition (cond NULL or "" = unconditional). */
void hdrlist_add_cond(struct header_list *hl, const char *cond, const char *name, const char *value);
/* Removes the field at idx. */
void hdrlist_remove(struct header_list *hl, size_t idx);
/* Inserts at position idx (0 = top). */
void hdrlist_insert(struct header_list *hl, size_t idx, const char *name, const char *value);

/* Is this line (without its line end) a valid "Name:" header start?  Returns
 * the length of the name, or 0.  Names are printable ASCII except ':'. */
size_t hdr_name_len(const char *line, size_t len);
/* Is this line a continuation (starts with space or tab)? */
int hdr_is_continuation(const char *line, size_t len);

/* Parses a header block (lines ending in LF or CRLF) up to the first empty
 * line or the end of buf.  Returns the offset of the body (after the empty
 * line), or len when there is no body.  A line that is neither a header nor
 * a continuation ends the block (as RFC 5322 readers do: it is body). */
size_t hdr_parse_block(struct header_list *hl, const char *buf, size_t len);

/* Finds the first header with this name (case-insensitive), from index
 * *pos on (pos may be NULL); returns its index or -1. */
long hdrlist_find(const struct header_list *hl, const char *name, size_t from);
/* Number of headers with this name (used for hop counting on Received:). */
size_t hdrlist_count(const struct header_list *hl, const char *name);

/* Unfolds a raw value: removes the line breaks of folding, keeps the white
 * space, trims leading and trailing blanks.  Caller frees. */
char *hdr_unfold(const char *value);

#endif
