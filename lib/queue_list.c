/* queue_list: the queue read into memory and the `-bp` listing. */
#include "queue_list.h"
#include "safeopen.h"
#include "strbuf.h"
#include "timefmt.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define QF_MAX_BYTES (64L * 1024 * 1024)

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

/* Reads one message into e.  Returns 0, or -1 when the qf is gone. */
static int load_entry(const char *qdir, const char *qid, struct queue_entry *e)
{
	char qf[4096], df[4096], err[1024];
	memset(e, 0, sizeof(*e));
	qf_env_init(&e->env);
	snprintf(e->qid, sizeof(e->qid), "%s", qid);
	e->mark = ' ';
	e->size = -1;
	qf_path(qf, sizeof(qf), qdir, 'q', qid);
	/* a FIFO or a symlink named like a qf is shown as damaged, never
	 * waited on or followed */
	int fd = safe_open(qf, O_RDONLY, 0, err, sizeof(err));
	if (fd < 0) {
		if (errno == ENOENT)
			return -1;	/* delivered while we were listing */
		e->err = xstrdup(err);
		return 0;
	}
	/* A delivery holds LOCK_EX; our shared lock is dropped at once so that
	 * a queue runner never finds the file locked because of us. */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		e->locked = 1;
	else
		flock(fd, LOCK_UN);
	struct strbuf sb;
	sb_init(&sb);
	char buf[16384];
	ssize_t n;
	int toobig = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (sb.len + (size_t)n > (size_t)QF_MAX_BYTES) {
			toobig = 1;
			break;
		}
		sb_append(&sb, buf, (size_t)n);
	}
	int saved = errno;
	close(fd);
	if (toobig)
		snprintf(err, sizeof(err), "%s: queue file larger than 64 MB", qf);
	else if (n < 0)
		snprintf(err, sizeof(err), "%s: %s", qf, strerror(saved));
	if (toobig || n < 0 || qf_parse(sb.s, sb.len, qf, &e->env, err, sizeof(err)) < 0) {
		qf_env_free(&e->env);
		e->err = xstrdup(err);
	}
	sb_free(&sb);
	snprintf(e->env.qid, sizeof(e->env.qid), "%s", qid);
	struct stat st;
	qf_path(df, sizeof(df), qdir, 'd', qid);
	if (stat(df, &st) == 0)
		e->size = (long)st.st_size;
	return 0;
}

static void entry_free(struct queue_entry *e)
{
	free(e->err);
	qf_env_free(&e->env);
}

int queue_list_load(struct queue_listing *ql, const char *qdir, const struct queue_list_opts *o)
{
	static const struct queue_list_opts none;
	if (o == NULL)
		o = &none;
	memset(ql, 0, sizeof(*ql));
	struct idlist l = { NULL, 0 };
	if (qf_scan(qdir, collect, &l) < 0) {
		int saved = errno;
		free(l.ids);
		errno = saved;
		return -1;
	}
	ql->qdir = xstrdup(qdir);
	ql->scanned = l.n;
	time_t now = o->now ? o->now : time(NULL);
	if (l.n)
		qsort(l.ids, l.n, sizeof(char *), cmp_str);
	ql->entries = l.n ? xcalloc(l.n, sizeof(*ql->entries)) : NULL;
	for (size_t i = 0; i < l.n; i++) {
		struct queue_entry *e = &ql->entries[ql->n];
		if (o->sel && qsel_id_only(o->sel) && !qsel_match(o->sel, l.ids[i], NULL, now)) {
			free(l.ids[i]);
			continue;	/* decided by the ID: the qf is not read */
		}
		if (load_entry(qdir, l.ids[i], e) < 0) {
			entry_free(e);
			free(l.ids[i]);
			continue;
		}
		free(l.ids[i]);
		if (o->sel && !qsel_match(o->sel, e->qid, e->err ? NULL : &e->env, now)) {
			entry_free(e);
			continue;
		}
		if (e->err == NULL && e->env.quarantine)
			e->mark = 'X';
		else if (e->locked)
			e->mark = '*';
		else if (e->err == NULL && o->min_queue_age > 0 && e->env.ktime > 0 &&
			 now - e->env.ktime < o->min_queue_age) {
			e->too_young = 1;
			e->mark = '-';
		}
		ql->n++;
	}
	free(l.ids);
	return 0;
}

void queue_list_free(struct queue_listing *ql)
{
	for (size_t i = 0; i < ql->n; i++)
		entry_free(&ql->entries[i]);
	free(ql->entries);
	free(ql->qdir);
	memset(ql, 0, sizeof(*ql));
}

void queue_list_puts_safe(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		putc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

static void print_entry(FILE *out, const struct queue_entry *e)
{
	if (e->err) {
		fprintf(out, "%-14s  (unreadable queue file: ", e->qid);
		queue_list_puts_safe(out, e->err);
		fputs(")\n", out);
		return;
	}
	char when[32];
	time_queue(when, sizeof(when), e->env.ctime);
	fprintf(out, "%-14s%c%8ld %.16s ", e->qid, e->mark, e->size < 0 ? 0L : e->size, when);
	queue_list_puts_safe(out, e->env.sender);
	putc('\n', out);
	if (e->env.quarantine) {
		fputs("     QUARANTINE: ", out);
		queue_list_puts_safe(out, e->env.quarantine);
		putc('\n', out);
	}
	if (e->env.msg && *e->env.msg) {
		fprintf(out, "%8s (", "");
		queue_list_puts_safe(out, e->env.msg);
		fputs(")\n", out);
	}
	for (size_t i = 0; i < e->env.nrcpts; i++) {
		fputs("\t\t\t\t\t ", out);
		queue_list_puts_safe(out, e->env.rcpts[i].addr);
		putc('\n', out);
	}
}

void queue_list_print(FILE *out, const struct queue_listing *ql)
{
	if (ql->n == 0) {
		fprintf(out, "%s is empty\n", ql->qdir);
	} else {
		fprintf(out, "\t\t%s (%zu request%s)\n", ql->qdir, ql->n, ql->n == 1 ? "" : "s");
		fputs("-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------\n", out);
		for (size_t i = 0; i < ql->n; i++)
			print_entry(out, &ql->entries[i]);
	}
	fprintf(out, "\t\tTotal requests: %zu\n", ql->n);
}

int queue_list_bp(FILE *out, const char *qdir, const struct queue_list_opts *o)
{
	struct queue_listing ql;
	if (queue_list_load(&ql, qdir, o) < 0)
		return -1;
	queue_list_print(out, &ql);
	queue_list_free(&ql);
	return 0;
}
