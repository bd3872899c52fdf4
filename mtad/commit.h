/* commit: the durable half of accepting a message (df fsync, tf write and
 * fsync, rename, directory fsync), done by a few worker threads so that the
 * event loop goes on serving other sessions meanwhile.  Several commits in
 * flight at once let the file system merge their journal flushes.  The
 * client's 250 is sent only when its job comes back done. */
#ifndef MTAD_COMMIT_H
#define MTAD_COMMIT_H
#include "mtad.h"

struct commit_job {
	struct enqueue eq;		/* moved from the session */
	struct qf_env env;
	char qid[QID_MAXLEN];
	/* the from= line, logged when the commit is done */
	char *sender_given, *msgid, *relay, *daemon, *proto;
	char *extra;			/* TLS and AUTH fields, or NULL */
	long size;
	int nrcpts;
	/* results */
	int rc;				/* 0 committed, -1 failed */
	int err_no;
	char err[512];
	/* who waits for it: the session, or NULL when it went away */
	struct smtpd_session *session;
	struct commit_job *next;
};

/* Starts n workers; returns the eventfd the event loop watches, or -1 (then
 * commits happen inline). */
int commit_start(int n);
int commit_async(void);
void commit_submit(struct commit_job *job);
/* Completed jobs, in the order they finished (main thread). */
struct commit_job *commit_take_done(void);
/* Does the work in the calling thread. */
void commit_run(struct commit_job *job);
void commit_job_free(struct commit_job *job);
/* Stops the workers after the jobs in flight (shutdown). */
void commit_stop(void);

#endif
