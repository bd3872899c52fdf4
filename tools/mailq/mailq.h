/* mailq: the queue browser.  main.c reads the command line and the
 * configuration, output.c prints the selection (-bp listing, --ids, --count,
 * --json, --summary), action.c acts on it (--hold, --release, --delete,
 * --flush).  The queue is read through lib/queue_list and lib/qfile only. */
#ifndef MAILQ_H
#define MAILQ_H
#include <stdio.h>
#include <time.h>
#include "queue_list.h"

/* exit codes (sysexits, as mtad): see man/mailq.1 */
#define MQ_EXIT_DECLINED 1	/* --delete not confirmed */

struct mq_opts {
	const char *conf_file;	/* -C */
	char **oopts;		/* -O Name=value (also -oQ) */
	size_t noopts;
	const char *qdir;	/* the queue listed */
	int msp;		/* -Ac */
	int verbose;		/* -v */
	int yes;		/* --yes */
	const char *log_tag;	/* -L */
	const char *mtad;	/* --mtad PATH */
	const char *argv0;
	time_t now;
	long min_queue_age;	/* MinQueueAge, seconds */
	int all;		/* --all: an action on the whole queue */
	int dry_run;		/* --dry-run: say what would be done */
	char selection[1024];	/* the selection as given, for the log line */
};
extern struct mq_opts mq;

/* conf.c: loads the .mc and -O options into lib/config; 0 or -1 (said). */
int mq_conf_load(const char *mc_path, char **oopts, size_t noopts);

/* output.c */
void out_ids(FILE *out, const struct queue_listing *ql);
void out_json(FILE *out, const struct queue_listing *ql);
void out_summary(FILE *out, const struct queue_listing *ql);

/* action.c: each returns an exit code */
int act_hold(const struct queue_listing *ql, const char *reason);
int act_release(const struct queue_listing *ql);
int act_delete(const struct queue_listing *ql);
int act_flush(const struct queue_listing *ql);
int act_bounce(const struct queue_listing *ql);

/* show.c: --show ID, the message as queued (envelope, headers, body) */
int show_message(const char *qid);

#endif
