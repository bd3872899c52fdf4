/* queue_list: reads a queue directory into memory (every qf read once,
 * through lib/qfile) and prints it as `sendmail -bp` does.  `mtad -bp`,
 * mailq and the console share it.
 *
 * The -bp listing:
 *   <TAB><TAB><qdir> (N request[s])        or "<qdir> is empty"
 *   -----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------
 *   <qid><mark><size %8ld> <%a %b %e %H:%M> <sender>
 *        QUARANTINE: <reason>               held mail
 *            (<last deferral message>)
 *   <TAB x5> <recipient>                     one line each
 *   <TAB><TAB>Total requests: N
 * mark: '*' being delivered (its qf is flock()ed), 'X' held, '-' tried less
 * than MinQueueAge ago, ' ' otherwise.  A qf that cannot be read is listed
 * as "<qid>  (unreadable queue file: <reason>)" and the listing goes on. */
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
	struct qf_env env;
};

struct queue_listing {
	char *qdir;
	struct queue_entry *entries;	/* sorted by queue ID, which is by age */
	size_t n;
	size_t scanned;		/* qf files seen before the selection */
};

struct queue_list_opts {
	const struct queue_select *sel;	/* NULL: every message */
	long min_queue_age;		/* seconds; 0: never '-' */
	time_t now;			/* 0: time(NULL) */
};

/* Reads the queue.  Returns 0, or -1 (errno set) when the directory cannot
 * be read.  Messages removed while we read are left out. */
int queue_list_load(struct queue_listing *ql, const char *qdir, const struct queue_list_opts *o);
void queue_list_free(struct queue_listing *ql);

/* Prints the -bp listing of ql. */
void queue_list_print(FILE *out, const struct queue_listing *ql);

/* load + print: what `mtad -bp` runs.  Returns 0, or -1 when the directory
 * cannot be read (nothing printed; the caller says so). */
int queue_list_bp(FILE *out, const char *qdir, const struct queue_list_opts *o);

/* Writes s with control characters shown as '?', so that a hostile qf
 * cannot drive the terminal. */
void queue_list_puts_safe(FILE *out, const char *s);

#endif
