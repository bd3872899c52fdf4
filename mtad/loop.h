/* loop: the daemon's one event loop (epoll), as a tiny generic API.
 *
 * Anything in the daemon process that waits on a descriptor (listeners,
 * SMTP sessions, the workers' eventfd, signals, the queue-ID pipe, a
 * milter socket) registers a callback here; one-shot timers cover
 * deadlines.  Everything runs in the loop's thread: callbacks must not
 * block (use non-blocking descriptors).
 *
 *   loop_init()          once, before anything is watched
 *   loop_watch(fd, EPOLLIN|EPOLLOUT, fn, arg)
 *                        starts watching fd, or changes what is watched
 *                        (events 0 keeps the registration but mutes it)
 *   loop_unwatch(fd)     before closing fd; safe from inside any callback,
 *                        also for a descriptor with an event pending in the
 *                        same round (that event is dropped)
 *   loop_timer(ms, fn, arg)
 *                        fn(arg, 0) once, ms milliseconds from now;
 *                        returns a handle (never 0) for loop_timer_cancel
 *   loop_once(max_ms)    waits at most max_ms (or until the next timer),
 *                        then runs the callbacks of what is ready and the
 *                        timers that are due; -1 on an epoll failure
 *
 * A callback gets the epoll events (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR)
 * that fired.  In a forked child, loop_child_close() closes the epoll
 * descriptor and every watched descriptor, so the child holds none of the
 * parent's sockets. */
#ifndef MTAD_LOOP_H
#define MTAD_LOOP_H
#include <stdint.h>
#include <sys/epoll.h>

typedef void loop_fn(void *arg, uint32_t events);
typedef unsigned long loop_timer_t;

int loop_init(void);
int loop_watch(int fd, uint32_t events, loop_fn *fn, void *arg);
void loop_unwatch(int fd);
loop_timer_t loop_timer(long ms, loop_fn *fn, void *arg);
void loop_timer_cancel(loop_timer_t handle);
int loop_once(int max_ms);
long long loop_now_ms(void);		/* CLOCK_MONOTONIC, in milliseconds */
void loop_child_close(void);

#endif
