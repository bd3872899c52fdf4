/* pane_log: the tail of the LogFile, live; deliveries green, deferrals
 * yellow, bounces and rejects red, and the lines of the message selected in
 * the queue pane highlighted.  Up/Down scroll back, End follows again. */
#include "console.h"

#include <curses.h>
#include <string.h>

void pane_log_draw(struct console *c, int y0, int rows)
{
	struct logtail *lt = &c->log;
	if (lt->path == NULL) {
		put_text(y0, 0, COLS, "No LogFile configured: define(`confLOG_FILE', path) in the .mc "
				      "or -O LogFile=path.", 0);
		return;
	}
	if (lt->err[0]) {
		pen_on(CP_ERR, 0);
		put_text(y0, 0, COLS, lt->err, 1);
		pen_off(CP_ERR, 0);
		y0++;
		rows--;
	}
	if (rows <= 0)
		return;
	const struct queue_entry *sel = queue_selected(&c->q);
	long maxscroll = (long)lt->count - rows;
	if (maxscroll < 0)
		maxscroll = 0;
	if (c->log_scroll > maxscroll)
		c->log_scroll = maxscroll;
	if (c->log_scroll < 0)
		c->log_scroll = 0;
	long first = (long)lt->count - rows - c->log_scroll;
	if (first < 0)
		first = 0;
	for (int r = 0; r < rows; r++) {
		const char *line = logtail_line(lt, (size_t)(first + r));
		if (line == NULL)
			break;
		int hl = sel && logline_has_qid(line, sel->qid);
		int cls = hl ? CP_HIGHLIGHT : logline_class(line);
		pen_on(cls, 0);
		put_text(y0 + r, 0, COLS, line, hl);
		pen_off(cls, 0);
	}
	if (lt->count == 0)
		put_text(y0, 0, COLS, "(the log is empty so far)", 0);
}
