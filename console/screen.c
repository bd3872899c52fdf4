/* screen: curses start and stop, colours (only when the terminal has them),
 * and text output that a hostile queue file or log line cannot use to drive
 * the terminal: control characters are drawn as '?', multibyte text is
 * measured in display columns. */
#include "console.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

int scr_color;

void screen_start(int want_color)
{
	if (getenv("ESCDELAY") == NULL)
		set_escdelay(25);
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	scr_color = 0;
	if (want_color && has_colors() && start_color() == OK) {
		scr_color = 1;
		use_default_colors();
		init_pair(CP_TITLE, COLOR_WHITE, COLOR_BLUE);
		init_pair(CP_OK, COLOR_GREEN, -1);
		init_pair(CP_WARN, COLOR_YELLOW, -1);
		init_pair(CP_ERR, COLOR_RED, -1);
		init_pair(CP_HELD, COLOR_MAGENTA, -1);
		init_pair(CP_HIGHLIGHT, COLOR_BLACK, COLOR_CYAN);
		init_pair(CP_DIM, COLOR_CYAN, -1);
	}
}

void screen_stop(void)
{
	if (!isendwin()) {
		curs_set(1);
		endwin();
	}
}

void pen_on(int pair, int bold)
{
	if (pair > 0 && scr_color)
		attron(COLOR_PAIR(pair));
	else if (pair == CP_TITLE || pair == CP_HIGHLIGHT)
		attron(A_REVERSE);
	if (bold)
		attron(A_BOLD);
}

void pen_off(int pair, int bold)
{
	if (pair > 0 && scr_color)
		attroff(COLOR_PAIR(pair));
	else if (pair == CP_TITLE || pair == CP_HIGHLIGHT)
		attroff(A_REVERSE);
	if (bold)
		attroff(A_BOLD);
}

int put_text(int y, int x, int width, const char *s, int pad)
{
	if (width <= 0 || y < 0 || y >= LINES || x >= COLS)
		return 0;
	if (x + width > COLS)
		width = COLS - x;
	move(y, x);
	int used = 0;
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	const char *p = s ? s : "";
	size_t left = strlen(p);
	while (left > 0 && used < width) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, p, left, &st);
		int w;
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof(st));
			wc = L'?';
			k = 1;
		}
		if (wc == L'\t')
			wc = L' ';
		w = wcwidth(wc);
		if (w < 0 || wc < 0x20 || wc == 0x7f || (wc >= 0x80 && wc < 0xa0)) {
			wc = L'?';
			w = 1;
		}
		if (used + w > width)
			break;
		addnwstr(&wc, 1);
		used += w;
		p += k;
		left -= k;
	}
	if (pad)
		for (; used < width; used++)
			addch(' ');
	return used;
}

void fmt_age(char *buf, size_t size, long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 100)
		snprintf(buf, size, "%lds", secs);
	else if (secs < 100 * 60)
		snprintf(buf, size, "%ldm", secs / 60);
	else if (secs < 48 * 3600)
		snprintf(buf, size, "%ldh", secs / 3600);
	else
		snprintf(buf, size, "%ldd", secs / 86400);
}

void fmt_size(char *buf, size_t size, long bytes)
{
	if (bytes < 0)
		snprintf(buf, size, "-");
	else if (bytes < 1000)
		snprintf(buf, size, "%ld", bytes);
	else if (bytes < 10 * 1024)
		snprintf(buf, size, "%.1fK", bytes / 1024.0);
	else if (bytes < 1000 * 1024)
		snprintf(buf, size, "%ldK", bytes / 1024);
	else if (bytes < 10L * 1024 * 1024)
		snprintf(buf, size, "%.1fM", bytes / (1024.0 * 1024));
	else
		snprintf(buf, size, "%ldM", bytes / (1024 * 1024));
}
