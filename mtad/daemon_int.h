/* daemon_int.h: how the parts of the daemon (daemon.c, listen.c, conn.c,
 * privsep.c, runner.c) talk to each other.  The event loop they share is
 * loop.h. */
#ifndef MTAD_DAEMON_INT_H
#define MTAD_DAEMON_INT_H
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

/* listen.c: the listening sockets, ConnectionRateThrottle, RefuseLA,
 * MaxDaemonChildren. */
int listen_open(const char *spec);	/* one DaemonPortOptions entry */
int listen_count(void);
void listen_watch(void);		/* into the event loop */
void listen_close_all(void);
/* Brings paused listeners back when the throttle allows; shortens *wait_ms
 * while they stay paused. */
void listen_throttle_check(int *wait_ms);
double load_average(void);

/* conn.c: the SMTP sessions of the event loop, plain or TLS. */
void conn_tls_init(void);		/* the server certificate, read as root */
void conn_new(int fd, const struct sockaddr *ss, socklen_t sl, const char *name, const char *modifiers);
size_t conn_count(void);
int conn_greet_due(int max_wait);	/* GreetPause; ms until the next greeting */
void conn_work_done(void *arg, uint32_t events);	/* the workers' eventfd fired */
void conn_check_timeouts(void);
void conn_close_all(void);		/* shutdown: every session ends without a 250 */

/* privsep.c: root parent and unprivileged SMTP server. */
int privsep_split(void);		/* forks the SMTP server when root */
int privsep_is_smtp_child(void);
pid_t privsep_smtp_child(void);		/* in the parent: its pid, 0 if none */
void privsep_watch(void);		/* the parent watches the queue-ID pipe */
int privsep_reaped(pid_t pid);		/* 1: pid was the SMTP server */
void privsep_stop_child(void);		/* SIGTERM to the SMTP server, and wait */

/* runner.c: delivery processes. */
void runner_queued(const char *qid);	/* a new queue ID (smtpd_queued_hook) */
/* Starts a queue run when *next_run is due and delivery processes for
 * pending IDs, within MaxQueueChildren and QueueLA. */
void runner_tick(long queue_interval, time_t *next_run);
void runner_reaped(void);

#endif
