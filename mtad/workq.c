/* workq: worker threads and the queue of work between them and the loop. */
#include "workq.h"
#include "diag.h"
#include "xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct work *queue_head, *queue_tail, *done_head, *done_tail;
static pthread_t *workers;
static int nworkers, stopping, efd = -1;

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		while (!queue_head && !stopping)
			pthread_cond_wait(&wake, &lock);
		struct work *job = queue_head;
		if (job) {
			queue_head = job->next;
			if (!queue_head)
				queue_tail = NULL;
		}
		pthread_mutex_unlock(&lock);
		if (!job)
			return NULL;	/* stopping and nothing left */
		job->next = NULL;
		job->run(job);
		pthread_mutex_lock(&lock);
		if (done_tail)
			done_tail->next = job;
		else
			done_head = job;
		done_tail = job;
		pthread_mutex_unlock(&lock);
		uint64_t one = 1;
		if (write(efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; the loop polls anyway */
		}
	}
}

int workq_start(int n)
{
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return -1;
	workers = xcalloc((size_t)n, sizeof(*workers));
	for (int i = 0; i < n; i++) {
		if (pthread_create(&workers[i], NULL, worker, NULL) != 0) {
			msg_warn("worker thread: %s; working in the event loop", strerror(errno));
			break;
		}
		nworkers++;
	}
	if (nworkers == 0) {
		close(efd);
		efd = -1;
		return -1;
	}
	return efd;
}

int workq_async(void)
{
	return nworkers > 0;
}

void workq_submit(struct work *job)
{
	job->next = NULL;
	pthread_mutex_lock(&lock);
	if (queue_tail)
		queue_tail->next = job;
	else
		queue_head = job;
	queue_tail = job;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

struct work *workq_take_done(void)
{
	uint64_t n;
	if (efd >= 0 && read(efd, &n, sizeof(n)) < 0) {
		/* nothing signalled: the list may still hold jobs */
	}
	pthread_mutex_lock(&lock);
	struct work *list = done_head;
	done_head = done_tail = NULL;
	pthread_mutex_unlock(&lock);
	return list;
}

void workq_stop(void)
{
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	nworkers = 0;
	free(workers);
	workers = NULL;
}

void workq_inline(struct work *w)
{
	w->run(w);
	w->done(w);
}
