/* qheader: a qf header block as it leaves for one mailer, as sendmail's
 * putheader writes it.  A field with a condition (qf H?cond?) is written only
 * when the mailer has one of the flags in cond, or, for a macro condition
 * (\201x, \201{name}), when that macro has a value; in a value in the
 * internal form (struct header's macros set: a qf record with \201 in it)
 * macros (\201x, \201{name}) are expanded, \377-quoted octets written as
 * themselves, and a field that expands to nothing is left out.  Plain
 * values (what clients sent, even with octets 0x81 in UTF-8) go out as
 * they are.  Used for the wire (SMTP), mailboxes, files,
 * programs and the headers a DSN returns. */
#ifndef MTA_QHEADER_H
#define MTA_QHEADER_H
#include "header.h"
#include "strbuf.h"

#define QHDR_MACRO '\201'	/* sendmail's MACROEXPAND octet */
#define QHDR_QUOTE '\377'	/* sendmail's METAQUOTE: the next octet is literal */

/* sendmail's flags of the mailers mtad delivers with (Debian's .cf):
 * local (mailboxes, files, programs: P adds Return-Path) and esmtp/relay. */
#define QHDR_FLAGS_LOCAL "lsDFMAw5:/|@qSPfhn9"
#define QHDR_FLAGS_SMTP "mDFMuXa8"

/* The value of a macro ("g", "j", "{daemon_name}" without braces), or NULL. */
typedef const char *(*qhdr_macro_fn)(void *ctx, const char *name);

/* Is this field written for a mailer with these flags? */
int qhdr_wanted(const struct header *h, const char *mailer_flags, qhdr_macro_fn fn, void *ctx);
/* Appends value with its macros expanded (an unknown macro expands to
 * nothing). */
void qhdr_expand(const char *value, qhdr_macro_fn fn, void *ctx, struct strbuf *out);
/* Appends "Name:value\n" for every field written for this mailer. */
void qhdr_put(const struct header_list *hl, const char *mailer_flags, qhdr_macro_fn fn, void *ctx,
	      struct strbuf *out);
/* Does the list hold a field of this name with a condition? */
int qhdr_has_cond(const struct header_list *hl, const char *name);

#endif
