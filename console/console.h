/* mtaconsole: the postmaster's live ncurses view of the queue, the log and
 * the daemon.  One process, one event loop (main.c) over the terminal, an
 * inotify descriptor on the queue and the pipe of a running mailq action.
 *
 *   main.c     options, configuration, the event loop, pane switching
 *   conf.c     the .mc and -O options, through lib/mc and lib/config
 *   screen.c   drawing helpers: colours, safe text, title and status lines
 *   queue.c    the queue model: load (lib/queue_list), filter, sort, watch
 *   filter.c   the `/` filter: mailq's selectors (lib/queue_select) + text
 *   pane_queue.c   the queue pane          pane_shape.c  the queue shape
 *   pane_log.c     the log tail            pane_daemon.c the daemon's state
 *   logtail.c  reads the LogFile incrementally (lib/logparse), keeps counts
 *   msgview.c  one message: envelope, recipients, headers, log, hops, body
 *   input.c    the one-line editor for `/` and `:` prompts
 *   actions.c  confirmation and the mailq child process
 *   help.c     the key table, drawn by `?` */
#ifndef MTACONSOLE_H
#define MTACONSOLE_H
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "queue_list.h"
#include "queue_select.h"
#include "strbuf.h"

enum pane { PANE_QUEUE, PANE_SHAPE, PANE_LOG, PANE_DAEMON, PANE_COUNT };
enum sortkey { SORT_AGE, SORT_SIZE, SORT_SENDER, SORT_DOMAIN, SORT_COUNT };

/* colour pairs (0 = the terminal's default) */
enum {
	CP_TITLE = 1, CP_OK, CP_WARN, CP_ERR, CP_HELD, CP_HIGHLIGHT, CP_DIM, CP_COUNT
};

/* ---- filter.c ------------------------------------------------------------ */
struct cfilter {
	char *text;			/* as typed, "" when none */
	struct queue_select sel;	/* R:, S:, I:, Q: and -q terms */
	char **plain;			/* plain words: ID, sender or a recipient */
	size_t nplain;
};
void filter_init(struct cfilter *f);
void filter_free(struct cfilter *f);
/* Parses text into f (replacing it).  Returns 0, or -1 with err set (f
 * unchanged). */
int filter_parse(struct cfilter *f, const char *text, char *err, size_t errsize);
/* The plain words (selectors are applied by queue_list_load). */
int filter_match_plain(const struct cfilter *f, const struct queue_entry *e);

/* ---- queue.c --------------------------------------------------------------- */
struct cqueue {
	const char *qdir;
	struct queue_listing ql;
	int loaded;
	int load_errno;			/* 0, or why the directory could not be read */
	size_t *order;			/* shown entries, filtered and sorted */
	size_t n;
	size_t sel;			/* index into order */
	size_t top;			/* first row shown */
	char sel_qid[QID_MAXLEN];	/* keeps the selection across reloads */
	enum sortkey sort;
	int reverse;
	int ino_fd;			/* inotify, -1 when polling */
	int dirty;			/* the directory changed since the load */
	time_t loaded_at;
	long min_queue_age;
	size_t damaged;			/* unreadable queue files (always shown) */
};
void queue_init(struct cqueue *q, const char *qdir, long min_queue_age);
void queue_free(struct cqueue *q);
void queue_reload(struct cqueue *q, const struct cfilter *f);
/* Re-sorts and re-filters without reading the disk. */
void queue_arrange(struct cqueue *q, const struct cfilter *f);
/* Drains the inotify descriptor; sets dirty. */
void queue_watch_read(struct cqueue *q);
const struct queue_entry *queue_selected(const struct cqueue *q);
const struct queue_entry *queue_at(const struct cqueue *q, size_t i);
void queue_move(struct cqueue *q, long delta);
void queue_move_to(struct cqueue *q, size_t i);
const char *queue_status_text(const struct queue_entry *e, int *severity);
const char *sort_name(enum sortkey k);
/* lower-cased domain of an address, "(local)" when it has none; caller frees */
char *addr_domain(const char *addr);

/* ---- logtail.c ------------------------------------------------------------- */
#define LOG_RING 2000
#define RATE_MINUTES 30
enum { RATE_RECEIVED, RATE_DELIVERED, RATE_DEFERRED, RATE_BOUNCED, RATE_KINDS };
struct logtail {
	const char *path;		/* NULL or "" when no LogFile is configured */
	int fd;
	ino_t ino;
	off_t off;
	char *partial;			/* an unfinished last line */
	size_t npartial;
	char *lines[LOG_RING];		/* ring of the last lines */
	size_t head, count;
	long total[RATE_KINDS];		/* since the console started reading */
	long rate[RATE_KINDS][RATE_MINUTES];	/* per minute, [0] = this minute */
	time_t rate_minute;		/* the minute rate[][0] counts */
	char err[256];
};
void logtail_init(struct logtail *lt, const char *path);
void logtail_free(struct logtail *lt);
/* Reads what was appended (from the last 256 kB at the first call);
 * returns the number of new lines. */
int logtail_poll(struct logtail *lt, time_t now);
const char *logtail_line(const struct logtail *lt, size_t i);	/* 0 = oldest kept */
/* Colour class of a log line: 0 plain, CP_OK, CP_WARN, CP_ERR. */
int logline_class(const char *line);
/* Does the line belong to this queue ID? */
int logline_has_qid(const char *line, const char *qid);

/* ---- actions.c ------------------------------------------------------------- */
enum act { ACT_FLUSH, ACT_HOLD, ACT_RELEASE, ACT_DELETE, ACT_BOUNCE, ACT_COMMAND };
struct runner {
	pid_t pid;			/* running mailq, 0 when none */
	int fd;				/* its stdout+stderr, -1 when none */
	struct strbuf out;		/* its output (capped at 1 MB) */
	int status;			/* its exit status, when finished */
	int show_output;		/* a listing: the output is shown in the view */
	char cmdline[1024];		/* what runs: the equivalent mailq command */
	time_t started;
	char **pending;			/* argv waiting for y/n */
	char prompt[512];
	int finished;			/* exit seen: the queue needs a reload */
};
void runner_init(struct runner *r);
/* Prepares an action on the given IDs (arg: the hold reason or, for
 * ACT_COMMAND, the mailq arguments typed after ':').  Returns 0 and sets
 * r->prompt (a y/n question), 1 when the command only lists and may run
 * without asking, or -1 with a message in err. */
int action_prepare(struct runner *r, enum act a, const char *const *ids, size_t nids,
		   const char *arg, char *err, size_t errsize);
void action_cancel(struct runner *r);
/* Starts the confirmed action.  Returns 0, or -1 with err. */
int action_start(struct runner *r, char *err, size_t errsize);
/* Reads the child's output and reaps it; returns 1 when it has finished
 * (r->out holds its output, r->status its exit status). */
int action_poll(struct runner *r);
const char *action_name(enum act a);

/* ---- input.c --------------------------------------------------------------- */
struct lineedit {
	int active;
	char prompt[64];
	char buf[512];
	size_t len;
	int purpose;			/* what the caller does with the line */
	char *hist[32];
	size_t nhist;
	long hpos;
};
void edit_start(struct lineedit *e, const char *prompt, const char *init, int purpose);
/* Feeds a key.  Returns 1 when Enter was pressed (the line is in buf),
 * -1 when cancelled (Esc, Ctrl-G), 0 otherwise. */
int edit_key(struct lineedit *e, int ch);
void edit_free(struct lineedit *e);

/* ---- msgview.c ------------------------------------------------------------- */
struct vline {
	char *text;
	int attr;			/* colour pair, or -1 for a heading */
};
struct msgview {
	int open;
	char qid[QID_MAXLEN];
	int show_body;
	struct vline *l;
	size_t n, cap;
	size_t top;
	int gone;			/* the message left the queue */
};
void msgview_open(struct msgview *v, const char *qdir, const struct queue_entry *e,
		  const char *logfile);
/* A text (a mailq listing) in the same scrolling view. */
void msgview_text(struct msgview *v, const char *title, const char *text);
void msgview_close(struct msgview *v);
void msgview_draw(struct msgview *v, int y0, int rows);
void msgview_scroll(struct msgview *v, long delta, int rows);

/* ---- screen.c -------------------------------------------------------------- */
extern int scr_color;
void screen_start(int want_color);
void screen_stop(void);
/* Writes s at (y, x) in at most width columns, control characters shown as
 * '?', multibyte text measured by its display width; pads with blanks when
 * pad is set.  Returns the columns written. */
int put_text(int y, int x, int width, const char *s, int pad);
void pen_on(int pair, int bold);
void pen_off(int pair, int bold);
/* "12s", "5m", "3h", "2d" */
void fmt_age(char *buf, size_t size, long secs);
/* "812", "1.2K", "34K", "5.0M" */
void fmt_size(char *buf, size_t size, long bytes);

/* ---- panes ----------------------------------------------------------------- */
struct console;
void pane_queue_draw(struct console *c, int y0, int rows);
void pane_shape_draw(struct console *c, int y0, int rows);
void pane_log_draw(struct console *c, int y0, int rows);
void pane_daemon_draw(struct console *c, int y0, int rows);
void help_draw(int y0, int rows, long scroll);
extern const char help_keys_text[];

/* ---- conf.c ---------------------------------------------------------------- */
int con_conf_load(const char *mc_path, char **oopts, size_t noopts, char *err, size_t errsize);

/* ---- the whole console (main.c) --------------------------------------------- */
struct console {
	const char *conf_file;
	char **oopts;
	size_t noopts;
	int msp;
	const char *mailq;		/* the mailq binary actions run */
	const char *qdir, *logfile, *pidfile;
	enum pane pane;
	struct cqueue q;
	struct cfilter filter;
	struct logtail log;
	long log_scroll;		/* lines back from the end, 0 follows */
	struct msgview view;
	struct runner run;
	struct lineedit edit;
	int help;			/* the help screen is up */
	long help_scroll;
	char status[512];
	int status_sev;
	time_t now;
};
extern struct console con;
void set_status(int severity, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
