/* runner: the delivery processes the daemon starts.  Newly queued IDs are
 * batched to a forked runner (at most MaxQueueChildren at once, none while
 * the load is at QueueLA), and -q<interval> forks full queue runs.
 *
 * A runner for new mail is kept for further batches: when it has done
 * one it says so over its socket (one byte), and the next IDs go to it
 * (one datagram, an ID a line) rather than to a new fork, which with its
 * local delivery agent costs two forks and their start-up for a batch of
 * one or two messages at a steady rate.  One idle for RUNNER_IDLE_MS is
 * let go (its socket closed: it exits), as is every one when the daemon
 * stops or restarts (the sockets close with it). */
#include "mtad.h"
#include "daemon_int.h"
#include "loop.h"
#include "mci.h"
#include "msp.h"
#include "config.h"
#include "diag.h"
#include "qid.h"
#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH_MAX 256
#define RUNNER_IDLE_MS 5000	/* a kept runner idle this long is let go */

/* A runner kept for further batches of new mail. */
struct kept {
	pid_t pid;
	int fd;			/* our end of its socket; -1 once let go */
	int idle;		/* it has said it is ready for more */
	long long idle_since;	/* loop_now_ms() */
};
static struct kept **kept;
static size_t nkept;

static char **pending;		/* queued IDs waiting for a runner */
static size_t npending;
static int nrunners;

void runner_queued(const char *qid)
{
	char mode = conf_str(C_DELIVERY_MODE)[0];
	if ((mode == 'q' || mode == 'd') && !smtpd_hook_flush)
		return;		/* (ETRN's IDs go now, whatever the mode) */
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

/* In a kept runner: after each batch, ready for the next; until the
 * daemon closes its end (let go, stopping, or gone). */
static void runner_child(int sock, const char *qdir)
{
	char buf[BATCH_MAX * (QID_MAXLEN + 1) + 1];
	char *batch[BATCH_MAX];
	for (;;) {
		if (send(sock, "r", 1, MSG_NOSIGNAL) != 1)
			break;
		ssize_t k;
		while ((k = recv(sock, buf, sizeof(buf) - 1, 0)) < 0 && errno == EINTR)
			;
		if (k <= 0)
			break;
		buf[k] = '\0';
		size_t n = 0;
		char *save = NULL;
		for (char *t = strtok_r(buf, "\n", &save); t && n < BATCH_MAX; t = strtok_r(NULL, "\n", &save))
			if (qid_valid(t))
				batch[n++] = t;
		mci_forget();	/* host marks as a new delivery process has them: none */
		deliver_batch(qdir, batch, n);
	}
}

static void let_go(struct kept *r)
{
	if (r->fd >= 0) {
		loop_unwatch(r->fd);
		close(r->fd);
	}
	r->fd = -1;
	r->idle = 0;
}

static void runner_ready(void *arg, uint32_t events)
{
	(void)events;
	struct kept *r = arg;
	char c;
	ssize_t k = recv(r->fd, &c, 1, MSG_DONTWAIT);
	if (k == 1) {
		r->idle = 1;
		r->idle_since = loop_now_ms();
	} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
		let_go(r);	/* it is on its way out */
	}
}

/* The next pending IDs to an idle kept runner: 1 sent, 0 none idle. */
static int give_batch(void)
{
	for (size_t i = 0; i < nkept; i++) {
		struct kept *r = kept[i];
		if (!r->idle || r->fd < 0)
			continue;
		size_t take = npending < BATCH_MAX ? npending : BATCH_MAX;
		struct strbuf b;
		sb_init(&b);
		for (size_t j = 0; j < take; j++)
			sb_printf(&b, "%s\n", pending[j]);
		ssize_t k = send(r->fd, b.s, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int sent = k == (ssize_t)b.len;
		sb_free(&b);
		if (!sent) {
			let_go(r);	/* gone meanwhile: the IDs stay pending */
			continue;
		}
		r->idle = 0;
		for (size_t j = 0; j < take; j++)
			free(pending[j]);
		memmove(pending, pending + take, (npending - take) * sizeof(char *));
		npending -= take;
		return 1;
	}
	return 0;
}

static void start_runner(int full_run)
{
	size_t take = npending < BATCH_MAX ? npending : BATCH_MAX;
	int sv[2] = { -1, -1 };
	if (!full_run && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		sv[0] = sv[1] = -1;	/* then a runner for this batch only */
	pid_t pid = fork();
	if (pid < 0) {
		msg_warn("fork of delivery process failed: %s; mail stays queued", strerror(errno));
		if (sv[0] >= 0) {
			close(sv[0]);
			close(sv[1]);
		}
		return;
	}
	if (pid == 0) {
		child_detach();
		if (sv[0] >= 0)
			close(sv[0]);
		const char *qdir = mtad_queue_dir();
		if (full_run) {
			queue_run(qdir, 0, NULL, 1);
		} else {
			deliver_batch(qdir, pending, take);
			if (sv[1] >= 0)
				runner_child(sv[1], qdir);
		}
		_exit(0);
	}
	if (sv[0] >= 0) {
		close(sv[1]);
		struct kept *r = xcalloc(1, sizeof(*r));
		r->pid = pid;
		r->fd = sv[0];
		kept = xreallocarray(kept, nkept + 1, sizeof(*kept));
		kept[nkept++] = r;
		loop_watch(r->fd, EPOLLIN, runner_ready, r);
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
	/* the MSP queue (what users queued while no daemon ran) is handed over
	 * at start and with every periodic run */
	static time_t msp_next;
	if (msp_next >= 0 && time(NULL) >= msp_next && privsep_is_spawner()) {
		if (msp_handover() > 0)
			nrunners++;
		msp_next = queue_interval > 0 ? time(NULL) + queue_interval : -1;
	}
	if (*next_run && time(NULL) >= *next_run && nrunners < conf_num(C_MAX_QUEUE_CHILDREN)) {
		start_runner(1);
		*next_run = time(NULL) + queue_interval;
	}
	long long now = loop_now_ms();
	int run_due = *next_run && time(NULL) >= *next_run;
	for (size_t i = 0; i < nkept; i++)	/* idle too long, or a queue run wants the slot */
		if (kept[i]->idle && (now - kept[i]->idle_since >= RUNNER_IDLE_MS || run_due))
			let_go(kept[i]);
	long qla = conf_num(C_QUEUE_LA);
	int overloaded = qla > 0 && load_average() >= (double)qla;
	while (!overloaded && npending > 0) {
		if (give_batch())
			continue;
		if (nrunners >= conf_num(C_MAX_QUEUE_CHILDREN))
			break;
		start_runner(0);
	}
}

void runner_reaped(pid_t pid)
{
	for (size_t i = 0; i < nkept; i++) {
		if (kept[i]->pid == pid) {
			let_go(kept[i]);
			free(kept[i]);
			kept[i] = kept[--nkept];
			break;
		}
	}
	nrunners--;
}
