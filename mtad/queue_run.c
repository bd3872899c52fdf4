/* queue_run: one pass over the queue (-q), delivering every message that
 * is not locked by another runner. */
#include "mtad.h"
#include "config.h"
#include "maillog.h"
#include "qid.h"
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include "diag.h"
#include "queue_select.h"
#include <time.h>
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct idlist {
	char **ids;
	size_t n;
};

static void collect(const char *qid, void *arg)
{
	struct idlist *l = arg;
	l->ids = xreallocarray(l->ids, l->n + 1, sizeof(char *));
	l->ids[l->n++] = xstrdup(qid);
}

/* Selection (-qR/-qS/-qI...) and MinQueueAge: a message tried less than
 * min_age ago waits for a later run. */
static int wanted(const char *qdir, const char *qid, const struct queue_select *sel, long min_age,
		  time_t now)
{
	if ((sel == NULL || qsel_empty(sel)) && min_age <= 0)
		return 1;
	if (sel && qsel_id_only(sel) && min_age <= 0)
		return qsel_match(sel, qid, NULL, now);
	char path[2048], err[512];
	qf_path(path, sizeof(path), qdir, 'q', qid);
	struct qf_env env;
	qf_env_init(&env);
	int ok = qf_read(path, &env, err, sizeof(err)) == 0;
	int yes = sel ? qsel_match(sel, qid, ok ? &env : NULL, now) : 1;
	if (yes && ok && min_age > 0 && env.ktime > 0 && now - env.ktime < min_age)
		yes = 0;
	qf_env_free(&env);
	return yes;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define ORPHAN_AGE (36 * 3600)	/* qmail's limit for half-made messages */
#define ORPHAN_AGE_DEAD (10 * 60)	/* when the process that wrote it is gone */

/* A df, tf or xf without its qf is what a crash mid-DATA or mid-commit
 * leaves.  It is removed once it is old (or its writer, the pid in the queue
 * ID, is dead and it is no longer fresh), with a log line. */
static void remove_orphans(const char *dir, const char *qdir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if ((n[0] != 'd' && n[0] != 't' && n[0] != 'x') || n[1] != 'f' || !qid_valid(n + 2))
			continue;
		char path[2048], qf[2048];
		snprintf(path, sizeof(path), "%s/%s", dir, n);
		qf_path(qf, sizeof(qf), qdir, 'q', n + 2);
		struct stat st;
		if (lstat(path, &st) < 0 || access(qf, F_OK) == 0)
			continue;
		long age = (long)(now - st.st_mtime);
		/* the writer's pid is every digit after the 8 time and sequence
		 * characters of the ID: compared whole (a pid may exceed 999999) */
		long pid = strlen(n + 2) > 8 ? strtol(n + 2 + 8, NULL, 10) : 0;
		int writer_gone = pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
		if (age < ORPHAN_AGE && !(writer_gone && age >= ORPHAN_AGE_DEAD))
			continue;
		if (unlink(path) == 0)
			maillog(n + 2, "SYSERR: orphaned %s (no control file, %ld minutes old) removed", n, age / 60);
	}
	closedir(d);
}

int queue_run(const char *qdir, int verbose, const struct queue_select *sel, int honour_age)
{
	char sub[2048];
	remove_orphans(qdir, qdir);
	snprintf(sub, sizeof(sub), "%s/df", qdir);
	remove_orphans(sub, qdir);
	snprintf(sub, sizeof(sub), "%s/qf", qdir);
	remove_orphans(sub, qdir);
	struct idlist l = { NULL, 0 };
	if (qf_scan(qdir, collect, &l) < 0) {
		msg_error("cannot read queue directory %s", qdir);
		return -1;
	}
	if (l.n > 1)
		qsort(l.ids, l.n, sizeof(char *), cmp_str);	/* IDs sort by age */
	size_t keep = 0;
	time_t now = time(NULL);
	long min_age = conf_num(C_MIN_QUEUE_AGE);
	for (size_t i = 0; i < l.n; i++) {
		if (!wanted(qdir, l.ids[i], sel, honour_age ? min_age : 0, now)) {
			free(l.ids[i]);
			continue;
		}
		l.ids[keep++] = l.ids[i];
	}
	l.n = keep;
	for (size_t i = 0; i < l.n; i++) {
		if (verbose) {
			char path[2048];
			qf_path(path, sizeof(path), qdir, 'q', l.ids[i]);
			printf("\nRunning %s (sequence %zu of %zu)\n", path, i + 1, l.n);
			fflush(stdout);
		}
		deliver_message(qdir, l.ids[i]);
		fflush(stdout);
		free(l.ids[i]);
	}
	free(l.ids);
	return 0;
}
