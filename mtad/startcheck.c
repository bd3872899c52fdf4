/* startcheck: what -bC and the daemon's start check, as the user that will
 * use each thing (RunAsUser when started as root): the queue directories
 * writable, the alias database and every configured map readable, the
 * mailbox directory there.  Each problem is printed with the file and the
 * fix; any problem is exit 78 (EX_CONFIG).  At run time the same failures
 * are 451 4.3.0 and a log line (local.c, access.c, virtual.c). */
#include "startcheck.h"
#include "daemon_int.h"
#include "mtad.h"
#include "aliases.h"
#include "config.h"
#include "map.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

static int problems;

static const char *whoami(void)
{
	static char buf[80];
	struct passwd *pw = getpwuid(geteuid());
	snprintf(buf, sizeof(buf), "%s (uid %ld)", pw ? pw->pw_name : "?", (long)geteuid());
	return buf;
}

static void problem(const char *what, const char *path, const char *why, const char *fix)
{
	fprintf(stderr, "mtad: %s %s: %s, as %s; fix: %s\n", what, path, why, whoami(), fix);
	problems++;
}

static int check_dir_writable(const char *what, const char *path, int must_exist)
{
	struct stat st;
	char fix[2300];
	struct passwd *pw = getpwuid(geteuid());
	const char *user = pw ? pw->pw_name : "USER";
	if (stat(path, &st) < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		if (errno == EACCES) {
			snprintf(fix, sizeof(fix), "make every directory above %s searchable by %s (chmod o+x)", path,
				 user);
			problem(what, path, "cannot be reached (a directory above it is not searchable)", fix);
		} else {
			snprintf(fix, sizeof(fix), "mkdir -p %s && chown %s %s", path, user, path);
			problem(what, path, errno == ENOENT ? "does not exist" : strerror(errno), fix);
		}
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		problem(what, path, "is not a directory", "remove it and create the directory");
		return -1;
	}
	if (access(path, W_OK | X_OK) < 0) {
		snprintf(fix, sizeof(fix), "chown %s %s", user, path);
		problem(what, path, "not writable", fix);
		return -1;
	}
	return 0;
}

static void check_map(const char *macro, enum conf_id id)
{
	const char *spec = conf_str(id);
	if (!*spec)
		return;
	char err[512], fix[600];
	struct map *m = map_open(spec, err, sizeof(err));
	if (m) {
		map_close(m);
		return;
	}
	struct group *gr = getgrgid(getegid());
	snprintf(fix, sizeof(fix), "make it readable by %s: chgrp %s FILE.db; chmod 0640 FILE.db "
		 "(makemap run as root does this)", whoami(), gr ? gr->gr_name : "GROUP");
	problem(macro, spec, err, fix);
}

static void check_aliases(void)
{
	const char *path = conf_str(C_ALIAS_FILE);
	if (!*path)
		return;
	char err[512], fix[2300];
	struct aliases *a = aliases_open(path, err, sizeof(err));
	if (a) {
		aliases_close(a);
		return;
	}
	struct group *gr = getgrgid(getegid());
	snprintf(fix, sizeof(fix), "chgrp %s %s.db; chmod 0640 %s.db (newaliases run as root does this)",
		 gr ? gr->gr_name : "GROUP", path, path);
	problem("ALIAS_FILE", path, err, fix);
}

static void run_checks(void)
{
	const char *qdir = mtad_queue_dir();
	char sub[2100];
	static const char *const subs[] = { "qf", "df", "xf", NULL };
	for (int i = check_dir_writable("QUEUE_DIR", qdir, 1) == 0 ? 0 : 3; subs[i]; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", qdir, subs[i]);
		check_dir_writable("QUEUE_DIR", sub, 0);
	}
	check_aliases();
	check_map("FEATURE(access_db)", C_ACCESS_DB);
	check_map("FEATURE(virtusertable)", C_VIRTUSERTABLE);
	check_map("FEATURE(mailertable)", C_MAILERTABLE);
	check_map("FEATURE(domaintable)", C_DOMAINTABLE);
	check_map("FEATURE(genericstable)", C_GENERICSTABLE);
	check_map("confAUTH_PASSWD_DB", C_AUTH_PASSWD_DB);
}

/* The mailbox directory is used by the local delivery agent (root, then
 * each recipient): checked as root. */
static void check_mailbox_dir(void)
{
	const char *mdir = conf_str(C_MAILBOX_DIR);
	struct stat st;
	if (*conf_str(C_LOCAL_PROCMAIL) || *conf_str(C_NULLCLIENT))
		return;
	if (stat(mdir, &st) < 0 || !S_ISDIR(st.st_mode))
		problem("confMAILBOX_DIR", mdir, stat(mdir, &st) < 0 ? strerror(errno) : "is not a directory",
			"mkdir -m 2775 DIR && chgrp mail DIR (Debian's /var/mail: root:mail 2775)");
}

int startup_check(int daemon)
{
	problems = 0;
	check_mailbox_dir();
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int drop = 0;
	if (geteuid() == 0) {
		int rc = privsep_run_as(&uid, &gid);
		if (rc < 0)
			return EX_OSERR;
		drop = rc == 0;
		if (drop && daemon)
			privsep_give_queue(uid, gid);	/* as the daemon would */
	}
	if (!drop) {
		run_checks();
		return problems ? EX_CONFIG : 0;
	}
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return EX_OSERR;
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(EX_OSERR);
		run_checks();
		fflush(stderr);
		_exit(problems ? EX_CONFIG : 0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : EX_OSERR;
	if (rc == 0 && problems)
		rc = EX_CONFIG;
	return rc;
}
