/* maillog: the one writer of mail log lines, in sendmail's format, to
 * syslog (facility mail, tag from -L) and, when LogFile is set, to a file
 * with the same syslog-style prefix ("Nov 21 23:58:36 host tag[pid]: ").
 * The grammar of the lines is documented in man/mtad.log.5. */
#ifndef MTA_MAILLOG_H
#define MTA_MAILLOG_H
#include <time.h>

void maillog_open(const char *tag, const char *logfile, int use_syslog);
void maillog_close(void);
/* Writes "QID: text" (or just "text" when qid is NULL). */
void maillog(const char *qid, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct maillog_from {
	const char *sender;	/* as given: "<a@b>" or "a@b" or "<>" */
	long size;
	int class;
	int nrcpts;
	const char *msgid;	/* NULL: field omitted */
	const char *bodytype;	/* MAIL BODY= / -B ("8BITMIME"); NULL: omitted */
	const char *proto;	/* NULL for local submissions */
	const char *daemon;	/* NULL for local submissions */
	const char *extra;	/* NULL, or fields before relay= ("tls_verify=NO, ...") */
	const char *relay;	/* "name [ip]" or "user@localhost" */
};
void maillog_from_line(const char *qid, const struct maillog_from *f);

struct maillog_to {
	const char *to;		/* one or more recipients, comma-separated */
	const char *ctladdr;	/* NULL: omitted */
	long delay;		/* seconds since the message was queued */
	long xdelay;		/* seconds of this attempt */
	const char *mailer;
	long pri;
	const char *relay;	/* NULL: omitted */
	const char *extra;	/* NULL, or fields after relay= ("tls_verify=FAIL, ...") */
	const char *dsn;	/* "2.0.0" */
	const char *stat;	/* "Sent", "Sent (text)", "Deferred: ...", "User unknown" */
};
void maillog_to_line(const char *qid, const struct maillog_to *t);

#endif
