/* queue_run: one pass over the queue (-q), delivering every message that
 * is not locked by another runner. */
#include "mtad.h"
#include "diag.h"
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_run(const char *qdir, int verbose)
{
	struct idlist l = { NULL, 0 };
	if (qf_scan(qdir, collect, &l) < 0) {
		msg_error("cannot read queue directory %s", qdir);
		return -1;
	}
	qsort(l.ids, l.n, sizeof(char *), cmp_str);	/* IDs sort by age */
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
