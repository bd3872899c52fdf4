/* lda: the local delivery agent (see lda.h): the request channel, the
 * re-derivation of who may do what, and the workers that become the user. */
#include "lda.h"
#include "daemon_int.h"
#include "local.h"
#include "mtad.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "mbox.h"
#include "pwcache.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX 8192		/* names, target, sender, recipient */
#define FORWARD_MAX 65536	/* bytes of a .forward that are read */

static int lda_sock = -1;	/* in the unprivileged delivery process */
static int in_agent;		/* this process is the agent: one thread, root */
static gid_t agent_egid;	/* the agent's own group and groups, */
static gid_t *agent_groups;	/* to return to after each switch */
static int agent_ngroups;

/* Whom a worker becomes. */
struct who {
	int switch_user;	/* 0: stay what we are (not root) */
	uid_t uid;
	gid_t gid;
	gid_t extra_gid;	/* the mailbox directory's group, or (gid_t)-1 */
	char user[64];
	char home[1024];
};

/* What a worker reports: rc 0 sent, 1 temporary, 2 permanent. */
struct result {
	int rc;
	char err[512];
	struct strbuf text;	/* .forward contents */
};

/* ---- the workers ---- */

static int become(const struct who *w)
{
	gid_t groups[2] = { w->gid, w->extra_gid };
	size_t ngroups = w->extra_gid != (gid_t)-1 && w->extra_gid != w->gid ? 2 : 1;
	if (setgroups(ngroups, groups) < 0 || setgid(w->gid) < 0 || setuid(w->uid) < 0)
		return -1;
	if (w->uid != 0 && (getuid() == 0 || geteuid() == 0))
		return -1;
	return 0;
}

typedef void work_fn(void *ctx, const struct who *w, struct result *r);

/* Runs fn as w: in a forked worker that becomes w when we are root (the
 * result comes back over a pipe), else in this process. */
static void run_as(const struct who *w, work_fn *fn, void *ctx, struct result *r)
{
	r->rc = 1;
	r->err[0] = '\0';
	if (!w->switch_user) {
		fn(ctx, w, r);
		return;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(r->err, sizeof(r->err), "pipe: %s", strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(r->err, sizeof(r->err), "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		struct result mine = { .rc = 1 };
		sb_init(&mine.text);
		if (become(w) < 0)
			snprintf(mine.err, sizeof(mine.err), "cannot become %s (uid %ld): %s", w->user,
				 (long)w->uid, strerror(errno));
		else
			fn(ctx, w, &mine);
		struct strbuf out;
		sb_init(&out);
		sb_printf(&out, "%d\n%s\n", mine.rc, mine.err);
		sb_append(&out, mine.text.s, mine.text.len);
		size_t off = 0;
		while (off < out.len) {
			ssize_t k = write(p[1], out.s + off, out.len - off);
			if (k <= 0)
				break;
			off += (size_t)k;
		}
		_exit(0);
	}
	close(p[1]);
	struct strbuf in;
	sb_init(&in);
	char buf[8192];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			sb_append(&in, buf, (size_t)n);
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	char *nl1 = in.len ? memchr(in.s, '\n', in.len) : NULL;
	char *nl2 = nl1 ? memchr(nl1 + 1, '\n', in.len - (size_t)(nl1 + 1 - in.s)) : NULL;
	if (nl2 == NULL) {
		snprintf(r->err, sizeof(r->err), "local delivery worker died (status %d)", status);
	} else {
		r->rc = atoi(in.s);
		snprintf(r->err, sizeof(r->err), "%.*s", (int)(nl2 - nl1 - 1), nl1 + 1);
		sb_append(&r->text, nl2 + 1, in.len - (size_t)(nl2 + 1 - in.s));
	}
	sb_free(&in);
}

/* ---- mailboxes, files, .forward: only the effective ids switch ----
 *
 * As Postfix's local(8) (set_eugid): no code of the user's runs in these
 * paths, so the agent itself becomes the user for the file system (groups,
 * effective gid, effective uid), does the work and returns to root (uid
 * first, then gid, groups).  The real and saved uids stay 0 throughout:
 * the user can neither signal nor trace the agent (the switch also makes it
 * undumpable).  One thread, one request at a time: the switch is
 * process-wide and nothing else runs meanwhile.  If the agent cannot
 * return to root it stops at once: a half-switched agent never serves
 * another request (the delivery process sees it gone and defers). */

static int eugid_enter(const struct who *w)
{
	gid_t groups[2] = { w->gid, w->extra_gid };
	size_t ngroups = w->extra_gid != (gid_t)-1 && w->extra_gid != w->gid ? 2 : 1;
	if (setgroups(ngroups, groups) < 0 || setegid(w->gid) < 0 || seteuid(w->uid) < 0)
		return -1;
	return 0;
}

static void eugid_leave(void)
{
	if (seteuid(0) < 0 || setegid(agent_egid) < 0 ||
	    setgroups((size_t)agent_ngroups, agent_groups) < 0) {
		int e = errno;
		maillog(NULL, "SYSERR: local delivery agent cannot return to root (%s): it stops", strerror(e));
		msg_error("local delivery agent cannot return to root: %s", strerror(e));
		_exit(EX_OSERR);
	}
}

/* Runs fn as w for the file system: in the agent by switching its
 * effective ids; elsewhere (a root process that is not the agent may have
 * threads) in a forked worker, as run_as. */
static void run_switched(const struct who *w, work_fn *fn, void *ctx, struct result *r)
{
	if (!w->switch_user || !in_agent) {
		run_as(w, fn, ctx, r);
		return;
	}
	r->rc = 1;
	r->err[0] = '\0';
	if (eugid_enter(w) < 0) {
		int e = errno;
		eugid_leave();
		snprintf(r->err, sizeof(r->err), "cannot become %s (uid %ld): %s", w->user, (long)w->uid,
			 strerror(e));
		return;
	}
	fn(ctx, w, r);
	eugid_leave();
}

/* Whether home/.forward may exist: 0 when lstat() says there is no such
 * entry (ENOENT is certain at any privilege: the directory above was
 * searched; a symbolic link is an entry, refused and logged later), so
 * that most users, who have none, cost one lstat() and no switch. */
static int forward_may_exist(const char *home)
{
	char path[1100];
	struct stat st;
	if (!home[0] || strcmp(home, "/") == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/.forward", home);
	return lstat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

/* ---- programs: a fixed environment, default signals, no inherited
 * descriptors, the user's home, a time limit ---- */

struct prog {
	const char *command;
	const char *sender, *rcpt;
	const char *headers;
	size_t hlen;
	int df_fd;
	int smrsh;		/* from a .forward: only what SmrshDirectory holds */
};

static void child_exec(const struct prog *pr, const struct who *w, char **argv, int in_fd)
{
	setpgid(0, 0);
	dup2(in_fd, 0);
	int devnull = open("/dev/null", O_WRONLY);
	if (devnull >= 0) {
		dup2(devnull, 1);
		dup2(devnull, 2);
	}
	closefrom(3);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	const char *home = w->home[0] ? w->home : "/";
	if (chdir(home) < 0 && chdir("/") < 0)
		_exit(EX_TEMPFAIL);
	char e_home[1100], e_user[100], e_logname[100], e_sender[1100], e_rcpt[1100];
	snprintf(e_home, sizeof(e_home), "HOME=%s", home);
	snprintf(e_user, sizeof(e_user), "USER=%s", w->user);
	snprintf(e_logname, sizeof(e_logname), "LOGNAME=%s", w->user);
	snprintf(e_sender, sizeof(e_sender), "SENDER=%s", pr->sender);
	snprintf(e_rcpt, sizeof(e_rcpt), "RECIPIENT=%s", pr->rcpt);
	char *envp[] = { "PATH=/usr/bin:/bin", e_home, e_user, e_logname, "SHELL=/bin/sh", "AGENT=sendmail",
			 e_sender, e_rcpt, NULL };
	execve(argv[0], argv, envp);
	_exit(EX_UNAVAILABLE);
}

/* Writes the message to the program, within the deadline. */
static int feed(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		long long left = deadline - (long long)time(NULL) * 1000;
		if (left <= 0 || poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) < 0)
			return -1;
		if (!(pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
			continue;
		ssize_t k = write(fd, buf, len);
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

static void do_program(void *ctx, const struct who *w, struct result *r)
{
	const struct prog *pr = ctx;
	char *copy = xstrdup(pr->command), *save = NULL;
	char *argv[64], path[2048];
	int argc = 0;
	for (char *t = strtok_r(copy, " \t", &save); t && argc < 63; t = strtok_r(NULL, " \t", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	r->rc = 2;
	if (argc == 0) {
		snprintf(r->err, sizeof(r->err), "empty program");
		goto out;
	}
	if (pr->smrsh) {
		/* smrsh: the program's base name, looked up in SmrshDirectory */
		const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", conf_str(C_SMRSH_DIR), base);
		if (!*base || stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
			snprintf(r->err, sizeof(r->err), "program %s is not in %s (the programs a .forward may run)",
				 argv[0], conf_str(C_SMRSH_DIR));
			goto out;
		}
		argv[0] = path;
	} else if (argv[0][0] != '/') {
		snprintf(r->err, sizeof(r->err), "program \"%s\" must be named by its full path", pr->command);
		goto out;
	}
	int in[2];
	r->rc = 1;
	if (pipe2(in, O_CLOEXEC) < 0) {
		snprintf(r->err, sizeof(r->err), "pipe: %s", strerror(errno));
		goto out;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(r->err, sizeof(r->err), "fork: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		goto out;
	}
	if (pid == 0)
		child_exec(pr, w, argv, in[0]);
	close(in[0]);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	long long deadline = ((long long)time(NULL) + conf_num(C_TO_PROGRAM)) * 1000;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	int ok = feed(in[1], pr->headers, pr->hlen, deadline) == 0 && feed(in[1], "\n", 1, deadline) == 0;
	char buf[65536];
	ssize_t n = 0;
	if (ok && lseek(pr->df_fd, 0, SEEK_SET) != 0)
		ok = 0;
	while (ok && (n = read(pr->df_fd, buf, sizeof(buf))) > 0)
		ok = feed(in[1], buf, (size_t)n, deadline) == 0;
	close(in[1]);
	signal(SIGPIPE, old);
	int status = 0, timed_out = 0;
	for (;;) {
		pid_t k = waitpid(pid, &status, WNOHANG);
		if (k == pid || (k < 0 && errno != EINTR))
			break;
		if ((long long)time(NULL) * 1000 >= deadline && !timed_out) {
			kill(-pid, SIGKILL);	/* the program and what it started */
			kill(pid, SIGKILL);
			timed_out = 1;
		}
		struct timespec nap = { 0, 20 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	if (timed_out) {
		snprintf(r->err, sizeof(r->err), "program %s timed out (Timeout.program %s); killed", argv[0],
			 conf_str(C_TO_PROGRAM));
		r->rc = 1;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		r->rc = 0;
	} else {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		snprintf(r->err, sizeof(r->err), "program %s exited with status %d%s", pr->command, code,
			 ok ? "" : " (it did not read the whole message)");
		r->rc = code == EX_TEMPFAIL || !WIFEXITED(status) ? 1 : 2;
	}
out:
	free(copy);
}

/* ---- mailboxes and files ---- */

struct append {
	const char *path;
	const char *sender;
	const char *headers;
	size_t hlen;
	int df_fd;
	int mailbox;		/* a mailbox: one link, owned by its user */
	uid_t owner;
	int check_owner;
	int defer_sync;		/* 'm': the delivery process syncs (syncfs) */
};

static void do_append(void *ctx, const struct who *w, struct result *r)
{
	(void)w;
	const struct append *a = ctx;
	struct mbox_checks c = { .single_link = a->mailbox, .check_owner = a->check_owner, .owner = a->owner,
				 .defer_sync = a->defer_sync };
	if (lseek(a->df_fd, 0, SEEK_SET) != 0) {
		snprintf(r->err, sizeof(r->err), "cannot rewind data file: %s", strerror(errno));
		r->rc = 1;
		return;
	}
	r->rc = mbox_deliver_checked(a->path, &c, a->sender, time(NULL), a->headers, a->hlen, a->df_fd, r->err,
				     sizeof(r->err)) < 0 ? 1 : 0;
}

/* ---- .forward ---- */

static void do_read_forward(void *ctx, const struct who *w, struct result *r)
{
	(void)ctx;
	char path[1100];
	struct stat st;
	r->rc = 0;
	if (!w->home[0] || strcmp(w->home, "/") == 0)
		return;
	/* sendmail's safe path: the home directory not writable by others */
	if (stat(w->home, &st) < 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (st.st_uid != w->uid && st.st_uid != 0)) {
		if (errno != ENOENT && errno != EACCES)
			maillog(NULL, "%s: unsafe home directory %s (writable by others, or not owned by %s or root); "
				".forward ignored", w->user, w->home, w->user);
		return;
	}
	snprintf(path, sizeof(path), "%s/.forward", w->home);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == EACCES)
			return;
		maillog(NULL, "%s: %s: %s; ignored", w->user, path,
			errno == ELOOP ? "a symbolic link" : strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_uid != w->uid && st.st_uid != 0) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		maillog(NULL, "%s: %s is unsafe (not a regular file owned by %s or root, or writable by others); ignored",
			w->user, path, w->user);
		close(fd);
		return;
	}
	char buf[8192];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && r->text.len < FORWARD_MAX)
		sb_append(&r->text, buf, (size_t)n);
	close(fd);
	if (r->text.len > FORWARD_MAX)
		sb_truncate(&r->text, FORWARD_MAX);
	if (n < 0) {
		snprintf(r->err, sizeof(r->err), "cannot read %s: %s", path, strerror(errno));
		r->rc = -1;
		sb_reset(&r->text);
		return;
	}
	r->rc = 1;
}

/* ---- who is who ---- */

static int who_user(struct who *w, const struct pw_entry *pw)
{
	memset(w, 0, sizeof(*w));
	w->switch_user = geteuid() == 0;
	w->uid = pw->uid;
	w->gid = pw->gid;
	w->extra_gid = (gid_t)-1;
	snprintf(w->user, sizeof(w->user), "%s", pw->name);
	snprintf(w->home, sizeof(w->home), "%s", pw->dir[0] ? pw->dir : "/");
	return 0;
}

/* "user" or "user:group" (DefaultUser); -1 when unknown or root. */
static int who_spec(struct who *w, const char *spec_in)
{
	char spec[256];
	snprintf(spec, sizeof(spec), "%s", spec_in);
	char *group = strchr(spec, ':');
	if (group)
		*group++ = '\0';
	struct pw_entry pw;
	if (pwcache_byname(spec, &pw) != 1 || pw.uid == 0)
		return -1;
	who_user(w, &pw);
	if (group) {
		struct group *gr = getgrnam(group);
		if (gr == NULL)
			return -1;
		w->gid = gr->gr_gid;
	}
	snprintf(w->home, sizeof(w->home), "/");
	return 0;
}

/* Files and programs from an alias run as the owner of the file that
 * named them, or DefaultUser when that is root. */
static int who_owner(struct who *w, const char *file, char *err, size_t errsize)
{
	struct stat st;
	struct passwd *pw;
	if (stat(file, &st) == 0 && st.st_uid != 0 && (pw = getpwuid(st.st_uid)) != NULL) {
		struct pw_entry e = { .uid = pw->pw_uid, .gid = pw->pw_gid };
		snprintf(e.name, sizeof(e.name), "%s", pw->pw_name);
		snprintf(e.dir, sizeof(e.dir), "%s", pw->pw_dir ? pw->pw_dir : "");
		who_user(w, &e);
		return 0;
	}
	if (who_spec(w, conf_str(C_DEF_USER)) < 0) {
		snprintf(err, errsize, "DefaultUser %s is unknown or root", conf_str(C_DEF_USER));
		return -1;
	}
	return 0;
}

struct match {
	enum alias_kind kind;
	const char *text;
	int found;
	char include[1100];
};

static int match_cb(void *ctx, const struct alias_target *t)
{
	struct match *m = ctx;
	if (t->kind != m->kind || strcmp(t->text, m->text) != 0)
		return 0;
	m->found = 1;
	snprintf(m->include, sizeof(m->include), "%s", t->include ? t->include : "");
	return 1;
}

static int is_local_domain(void *ctx, const char *domain)
{
	(void)ctx;
	return conf_is_local_domain(domain);
}

static void lower(char *buf, size_t size, const char *s)
{
	snprintf(buf, size, "%s", s);
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* Finds the file or program target in what name expands to, in the
 * aliases or in name's .forward, and whom it runs as.  0 found, 1 refused
 * (err), -1 temporary failure (err). */
static int derive(char kind, const char *name, const char *target, struct who *w, int *smrsh, char *err,
		  size_t errsize)
{
	struct match m = { .kind = kind == 'F' ? ALIAS_FILE : ALIAS_PROGRAM, .text = target };
	char lname[256];
	lower(lname, sizeof(lname), name);
	*smrsh = 0;
	struct aliases *al = lname[0] ? local_aliases() : NULL;
	if (!al && lname[0] && local_aliases_broken()) {
		snprintf(err, errsize, "the aliases cannot be read");
		return -1;	/* cannot tell: try again, never refuse */
	}
	if (al) {
		struct alias_expand_opts opts = { .maxdepth = 10, .is_local_domain = is_local_domain };
		int rc = alias_expand(al, lname, &opts, match_cb, &m, err, errsize);
		if (rc == ALIAS_TEMPFAIL)
			return -1;
		if (m.found)
			return who_owner(w, m.include[0] ? m.include : conf_str(C_ALIAS_FILE), err, errsize) < 0 ? -1 : 0;
	}
	struct pw_entry pw;
	int found = lname[0] ? pwcache_byname(lname, &pw) : 0;
	if (found < 0) {
		snprintf(err, errsize, "cannot look %s up in passwd: %s", lname, strerror(errno));
		return -1;
	}
	if (found) {
		char *text = NULL;
		int rc = lda_forward(lname, &text, err, errsize);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			struct alias_list l = { 0 };
			char perr[256];
			alias_parse_rhs(text, &l, perr, sizeof(perr));
			for (size_t i = 0; i < l.n && !m.found; i++)
				if (l.v[i].kind == m.kind && strcmp(l.v[i].text, target) == 0)
					m.found = 1;
			alias_list_free(&l);
			free(text);
			if (m.found) {
				who_user(w, &pw);
				*smrsh = kind == 'P';
				return 0;
			}
		}
	}
	snprintf(err, errsize, "%s %s is not what %s expands to in the aliases or a .forward; refused",
		 kind == 'F' ? "file" : "program", target, lname[0] ? lname : "(nobody)");
	return 1;
}

/* The mailbox of a local name, and whom it is written as. */
static int mailbox_of(const char *name, char *path, size_t size, struct who *w, char *err, size_t errsize)
{
	char box[256];
	lower(box, sizeof(box), name);
	if (!box[0] || strchr(box, '/') || box[0] == '.' || !conf_is_local_user(box)) {
		snprintf(err, errsize, "%s is not a local user", name);
		return 1;
	}
	snprintf(path, size, "%s/%s", conf_str(C_MAILBOX_DIR), box);
	struct pw_entry pw;
	int found = pwcache_byname(box, &pw);
	if (found < 0) {
		snprintf(err, errsize, "cannot look %s up in passwd: %s", box, strerror(errno));
		return -1;
	}
	if (found) {
		who_user(w, &pw);
	} else {
		/* a LocalUserFile name with no passwd entry: written as RunAsUser */
		memset(w, 0, sizeof(*w));
		snprintf(w->user, sizeof(w->user), "%s", box);
		uid_t uid;
		gid_t gid;
		int rc = geteuid() == 0 ? privsep_run_as(&uid, &gid) : 1;
		if (rc < 0) {
			snprintf(err, errsize, "RunAsUser is unknown");
			return -1;
		}
		w->switch_user = rc == 0;
		w->uid = rc == 0 ? uid : geteuid();
		w->gid = rc == 0 ? gid : getegid();
		w->extra_gid = (gid_t)-1;
	}
	struct stat st;
	if (w->switch_user && stat(conf_str(C_MAILBOX_DIR), &st) == 0)
		w->extra_gid = st.st_gid;	/* /var/mail root:mail 2775: the dotlock needs the group */
	return 0;
}

/* ---- one request, in the agent (or in-process) ---- */

static void serve(char kind, const char *name, const char *target, const char *sender, const char *rcpt,
		  const char *headers, size_t hlen, int df_fd, struct result *r)
{
	struct who w;
	r->rc = 1;
	r->err[0] = '\0';
	if (kind == 'W') {
		struct pw_entry pw;
		int found = pwcache_byname(name, &pw);
		r->rc = 0;
		if (found < 0) {
			snprintf(r->err, sizeof(r->err), "cannot look %s up in passwd: %s", name, strerror(errno));
			r->rc = -1;
			return;
		}
		if (!found || pw.uid == 0)
			return;		/* root's mail is read as root: no .forward */
		who_user(&w, &pw);
		if (!forward_may_exist(w.home))
			return;
		run_switched(&w, do_read_forward, NULL, r);
		if (r->rc == 1 && r->err[0])
			r->rc = -1;	/* could not become the user: try again later */
		return;
	}
	if (kind == 'M' || kind == 'm') {
		char path[2048];
		int rc = mailbox_of(name, path, sizeof(path), &w, r->err, sizeof(r->err));
		if (rc != 0) {
			r->rc = rc > 0 ? 2 : 1;
			return;
		}
		if (*conf_str(C_LOCAL_PROCMAIL)) {	/* procmail -d becomes the user itself */
			char cmd[1400];
			snprintf(cmd, sizeof(cmd), "%s -Y -d %s", conf_str(C_LOCAL_PROCMAIL), w.user);
			struct prog pr = { cmd, sender, rcpt, headers, hlen, df_fd, 0 };
			struct who self = { .switch_user = 0, .extra_gid = (gid_t)-1 };
			snprintf(self.user, sizeof(self.user), "%s", w.user);
			do_program(&pr, &self, r);
			return;
		}
		struct append a = { path, sender, headers, hlen, df_fd, 1, w.uid, w.switch_user || geteuid() == 0,
				    kind == 'm' };
		run_switched(&w, do_append, &a, r);
		return;
	}
	if (kind == 'P' && strcmp(conf_str(C_LOCAL_SHELL_PATH), "/dev/null") == 0) {
		snprintf(r->err, sizeof(r->err), "program delivery is disabled (LOCAL_SHELL_PATH is /dev/null)");
		r->rc = 2;
		return;
	}
	int smrsh;
	int rc = derive(kind, name, target, &w, &smrsh, r->err, sizeof(r->err));
	if (rc != 0) {
		if (rc > 0)
			maillog(NULL, "SYSERR: %s", r->err);
		r->rc = rc > 0 ? 2 : 1;
		return;
	}
	if (geteuid() != 0)
		w.switch_user = 0;
	if (kind == 'F') {
		struct append a = { target, sender, headers, hlen, df_fd, 0, 0, 0, 0 };
		run_switched(&w, do_append, &a, r);
	} else {
		struct prog pr = { target, sender, rcpt, headers, hlen, df_fd, smrsh };
		run_as(&w, do_program, &pr, r);
	}
}

/* ---- the channel ---- */

static int send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
	struct iovec iov = { (void *)buf, len };
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	ssize_t k;
	while ((k = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return k == (ssize_t)len ? 0 : -1;
}

/* A message and up to two descriptors; bytes, 0 at the end, -1. */
static ssize_t recv_fds(int sock, char *buf, size_t size, int *fds, int *nfds)
{
	struct iovec iov = { buf, size };
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;
	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	*nfds = 0;
	if (n <= 0)
		return n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int got[8];
			memcpy(got, CMSG_DATA(c), (size_t)(k > 8 ? 8 : k) * sizeof(int));
			for (int i = 0; i < k && i < 8; i++) {
				if (*nfds < 2)
					fds[(*nfds)++] = got[i];
				else
					close(got[i]);
			}
		}
	}
	return n;
}

static void agent_loop(int sock);

/* A request "C": a new agent of its own for a process about to be forked
 * (a queue run's worker), so that no two processes share one socket and
 * read each other's answers.  The new agent's end is the answer's fd. */
static void agent_clone(int sock)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		send_fds(sock, "-1", 3, NULL, 0);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(sock);
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		agent_loop(sv[1]);
	}
	close(sv[1]);
	if (pid < 0)
		send_fds(sock, "-1", 3, NULL, 0);
	else
		send_fds(sock, "0", 2, &sv[0], 1);
	close(sv[0]);
}

/* The agent: one request at a time until the delivery process is gone. */
static void agent_loop(int sock)
{
	char req[REQ_MAX + 1];
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;		/* agents made by "C" that ended */
		int fds[2] = { -1, -1 }, nfds;
		ssize_t n = recv_fds(sock, req, REQ_MAX, fds, &nfds);
		if (n <= 0)
			_exit(0);
		req[n] = '\0';
		if (n == 2 && req[0] == 'C' && nfds == 0) {
			agent_clone(sock);
			continue;
		}
		/* kind\0name\0target\0sender\0rcpt\0: strings, then the headers
		 * when they fit (else a memfd before the df): nothing more */
		const char *f[5];
		size_t off = 0;
		int nf = 0;
		while (nf < 5 && off < (size_t)n) {
			f[nf++] = req + off;
			off += strlen(req + off) + 1;
		}
		struct result r = { .rc = 1 };
		sb_init(&r.text);
		if (nf < 5 || strlen(f[0]) != 1 || !strchr("MmFPW", f[0][0]) ||
		    (f[0][0] != 'W' && nfds < 1)) {
			snprintf(r.err, sizeof(r.err), "malformed local delivery request");
			maillog(NULL, "SYSERR: local delivery agent: malformed request refused");
			r.rc = 2;
		} else {
			struct strbuf hdr;
			sb_init(&hdr);
			if (nfds == 2) {
				char buf[8192];
				ssize_t k;
				lseek(fds[0], 0, SEEK_SET);
				while ((k = read(fds[0], buf, sizeof(buf))) > 0)
					sb_append(&hdr, buf, (size_t)k);
			} else if (off < (size_t)n) {
				sb_append(&hdr, req + off, (size_t)n - off);
			}
			serve(f[0][0], f[1], f[2], f[3], f[4], hdr.s, hdr.len, nfds > 0 ? fds[nfds - 1] : -1, &r);
			sb_free(&hdr);
		}
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		struct strbuf out;
		sb_init(&out);
		sb_printf(&out, "%d", r.rc);
		sb_putc(&out, '\0');
		sb_puts(&out, r.err);
		sb_putc(&out, '\0');
		sb_append(&out, r.text.s, r.text.len);
		if (send_fds(sock, out.s, out.len, NULL, 0) < 0)
			_exit(0);
		sb_free(&out);
		sb_free(&r.text);
	}
}

/* The agent's own ids, kept to return to after each switch. */
static void agent_begin(void)
{
	in_agent = 1;
	agent_egid = getegid();
	int n = getgroups(0, NULL);
	agent_groups = xcalloc(n > 0 ? (size_t)n : 1, sizeof(gid_t));
	agent_ngroups = n > 0 ? getgroups(n, agent_groups) : 0;
	if (agent_ngroups < 0)
		agent_ngroups = 0;
}

int lda_start(void)
{
	static int started;
	if (started || geteuid() != 0)
		return 0;
	started = 1;
	uid_t uid;
	gid_t gid;
	int rc = privsep_run_as(&uid, &gid);
	if (rc != 0)
		return rc < 0 ? -1 : 0;	/* RunAsUser root: one process */
	const char *qdir = mtad_queue_dir();
	struct stat st;
	if (stat(qdir, &st) == 0 && st.st_uid != uid) {
		msg_warn("queue %s is not owned by RunAsUser (uid %ld): deliveries stay root (chown -R %ld %s)",
			 qdir, (long)uid, (long)uid, qdir);
		return 0;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		msg_error("socketpair: %s", strerror(errno));
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		msg_error("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		prctl(PR_SET_NAME, "mtad-local");
		agent_begin();
		agent_loop(sv[1]);
	}
	close(sv[1]);
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || getuid() == 0) {
		msg_error("cannot drop privileges to uid %ld: %s", (long)uid, strerror(errno));
		_exit(EX_OSERR);
	}
	lda_sock = sv[0];
	return 0;
}

/* Sends one request to the agent and waits for its answer. */
static void ask(char kind, const char *name, const char *target, const char *sender, const char *rcpt,
		const char *headers, size_t hlen, int df_fd, struct result *r)
{
	r->rc = 1;
	struct strbuf req;
	sb_init(&req);
	char k[2] = { strchr("MmFP", kind) ? kind : 'W', '\0' };
	const char *f[5] = { k, name, target, sender, rcpt };
	for (int i = 0; i < 5; i++) {
		sb_puts(&req, f[i] ? f[i] : "");
		sb_putc(&req, '\0');
	}
	int fds[2], nfds = 0, hfd = -1;
	if (kind != 'W' && req.len + hlen <= REQ_MAX) {
		sb_append(&req, headers, hlen);	/* in the same datagram */
		fds[0] = df_fd;
		nfds = 1;
	} else if (kind != 'W') {
		hfd = memfd_create("mtad-headers", MFD_CLOEXEC);
		if (hfd < 0 || write(hfd, headers, hlen) != (ssize_t)hlen) {
			snprintf(r->err, sizeof(r->err), "cannot pass the headers: %s", strerror(errno));
			goto out;
		}
		fds[0] = hfd;
		fds[1] = df_fd;
		nfds = 2;
	}
	if (req.len > REQ_MAX || send_fds(lda_sock, req.s, req.len, fds, nfds) < 0) {
		snprintf(r->err, sizeof(r->err), "local delivery agent unavailable: %s", strerror(errno));
		goto out;
	}
	char *buf = xmalloc(FORWARD_MAX + 2048);
	int rfds[2], nr;
	ssize_t n = recv_fds(lda_sock, buf, FORWARD_MAX + 2047, rfds, &nr);
	for (int i = 0; i < nr; i++)
		close(rfds[i]);
	if (n <= 0) {
		snprintf(r->err, sizeof(r->err), "local delivery agent gone");
	} else {
		buf[n] = '\0';
		r->rc = atoi(buf);
		size_t o1 = strlen(buf) + 1;
		if (o1 < (size_t)n) {
			snprintf(r->err, sizeof(r->err), "%s", buf + o1);
			size_t o2 = o1 + strlen(buf + o1) + 1;
			if (o2 < (size_t)n)
				sb_append(&r->text, buf + o2, (size_t)n - o2);
		}
	}
	free(buf);
out:
	if (hfd >= 0)
		close(hfd);
	sb_free(&req);
}

int lda_channel_new(void)
{
	if (lda_sock < 0)
		return -1;
	if (send_fds(lda_sock, "C", 2, NULL, 0) < 0)
		return -1;
	char buf[16];
	int rfds[2], nr;
	ssize_t n = recv_fds(lda_sock, buf, sizeof(buf) - 1, rfds, &nr);
	if (n > 0 && nr == 1 && buf[0] == '0')
		return rfds[0];
	for (int i = 0; i < nr; i++)
		close(rfds[i]);
	return -1;
}

int lda_has_agent(void)
{
	return lda_sock >= 0;
}

void lda_channel_use(int fd)
{
	if (lda_sock >= 0 && fd >= 0) {
		close(lda_sock);
		lda_sock = fd;
	}
}

int lda_deliver(char kind, const char *name, const char *target, const char *sender, const char *rcpt,
		const char *headers, size_t hlen, int df_fd, char *err, size_t errsize)
{
	struct result r = { .rc = 1 };
	sb_init(&r.text);
	if (lda_sock >= 0)
		ask(kind, name, target, sender, rcpt, headers, hlen, df_fd, &r);
	else
		serve(kind, name, target ? target : "", sender, rcpt, headers, hlen, df_fd, &r);
	snprintf(err, errsize, "%s", r.err);
	sb_free(&r.text);
	return r.rc;
}

int lda_forward(const char *user, char **text, char *err, size_t errsize)
{
	*text = NULL;
	if (errsize)
		err[0] = '\0';
	if (lda_sock >= 0) {
		/* most users have no .forward: when we can see that, no request */
		struct pw_entry pw;
		int found = pwcache_byname(user, &pw);
		if (found == 0 || (found > 0 && (pw.uid == 0 || !forward_may_exist(pw.dir))))
			return 0;
	}
	struct result r = { .rc = 0 };
	sb_init(&r.text);
	if (lda_sock >= 0)
		ask('W', user, "", "", "", NULL, 0, -1, &r);
	else
		serve('W', user, "", "", "", NULL, 0, -1, &r);
	snprintf(err, errsize, "%s", r.err);
	if (r.rc == 1 && r.text.len > 0) {
		sb_putc(&r.text, '\0');
		*text = xstrdup(r.text.s);
	}
	int rc = r.rc == 1 ? (*text ? 1 : 0) : r.rc < 0 ? -1 : 0;
	sb_free(&r.text);
	return rc;
}
