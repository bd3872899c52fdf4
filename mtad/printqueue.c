/* printqueue: `mtad -bp`, the queue listing in sendmail's format. */
#include "mtad.h"
#include "timefmt.h"
#include "xalloc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static void print_entry(const char *qdir, const char *qid)
{
	char qf[2048], df[2048], err[1024];
	qf_path(qf, sizeof(qf), qdir, 'q', qid);
	qf_path(df, sizeof(df), qdir, 'd', qid);
	char mark = ' ';
	int fd = open(qf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;		/* delivered while we were listing */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		mark = '*';	/* being delivered */
	close(fd);
	struct qf_env env;
	qf_env_init(&env);
	if (qf_read(qf, &env, err, sizeof(err)) < 0) {
		printf("%-14s  (unreadable queue file: %s)\n", qid, err);
		qf_env_free(&env);
		return;
	}
	if (env.quarantine)
		mark = 'X';
	struct stat st;
	long size = stat(df, &st) == 0 ? (long)st.st_size : 0;
	char when[32];
	time_queue(when, sizeof(when), env.ctime);
	printf("%-14s%c%8ld %.16s %s\n", qid, mark, size, when, env.sender);
	if (env.quarantine)
		printf("     QUARANTINE: %s\n", env.quarantine);
	if (env.msg && *env.msg)
		printf("%8s (%s)\n", "", env.msg);
	for (size_t i = 0; i < env.nrcpts; i++)
		printf("\t\t\t\t\t %s\n", env.rcpts[i].addr);
	qf_env_free(&env);
}

int print_queue(const char *qdir)
{
	struct idlist l = { NULL, 0 };
	if (qf_scan(qdir, collect, &l) < 0) {
		fprintf(stderr, "mtad: cannot read queue directory %s (check QueueDirectory and permissions)\n", qdir);
		return -1;
	}
	if (l.n == 0) {
		printf("%s is empty\n", qdir);
	} else {
		qsort(l.ids, l.n, sizeof(char *), cmp_str);
		printf("\t\t%s (%zu request%s)\n", qdir, l.n, l.n == 1 ? "" : "s");
		printf("-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------\n");
		for (size_t i = 0; i < l.n; i++) {
			print_entry(qdir, l.ids[i]);
			free(l.ids[i]);
		}
	}
	free(l.ids);
	printf("\t\tTotal requests: %zu\n", l.n);
	return 0;
}
