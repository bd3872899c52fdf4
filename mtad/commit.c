/* commit: the durable half of accepting a message, as work for lib-free
 * worker threads (mtad/workq.c): enqueue_commit in a worker, the reply and
 * the from= line back in the event loop. */
#include "commit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The commits waiting at this moment, as one batch (enqueue.c): they
 * share their journal commits and the directory fsync. */
static void commit_run_batch(struct work **v, size_t n)
{
	struct enqueue_item items[WORK_BATCH_MAX];
	while (n > WORK_BATCH_MAX) {	/* (workq never hands more: every job is answered all the same) */
		commit_run_batch(v, WORK_BATCH_MAX);
		v += WORK_BATCH_MAX;
		n -= WORK_BATCH_MAX;
	}
	for (size_t i = 0; i < n; i++) {
		struct commit_job *job = (struct commit_job *)v[i];
		items[i] = (struct enqueue_item){ .eq = &job->eq, .env = &job->env };
	}
	enqueue_commit_many(items, n);
	for (size_t i = 0; i < n; i++) {
		struct commit_job *job = (struct commit_job *)v[i];
		job->rc = items[i].rc;
		job->err_no = items[i].rc < 0 ? items[i].err_no : 0;
		snprintf(job->err, sizeof(job->err), "%s", items[i].err);
	}
}

static void commit_done(struct work *w)
{
	smtpd_commit_done((struct commit_job *)w);
}

void commit_job_init(struct commit_job *job, struct smtpd_session *s)
{
	job->w.run_batch = commit_run_batch;
	job->w.lane = WORK_COMMIT;
	job->w.done = commit_done;
	job->w.session = s;
}

void commit_job_free(struct commit_job *job)
{
	qf_env_free(&job->env);
	free(job->sender_given);
	free(job->msgid);
	free(job->relay);
	free(job->daemon);
	free(job->proto);
	free(job->extra);
	free(job);
}
