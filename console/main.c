/* main: the command line, the configuration, and the event loop: poll() on
 * the terminal, the queue's inotify descriptor and a running mailq's pipe,
 * with a one-second tick that reads the log's new lines, reloads the queue
 * when it changed (or every second when inotify is not there) and redraws.
 * Keys are dispatched here to the panes, the message view, the line editor
 * and the actions.  See man/mtaconsole.1. */
#include "version.h"
#include "console.h"
#include "config.h"
#include "xalloc.h"

#include <curses.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

struct console con;

enum { EDIT_FILTER = 1, EDIT_COMMAND, EDIT_HOLD_REASON };

static const char usage_text[] =
"usage: mtaconsole [-C file.mc] [-O Option=value]... [-Ac | -Am] [--mailq PATH]\n"
"                  [--no-color]\n"
"The postmaster's live view of the mail queue, the log and the daemon.\n"
"\n"
"  -C file.mc          the configuration mtad reads (queue, LogFile, PidFile,\n"
"                      listeners); default: the built-in defaults\n"
"  -O Option=value     set an option as mtad -O does (QueueDirectory=...,\n"
"                      LogFile=..., PidFile=...)\n"
"  -Ac                 show the MSP queue (MSP_QUEUE_DIR, clientmqueue)\n"
"  -Am                 show the MTA queue (the default)\n"
"  --mailq PATH        the mailq that actions run (default: next to mtaconsole)\n"
"  --no-color          no colours even when the terminal has them (also NO_COLOR)\n"
"  -h, --help          print this help\n"
"  --version           print the version\n"
"\n"
"Keys:\n";

static volatile sig_atomic_t got_quit;

static void on_quit(int sig)
{
	(void)sig;
	got_quit = 1;
}

void set_status(int severity, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(con.status, sizeof(con.status), fmt, ap);
	va_end(ap);
	con.status_sev = severity;
}

/* ---- drawing ------------------------------------------------------------- */

static void draw_title(void)
{
	static const char *const names[PANE_COUNT] = { "Queue", "Shape", "Log", "Daemon" };
	pen_on(CP_TITLE, 0);
	move(0, 0);
	for (int i = 0; i < COLS; i++)
		addch(' ');
	int x = put_text(0, 0, COLS, " mtaconsole ", 0);
	if (con.view.open) {
		char t[128];
		if (con.view.qid[0])
			snprintf(t, sizeof(t), " Message %s%s  (B body, Esc back)", con.view.qid,
				 con.view.gone ? " [left the queue]" : "");
		else
			snprintf(t, sizeof(t), " mailq output  (Esc back)");
		put_text(0, x, COLS - x, t, 0);
	} else {
		for (int i = 0; i < PANE_COUNT && x < COLS; i++) {
			char t[32];
			snprintf(t, sizeof(t), " %d %s ", i + 1, names[i]);
			int cur = (int)con.pane == i;
			if (cur)
				attron(A_BOLD | A_UNDERLINE);
			x += put_text(0, x, COLS - x, t, 0);
			if (cur)
				attroff(A_BOLD | A_UNDERLINE);
		}
	}
	char clock[16];
	struct tm tm;
	localtime_r(&con.now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	if (COLS - 9 > x)
		put_text(0, COLS - 9, 9, clock, 0);
	pen_off(CP_TITLE, 0);
}

static void draw_info(int y)
{
	char line[1024];
	if (con.run.prompt[0] || con.run.pid) {
		snprintf(line, sizeof(line), "$ %s", con.run.cmdline);
	} else {
		char q[64];
		if (con.q.load_errno)
			snprintf(q, sizeof(q), "queue unreadable");
		else
			snprintf(q, sizeof(q), "%zu/%zu msgs%s", con.q.n, con.q.ql.scanned,
				 con.q.damaged ? "  DAMAGED FILES (shown)" : "");
		snprintf(line, sizeof(line), "%s  sort:%s%s  filter:%s  %s%s", q, sort_name(con.q.sort),
			 con.q.reverse ? "(rev)" : "", con.filter.text[0] ? con.filter.text : "-",
			 con.qdir, con.msp ? " (MSP)" : "");
	}
	pen_on(CP_TITLE, 0);
	put_text(y, 0, COLS, line, 1);
	pen_off(CP_TITLE, 0);
}

static void draw_status(int y)
{
	static const char spin[] = "|/-\\";
	move(y, 0);
	clrtoeol();
	if (con.edit.active) {
		char line[700];
		snprintf(line, sizeof(line), "%s%s", con.edit.prompt, con.edit.buf);
		/* keep the end of a long line visible */
		size_t len = strlen(line);
		const char *shown = len >= (size_t)COLS ? line + len - (size_t)COLS + 1 : line;
		int w = put_text(y, 0, COLS, shown, 0);
		curs_set(1);
		move(y, w < COLS ? w : COLS - 1);
		return;
	}
	curs_set(0);
	if (con.run.prompt[0]) {
		pen_on(CP_WARN, 1);
		put_text(y, 0, COLS, con.run.prompt, 0);
		pen_off(CP_WARN, 1);
		return;
	}
	if (con.run.pid) {
		char line[1200];
		snprintf(line, sizeof(line), "%c running (%lds): %s", spin[con.now % 4],
			 (long)(con.now - con.run.started), con.run.cmdline);
		put_text(y, 0, COLS, line, 0);
		return;
	}
	if (con.status[0]) {
		pen_on(con.status_sev, 0);
		put_text(y, 0, COLS, con.status, 0);
		pen_off(con.status_sev, 0);
	} else {
		put_text(y, 0, COLS, "? help  Enter open  / filter  s sort  f flush  h hold  "
				     "u release  d delete  q quit", 0);
	}
}

static void draw(void)
{
	erase();
	if (LINES < 8 || COLS < 40) {
		put_text(0, 0, COLS, "mtaconsole: the terminal is too small (40x8 at least)", 0);
		refresh();
		return;
	}
	int y0 = 1, rows = LINES - 3;
	draw_title();
	if (con.help)
		help_draw(y0, rows, con.help_scroll);
	else if (con.view.open)
		msgview_draw(&con.view, y0, rows);
	else switch (con.pane) {
	case PANE_QUEUE: pane_queue_draw(&con, y0, rows); break;
	case PANE_SHAPE: pane_shape_draw(&con, y0, rows); break;
	case PANE_LOG: pane_log_draw(&con, y0, rows); break;
	case PANE_DAEMON: pane_daemon_draw(&con, y0, rows); break;
	case PANE_COUNT: break;
	}
	draw_info(LINES - 2);
	draw_status(LINES - 1);
	refresh();
}

/* ---- the queue and the view ---------------------------------------------- */

static char view_sig[512];

static void entry_sig(const struct queue_entry *e, char *buf, size_t size)
{
	snprintf(buf, size, "%ld/%ld/%d/%s/%s/%ld", (long)e->env.ctime, (long)e->env.ktime,
		 e->env.ntries, e->env.quarantine ? e->env.quarantine : "",
		 e->env.msg ? e->env.msg : "", e->size);
}

static const struct queue_entry *find_entry(const char *qid)
{
	for (size_t i = 0; i < con.q.ql.n; i++)
		if (strcmp(con.q.ql.entries[i].qid, qid) == 0)
			return &con.q.ql.entries[i];
	return NULL;
}

static void open_view(const struct queue_entry *e)
{
	msgview_open(&con.view, con.qdir, e, con.logfile);
	entry_sig(e, view_sig, sizeof(view_sig));
}

static void reload(void)
{
	queue_reload(&con.q, &con.filter);
	if (!con.view.open || !con.view.qid[0])
		return;
	const struct queue_entry *e = find_entry(con.view.qid);
	if (e == NULL) {
		con.view.gone = 1;
		return;
	}
	char sig[512];
	entry_sig(e, sig, sizeof(sig));
	if (strcmp(sig, view_sig) != 0 || con.view.gone)
		open_view(e);
}

/* ---- actions ----------------------------------------------------------------- */

static void act(enum act a, int all, const char *arg)
{
	char err[512];
	const char **ids = NULL;
	size_t n = 0;
	if (con.view.open && con.view.qid[0] && !all) {
		ids = xcalloc(1, sizeof(char *));
		ids[n++] = con.view.qid;
	} else if (!con.view.open) {
		ids = xcalloc(con.q.n + 1, sizeof(char *));
		if (all)
			for (size_t i = 0; i < con.q.n; i++)
				ids[n++] = queue_at(&con.q, i)->qid;
		else if (queue_selected(&con.q))
			ids[n++] = queue_selected(&con.q)->qid;
	}
	int rc = action_prepare(&con.run, a, ids, n, arg, err, sizeof(err));
	free(ids);
	if (rc < 0) {
		set_status(CP_ERR, "%s", err);
		return;
	}
	con.status[0] = '\0';
	if (rc == 1 && action_start(&con.run, err, sizeof(err)) < 0)
		set_status(CP_ERR, "%s", err);
}

static void action_finished(void)
{
	struct runner *r = &con.run;
	/* the last non-empty output line says what happened */
	char last[512] = "";
	const char *p = r->out.s;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n)
			snprintf(last, sizeof(last), "%.*s", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
	if (r->show_output && r->status == 0) {
		msgview_text(&con.view, r->cmdline, r->out.s);
		set_status(0, "%s: exit 0", r->cmdline);
	} else {
		set_status(r->status == 0 ? CP_OK : CP_ERR, "%s: %s%s%s", r->cmdline,
			   r->status == 0 ? "done" : "failed", last[0] ? ": " : "", last);
		if (r->status != 0 && r->status != 127)
			set_status(CP_ERR, "%s: exit %d%s%s", r->cmdline, r->status, last[0] ? ": " : "",
				   last);
	}
	r->finished = 0;
	reload();
}

/* ---- keys -------------------------------------------------------------------- */

static int page_rows(void)
{
	int r = LINES - 4;
	return r > 1 ? r : 1;
}

static int hold_all;	/* the reason being typed is for H (every filtered message) */

static void ask_hold_reason(int all)
{
	hold_all = all;
	edit_start(&con.edit, all ? "hold every filtered message, reason: " : "hold, reason: ", "",
		   EDIT_HOLD_REASON);
}

static void edit_done(void)
{
	char err[512];
	switch (con.edit.purpose) {
	case EDIT_FILTER:
		if (filter_parse(&con.filter, con.edit.buf, err, sizeof(err)) < 0) {
			set_status(CP_ERR, "filter: %s", err);
			return;
		}
		reload();
		if (con.filter.text[0])
			set_status(0, "filter: %s (%zu of %zu)", con.filter.text, con.q.n,
				   con.q.ql.scanned);
		else
			set_status(0, "filter cleared (%zu messages)", con.q.n);
		break;
	case EDIT_COMMAND:
		if (con.edit.buf[0])
			act(ACT_COMMAND, 0, con.edit.buf);
		break;
	case EDIT_HOLD_REASON:
		if (con.edit.buf[0] == '\0') {
			set_status(CP_WARN, "hold cancelled: a reason is needed (it goes into the queue "
				   "file and the log)");
			break;
		}
		act(ACT_HOLD, hold_all, con.edit.buf);
		break;
	}
}

static int key_view(int ch)
{
	int rows = LINES - 3;
	switch (ch) {
	case 27: case 'q': case KEY_LEFT: case KEY_BACKSPACE: case 127:
		msgview_close(&con.view);
		return 1;
	case KEY_UP: case 'k': msgview_scroll(&con.view, -1, rows); return 1;
	case KEY_DOWN: case 'j': msgview_scroll(&con.view, 1, rows); return 1;
	case KEY_PPAGE: msgview_scroll(&con.view, -page_rows(), rows); return 1;
	case KEY_NPAGE: case ' ': msgview_scroll(&con.view, page_rows(), rows); return 1;
	case KEY_HOME: case 'g': msgview_scroll(&con.view, -(long)con.view.n, rows); return 1;
	case KEY_END: case 'G': msgview_scroll(&con.view, (long)con.view.n, rows); return 1;
	case 'B':
		if (con.view.qid[0]) {
			const struct queue_entry *e = find_entry(con.view.qid);
			if (e == NULL) {
				set_status(CP_WARN, "%s has left the queue", con.view.qid);
				return 1;
			}
			con.view.show_body = !con.view.show_body;
			open_view(e);
			if (con.view.show_body)
				msgview_scroll(&con.view, (long)con.view.n, rows);
		}
		return 1;
	}
	return 0;
}

static void key_nav(int ch)
{
	if (con.pane == PANE_LOG) {
		switch (ch) {
		case KEY_UP: case 'k': con.log_scroll++; break;
		case KEY_DOWN: case 'j': con.log_scroll--; break;
		case KEY_PPAGE: con.log_scroll += page_rows(); break;
		case KEY_NPAGE: con.log_scroll -= page_rows(); break;
		case KEY_HOME: case 'g': con.log_scroll = LONG_MAX / 2; break;
		case KEY_END: case 'G': con.log_scroll = 0; break;
		}
		return;
	}
	switch (ch) {
	case KEY_UP: case 'k': queue_move(&con.q, -1); break;
	case KEY_DOWN: case 'j': queue_move(&con.q, 1); break;
	case KEY_PPAGE: queue_move(&con.q, -page_rows()); break;
	case KEY_NPAGE: queue_move(&con.q, page_rows()); break;
	case KEY_HOME: case 'g': queue_move_to(&con.q, 0); break;
	case KEY_END: case 'G': queue_move_to(&con.q, con.q.n ? con.q.n - 1 : 0); break;
	}
}

static int handle_key(int ch)
{
	if (ch == KEY_RESIZE) {
		clearok(curscr, TRUE);
		return 0;
	}
	if (con.edit.active) {
		if (edit_key(&con.edit, ch) == 1)
			edit_done();
		return 0;
	}
	if (con.run.prompt[0]) {
		char err[512];
		if (ch == 'y' || ch == 'Y') {
			if (action_start(&con.run, err, sizeof(err)) < 0)
				set_status(CP_ERR, "%s", err);
		} else {
			set_status(0, "cancelled: %s", con.run.cmdline);
			action_cancel(&con.run);
		}
		return 0;
	}
	if (con.help) {
		if (ch == KEY_DOWN || ch == 'j')
			con.help_scroll++;
		else if ((ch == KEY_UP || ch == 'k') && con.help_scroll > 0)
			con.help_scroll--;
		else
			con.help = 0;
		return 0;
	}
	con.status[0] = '\0';
	if (con.view.open && key_view(ch))
		return 0;
	switch (ch) {
	case 12:	/* Ctrl-L */
		clearok(curscr, TRUE);
		return 0;
	case '?':
		con.help = 1;
		con.help_scroll = 0;
		return 0;
	case ':':
		edit_start(&con.edit, ":mailq ", "", EDIT_COMMAND);
		return 0;
	case 'f': act(ACT_FLUSH, 0, NULL); return 0;
	case 'h': ask_hold_reason(0); return 0;
	case 'u': act(ACT_RELEASE, 0, NULL); return 0;
	case 'd': act(ACT_DELETE, 0, NULL); return 0;
	case 'b': act(ACT_BOUNCE, 0, NULL); return 0;
	}
	if (con.view.open)
		return 0;
	switch (ch) {
	case 'q':
		return 1;
	case '\t': con.pane = (con.pane + 1) % PANE_COUNT; return 0;
	case KEY_BTAB: con.pane = (con.pane + PANE_COUNT - 1) % PANE_COUNT; return 0;
	case '1': case '2': case '3': case '4': con.pane = (enum pane)(ch - '1'); return 0;
	case 'F': act(ACT_FLUSH, 1, NULL); return 0;
	case 'H': ask_hold_reason(1); return 0;
	case 'U': act(ACT_RELEASE, 1, NULL); return 0;
	case 'D': act(ACT_DELETE, 1, NULL); return 0;
	case 'B': act(ACT_BOUNCE, 1, NULL); return 0;
	case '/':
		edit_start(&con.edit, "filter (R: S: I: Q: or text): ", con.filter.text, EDIT_FILTER);
		return 0;
	case 's':
		con.q.sort = (con.q.sort + 1) % SORT_COUNT;
		queue_arrange(&con.q, &con.filter);
		set_status(0, "sorted by %s%s", sort_name(con.q.sort), con.q.reverse ? ", reversed" : "");
		return 0;
	case 'r':
		con.q.reverse = !con.q.reverse;
		queue_arrange(&con.q, &con.filter);
		set_status(0, "sorted by %s%s", sort_name(con.q.sort), con.q.reverse ? ", reversed" : "");
		return 0;
	case 'R':
		reload();
		set_status(0, "queue reloaded: %zu messages", con.q.ql.scanned);
		return 0;
	case '\n': case '\r': case KEY_ENTER: {
		const struct queue_entry *e = queue_selected(&con.q);
		if (con.pane != PANE_QUEUE)
			con.pane = PANE_QUEUE;
		if (e)
			open_view(e);
		else
			set_status(CP_WARN, "no message selected");
		return 0;
	}
	}
	key_nav(ch);
	return 0;
}

/* ---- setup and the loop ------------------------------------------------------ */

static char *default_mailq(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return xstrdup("/usr/local/bin/mailq");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	size_t len = strlen(self) + sizeof("/mailq");
	char *p = xmalloc(len);
	snprintf(p, len, "%s/mailq", self);
	return p;
}

static long ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void loop(void)
{
	long next_tick = 0, last_load = 0;
	for (;;) {
		con.now = time(NULL);
		long t = ms_now();
		if (t >= next_tick) {
			logtail_poll(&con.log, con.now);
			if (con.q.ino_fd < 0 || t - last_load >= 5000)
				con.q.dirty = 1;
			next_tick = t + 1000;
		}
		if (con.q.dirty && t - last_load >= 150) {
			reload();
			last_load = t;
		}
		if (con.run.pid && action_poll(&con.run))
			action_finished();
		draw();
		if (got_quit)
			return;
		struct pollfd pf[3] = {
			{ .fd = 0, .events = POLLIN },
			{ .fd = con.q.ino_fd, .events = POLLIN },
			{ .fd = con.run.fd, .events = POLLIN },
		};
		long wait = next_tick - ms_now();
		if (con.q.dirty)
			wait = 150 - (ms_now() - last_load);
		if (con.run.pid && wait > 100)
			wait = 100;
		if (wait < 0)
			wait = 0;
		int rc = poll(pf, 3, (int)wait);
		if (rc < 0 && errno != EINTR)
			return;
		if (rc > 0 && (pf[1].revents & POLLIN))
			queue_watch_read(&con.q);
		int ch;
		while ((ch = getch()) != ERR) {
			if (handle_key(ch))
				return;
		}
		if (got_quit)
			return;
	}
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	memset(&con, 0, sizeof(con));
	con.oopts = xcalloc((size_t)argc + 1, sizeof(char *));
	int color = getenv("NO_COLOR") == NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			fputs(help_keys_text, stdout);
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			version_print(stdout, "mtaconsole");
			return 0;
		}
		if (strcmp(a, "--no-color") == 0 || strcmp(a, "--no-colour") == 0) {
			color = 0;
		} else if (strcmp(a, "--mailq") == 0 || strncmp(a, "--mailq=", 8) == 0) {
			if (a[7] == '=')
				con.mailq = a + 8;
			else if (i + 1 < argc)
				con.mailq = argv[++i];
			else
				goto usage;
		} else if (strcmp(a, "-Ac") == 0) {
			con.msp = 1;
		} else if (strcmp(a, "-Am") == 0) {
			con.msp = 0;
		} else if (a[0] == '-' && (a[1] == 'C' || a[1] == 'O') && a[2] == '\0') {
			if (i + 1 >= argc)
				goto usage;
			if (a[1] == 'C')
				con.conf_file = argv[++i];
			else
				con.oopts[con.noopts++] = argv[++i];
		} else if (a[0] == '-' && (a[1] == 'C' || a[1] == 'O')) {
			if (a[1] == 'C')
				con.conf_file = a + 2;
			else
				con.oopts[con.noopts++] = (char *)a + 2;
		} else {
			fprintf(stderr, "mtaconsole: unknown argument %s\n", a);
			goto usage;
		}
	}
	char err[1024];
	if (con_conf_load(con.conf_file, con.oopts, con.noopts, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtaconsole: %s\n", err);
		return EX_CONFIG;
	}
	con.qdir = conf_str(con.msp ? C_MSP_QUEUE_DIR : C_QUEUE_DIR);
	con.logfile = conf_str(C_LOG_FILE);
	con.pidfile = conf_str(C_PID_FILE);
	char *mq = NULL;
	if (con.mailq == NULL)
		con.mailq = mq = default_mailq();
	if (!isatty(0) || !isatty(1)) {
		fprintf(stderr, "mtaconsole: needs a terminal (for scripts: mailq --json)\n");
		return EX_USAGE;
	}
	filter_init(&con.filter);
	queue_init(&con.q, con.qdir, conf_num(C_MIN_QUEUE_AGE));
	logtail_init(&con.log, con.logfile);
	runner_init(&con.run);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_quit;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(screen_stop);
	screen_start(color);
	loop();
	screen_stop();
	if (con.run.pid)
		fprintf(stderr, "mtaconsole: %s is still running (pid %ld)\n", con.run.cmdline,
			(long)con.run.pid);
	msgview_close(&con.view);
	queue_free(&con.q);
	logtail_free(&con.log);
	filter_free(&con.filter);
	edit_free(&con.edit);
	action_cancel(&con.run);
	sb_free(&con.run.out);
	free(con.oopts);
	free(mq);
	return 0;
usage:
	fputs(usage_text, stderr);
	return EX_USAGE;
}
