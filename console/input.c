/* input: the one-line editor of the `/` (filter) and `:` (mailq command)
 * prompts, drawn on the status line: printable characters, Backspace,
 * Ctrl-U (erase the line), Ctrl-W (erase a word), Up/Down (history of
 * accepted lines), Enter accepts, Esc or Ctrl-G cancels. */
#include "console.h"
#include "xalloc.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

void edit_start(struct lineedit *e, const char *prompt, const char *init, int purpose)
{
	e->active = 1;
	e->purpose = purpose;
	snprintf(e->prompt, sizeof(e->prompt), "%s", prompt);
	snprintf(e->buf, sizeof(e->buf), "%s", init ? init : "");
	e->len = strlen(e->buf);
	e->hpos = (long)e->nhist;
}

static void remember(struct lineedit *e)
{
	if (e->len == 0 || (e->nhist && strcmp(e->hist[e->nhist - 1], e->buf) == 0))
		return;
	if (e->nhist == sizeof(e->hist) / sizeof(e->hist[0])) {
		free(e->hist[0]);
		memmove(e->hist, e->hist + 1, (e->nhist - 1) * sizeof(char *));
		e->nhist--;
	}
	e->hist[e->nhist++] = xstrdup(e->buf);
}

static void recall(struct lineedit *e, long pos)
{
	if (pos < 0 || pos > (long)e->nhist)
		return;
	e->hpos = pos;
	snprintf(e->buf, sizeof(e->buf), "%s", pos == (long)e->nhist ? "" : e->hist[pos]);
	e->len = strlen(e->buf);
}

int edit_key(struct lineedit *e, int ch)
{
	switch (ch) {
	case '\n': case '\r': case KEY_ENTER:
		e->active = 0;
		remember(e);
		return 1;
	case 27: case 7:	/* Esc, Ctrl-G */
		e->active = 0;
		return -1;
	case KEY_BACKSPACE: case 127: case 8:
		if (e->len)
			e->buf[--e->len] = '\0';
		return 0;
	case 21:		/* Ctrl-U */
		e->len = 0;
		e->buf[0] = '\0';
		return 0;
	case 23:		/* Ctrl-W */
		while (e->len && e->buf[e->len - 1] == ' ')
			e->len--;
		while (e->len && e->buf[e->len - 1] != ' ')
			e->len--;
		e->buf[e->len] = '\0';
		return 0;
	case KEY_UP:
		recall(e, e->hpos - 1);
		return 0;
	case KEY_DOWN:
		recall(e, e->hpos + 1);
		return 0;
	default:
		if (ch >= 0x20 && ch < 0x100 && ch != 0x7f && e->len + 1 < sizeof(e->buf)) {
			e->buf[e->len++] = (char)ch;
			e->buf[e->len] = '\0';
		}
		return 0;
	}
}

void edit_free(struct lineedit *e)
{
	for (size_t i = 0; i < e->nhist; i++)
		free(e->hist[i]);
	memset(e, 0, sizeof(*e));
}
