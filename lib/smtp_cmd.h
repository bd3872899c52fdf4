/* smtp_cmd: server-side SMTP command parsing (verb table, MAIL/RCPT
 * arguments and ESMTP parameters). */
#ifndef MTA_SMTP_CMD_H
#define MTA_SMTP_CMD_H
#include <stddef.h>
#include "addr.h"

#define SMTP_CMD_MAXLEN 512	/* RFC 5321 4.5.3.1.4, including CRLF */
#define SMTP_TEXT_MAXLEN 1000	/* RFC 5321 4.5.3.1.6, including CRLF */
#define SMTP_MAX_PARAMS 16

enum smtp_verb {
	SMTP_UNKNOWN = 0,
	SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA, SMTP_RSET,
	SMTP_NOOP, SMTP_QUIT, SMTP_HELP, SMTP_VRFY, SMTP_EXPN, SMTP_VERB,
	SMTP_ETRN, SMTP_STARTTLS, SMTP_AUTH, SMTP_BDAT,
};

/* Maps a verb name (any case) to its code; SMTP_UNKNOWN otherwise. */
enum smtp_verb smtp_verb_lookup(const char *name, size_t len);
const char *smtp_verb_name(enum smtp_verb v);

/* Splits a command line (no CRLF) into verb and argument; *arg points into
 * line, past the blanks that follow the verb. */
enum smtp_verb smtp_split(const char *line, const char **arg);

struct esmtp_param {
	char *key;	/* upper-cased */
	char *value;	/* NULL when the keyword has no "=" */
};

struct smtp_mailrcpt {
	struct smtp_path path;
	struct esmtp_param params[SMTP_MAX_PARAMS];
	size_t nparams;
};

/* Parses the argument of MAIL ("FROM:") or RCPT ("TO:").  Returns 0, or -1
 * with *code (e.g. 501, 553) and *why set to the reply text tail. */
int smtp_parse_mailrcpt(const char *arg, const char *keyword, struct smtp_mailrcpt *mr,
			int *code, const char **why);
void smtp_mailrcpt_free(struct smtp_mailrcpt *mr);
/* Looks up a parameter by key (case-insensitive); NULL if absent. */
const struct esmtp_param *smtp_param(const struct smtp_mailrcpt *mr, const char *key);
/* Is this xtext (RFC 3461) well-formed and free of control characters? */
int smtp_xtext_ok(const char *s);

#endif
