/* msp: see msp.h. */
#include "msp.h"
#include "daemon_int.h"
#include "mtad.h"
#include "config.h"
#include "diag.h"
#include "loop.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A configuration a setgid run may use: root's, writable by no one else,
 * in a directory writable by no one else. */
static int trusted_file(const char *path)
{
	struct stat st;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (stat(path, &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) || !S_ISREG(st.st_mode))
		return 0;
	if (stat(dir, &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	return 1;
}

int msp_setgid_policy(char mode, int queue_flags, const char *conf_file, char **oopts, size_t noopts)
{
	if (getuid() == 0 || getegid() == getgid())
		return 0;		/* root, or not installed setgid */
	int keep = mode == 'm' && !queue_flags && (!conf_file || trusted_file(conf_file));
	for (size_t i = 0; keep && i < noopts; i++)
		if (strncmp(oopts[i], "DeliveryMode=", 13) != 0)
			keep = 0;
	if (!keep) {
		if (setgid(getgid()) < 0)
			_exit(71);
		return 0;
	}
	return 1;
}

pid_t msp_handover(void)
{
	const char *mq = conf_str(C_MSP_QUEUE_DIR);
	struct stat st;
	if (G.msp || geteuid() != 0 || !*mq || stat(mq, &st) < 0 || !S_ISDIR(st.st_mode))
		return -1;
	uid_t uid;
	gid_t gid;
	if (privsep_run_as(&uid, &gid) != 0)
		return -1;		/* RunAsUser root: no split, no handover */
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	loop_child_close();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* RunAsUser, with the MSP queue's group to read what users queued */
	gid_t groups[1] = { st.st_gid };
	if (setgroups(1, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || getuid() == 0)
		_exit(1);
	G.msp = 1;
	qf_file_mode = 0660;
	/* to this daemon's own first listener, unless MSPHost names the MTA */
	char err[256];
	if (!*conf_str(C_MSP_HOST) && *listen_first_address())
		conf_set(C_MSP_HOST, listen_first_address(), err, sizeof(err));
	queue_run(mq, 0, NULL, 0);
	_exit(0);
}
