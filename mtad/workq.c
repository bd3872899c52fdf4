/* workq: worker threads and the queues of work between them and the loop.
 * Two lanes with threads of their own: the disk lane (commits, crypt) and
 * the network lane (DNS), so that lookups waiting on a slow resolver can
 * never hold up the 250s of messages being committed. */
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

struct lane {
	pthread_cond_t wake;
	struct work *head, *tail;
	pthread_t *threads;
	int nthreads;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct lane lanes[WORK_LANES] = {
	{ .wake = PTHREAD_COND_INITIALIZER }, { .wake = PTHREAD_COND_INITIALIZER },
	{ .wake = PTHREAD_COND_INITIALIZER },
};
static struct work *done_head, *done_tail;
static int stopping, efd = -1, started;

/* With the lock held: takes job's kind of work (same run_batch) out of
 * the lane into v after job; returns how many v holds. */
static size_t take_batch(struct lane *l, struct work *job, struct work **v)
{
	size_t n = 0;
	v[n++] = job;
	if (!job->run_batch)
		return n;
	struct work **link = &l->head, *prev = NULL;
	while (*link && n < WORK_BATCH_MAX) {
		struct work *w = *link;
		if (w->run_batch == job->run_batch) {
			*link = w->next;
			if (l->tail == w)
				l->tail = prev;
			w->next = NULL;
			v[n++] = w;
		} else {
			prev = w;
			link = &w->next;
		}
	}
	return n;
}

static void *worker(void *arg)
{
	struct lane *l = arg;
	struct work *v[WORK_BATCH_MAX];
	for (;;) {
		pthread_mutex_lock(&lock);
		while (!l->head && !stopping)
			pthread_cond_wait(&l->wake, &lock);
		struct work *job = l->head;
		size_t n = 0;
		if (job) {
			l->head = job->next;
			if (!l->head)
				l->tail = NULL;
			job->next = NULL;
			n = take_batch(l, job, v);
		}
		pthread_mutex_unlock(&lock);
		if (!job)
			return NULL;	/* stopping and nothing left */
		if (job->run_batch)
			job->run_batch(v, n);
		else
			job->run(job);
		pthread_mutex_lock(&lock);
		for (size_t i = 0; i < n; i++) {
			if (done_tail)
				done_tail->next = v[i];
			else
				done_head = v[i];
			done_tail = v[i];
		}
		pthread_mutex_unlock(&lock);
		uint64_t one = 1;
		if (write(efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; the loop polls anyway */
		}
	}
}

int workq_start(int disk_threads, int net_threads, int commit_threads)
{
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return -1;
	int want[WORK_LANES] = { disk_threads, net_threads, commit_threads };
	for (int k = 0; k < WORK_LANES; k++) {
		struct lane *l = &lanes[k];
		l->threads = xcalloc((size_t)want[k], sizeof(*l->threads));
		for (int i = 0; i < want[k]; i++) {
			if (pthread_create(&l->threads[i], NULL, worker, l) != 0) {
				msg_warn("worker thread: %s", strerror(errno));
				break;
			}
			l->nthreads++;
		}
	}
	if (lanes[WORK_DISK].nthreads == 0 || lanes[WORK_NET].nthreads == 0 || lanes[WORK_COMMIT].nthreads == 0) {
		msg_warn("no worker threads: working in the event loop");
		workq_stop();
		close(efd);
		efd = -1;
		return -1;
	}
	started = 1;
	return efd;
}

int workq_async(void)
{
	return started;
}

void workq_submit(struct work *job)
{
	struct lane *l = &lanes[job->lane == WORK_NET || job->lane == WORK_COMMIT ? job->lane : WORK_DISK];
	job->next = NULL;
	pthread_mutex_lock(&lock);
	if (l->tail)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
	pthread_cond_signal(&l->wake);
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
	for (int k = 0; k < WORK_LANES; k++)
		pthread_cond_broadcast(&lanes[k].wake);
	pthread_mutex_unlock(&lock);
	/* commits in flight are finished; lookups are abandoned (their
	 * sessions are gone), so a dead resolver cannot hold up a shutdown */
	for (int k = 0; k < WORK_LANES; k++) {
		struct lane *l = &lanes[k];
		if (k == WORK_NET)
			continue;
		for (int i = 0; i < l->nthreads; i++)
			pthread_join(l->threads[i], NULL);
		l->nthreads = 0;
		free(l->threads);
		l->threads = NULL;
	}
	started = 0;
}

void workq_complete(struct work *w)
{
	w->next = NULL;
	pthread_mutex_lock(&lock);
	if (done_tail)
		done_tail->next = w;
	else
		done_head = w;
	done_tail = w;
	pthread_mutex_unlock(&lock);
	uint64_t one = 1;
	if (write(efd, &one, sizeof(one)) < 0) {
		/* as in worker(): the loop reads the list anyway */
	}
}

void workq_inline(struct work *w)
{
	if (w->run_batch)
		w->run_batch(&w, 1);
	else
		w->run(w);
	w->done(w);
}
