/* pane_shape: the queue's shape as qshape shows it: one row per recipient
 * domain, the messages for it by minutes since they were queued, in the
 * same buckets as `mailq --summary`; the busiest domains first. */
#include "console.h"
#include "xalloc.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

static const long bucket_min[] = { 5, 10, 20, 40, 80, 160, 320, 640, 1280 };
#define NB (sizeof(bucket_min) / sizeof(bucket_min[0]) + 1)

struct drow {
	char *domain;
	long total;
	long count[NB];
};

static int bucket_of(long secs)
{
	long m = secs < 0 ? 0 : secs / 60;
	for (size_t i = 0; i < NB - 1; i++)
		if (m < bucket_min[i])
			return (int)i;
	return (int)NB - 1;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct drow *x = a, *y = b;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->domain, y->domain);
}

static void draw_row(int y, const char *name, const struct drow *d, int wd, int attr)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), " %6ld", d->total);
	for (size_t b = 0; b < NB && n < (int)sizeof(buf); b++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, b < NB - 1 ? " %4ld" : " %5ld",
			      d->count[b]);
	pen_on(attr, attr == CP_DIM);
	put_text(y, 0, wd, name, 1);
	put_text(y, wd, COLS - wd, buf, 0);
	pen_off(attr, attr == CP_DIM);
}

void pane_shape_draw(struct console *c, int y0, int rows)
{
	struct cqueue *q = &c->q;
	struct drow *rowsv = NULL, total = { 0 };
	size_t nrows = 0;
	for (size_t i = 0; i < q->n; i++) {
		const struct queue_entry *e = queue_at(q, i);
		int b = bucket_of((long)(c->now - e->env.ctime));
		for (size_t r = 0; r < e->env.nrcpts; r++) {
			char *d = addr_domain(e->env.rcpts[r].addr);
			size_t k;
			for (k = 0; k < nrows && strcmp(rowsv[k].domain, d) != 0; k++)
				;
			if (k == nrows) {
				rowsv = xreallocarray(rowsv, nrows + 1, sizeof(*rowsv));
				memset(&rowsv[nrows], 0, sizeof(*rowsv));
				rowsv[nrows++].domain = d;
			} else {
				free(d);
			}
			rowsv[k].total++;
			rowsv[k].count[b]++;
			total.total++;
			total.count[b]++;
		}
	}
	qsort(rowsv, nrows, sizeof(*rowsv), cmp_rows);
	int wd = COLS - 7 - 5 * (int)NB - 1;
	if (wd < 10)
		wd = 10;
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr), " %6s", "T");
	for (size_t b = 0; b < NB - 1; b++)
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, " %4ld", bucket_min[b]);
	snprintf(hdr + n, sizeof(hdr) - (size_t)n, " %4ld+", bucket_min[NB - 2]);
	pen_on(CP_DIM, 1);
	put_text(y0, 0, wd, "domain (minutes ->)", 1);
	put_text(y0, wd, COLS - wd, hdr, 1);
	pen_off(CP_DIM, 1);
	if (rows > 1)
		draw_row(y0 + 1, "TOTAL", &total, wd, CP_DIM);
	for (int r = 0; r + 2 < rows && (size_t)r < nrows; r++)
		draw_row(y0 + 2 + r, rowsv[r].domain, &rowsv[r], wd,
			 rowsv[r].count[NB - 1] ? CP_ERR : 0);
	if (nrows + 2 > (size_t)rows && rows > 2) {
		char more[64];
		snprintf(more, sizeof(more), "... %zu more domains", nrows + 2 - (size_t)rows);
		put_text(y0 + rows - 1, 0, COLS, more, 1);
	}
	for (size_t i = 0; i < nrows; i++)
		free(rowsv[i].domain);
	free(rowsv);
}
