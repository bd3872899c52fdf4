/* queue: the queue pane's model.  The directory is read through
 * lib/queue_list (which reads each qf through lib/qfile), narrowed by the
 * filter (lib/queue_select, as mailq selects) and sorted here.  Damaged
 * queue files are warnings and are shown whatever the filter.  Changes are noticed through inotify on the queue
 * directory (and its qf/ subdirectory); without inotify the main loop
 * reloads every second.  The selection follows its queue ID across reloads. */
#include "console.h"
#include "queue_shape.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <unistd.h>

void queue_init(struct cqueue *q, const char *qdir, long min_queue_age)
{
	memset(q, 0, sizeof(*q));
	q->qdir = qdir;
	q->min_queue_age = min_queue_age;
	q->dirty = 1;
	q->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (q->ino_fd >= 0) {
		uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
				IN_CLOSE_WRITE | IN_ATTRIB;
		char sub[4096];
		int ok = inotify_add_watch(q->ino_fd, qdir, mask) >= 0;
		snprintf(sub, sizeof(sub), "%s/qf", qdir);
		inotify_add_watch(q->ino_fd, sub, mask);	/* only when it exists */
		if (!ok) {
			close(q->ino_fd);
			q->ino_fd = -1;
		}
	}
}

void queue_free(struct cqueue *q)
{
	if (q->loaded)
		queue_list_free(&q->ql);
	free(q->order);
	if (q->ino_fd >= 0)
		close(q->ino_fd);
	memset(q, 0, sizeof(*q));
	q->ino_fd = -1;
}

void queue_watch_read(struct cqueue *q)
{
	char buf[8192];
	while (q->ino_fd >= 0 && read(q->ino_fd, buf, sizeof(buf)) > 0)
		q->dirty = 1;
}

const char *sort_name(enum sortkey k)
{
	static const char *const names[SORT_COUNT] = { "age", "size", "sender", "domain" };
	return names[k];
}

char *addr_domain(const char *addr)
{
	return qshape_domain(addr);
}

static const struct cqueue *sort_q;

static int cmp_entries(const void *pa, const void *pb)
{
	const struct queue_entry *a = &sort_q->ql.entries[*(const size_t *)pa];
	const struct queue_entry *b = &sort_q->ql.entries[*(const size_t *)pb];
	int c = 0;
	switch (sort_q->sort) {
	case SORT_AGE:
		/* oldest first, as mailq lists */
		c = (a->env.ctime > b->env.ctime) - (a->env.ctime < b->env.ctime);
		break;
	case SORT_SIZE:
		c = (a->size < b->size) - (a->size > b->size);	/* largest first */
		break;
	case SORT_SENDER:
		c = strcasecmp(a->env.sender ? a->env.sender : "", b->env.sender ? b->env.sender : "");
		break;
	case SORT_DOMAIN: {
		char *da = addr_domain(a->env.nrcpts ? a->env.rcpts[0].addr : NULL);
		char *db = addr_domain(b->env.nrcpts ? b->env.rcpts[0].addr : NULL);
		c = strcmp(da, db);
		free(da);
		free(db);
		break;
	}
	case SORT_COUNT:
		break;
	}
	if (c == 0)
		c = strcmp(a->qid, b->qid);
	return sort_q->reverse ? -c : c;
}

void queue_arrange(struct cqueue *q, const struct cfilter *f)
{
	free(q->order);
	q->order = NULL;
	q->n = 0;
	if (!q->loaded)
		return;
	q->order = xcalloc(q->ql.n + 1, sizeof(size_t));
	q->damaged = 0;
	for (size_t i = 0; i < q->ql.n; i++) {
		const struct queue_entry *e = &q->ql.entries[i];
		/* a damaged queue file is a warning: no filter hides it */
		if (e->err) {
			q->damaged++;
			q->order[q->n++] = i;
		} else if (qsel_match(&f->sel, e->qid, &e->env, q->loaded_at) &&
			   filter_match_plain(f, e)) {
			q->order[q->n++] = i;
		}
	}
	sort_q = q;
	qsort(q->order, q->n, sizeof(size_t), cmp_entries);
	sort_q = NULL;
	q->sel = 0;
	for (size_t i = 0; i < q->n && q->sel_qid[0]; i++)
		if (strcmp(q->ql.entries[q->order[i]].qid, q->sel_qid) == 0)
			q->sel = i;
	queue_move(q, 0);
}

void queue_reload(struct cqueue *q, const struct cfilter *f)
{
	/* the whole queue is read; the filter is applied by queue_arrange, so
	 * that damaged files stay in sight whatever the filter */
	struct queue_list_opts o = { .sel = NULL, .min_queue_age = q->min_queue_age,
				     .now = time(NULL) };
	struct queue_listing ql;
	q->dirty = 0;
	q->loaded_at = o.now;
	if (queue_list_load(&ql, q->qdir, &o) < 0) {
		q->load_errno = errno ? errno : EIO;
		return;
	}
	q->load_errno = 0;
	if (q->loaded)
		queue_list_free(&q->ql);
	q->ql = ql;
	q->loaded = 1;
	queue_arrange(q, f);
}

const struct queue_entry *queue_at(const struct cqueue *q, size_t i)
{
	return i < q->n ? &q->ql.entries[q->order[i]] : NULL;
}

const struct queue_entry *queue_selected(const struct cqueue *q)
{
	return queue_at(q, q->sel);
}

void queue_move_to(struct cqueue *q, size_t i)
{
	q->sel = i;
	queue_move(q, 0);
}

void queue_move(struct cqueue *q, long delta)
{
	if (q->n == 0) {
		q->sel = 0;
		return;
	}
	long s = (long)q->sel + delta;
	if (s < 0)
		s = 0;
	if (s >= (long)q->n)
		s = (long)q->n - 1;
	q->sel = (size_t)s;
	snprintf(q->sel_qid, sizeof(q->sel_qid), "%s", q->ql.entries[q->order[q->sel]].qid);
}

const char *queue_status_text(const struct queue_entry *e, int *severity)
{
	if (e->err) {
		*severity = CP_ERR;
		return e->err;
	}
	if (e->env.quarantine) {
		*severity = CP_HELD;
		return e->env.quarantine;
	}
	if (e->locked) {
		*severity = CP_OK;
		return "delivering";
	}
	if (e->env.msg && *e->env.msg) {
		*severity = CP_WARN;
		return e->env.msg;
	}
	*severity = 0;
	return e->env.ntries > 0 ? "deferred" : "queued";
}
