/* loop: the epoll event loop behind loop.h.  Watched descriptors live in a
 * table indexed by descriptor; each registration has a generation number,
 * carried in the epoll event, so an event for a descriptor unwatched (and
 * perhaps reused) earlier in the same round is recognised and dropped. */
#include "loop.h"
#include "diag.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct watch {
	loop_fn *fn;
	void *arg;
	uint32_t events;
	uint32_t gen;
	int used;
};

struct timer {
	loop_timer_t id;
	long long due;
	loop_fn *fn;
	void *arg;
	struct timer *next;
};

static int epfd = -1;
static struct watch *watches;
static size_t nwatches;
static uint32_t next_gen;
static struct timer *timers;	/* sorted by due */
static loop_timer_t next_timer_id;

long long loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int loop_init(void)
{
	if (epfd >= 0)
		return 0;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd < 0 ? -1 : 0;
}

int loop_watch(int fd, uint32_t events, loop_fn *fn, void *arg)
{
	if (fd < 0 || epfd < 0) {
		errno = EBADF;
		return -1;
	}
	if ((size_t)fd >= nwatches) {
		size_t n = nwatches ? nwatches : 64;
		while (n <= (size_t)fd)
			n *= 2;
		watches = xreallocarray(watches, n, sizeof(*watches));
		memset(watches + nwatches, 0, (n - nwatches) * sizeof(*watches));
		nwatches = n;
	}
	struct watch *w = &watches[fd];
	int op = w->used ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (!w->used)
		w->gen = ++next_gen;
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)w->gen << 32 };
	if ((op == EPOLL_CTL_ADD || w->events != events) && epoll_ctl(epfd, op, fd, &ev) < 0)
		return -1;
	w->fn = fn;
	w->arg = arg;
	w->events = events;
	w->used = 1;
	return 0;
}

void loop_unwatch(int fd)
{
	if (fd < 0 || (size_t)fd >= nwatches || !watches[fd].used)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	watches[fd].used = 0;
}

loop_timer_t loop_timer(long ms, loop_fn *fn, void *arg)
{
	struct timer *t = xcalloc(1, sizeof(*t));
	t->id = ++next_timer_id;
	t->due = loop_now_ms() + (ms > 0 ? ms : 0);
	t->fn = fn;
	t->arg = arg;
	struct timer **pp = &timers;
	while (*pp && (*pp)->due <= t->due)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	return t->id;
}

void loop_timer_cancel(loop_timer_t handle)
{
	for (struct timer **pp = &timers; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == handle) {
			struct timer *t = *pp;
			*pp = t->next;
			free(t);
			return;
		}
	}
}

/* Runs the timers due now (one at a time: a callback may add or cancel). */
static void run_timers(void)
{
	long long now = loop_now_ms();
	while (timers && timers->due <= now) {
		struct timer *t = timers;
		timers = t->next;
		loop_fn *fn = t->fn;
		void *arg = t->arg;
		free(t);
		fn(arg, 0);
	}
}

int loop_once(int max_ms)
{
	if (timers) {
		long long left = timers->due - loop_now_ms();
		if (left < 0)
			left = 0;
		if (max_ms < 0 || left < max_ms)
			max_ms = (int)left;
	}
	struct epoll_event evs[64];
	int n = epoll_wait(epfd, evs, 64, max_ms);
	if (n < 0 && errno != EINTR) {
		msg_error("epoll_wait: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		if ((size_t)fd >= nwatches || !watches[fd].used || watches[fd].gen != gen)
			continue;	/* unwatched by an earlier callback */
		watches[fd].fn(watches[fd].arg, evs[i].events);
	}
	run_timers();
	return 0;
}

void loop_child_close(void)
{
	for (size_t fd = 0; fd < nwatches; fd++) {
		if (watches[fd].used) {
			close((int)fd);
			watches[fd].used = 0;
		}
	}
	if (epfd >= 0)
		close(epfd);
	epfd = -1;
	while (timers) {
		struct timer *t = timers;
		timers = t->next;
		free(t);
	}
}
