/* addr: envelope addresses as SMTP carries them (RFC 5321 paths). */
#ifndef MTA_ADDR_H
#define MTA_ADDR_H
#include <stddef.h>

#define ADDR_MAXLEN 256		/* RFC 5321 path limit */

struct smtp_path {
	char *addr;		/* the mailbox without brackets or route; "" for <> */
	int bracketed;		/* the client wrote <...> */
	int null;		/* the null path <> */
};

/* Parses a path at the start of s: "<a@b>", "<@r1,@r2:a@b>", "<>" or a bare
 * "a@b".  On success fills path, sets *end past it and returns 0; on error
 * returns -1 and sets *why to an SMTP reply tail ("Unbalanced '<'", ...). */
int addr_parse_path(const char *s, struct smtp_path *path, const char **end, const char **why);
void addr_path_free(struct smtp_path *path);

/* Splits at the last '@' outside quotes.  *local and *domain are allocated;
 * *domain is NULL for an unqualified address. */
void addr_split(const char *addr, char **local, char **domain);
/* Checks characters: no controls, no 8-bit unless allowed, length bound. */
int addr_chars_ok(const char *addr);
/* Lower-cases a domain in place. */
void addr_lower(char *s);



/* Rewrites every address of an address-list header value ("Name <a@b>,
 * c@d (comment)"): fn gets each address (no brackets) and returns a new
 * malloc'd address or NULL to keep it.  Display names, comments and
 * brackets stay as they were.  Returns a malloc'd value. */
typedef char *addr_rewrite_fn(void *ctx, const char *addr);
char *addr_list_rewrite(const char *value, addr_rewrite_fn *fn, void *ctx);

#endif
