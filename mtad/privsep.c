/* privsep: privilege separation.  Started as root, mtad binds its
 * listeners, then forks: the SMTP server (every byte from the network)
 * runs as RunAsUser (default "mail"); the parent stays root only to start
 * delivery processes (mailboxes belong to their users) and learns of
 * queued messages through a pipe, one ID a line.  Not root, or
 * RunAsUser=root: one process. */
#include "mtad.h"
#include "daemon_int.h"
#include "loop.h"
#include "config.h"
#include "diag.h"
#include "pwcache.h"
#include "qid.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

static int idpipe[2] = { -1, -1 };	/* SMTP server -> the process that starts deliveries */
static pid_t helper;		/* the other process, when it is our child */
static int is_smtp = 1;		/* this process serves SMTP */
static int is_spawner = 1;	/* this process starts delivery processes */
static int is_child;		/* forked by privsep_split */
static int dropped;		/* the SMTP server runs as RunAsUser */
static struct strbuf idbuf;

static void queued_to_spawner(const char *qid)
{
	char line[QID_MAXLEN + 3];
	int n = snprintf(line, sizeof(line), "%s%s\n", smtpd_hook_flush ? "!" : "", qid);	/* !: ETRN */
	/* a pipe write this small is atomic; if the other process is gone the
	 * message simply waits in the queue for the next run */
	if (write(idpipe[1], line, (size_t)n) != n)
		msg_warn("%s: cannot tell the queue manager (%s); it stays queued", qid, strerror(errno));
}

static void read_ids(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	char buf[4096];
	ssize_t n = read(idpipe[0], buf, sizeof(buf));
	if (n <= 0)
		return;
	sb_append(&idbuf, buf, (size_t)n);
	char *start = idbuf.s, *nl;
	while ((nl = memchr(start, '\n', idbuf.len - (size_t)(start - idbuf.s))) != NULL) {
		*nl = '\0';
		int flush = start[0] == '!';
		if (qid_valid(start + flush)) {
			smtpd_hook_flush = flush;
			runner_queued(start + flush);
			smtpd_hook_flush = 0;
		}
		start = nl + 1;
	}
	size_t rest = idbuf.len - (size_t)(start - idbuf.s);
	memmove(idbuf.s, start, rest);
	sb_truncate(&idbuf, rest);
}

/* RunAsUser: "user" or "user:group"; "" means "mail".  Returns 0 with the
 * ids, 1 when no change is wanted (root), -1 when the user is unknown. */
int privsep_run_as(uid_t *uid, gid_t *gid)
{
	char spec[256];
	snprintf(spec, sizeof(spec), "%s", *conf_str(C_RUN_AS_USER) ? conf_str(C_RUN_AS_USER) : "mail");
	char *group = strchr(spec, ':');
	if (group)
		*group++ = '\0';
	struct pw_entry pw;
	if (pwcache_byname(spec, &pw) != 1) {
		msg_error("RunAsUser: no user %s (create it, or set RunAsUser)", spec);
		return -1;
	}
	if (pw.uid == 0)
		return 1;
	*uid = pw.uid;
	*gid = pw.gid;
	if (group) {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			msg_error("RunAsUser: no group %s", group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* The queue must be writable by the SMTP server: give it the directories. */
void privsep_give_queue(uid_t uid, gid_t gid)
{
	const char *qdir = conf_str(C_QUEUE_DIR);
	static const char *const subs[] = { "", "/qf", "/df", "/xf", NULL };
	for (int i = 0; subs[i]; i++) {
		char path[2048];
		struct stat st;
		snprintf(path, sizeof(path), "%s%s", qdir, subs[i]);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid != uid &&
		    chown(path, uid, gid) < 0)
			msg_warn("cannot give queue directory %s to uid %ld: %s", path, (long)uid, strerror(errno));
	}
}

/* Splits the daemon in two: the SMTP server (event loop, worker threads)
 * and the process that starts delivery processes, which must have no
 * threads when it forks.  As root (RunAsUser not root) the SMTP server is
 * the child and drops to RunAsUser; the parent stays root.  Otherwise the
 * SMTP server stays the parent (same pid, as before) and the child starts
 * the deliveries.  The child dies with its parent.  Returns 0 in both
 * processes (the roles are set), -1 on failure. */
int privsep_split(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int drop = 0;
	if (listen_count() == 0)
		return 0;		/* no SMTP server: no threads, one process */
	if (geteuid() == 0) {
		int rc = privsep_run_as(&uid, &gid);
		if (rc < 0)
			return -1;
		drop = rc == 0;
	}
	if (drop)
		privsep_give_queue(uid, gid);
	if (pipe2(idpipe, O_CLOEXEC) < 0) {
		msg_error("pipe: %s", strerror(errno));
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		msg_error("fork: %s", strerror(errno));
		return -1;
	}
	is_child = pid == 0;
	/* root: the child serves SMTP; else the parent does */
	is_smtp = drop ? is_child : !is_child;
	is_spawner = !is_smtp;
	dropped = drop;
	if (is_child) {
		if (drop && (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || getuid() == 0)) {
			msg_error("cannot drop privileges to uid %ld: %s", (long)uid, strerror(errno));
			_exit(EX_OSERR);
		}
		privsep_die_with_parent(parent);
	} else {
		helper = pid;
	}
	if (is_smtp) {
		close(idpipe[0]);
		idpipe[0] = -1;
		smtpd_queued_hook = queued_to_spawner;
	} else {
		close(idpipe[1]);
		idpipe[1] = -1;
		listen_close_all();
		sb_init(&idbuf);
	}
	return 0;
}

/* SIGTERM when the parent dies (set after setuid, which clears it), and
 * the parent already gone before that is noticed too: the listeners go
 * with it, so a restart can bind at once. */
void privsep_die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		msg_warn("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
	if (getppid() != parent)
		raise(SIGTERM);
}

int privsep_dropped(void)
{
	return dropped;
}

int privsep_is_smtp(void)
{
	return is_smtp;
}

int privsep_is_spawner(void)
{
	return is_spawner;
}

int privsep_is_child(void)
{
	return is_child;
}

void privsep_watch(void)
{
	if (is_spawner && idpipe[0] >= 0)
		loop_watch(idpipe[0], EPOLLIN, read_ids, NULL);
}

int privsep_reaped(pid_t pid)
{
	if (helper > 0 && pid == helper) {
		helper = 0;
		return 1;
	}
	return 0;
}

void privsep_stop_child(void)
{
	if (helper > 0) {		/* the other half is stopped first */
		kill(helper, SIGTERM);
		while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
			;
		helper = 0;
	}
}
