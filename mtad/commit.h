/* commit: the durable half of accepting a message (df fsync, tf write and
 * fsync, rename, directory fsync), done by a few worker threads so that the
 * event loop goes on serving other sessions meanwhile.  Several commits in
 * flight at once let the file system merge their journal flushes.  The
 * client's 250 is sent only when its job comes back done. */
#ifndef MTAD_COMMIT_H
#define MTAD_COMMIT_H
#include "mtad.h"
#include "workq.h"

struct commit_job {
	struct work w;			/* first: the work queue's handle */
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
};

void commit_job_init(struct commit_job *job, struct smtpd_session *s);
void commit_job_free(struct commit_job *job);

#endif
