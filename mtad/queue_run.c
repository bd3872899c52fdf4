/* queue_run: one pass over the queue (-q), delivering every message that
 * is not locked by another runner. */
#include "mtad.h"
#include "config.h"
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

int queue_run(const char *qdir, int verbose, const struct queue_select *sel, int honour_age)
{
	struct idlist l = { NULL, 0 };
	if (qf_scan(qdir, collect, &l) < 0) {
		msg_error("cannot read queue directory %s", qdir);
		return -1;
	}
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
