/* daemon_int.h: how the parts of the daemon (daemon.c, listen.c, conn.c,
 * privsep.c, runner.c) talk to each other.  The event loop they share is
 * loop.h. */
#ifndef MTAD_DAEMON_INT_H
#define MTAD_DAEMON_INT_H
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

/* listen.c: the listening sockets, ConnectionRateThrottle, RefuseLA,
 * MaxDaemonChildren. */
int listen_open(const char *spec);	/* one DaemonPortOptions entry */
int listen_count(void);
const char *listen_first_address(void);	/* "[addr]:port", "" if none */
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

/* privsep.c: the SMTP server and the process that starts deliveries
 * (root, when started as root). */
/* RunAsUser's ids: 0, 1 when it is root (no change), -1 unknown (logged) */
int privsep_run_as(uid_t *uid, gid_t *gid);
void privsep_give_queue(uid_t uid, gid_t gid);
int privsep_split(void);		/* forks; sets the roles below */
int privsep_is_smtp(void);		/* this process serves SMTP */
int privsep_is_spawner(void);		/* this process starts deliveries */
int privsep_is_child(void);		/* this is the forked half */
int privsep_dropped(void);		/* 1: the SMTP server is RunAsUser */
void privsep_die_with_parent(pid_t parent);	/* in a child: SIGTERM when it goes */
void privsep_watch(void);		/* the spawner watches the queue-ID pipe */
int privsep_reaped(pid_t pid);		/* 1: pid was the other half */
void privsep_stop_child(void);		/* SIGTERM to the other half (our child), and wait */

/* runner.c: delivery processes. */
void runner_queued(const char *qid);	/* a new queue ID (smtpd_queued_hook) */
/* Starts a queue run when *next_run is due and delivery processes for
 * pending IDs, within MaxQueueChildren and QueueLA. */
void runner_tick(long queue_interval, time_t *next_run);
void runner_reaped(pid_t pid);	/* a child of ours exited */

#endif
