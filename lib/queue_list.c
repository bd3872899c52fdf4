/* queue_list: the queue read into memory and the `-bp` listing. */
#include "queue_list.h"
#include "strbuf.h"
#include "timefmt.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

int queue_sort_parse(const char *s)
{
	switch (s == NULL || *s == '\0' ? 'p' : *s | 0x20) {
	case 'p': case 'h': case 'r': return QSORT_PRIORITY;
	case 'f': return QSORT_FILENAME;
	case 't': return QSORT_TIME;
	case 'm': return QSORT_MODIFICATION;
	case 'n': return QSORT_NONE;
	default: return -1;
	}
}

/* Reads the whole file on fd into sb; returns 0 or -1 with err set. */
static int read_all(int fd, const char *path, struct strbuf *sb, char *err, size_t errsize)
{
	char buf[16384];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (sb->len + (size_t)n > (size_t)QF_MAX_BYTES) {
			snprintf(err, errsize, "%s: queue file larger than 64 MB", path);
			return -1;
		}
		sb_append(sb, buf, (size_t)n);
	}
	if (n < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads one message into e.  Returns 0, or -1 when the file is gone. */
static int load_entry(const char *qdir, const char *qid, int hf, struct queue_entry *e)
{
	char qf[4096], df[4096], err[1024];
	memset(e, 0, sizeof(*e));
	qf_env_init(&e->env);
	snprintf(e->qid, sizeof(e->qid), "%s", qid);
	e->mark = ' ';
	e->size = -1;
	e->hf = hf;
	if (hf)
		qf_held_path(qf, sizeof(qf), qdir, qid);	/* sendmail's held file */
	else
		qf_path(qf, sizeof(qf), qdir, 'q', qid);
	/* O_NONBLOCK: a FIFO named like a qf is not waited on (fstat below) */
	int fd = open(qf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return -1;	/* delivered while we were listing */
		snprintf(err, sizeof(err), "%s: %s", qf, strerror(errno));
		e->err = xstrdup(err);
		return 0;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, sizeof(err), "%s: not a regular file", qf);
		e->err = xstrdup(err);
		close(fd);
		return 0;
	}
	e->mtime = st.st_mtime;
	/* A delivery holds LOCK_EX; our shared lock is dropped at once so that
	 * a queue runner never finds the file locked because of us. */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		e->locked = 1;
	else
		flock(fd, LOCK_UN);
	struct strbuf sb;
	sb_init(&sb);
	int rc = read_all(fd, qf, &sb, err, sizeof(err));
	close(fd);
	if (rc < 0 || qf_parse(sb.s, sb.len, qf, &e->env, err, sizeof(err)) < 0) {
		qf_env_free(&e->env);
		e->err = xstrdup(err);
		sb_free(&sb);
	} else {
		e->textlen = sb.len;
		e->text = xmalloc(sb.len + 1);
		memcpy(e->text, sb.s, sb.len);
		e->text[sb.len] = '\0';
		sb_free(&sb);
	}
	snprintf(e->env.qid, sizeof(e->env.qid), "%s", qid);
	qf_path(df, sizeof(df), qdir, 'd', qid);
	if (stat(df, &st) == 0)
		e->size = (long)st.st_size;
	return 0;
}

static void entry_free(struct queue_entry *e)
{
	free(e->err);
	free(e->text);
	qf_env_free(&e->env);
}

/* Loads the messages named in l (hf: held files) into ql; frees l's IDs. */
static void load_ids(struct queue_listing *ql, const char *qdir, struct idlist *l, int hf,
		     const struct queue_list_opts *o, time_t now)
{
	for (size_t i = 0; i < l->n; i++) {
		struct queue_entry *e = &ql->entries[ql->n];
		if (o->sel && qsel_id_only(o->sel) && !qsel_match(o->sel, l->ids[i], NULL, now)) {
			free(l->ids[i]);
			continue;	/* decided by the ID: the qf is not read */
		}
		if (load_entry(qdir, l->ids[i], hf, e) < 0) {
			entry_free(e);
			free(l->ids[i]);
			continue;
		}
		free(l->ids[i]);
		if (o->sel && !qsel_match(o->sel, e->qid, e->err ? NULL : &e->env, now)) {
			entry_free(e);
			continue;
		}
		if (e->locked)
			e->mark = '*';
		else if (e->err == NULL && o->min_queue_age > 0 && e->env.ktime > 0 &&
			 now - e->env.ktime < o->min_queue_age) {
			e->too_young = 1;
			e->mark = '-';
		}
		ql->n++;
	}
	free(l->ids);
	l->ids = NULL;
	l->n = 0;
}

/* unreadable files go last, by ID */
static int cmp_id(const struct queue_entry *a, const struct queue_entry *b)
{
	int c = strcmp(a->qid, b->qid);
	return c ? c : a->hf - b->hf;
}

static int cmp_long(long long a, long long b)
{
	return a < b ? -1 : a > b;
}

static int cmp_priority(const void *x, const void *y)
{
	const struct queue_entry *a = x, *b = y;
	int c = (a->err != NULL) - (b->err != NULL);
	if (c == 0)
		c = cmp_long(a->env.priority, b->env.priority);
	if (c == 0)
		c = cmp_long(a->env.ctime, b->env.ctime);
	return c ? c : cmp_id(a, b);
}

static int cmp_time(const void *x, const void *y)
{
	const struct queue_entry *a = x, *b = y;
	int c = (a->err != NULL) - (b->err != NULL);
	if (c == 0)
		c = cmp_long(a->env.ctime, b->env.ctime);
	return c ? c : cmp_id(a, b);
}

static int cmp_mtime(const void *x, const void *y)
{
	const struct queue_entry *a = x, *b = y;
	int c = cmp_long(a->mtime, b->mtime);
	return c ? c : cmp_id(a, b);
}

static int cmp_filename(const void *x, const void *y)
{
	return cmp_id(x, y);
}

static void sort_entries(struct queue_listing *ql, const char *order)
{
	int (*cmp)(const void *, const void *);
	switch (queue_sort_parse(order)) {
	case QSORT_FILENAME: case QSORT_NONE: cmp = cmp_filename; break;
	case QSORT_TIME: cmp = cmp_time; break;
	case QSORT_MODIFICATION: cmp = cmp_mtime; break;
	default: cmp = cmp_priority; break;
	}
	if (ql->n > 1)
		qsort(ql->entries, ql->n, sizeof(*ql->entries), cmp);
}

int queue_list_load(struct queue_listing *ql, const char *qdir, const struct queue_list_opts *o)
{
	static const struct queue_list_opts none;
	if (o == NULL)
		o = &none;
	memset(ql, 0, sizeof(*ql));
	struct idlist l = { NULL, 0 }, h = { NULL, 0 };
	if (qf_scan(qdir, collect, &l) < 0) {
		int saved = errno;
		free(l.ids);
		errno = saved;
		return -1;
	}
	/* sendmail's held mail (hf files) is listed only when held mail is asked for */
	if (o->sel && qsel_has(o->sel, QSEL_HELD))
		qf_scan_held(qdir, collect, &h);
	ql->qdir = xstrdup(qdir);
	ql->scanned = l.n + h.n;
	time_t now = o->now ? o->now : time(NULL);
	if (l.n)
		qsort(l.ids, l.n, sizeof(char *), cmp_str);
	if (h.n)
		qsort(h.ids, h.n, sizeof(char *), cmp_str);
	ql->entries = ql->scanned ? xcalloc(ql->scanned, sizeof(*ql->entries)) : NULL;
	load_ids(ql, qdir, &l, 0, o, now);
	load_ids(ql, qdir, &h, 1, o, now);
	sort_entries(ql, o->sort_order);
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

/* ---- the listing, as sendmail's print_single_queue() ------------------- */

/* At most max bytes of s, control characters as '?' (%.*s otherwise). */
static void put_max(FILE *out, const char *s, int max)
{
	for (int i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		putc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

/* sendmail's prtstr(): at most ml columns; '\\' doubled, non-printable
 * bytes as \ooo; an escape that does not fit is left out. */
static void prtstr(FILE *out, const char *s, int ml)
{
	int c;
	while (ml-- > 0 && (c = (unsigned char)*s++) != '\0') {
		if (c == '\\') {
			if (ml-- > 0) {
				putc(c, out);
				putc(c, out);
			}
		} else if (c >= 0x20 && c < 0x7f) {
			putc(c, out);
		} else if ((ml -= 3) > 0) {
			fprintf(out, "\\%03o", c);
		}
	}
}

/* The state of one message's printing: what the records read so far said. */
struct bp_state {
	int verbose;
	int qfver;
	time_t submittime;
	int warned;		/* F record has 'w' */
	char statmsg[2048];	/* M */
	char quarmsg[2048];	/* q */
	char bodytype[257];	/* B */
};

static void copy_field(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void print_sender(FILE *out, const struct queue_entry *e, struct bp_state *st,
			 const char *sender)
{
	char when[32];
	time_queue(when, sizeof(when), st->submittime);
	if (st->verbose) {
		fprintf(out, "%8ld %10ld%c%.12s ", e->size, e->env.priority,
			st->warned ? '+' : ' ', when + 4);
		prtstr(out, sender, 78);
	} else {
		fprintf(out, "%8ld %.16s ", e->size, when);
		prtstr(out, sender, 39);
	}
	int width = st->verbose ? 100 : 60;
	if (st->quarmsg[0]) {
		fputs("\n     QUARANTINE: ", out);
		put_max(out, st->quarmsg, width);
		st->quarmsg[0] = '\0';
	}
	if (st->statmsg[0] || st->bodytype[0]) {
		fprintf(out, "\n    %10.10s", st->bodytype);
		if (st->statmsg[0]) {
			fputs("   (", out);
			put_max(out, st->statmsg, width);
			putc(')', out);
		}
		st->statmsg[0] = '\0';
	}
}

static void print_record(FILE *out, const struct queue_entry *e, struct bp_state *st,
			 const char *rec, size_t len)
{
	const char *v = rec + 1;
	size_t vlen = len - 1;
	char buf[2048];
	switch (rec[0]) {
	case 'V':
		st->qfver = atoi(v);
		break;
	case 'M':
		copy_field(st->statmsg, sizeof(st->statmsg), v, vlen);
		break;
	case 'q':
		copy_field(st->quarmsg, sizeof(st->quarmsg), v, vlen);
		break;
	case 'B':
		copy_field(st->bodytype, sizeof(st->bodytype), v, vlen);
		break;
	case 'S':
		copy_field(buf, sizeof(buf), v, vlen);
		print_sender(out, e, st, buf);
		break;
	case 'C':
		if (st->verbose) {
			copy_field(buf, sizeof(buf), v, vlen);
			fprintf(out, "\n\t\t\t\t\t\t(---%.64s---)", buf);
		}
		break;
	case 'R': {
		copy_field(buf, sizeof(buf), v, vlen);
		const char *p = buf;
		if (st->qfver >= 1) {
			p = strchr(p, ':');
			if (p == NULL)
				break;
			p++;
		}
		fputs(st->verbose ? "\n\t\t\t\t\t\t" : "\n\t\t\t\t\t ", out);
		prtstr(out, p, st->verbose ? 71 : 38);
		if (st->verbose && st->statmsg[0]) {
			fputs("\n\t\t (", out);
			put_max(out, st->statmsg, 100);
			putc(')', out);
			st->statmsg[0] = '\0';
		}
		break;
	}
	case 'T':
		st->submittime = (time_t)atol(v);
		break;
	case 'F':
		if (memchr(v, 'w', vlen))
			st->warned = 1;
		break;
	default:
		break;
	}
}

static void print_entry(FILE *out, const struct queue_entry *e, int verbose)
{
	if (e->err) {
		fprintf(out, "%13s  (unreadable queue file: ", e->qid);
		queue_list_puts_safe(out, e->err);
		fputs(")\n", out);
		return;
	}
	fprintf(out, "%13s%c", e->qid, e->mark);
	struct bp_state *st = xcalloc(1, sizeof(*st));
	st->verbose = verbose;
	const char *p = e->text, *end = e->text + e->textlen;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > 0)
			print_record(out, e, st, p, len);
		p += (nl ? (size_t)(nl - p) + 1 : len);
		if (nl == NULL)
			break;
	}
	if (st->submittime == 0)
		fputs(" (no control file)", out);
	putc('\n', out);
	free(st);
}

void queue_list_print(FILE *out, const struct queue_listing *ql, int verbose)
{
	/* sendmail names a queue with a df/ subdirectory "<dir>/df" (its
	 * qid_printqueue() appends it), and so do we */
	char sub[4096];
	struct stat st;
	snprintf(sub, sizeof(sub), "%s/df", ql->qdir);
	const char *name = stat(sub, &st) == 0 && S_ISDIR(st.st_mode) ? sub : ql->qdir;
	if (ql->n == 0) {
		fprintf(out, "%s is empty\n", name);
	} else {
		fprintf(out, "\t\t%s (%zu request%s)\n", name, ql->n, ql->n == 1 ? "" : "s");
		if (verbose)
			fputs("-----Q-ID----- --Size-- -Priority- ---Q-Time--- --------Sender/Recipient--------\n", out);
		else
			fputs("-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------\n", out);
		for (size_t i = 0; i < ql->n; i++)
			print_entry(out, &ql->entries[i], verbose);
	}
	fprintf(out, "\t\tTotal requests: %zu\n", ql->n);
}

int queue_list_bp(FILE *out, const char *qdir, const struct queue_list_opts *o, int verbose)
{
	struct queue_listing ql;
	if (queue_list_load(&ql, qdir, o) < 0)
		return -1;
	queue_list_print(out, &ql, verbose);
	queue_list_free(&ql);
	return 0;
}
