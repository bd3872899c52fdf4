/* received: the one Received: field parser (RFC 5321 4.4 trace fields as
 * real MTAs write them).  Shared by hdrtrace, the console and mtad's loop
 * and hop checks.
 *
 * A field is split at its last ';' outside comments into clauses and date.
 * The clauses (from, by, via, with, id, for) may come in any order; the
 * comments after "from" and "by" are read for the reverse DNS name, the IP,
 * the HELO name (qmail, Exim, IronPort put it there), ident, TLS, AUTH and
 * envelope-from.  Nothing is dropped: a field that has neither a from nor a
 * by clause is kept with parsed = 0 and its raw text. */
#ifndef MTA_RECEIVED_H
#define MTA_RECEIVED_H
#include "rfc5322date.h"

#include <stddef.h>

/* Which MTA wrote the field, when its shape or comments say so. */
enum received_mta {
	RCV_MTA_UNKNOWN = 0,
	RCV_MTA_SENDMAIL,
	RCV_MTA_POSTFIX,
	RCV_MTA_EXIM,
	RCV_MTA_QMAIL,
	RCV_MTA_EXCHANGE,
	RCV_MTA_GOOGLE,
	RCV_MTA_FETCHMAIL,
	RCV_MTA_NOTES,
	RCV_MTA_IRONPORT,
	RCV_MTA_GETMAIL,	/* "with POP3 getmail6 msgid:N" */
};

struct received {
	char *raw;		/* unfolded value, always set */
	int parsed;		/* a from or by clause (or a qmail comment) was read */
	int has_date;		/* date parsed into date */
	char *from_helo;	/* name the client gave (HELO/EHLO), or NULL */
	char *from_rdns;	/* reverse DNS name as the receiver recorded it */
	char *from_ip;		/* client address (no brackets, no "IPv6:") */
	char *from_ident;	/* ident/user part: "mithril@localhost" */
	int rdns_forged;	/* sendmail's "(may be forged)" was there */
	char *by;		/* receiving host */
	char *by_ip;		/* its address if recorded */
	char *via;
	char *with;		/* protocol: ESMTP, ESMTPS, SMTP, IMAP, local ... */
	char *id;		/* the receiver's queue ID */
	char *for_addr;		/* recipient, without angle brackets */
	char *envelope_from;	/* from "(envelope-from X)" comments */
	char *auth;		/* "authenticated as X", "Authenticated sender: X" */
	char *tls;		/* TLS protocol/cipher text when recorded */
	char *software;		/* "8.13.4/8.13.4", "Postfix", "Exim 4.96" ... */
	char *note;		/* qmail "invoked by uid 1000" and similar */
	char *date_raw;		/* text after the ';' (trimmed), or NULL */
	struct mail_date date;
	enum received_mta mta;
};

/* Parses one field value (raw or unfolded; folding is removed here).
 * Always fills r (free with received_free); returns 0 when parsed, -1 when
 * the field is kept as an unparsed hop. */
int received_parse(const char *value, struct received *r);
void received_free(struct received *r);

/* "sendmail", "postfix", ... ("" for unknown). */
const char *received_mta_name(enum received_mta m);

/* Is s an IPv4 or IPv6 address (no brackets)?  Returns 4, 6 or 0. */
int received_ip_family(const char *s);

#endif
