/* daemon: mtad -bd/-bD.  Startup (listeners, detaching, the pid file, the
 * privilege split), signals, the main loop, and shutdown or restart.  The
 * parts: listen.c (listening sockets, throttles), conn.c (the SMTP
 * sessions), privsep.c (root parent, unprivileged SMTP server), runner.c
 * (delivery processes and queue runs), loop.c (the event loop). */
#include "mtad.h"
#include "daemon_int.h"
#include "loop.h"
#include "startcheck.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "workq.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static int sigfd = -1;
static int stopping;
static int restarting;

static void handle_signals(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD: {
			pid_t pid;
			while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
				if (privsep_reaped(pid)) {
					if (!stopping)
						maillog(NULL, "SYSERR: the %s (pid %ld) exited; stopping",
							privsep_is_smtp() ? "delivery starter" : "SMTP server", (long)pid);
					stopping = 1;
				} else {
					runner_reaped(pid);
				}
			}
			break;
		}
		case SIGTERM:
		case SIGINT:
			stopping = 1;
			break;
		case SIGHUP:
			if (privsep_is_child())
				break;		/* the parent restarts everything */
			restarting = 1;
			stopping = 1;
			break;
		default:
			break;
		}
	}
}

/* The pid file, locked (a POSIX record lock: not inherited by children,
 * released when this process dies however it dies), so that a second
 * daemon is refused and a restart after kill -9 needs no cleaning up. */
static int write_pidfile(void)
{
	const char *path = conf_str(C_PID_FILE);
	if (!*path)
		return 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		msg_warn("cannot write pid file %s: %s", path, strerror(errno));
		return 0;
	}
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		char other[32] = "";
		ssize_t n = pread(fd, other, sizeof(other) - 1, 0);
		other[n > 0 ? n : 0] = '\0';
		other[strcspn(other, "\n")] = '\0';
		msg_error("pid file %s is locked: another mtad (pid %s) is running", path, *other ? other : "?");
		close(fd);
		return -1;
	}
	char line[32];
	int len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)len, 0) != len)
		msg_warn("cannot write pid file %s: %s", path, strerror(errno));
	/* fd stays open (close-on-exec): closing it would drop the lock */
	return 0;
}

int daemon_run(int background, long queue_interval, char **argv)
{
	int rc = startup_check(1);	/* as the user that will use each file */
	if (rc != 0) {
		fprintf(stderr, "mtad: not started: fix the problems above (mtad -bC checks again)\n");
		return rc;
	}
	conn_tls_init();
	for (size_t i = 0; i < conf_list_count(C_DAEMON_PORT_OPTIONS); i++)
		if (listen_open(conf_list_get(C_DAEMON_PORT_OPTIONS, i)) < 0)
			return EX_OSERR;
	fflush(stderr);
	if (background) {
		pid_t pid = fork();
		if (pid < 0) {
			msg_error("fork: %s", strerror(errno));
			return EX_OSERR;
		}
		if (pid > 0)
			_exit(0);
		setsid();
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
			if (devnull > 2)
				close(devnull);
		}
		diag_set_dest(DIAG_SYSLOG);
	}
	if (write_pidfile() < 0)
		return EX_TEMPFAIL;
	if (privsep_split() < 0)
		return EX_OSERR;
	int is_child = privsep_is_child();
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0 || loop_init() < 0) {
		msg_error("event loop set-up failed: %s", strerror(errno));
		return EX_OSERR;
	}
	loop_watch(sigfd, EPOLLIN, handle_signals, NULL);
	listen_watch();
	if (privsep_is_spawner() && privsep_is_smtp())
		smtpd_queued_hook = runner_queued;	/* one process (no listeners) */
	/* 2 threads create df files (and hash AUTH secrets), 8 wait on DNS;
	 * the commits go to threads of their own, each taking every commit
	 * waiting at that moment as one batch (group commit) */
	int commit_fd = -1;
	if (listen_count() > 0 && (commit_fd = workq_start(2, 8, 2)) >= 0)
		loop_watch(commit_fd, EPOLLIN, conn_work_done, NULL);
	privsep_watch();
	if (!privsep_is_spawner())
		queue_interval = 0;	/* queue runs are the other half's */
	if (!is_child)
		maillog(NULL, "starting daemon (" MTAD_VERSION "): SMTP%s%s", queue_interval > 0 ? "+queueing" : "",
			privsep_dropped() ? " (SMTP server unprivileged)" : "");
	time_t next_run = queue_interval > 0 ? time(NULL) : 0;
	while (!stopping) {
		runner_tick(queue_interval, &next_run);
		int wait_ms = conn_greet_due(1000);
		listen_throttle_check(&wait_ms);
		if (loop_once(wait_ms) < 0)
			break;
		conn_check_timeouts();
	}
	/* SIGTERM: no new sessions; open sessions end without a 250, so the
	 * client keeps responsibility for anything not yet accepted. */
	listen_close_all();
	conn_close_all();
	if (commit_fd >= 0) {		/* what is in flight is finished and logged */
		workq_stop();
		conn_work_done(NULL, 0);
	}
	privsep_stop_child();
	if (is_child)
		_exit(0);
	if (restarting) {
		/* SIGHUP: as sendmail, start again from the top with the same
		 * command line, so the configuration is read anew.  Listeners are
		 * closed above.  With -bD the pid stays the same; with -bd the
		 * new image detaches again, with a new pid in the pid file. */
		maillog(NULL, "restarting %s due to signal", "/proc/self/exe");
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		loop_child_close();	/* (close-on-exec already; tidy) */
		execv("/proc/self/exe", argv);
		msg_error("cannot restart: %s; exiting", strerror(errno));
		return EX_OSERR;
	}
	maillog(NULL, "stopping daemon, reason=signal");
	const char *pidf = conf_str(C_PID_FILE);
	if (*pidf)
		unlink(pidf);
	return 0;
}
