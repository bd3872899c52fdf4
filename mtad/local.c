/* local: local names, aliases, and the file and program mailers. */
#include "local.h"
#include "config.h"
#include "diag.h"
#include "mbox.h"
#include "mtad.h"
#include "xalloc.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static struct aliases *aliases;
static char aliases_path[1100];

struct aliases *local_aliases(void)
{
	const char *path = conf_str(C_ALIAS_FILE);
	if (!*path)
		return NULL;
	if (aliases && strcmp(path, aliases_path) == 0)
		return aliases;
	if (aliases)
		aliases_close(aliases);
	char err[512];
	aliases = aliases_open(path, err, sizeof(err));
	if (aliases == NULL)
		msg_warn("aliases: %s", err);
	snprintf(aliases_path, sizeof(aliases_path), "%s", path);
	return aliases;
}

int local_name_known(const char *local)
{
	if (conf_is_local_user(local))
		return 1;
	struct aliases *a = local_aliases();
	if (a == NULL)
		return 0;
	char *rhs = NULL, err[512];
	int rc = aliases_lookup(a, local, &rhs, err, sizeof(err));
	free(rhs);
	if (rc == ALIAS_TEMPFAIL) {	/* not "unknown": the caller answers 4xx or defers */
		msg_warn("aliases lookup of %s: %s", local, err);
		return -1;
	}
	return rc == ALIAS_FOUND;
}

int local_deliver_file(const char *path, const char *sender, const char *headers, size_t hlen,
		       int df_fd, char *err, size_t errsize)
{
	if (lseek(df_fd, 0, SEEK_SET) != 0) {
		snprintf(err, errsize, "cannot rewind data file: %s", strerror(errno));
		return -1;
	}
	return mbox_deliver(path, sender, time(NULL), headers, hlen, df_fd, err, errsize);
}

/* Becomes DefaultUser when running as root, so a program named in an alias
 * never runs as root. */
static int drop_to_default_user(void)
{
	if (geteuid() != 0)
		return 0;
	char spec[256];
	snprintf(spec, sizeof(spec), "%s", conf_str(C_DEF_USER));	/* "user" or "user:group" */
	char *group = strchr(spec, ':');
	if (group)
		*group++ = '\0';
	struct passwd *pw = getpwnam(spec);
	if (pw == NULL || pw->pw_uid == 0)
		return -1;
	gid_t gid = pw->pw_gid;
	if (group) {
		struct group *gr = getgrnam(group);
		if (gr == NULL)
			return -1;
		gid = gr->gr_gid;
	}
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0)
		return -1;
	return 0;
}

int local_deliver_prog(const char *command, const char *sender, const char *recipient,
		       const char *headers, size_t hlen, int df_fd, int is_mailer, char *err, size_t errsize)
{
	if (!is_mailer && strcmp(conf_str(C_LOCAL_SHELL_PATH), "/dev/null") == 0) {
		snprintf(err, errsize, "program delivery is disabled (LOCAL_SHELL_PATH is /dev/null)");
		return 2;
	}
	char *copy = xstrdup(command), *save = NULL;
	char *argv[64];
	int argc = 0;
	for (char *w = strtok_r(copy, " \t", &save); w && argc < 63; w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	if (argc == 0 || argv[0][0] != '/') {
		snprintf(err, errsize, "program \"%s\" must be named by its full path", command);
		free(copy);
		return 2;
	}
	int in[2];
	if (pipe(in) < 0) {
		snprintf(err, errsize, "pipe: %s", strerror(errno));
		free(copy);
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errsize, "fork: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		free(copy);
		return 1;
	}
	if (pid == 0) {
		dup2(in[0], 0);
		close(in[0]);
		close(in[1]);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		/* an alias's program never runs as root; a configured mailer
		 * (procmail -d) needs root to become the recipient itself */
		if (!is_mailer && drop_to_default_user() < 0)
			_exit(EX_TEMPFAIL);
		setenv("SENDER", sender, 1);
		setenv("RECIPIENT", recipient, 1);
		execv(argv[0], argv);
		_exit(EX_UNAVAILABLE);
	}
	close(in[0]);
	signal(SIGPIPE, SIG_IGN);
	int ok = 1;
	if (write(in[1], headers, hlen) != (ssize_t)hlen || write(in[1], "\n", 1) != 1)
		ok = 0;
	char buf[65536];
	ssize_t n;
	if (lseek(df_fd, 0, SEEK_SET) != 0)
		ok = 0;
	while (ok && (n = read(df_fd, buf, sizeof(buf))) > 0)
		if (write(in[1], buf, (size_t)n) != n)
			ok = 0;
	close(in[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(copy);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	snprintf(err, errsize, "program %s exited with status %d%s", argv[0] ? command : "", code,
		 ok ? "" : " (it did not read the whole message)");
	return code == EX_TEMPFAIL || !WIFEXITED(status) ? 1 : 2;
}
