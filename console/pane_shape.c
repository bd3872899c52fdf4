/* pane_shape: the queue's shape as qshape shows it, through lib/queue_shape
 * (the same counts as `mailq --summary`); the busiest domains first. */
#include "console.h"
#include "queue_shape.h"
#include "xalloc.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

static void draw_row(int y, const char *name, const struct qshape_row *d, int wd, int attr)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), " %6ld", d->total);
	for (size_t b = 0; b < QSHAPE_NB && n < (int)sizeof(buf); b++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, b < QSHAPE_NB - 1 ? " %4ld" : " %5ld",
			      d->count[b]);
	pen_on(attr, attr == CP_DIM);
	put_text(y, 0, wd, name, 1);
	put_text(y, wd, COLS - wd, buf, 0);
	pen_off(attr, attr == CP_DIM);
}

void pane_shape_draw(struct console *c, int y0, int rows)
{
	struct cqueue *q = &c->q;
	struct qshape shape;
	qshape_init(&shape);
	for (size_t i = 0; i < q->n; i++) {
		const struct queue_entry *e = queue_at(q, i);
		qshape_add(&shape, &e->env, (long)(c->now - e->env.ctime));
	}
	qshape_sort(&shape);
	struct qshape_row *rowsv = shape.rows;
	size_t nrows = shape.n;
	int wd = COLS - 7 - 5 * (int)QSHAPE_NB - 1;
	if (wd < 10)
		wd = 10;
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr), " %6s", "T");
	for (size_t b = 0; b < QSHAPE_NB - 1; b++)
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, " %4ld", qshape_minutes[b]);
	snprintf(hdr + n, sizeof(hdr) - (size_t)n, " %4ld+", qshape_minutes[QSHAPE_NB - 2]);
	pen_on(CP_DIM, 1);
	put_text(y0, 0, wd, "domain (minutes ->)", 1);
	put_text(y0, wd, COLS - wd, hdr, 1);
	pen_off(CP_DIM, 1);
	if (rows > 1)
		draw_row(y0 + 1, "TOTAL", &shape.total, wd, CP_DIM);
	for (int r = 0; r + 2 < rows && (size_t)r < nrows; r++)
		draw_row(y0 + 2 + r, rowsv[r].domain, &rowsv[r], wd,
			 rowsv[r].count[QSHAPE_NB - 1] ? CP_ERR : 0);
	if (nrows + 2 > (size_t)rows && rows > 2) {
		char more[64];
		snprintf(more, sizeof(more), "... %zu more domains", nrows + 2 - (size_t)rows);
		put_text(y0 + rows - 1, 0, COLS, more, 1);
	}
	qshape_free(&shape);
}
