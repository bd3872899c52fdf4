/* commit: the durable half of accepting a message, as work for lib-free
 * worker threads (mtad/workq.c): enqueue_commit in a worker, the reply and
 * the from= line back in the event loop. */
#include "commit.h"

#include <errno.h>
#include <stdlib.h>

static void commit_run(struct work *w)
{
	struct commit_job *job = (struct commit_job *)w;
	errno = 0;
	job->rc = enqueue_commit(&job->eq, &job->env, job->err, sizeof(job->err));
	job->err_no = job->rc < 0 ? (job->eq.err_no ? job->eq.err_no : errno) : 0;
}

static void commit_done(struct work *w)
{
	smtpd_commit_done((struct commit_job *)w);
}

void commit_job_init(struct commit_job *job, struct smtpd_session *s)
{
	job->w.run = commit_run;
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
