/* pane_queue: one line per message: ID and mark, age, size, sender, first
 * recipient (+N more), status or last error; coloured by state (held,
 * delivering, deferred, unreadable) when the terminal has colours. */
#include "console.h"

#include <curses.h>
#include <string.h>

/* "<a@b>" -> "a@b"; "<>" stays, it is the null sender */
static void unbracket(char *buf, size_t size, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > 2 && s[0] == '<' && s[n - 1] == '>')
		snprintf(buf, size, "%.*s", (int)(n - 2), s + 1);
	else
		snprintf(buf, size, "%s", s ? s : "");
}

void pane_queue_draw(struct console *c, int y0, int rows)
{
	struct cqueue *q = &c->q;
	int w = COLS;
	int rest = w - 28;
	if (rest < 24)
		rest = 24;
	int ws = rest * 3 / 10, wr = rest * 3 / 10;
	int ww = rest - ws - wr;
	char hdr[512];
	snprintf(hdr, sizeof(hdr), "%-15s %4s %5s %-*s %-*s %s", "Queue ID", "Age", "Size",
		 ws, "Sender", wr, "Recipient", "Status");
	pen_on(CP_DIM, 1);
	put_text(y0, 0, w, hdr, 1);
	pen_off(CP_DIM, 1);
	rows--;
	y0++;
	if (!q->loaded && q->load_errno) {
		pen_on(CP_ERR, 0);
		mvprintw(y0, 0, "cannot read %s: %s", q->qdir, strerror(q->load_errno));
		pen_off(CP_ERR, 0);
		return;
	}
	if (q->n == 0) {
		put_text(y0, 0, w, q->ql.scanned ? "(no message matches the filter)"
						  : "(the queue is empty)", 0);
		return;
	}
	if (rows < 1)
		return;
	if (q->sel < q->top)
		q->top = q->sel;
	if (q->sel >= q->top + (size_t)rows)
		q->top = q->sel - (size_t)rows + 1;
	if (q->top + (size_t)rows > q->n)
		q->top = q->n > (size_t)rows ? q->n - (size_t)rows : 0;
	for (int r = 0; r < rows; r++) {
		size_t i = q->top + (size_t)r;
		const struct queue_entry *e = queue_at(q, i);
		if (e == NULL)
			break;
		int sev;
		const char *st = queue_status_text(e, &sev);
		char age[16], size[16], rc[512], status[512], id[32];
		fmt_age(age, sizeof(age), (long)(c->now - e->env.ctime));
		fmt_size(size, sizeof(size), e->size);
		char snd[512];
		unbracket(snd, sizeof(snd), e->err ? "?" : e->env.sender);
		unbracket(rc, sizeof(rc), e->env.nrcpts ? e->env.rcpts[0].addr : "");
		if (e->env.nrcpts > 1)
			snprintf(rc + strlen(rc), sizeof(rc) - strlen(rc), " +%zu", e->env.nrcpts - 1);
		snprintf(status, sizeof(status), "%s%s", e->env.quarantine ? "held: " : "", st);
		snprintf(id, sizeof(id), "%s%c", e->qid, e->mark);
		int y = y0 + r;
		int selected = i == q->sel;
		if (selected)
			pen_on(CP_HIGHLIGHT, 0);
		move(y, 0);
		int x = 0;
		x += put_text(y, x, 15, id, 1);
		x += put_text(y, x, 1, " ", 1);
		char tmp[32];
		snprintf(tmp, sizeof(tmp), "%4s %5s ", age, size);
		x += put_text(y, x, 11, tmp, 1);
		x += put_text(y, x, ws, snd, 1);
		x += put_text(y, x, 1, " ", 1);
		x += put_text(y, x, wr, rc, 1);
		x += put_text(y, x, 1, " ", 1);
		if (!selected)
			pen_on(sev, 0);
		put_text(y, x, ww, status, 1);
		if (!selected)
			pen_off(sev, 0);
		if (selected)
			pen_off(CP_HIGHLIGHT, 0);
	}
}
