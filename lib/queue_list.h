/* queue_list: reads a queue directory into memory (every qf read once,
 * through lib/qfile) and prints it as `sendmail -bp` does.  `mtad -bp`,
 * mailq and the console share it.
 *
 * The -bp listing is sendmail 8.17's byte for byte (tests/data/bp holds
 * queues and listings made by sendmail itself):
 *   <TAB><TAB><qdir> (N request[s])        or "<qdir> is empty"
 *   -----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------
 *   <qid %13s><mark><size %8ld> <%.16s of ctime> <sender, 39 columns>
 *        QUARANTINE: <reason, 60 bytes>       when the qf has a q record
 *       <B type %10.10s>   (<M message, 60 bytes>)   when either is set
 *   <TAB x5> <recipient, 38 columns>          one line each
 *   <TAB><TAB>Total requests: N
 * With -v (verbose): the Priority column, "%.12s" times, senders to 78 and
 * recipients to 71 columns, reasons to 100 bytes, "+" after the priority
 * when a delay warning was sent (F record 'w'), the controlling user as
 * "(---user---)", and an M record that follows the S record printed under
 * the first recipient, as sendmail does.  The lines are made from the qf's
 * records in their order in the file, as sendmail's printer reads them.
 * Senders and recipients are printed as sendmail's prtstr(): '\' doubled,
 * other non-printable bytes as \ooo (each counted in the column limit).
 * Reasons are copied as bytes except control characters, shown as '?'
 * (sendmail copies those too; we do not let a qf drive the terminal).
 * mark: '*' being delivered (its qf is flock()ed), '-' tried less than
 * MinQueueAge ago, ' ' otherwise.  The size is the df's, -1 when there is
 * none.  Order: QueueSortOrder (priority: the P record, ties by creation
 * time then ID; filename; time; modification: newest qf first; other
 * orders fall back to priority).  Held mail: sendmail keeps it in hf<ID>,
 * listed only with -qQ; mtad holds it in qf<ID> with a q record, listed
 * always (with its QUARANTINE line, as sendmail lists such a qf) and also
 * with -qQ.  A qf that cannot be read is listed as
 * "<qid>  (unreadable queue file: <reason>)" and the listing goes on. */
#ifndef MTA_QUEUE_LIST_H
#define MTA_QUEUE_LIST_H
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "qfile.h"
#include "queue_select.h"

struct queue_entry {
	char qid[QID_MAXLEN];
	char mark;		/* ' ', '*', 'X', '-' */
	int locked;		/* a delivery holds the qf lock */
	int too_young;		/* last tried less than MinQueueAge ago */
	char *err;		/* non-NULL: the qf could not be read; env is empty */
	long size;		/* df size in bytes, -1 when there is no df */
	int hf;			/* read from hf<ID>: held by sendmail */
	time_t mtime;		/* of the qf */
	char *text;		/* the qf as read (NUL-terminated); NULL with err */
	size_t textlen;
	struct qf_env env;
};

struct queue_listing {
	char *qdir;
	struct queue_entry *entries;	/* in QueueSortOrder */
	size_t n;
	size_t scanned;		/* qf files seen before the selection */
};

struct queue_list_opts {
	const struct queue_select *sel;	/* NULL: every message */
	long min_queue_age;		/* seconds; 0: never '-' */
	time_t now;			/* 0: time(NULL) */
	const char *sort_order;		/* QueueSortOrder; NULL: priority */
};

enum queue_sort { QSORT_PRIORITY, QSORT_FILENAME, QSORT_TIME, QSORT_MODIFICATION, QSORT_NONE };
/* sendmail's reading of QueueSortOrder: its first letter (p, f, t, m, n;
 * h and r are taken as priority).  Returns -1 for an unknown order. */
int queue_sort_parse(const char *s);

/* Reads the queue.  Returns 0, or -1 (errno set) when the directory cannot
 * be read.  Messages removed while we read are left out. */
int queue_list_load(struct queue_listing *ql, const char *qdir, const struct queue_list_opts *o);
void queue_list_free(struct queue_listing *ql);

/* Prints the -bp listing of ql; verbose: sendmail's -bp -v form. */
void queue_list_print(FILE *out, const struct queue_listing *ql, int verbose);

/* load + print: what `mtad -bp` runs.  Returns 0, or -1 when the directory
 * cannot be read (nothing printed; the caller says so). */
int queue_list_bp(FILE *out, const char *qdir, const struct queue_list_opts *o, int verbose);

/* Writes s with control characters shown as '?', so that a hostile qf
 * cannot drive the terminal. */
void queue_list_puts_safe(FILE *out, const char *s);

#endif
