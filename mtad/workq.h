/* workq: a few worker threads for what must not stall the event loop:
 * queue commits (fsyncs) and DNS lookups.  A piece of work runs in a
 * worker, then comes back to the loop, which calls its done() there.  The
 * session that waits for it holds it in s->waiting and reads no input
 * meanwhile; a session that goes away clears w->session, and the work is
 * finished without anyone to answer. */
#ifndef MTAD_WORKQ_H
#define MTAD_WORKQ_H

#include <stddef.h>

struct smtpd_session;

/* WORK_COMMIT: queue commits only, on threads of their own, so that what
 * waits meanwhile is taken as one batch (group commit) */
enum work_lane { WORK_DISK = 0, WORK_NET = 1, WORK_COMMIT = 2 };
#define WORK_LANES 3
#define WORK_BATCH_MAX 64

struct work {
	void (*run)(struct work *w);	/* in a worker thread: no session access */
	/* or, when set: runs w and the others of its kind waiting in the lane
	 * at that moment (at most WORK_BATCH_MAX), all in one call */
	void (*run_batch)(struct work **v, size_t n);
	enum work_lane lane;		/* WORK_DISK (df creation, crypt), WORK_NET (DNS), WORK_COMMIT */
	void (*done)(struct work *w);	/* in the event loop; frees w */
	struct smtpd_session *session;	/* who waits, or NULL */
	struct work *next;
};

/* Starts the workers of each lane; returns the eventfd the loop watches,
 * or -1 (then work is done inline, as in -bs and -bt). */
int workq_start(int disk_threads, int net_threads, int commit_threads);
int workq_async(void);
void workq_submit(struct work *w);
/* Finished work, in the order it finished (event loop). */
struct work *workq_take_done(void);
/* Lets the disk lane finish what is queued (commits), then stops; the
 * network lane's lookups are abandoned. */
void workq_stop(void);
/* Puts w (nothing to run) straight on the finished list: its done() comes
 * from the loop like any work's (milter verdicts use it). */
void workq_complete(struct work *w);
/* Runs w now and calls its done(): what the loop does without workers. */
void workq_inline(struct work *w);

#endif
