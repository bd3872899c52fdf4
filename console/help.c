/* help: the keys, one table shown by `?` and printed by --help (and the
 * same list is in man/mtaconsole.1). */
#include "console.h"

#include <curses.h>
#include <string.h>

const char help_keys_text[] =
"Panes\n"
"  Tab, Shift-Tab    next, previous pane\n"
"  1 2 3 4           queue, shape, log, daemon\n"
"Moving\n"
"  Up/Down, j/k      move the selection (log pane, message view: scroll)\n"
"  PgUp/PgDn         a page; Home/g, End/G: first, last (End follows the log)\n"
"  Enter             open the selected message (Esc, q or Left: back)\n"
"  B                 in a message: show or hide the body\n"
"Queue\n"
"  /                 filter: R:sub S:sub I:sub Q:[sub] (! after the colon\n"
"                    negates), mailq's -qR/-qS/-qI/-qQ, or plain text that\n"
"                    an ID, the sender or a recipient contains; empty clears;\n"
"                    damaged queue files are shown whatever the filter\n"
"  s                 sort by age, size, sender, domain (next key)\n"
"  r                 reverse the sort\n"
"Actions (asked y/n, run through mailq; the status line shows the command)\n"
"  f / F             flush the selected message / every filtered one\n"
"  h / H             hold (quarantine) selected / filtered: asks the reason\n"
"  u / U             release selected / filtered\n"
"  d / D             delete selected / filtered\n"
"  b / B             bounce (return to the senders) selected / filtered\n"
"  :                 run mailq with these arguments (-qSbob --summary ...);\n"
"                    an action is counted first (mailq --dry-run) and asked\n"
"                    with its count\n"

"Other\n"
"  Ctrl-L            redraw; R reloads the queue now\n"
"  ?                 this help (any key closes it)\n"
"  q                 quit (in a message: back)\n";

void help_draw(int y0, int rows, long scroll)
{
	const char *p = help_keys_text;
	long skip = scroll;
	int y = y0;
	while (*p && y < y0 + rows) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (skip > 0) {
			skip--;
		} else {
			char line[256];
			snprintf(line, sizeof(line), "%.*s", (int)n, p);
			int heading = line[0] != ' ';
			pen_on(0, heading);
			put_text(y++, 0, COLS, line, 1);
			pen_off(0, heading);
		}
		p += n + (nl ? 1 : 0);
	}
}
