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
#include "qid.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

static int idpipe[2] = { -1, -1 };
static pid_t smtp_child;		/* in the parent: the SMTP server */
static int is_smtp_child;
static struct strbuf idbuf;

static void queued_to_parent(const char *qid)
{
	char line[QID_MAXLEN + 2];
	int n = snprintf(line, sizeof(line), "%s\n", qid);
	/* a pipe write this small is atomic; if the parent is gone the message
	 * simply waits in the queue for the next run */
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
		if (qid_valid(start))
			runner_queued(start);
		start = nl + 1;
	}
	size_t rest = idbuf.len - (size_t)(start - idbuf.s);
	memmove(idbuf.s, start, rest);
	sb_truncate(&idbuf, rest);
}

/* RunAsUser: "user" or "user:group"; "" means "mail".  Returns 0 with the
 * ids, 1 when no change is wanted (root), -1 when the user is unknown. */
static int run_as_ids(uid_t *uid, gid_t *gid)
{
	char spec[256];
	snprintf(spec, sizeof(spec), "%s", *conf_str(C_RUN_AS_USER) ? conf_str(C_RUN_AS_USER) : "mail");
	char *group = strchr(spec, ':');
	if (group)
		*group++ = '\0';
	struct passwd *pw = getpwnam(spec);
	if (pw == NULL) {
		msg_error("RunAsUser: no user %s (create it, or set RunAsUser)", spec);
		return -1;
	}
	if (pw->pw_uid == 0)
		return 1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
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
static void give_queue(uid_t uid, gid_t gid)
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

/* Forks the unprivileged SMTP server.  Returns 0 in both processes (the
 * roles are set), -1 on failure. */
int privsep_split(void)
{
	uid_t uid;
	gid_t gid;
	if (geteuid() != 0)
		return 0;
	int rc = run_as_ids(&uid, &gid);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return 0;		/* RunAsUser=root: as sendmail, one process */
	give_queue(uid, gid);
	if (pipe2(idpipe, O_CLOEXEC) < 0) {
		msg_error("pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		msg_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(idpipe[0]);
		idpipe[0] = -1;
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || getuid() == 0) {
			msg_error("cannot drop privileges to uid %ld: %s", (long)uid, strerror(errno));
			_exit(EX_OSERR);
		}
		is_smtp_child = 1;
		smtpd_queued_hook = queued_to_parent;
		return 0;
	}
	smtp_child = pid;
	close(idpipe[1]);
	idpipe[1] = -1;
	listen_close_all();
	sb_init(&idbuf);
	return 0;
}

int privsep_is_smtp_child(void)
{
	return is_smtp_child;
}

pid_t privsep_smtp_child(void)
{
	return smtp_child;
}

void privsep_watch(void)
{
	if (smtp_child > 0)
		loop_watch(idpipe[0], EPOLLIN, read_ids, NULL);
}

int privsep_reaped(pid_t pid)
{
	if (smtp_child > 0 && pid == smtp_child) {
		smtp_child = 0;
		return 1;
	}
	return 0;
}

void privsep_stop_child(void)
{
	if (smtp_child > 0) {		/* the parent stops the SMTP server first */
		kill(smtp_child, SIGTERM);
		while (waitpid(smtp_child, NULL, 0) < 0 && errno == EINTR)
			;
		smtp_child = 0;
	}
}
