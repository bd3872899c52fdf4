/* logparse: the one mail-log line parser, shared by loggrep and the console.
 *
 * A line is split without copying: every field is a span (pointer + length)
 * into the caller's buffer, which must stay alive while the struct is used.
 *
 *   Jan  4 22:29:53 int1 sm-mta[3739]: k056SDUq003739: from=<a@b>, size=85, ...
 *   `--- time ----' host `tag'  pid    `--- qid ----'  `--- text / fields ---
 *
 * The syslog prefix may be the traditional "Mon dd hh:mm:ss" (no year) or
 * RFC 3339 ("2024-01-04T22:29:53.123+01:00", year and zone known).  The tag
 * may lack a [pid].  After the prefix comes the message; when it starts with
 * a queue ID ("k056SDUq003739: ", "KAA06575: ", Postfix's "3F2A51E0A3: ")
 * the rest is the text, classified into an event and, where it is made of
 * "key=value, key=value" (sendmail, Postfix) or "key=value key=value"
 * (Postfix pickup, the tail of a NOQUEUE reject), split into fields.
 *
 * Field values follow sendmail's grammar: a value runs to the next ", key="
 * outside <>, (), [] and "" (so "to=bob,carol, ctladdr=root (0/0)" and
 * "relay=host. [10.1.1.1]" are single values); stat=, status= and reject=
 * run to the end of the line because their free text may contain anything.
 */
#ifndef MTA_LOGPARSE_H
#define MTA_LOGPARSE_H
#include <stddef.h>
#include <time.h>

struct logspan {
	const char *p;	/* NULL when absent */
	size_t n;
};

struct logfield {
	struct logspan key;
	struct logspan val;
};

enum logev {
	LOGEV_NONE,		/* no queue ID, or text we do not classify */
	LOGEV_FROM,		/* QID: from=..., (sendmail, Postfix qmgr) */
	LOGEV_TO,		/* QID: to=..., stat=/status= (a delivery attempt) */
	LOGEV_DSN,		/* QID: CHILD: DSN: ..., QID: DSN: ..., Postfix bounce notification */
	LOGEV_RULESET,		/* QID: ruleset=check_rcpt, arg1=..., reject=... */
	LOGEV_LOST_INPUT,	/* QID: lost input channel from ... */
	LOGEV_NO_MAIL,		/* QID: host [ip] did not issue MAIL/EXPN/VRFY/ETRN ... */
	LOGEV_CLIENT,		/* Postfix smtpd: QID: client=host[ip] */
	LOGEV_MSGID,		/* Postfix cleanup: QID: message-id=<...> */
	LOGEV_REMOVED,		/* Postfix qmgr: QID: removed */
	LOGEV_REJECT,		/* Postfix: QID|NOQUEUE: reject: RCPT from ...; from=<> to=<> */
	LOGEV_PICKUP,		/* Postfix pickup: QID: uid=0 from=<root> */
	LOGEV_OTHER,		/* any other text after a queue ID */
};

#define LOGPARSE_MAXFIELDS 24

struct logline {
	const char *line;	/* the whole line (no line end) */
	size_t len;

	/* syslog prefix */
	int year;		/* 0 when the timestamp has no year */
	int mon;		/* 1..12 */
	int mday, hour, min, sec;
	int has_tz;		/* RFC 3339 stamp: tzoff is valid */
	long tzoff;		/* seconds east of UTC */
	struct logspan host;
	struct logspan tag;	/* "sm-mta", "sendmail", "postfix/smtpd" */
	long pid;		/* -1 when the tag has no [pid] */
	struct logspan msg;	/* everything after "tag[pid]: " */

	/* message */
	int noqueue;		/* message starts with "NOQUEUE: " */
	struct logspan qid;	/* the queue ID prefix, or absent */
	struct logspan text;	/* after "QID: " (or after "NOQUEUE: "), else = msg */
	enum logev event;
	struct logspan child;	/* DSN child ID (LOGEV_DSN) */
	int nfields;
	struct logfield f[LOGPARSE_MAXFIELDS];
};

/* Parses one line (len bytes, no line end needed; a trailing "\r" or "\n" is
 * ignored).  Returns 0 when the syslog prefix (time, host, tag) was
 * recognised, -1 otherwise (binary junk, truncated lines, continuation
 * lines); on -1 the struct holds only line/len and LOGEV_NONE. */
int logparse(struct logline *ll, const char *line, size_t len);

/* The value of the first field named key (exact, case-sensitive), or NULL. */
const struct logspan *logline_get(const struct logline *ll, const char *key);

/* Is s[0..n) a queue ID (sendmail 8.9-8.18, Postfix short and long)?
 * 6 to 24 letters and digits, at least one digit. */
int logparse_is_qid(const char *s, size_t n);

/* span helpers */
int logspan_eq(struct logspan sp, const char *s);
int logspan_caseeq(struct logspan sp, const char *s);
char *logspan_dup(struct logspan sp);	/* caller frees; "" when absent */

/* Splits a relay value "name. [1.2.3.4]", "[1.2.3.4] [1.2.3.4]",
 * "name[1.2.3.4]:25", "root@localhost" or "local" into the name (without
 * the trailing dot) and the address (without brackets or port).  Either may
 * come back absent.  Returns 0, or -1 for an absent value. */
int logparse_relay(struct logspan val, struct logspan *name, struct logspan *ip);

/* Calls fn for each address of an address-list value: "to=bob,carol",
 * "<a@b>,<c@d>", "ctladdr=<root@x> (0/0)", with <> and the "(uid/gid)"
 * suffix removed.  Stops and returns fn's value when it is non-zero. */
int logparse_addrs(struct logspan val, int (*fn)(struct logspan addr, void *arg),
		   void *arg);

/* The next hop's queue ID in a stat=/status= value: "Sent (k05L67o01165
 * Message accepted for delivery)", "sent (250 2.0.0 Ok: queued as 4B1C2D)",
 * "Sent (OK id=1q2w3e-000abc-Xy)".  Returns 0 and sets *id, or -1. */
int logparse_sent_id(struct logspan stat, struct logspan *id);

/* The first word of a stat= value, as a final-status class: "Sent",
 * "Deferred", "User unknown" etc. are returned as the span up to the first
 * ' (' or ':' ("Sent", "Deferred", "User unknown"). */
struct logspan logparse_stat_word(struct logspan stat);

/* Month number (1..12) for "Jan".."Dec", or 0. */
int logparse_month(const char *s);

/* Turns the line's timestamp into a time_t.  With a year (RFC 3339) the
 * stamp is exact.  Without, the year is inferred: the year of ref (the
 * log file's modification time, or now for stdin), or the year before when
 * that would put the line more than a day after ref; syslog files are
 * written in order, so no line of a file is later than its mtime.  When
 * force_year is non-zero it is used instead.  Local time, as syslogd writes.
 * Returns (time_t)-1 when the line has no timestamp. */
time_t logline_time(const struct logline *ll, time_t ref, int force_year);
/* The same inference for explicit fields (mon 1..12). */
time_t logtime_infer(int mon, int mday, int hour, int min, int sec, time_t ref,
		     int force_year);

/* Parses only a message, the text after "tag[pid]: " (for lines whose
 * syslog prefix is lost): NOQUEUE or queue ID, event, fields.  The prefix
 * members of ll are left as they are.  Returns 0 when a queue ID or
 * NOQUEUE was found, else -1 (the event and fields are still filled). */
int logparse_message(struct logline *ll, const char *msg, size_t n);

/* The class of a deferral, for grouping: "connection refused", "timeout",
 * "DNS", "4xx policy" (a remote 4xx reply), "TLS" or "other"; NULL when the
 * stat=/status= value (with dsn=, either may be absent) is not a deferral. */
const char *logparse_defer_class(struct logspan stat, struct logspan dsn);

/* ---- lines as people post them (logrepair.c) --------------------------
 *
 * logparse() wants a whole syslog line.  Logs copied from web pages, mails
 * and terminals come damaged: wrapped over several lines, wrapped in HTML
 * markup or entities, quoted ("> "), prefixed by grep's "file:", with a
 * truncated or reformatted time stamp, or without any prefix; journalctl
 * writes "-o json" records.  logparse_lenient() repairs what it can in a
 * buffer the caller owns (ll's spans then point into it) and says what it
 * did in *how. */
enum {
	LOGREP_JOINED = 1,	/* physical lines joined (the record held '\n') */
	LOGREP_MARKUP = 2,	/* HTML tags or entities removed */
	LOGREP_JUNK = 4,	/* text before the time stamp dropped */
	LOGREP_PREFIX = 8,	/* damaged prefix: found by "tag[pid]:" or the queue ID */
	LOGREP_JOURNAL = 16,	/* a journalctl -o json record, rewritten as a line */
};

struct logrepair {
	char *buf;
	size_t cap;
};

/* Returns 0 with ll filled (as logparse) when the line was understood,
 * possibly after repair; -1 otherwise (ll holds only line/len).  With
 * LOGREP_JOURNAL, ll->line is the rewritten line (in rb), meant for display
 * instead of the record.  rb may be reused across calls; free it with
 * logrepair_free(). */
int logparse_lenient(struct logline *ll, const char *rec, size_t len, struct logrepair *rb,
		     unsigned *how);
void logrepair_free(struct logrepair *rb);

/* Could this physical line start a log record (a time stamp, "<PRI>",
 * "tag[pid]: ", a journal record)?  A non-blank line that cannot is taken
 * as the continuation of a wrapped record. */
int logparse_is_start(const char *line, size_t len);

#endif
