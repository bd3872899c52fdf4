/* runner: the delivery processes the daemon starts.  Newly queued IDs are
 * batched to a forked runner (at most MaxQueueChildren at once, none while
 * the load is at QueueLA), and -q<interval> forks full queue runs. */
#include "mtad.h"
#include "daemon_int.h"
#include "loop.h"
#include "config.h"
#include "diag.h"
#include "xalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_MAX 256

static char **pending;		/* queued IDs waiting for a runner */
static size_t npending;
static int nrunners;

void runner_queued(const char *qid)
{
	char mode = conf_str(C_DELIVERY_MODE)[0];
	if (mode == 'q' || mode == 'd')
		return;
	pending = xreallocarray(pending, npending + 1, sizeof(char *));
	pending[npending++] = xstrdup(qid);
}

/* In a forked child: drop what belongs to the parent's loop (the epoll
 * descriptor, listeners, sessions, signalfd, the workers' eventfd, the
 * queue-ID pipe: everything the loop watches). */
static void child_detach(void)
{
	/* (a commit thread may have a tf open at the fork: it holds no lock,
	 * see qf_write, so the copy inherited here is harmless) */
	loop_child_close();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void start_runner(int full_run)
{
	size_t take = npending < BATCH_MAX ? npending : BATCH_MAX;
	pid_t pid = fork();
	if (pid < 0) {
		msg_warn("fork of delivery process failed: %s; mail stays queued", strerror(errno));
		return;
	}
	if (pid == 0) {
		child_detach();
		const char *qdir = mtad_queue_dir();
		if (full_run) {
			queue_run(qdir, 0, NULL, 1);
		} else {
			for (size_t i = 0; i < take; i++)
				deliver_message(qdir, pending[i]);
		}
		_exit(0);
	}
	nrunners++;
	if (!full_run) {
		for (size_t i = 0; i < take; i++)
			free(pending[i]);
		memmove(pending, pending + take, (npending - take) * sizeof(char *));
		npending -= take;
	}
}

void runner_tick(long queue_interval, time_t *next_run)
{
	if (*next_run && time(NULL) >= *next_run && nrunners < conf_num(C_MAX_QUEUE_CHILDREN)) {
		start_runner(1);
		*next_run = time(NULL) + queue_interval;
	}
	long qla = conf_num(C_QUEUE_LA);
	int overloaded = qla > 0 && load_average() >= (double)qla;
	while (!overloaded && npending > 0 && nrunners < conf_num(C_MAX_QUEUE_CHILDREN))
		start_runner(0);
}

void runner_reaped(void)
{
	nrunners--;
}
