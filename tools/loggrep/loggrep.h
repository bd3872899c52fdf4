/* loggrep: declarations shared by the files of the tool.
 *
 * Data flow: input.c reads the log files in big chunks and hands only the
 * lines that contain a needle (the prefilter) to collect.c, which parses
 * them with lib/logparse, decides which transactions (host + queue ID) they
 * belong to, and discovers links for --follow.  Each pass over the files
 * looks for the IDs and Message-IDs found new by the pass before, so memory
 * holds only the matching transactions.  output.c prints them (text,
 * --summary, --json); tail.c implements -f. */
#ifndef LOGGREP_H
#define LOGGREP_H
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "logparse.h"

/* exit codes (grep's) */
#define LG_EXIT_FOUND 0
#define LG_EXIT_NONE 1
#define LG_EXIT_ERROR 2

/* ---- strmap.c: string -> pointer hash map -------------------------- */
struct strmap {
	char **keys;
	void **vals;
	size_t cap, n;
};
void strmap_init(struct strmap *m);
void strmap_free(struct strmap *m);
void **strmap_get(const struct strmap *m, const char *key, size_t n);
/* Inserts (copying the key) when absent; returns the value slot. */
void **strmap_put(struct strmap *m, const char *key, size_t n, int *created);

/* ---- options ------------------------------------------------------- */
struct lg_opts {
	int follow;		/* --follow */
	int live;		/* -f */
	int json, summary;
	int quiet;
	time_t since, until;	/* 0 = unset */
	int year;		/* --year */
	int progress;		/* stderr is a terminal */
	int context;		/* -C N */
	int no_filename;	/* --no-filename: lines as they are, no marks */
};
extern struct lg_opts lg_opts;

/* timearg.c: --since/--until values */
int lg_parse_time(const char *s, int is_until, time_t now, time_t *out);

/* ---- input.c ------------------------------------------------------- */
struct source {
	char *path;		/* as given; "-" is stdin */
	int fd;			/* stdin is spooled to an unlinked temp file */
	time_t mtime;		/* reference for year inference */
	unsigned idx;		/* position in time order */
};

struct sources {
	struct source *v;
	size_t n;
};

struct needle {
	const char *s;
	size_t n;
	int icase;
};

/* Called for each candidate line; off is the line's byte offset. */
typedef void (*line_fn)(const char *line, size_t len, const struct source *src,
			off_t off, void *arg);

/* Adds files; rotated families (x.3.gz x.2.gz x.1 x) end up oldest first. */
void sources_add(struct sources *s, const char *path);
void sources_sort(struct sources *s);
/* The usual places: $LOGGREP_LOGDIR (default /var/log) mail.log*, else
 * maillog*, else syslog*.  Returns the number found. */
size_t sources_default(struct sources *s);
/* Opens every source (spooling stdin); unreadable ones are reported and
 * dropped.  Returns the number of errors. */
int sources_open(struct sources *s);
void sources_close(struct sources *s);
/* Reads one source, calling fn for each line containing one of the needles
 * (every line when nneedles is 0).  Lines come in file order, once each.
 * Returns 0, or -1 on a read error (reported). */
int scan_source(const struct source *src, const struct needle *nd, size_t nneedles,
		line_fn fn, void *arg, const char *what);

/* ---- query.c ------------------------------------------------------- */
enum qkind { Q_QID, Q_ADDR, Q_DOMAIN, Q_MSGID, Q_IP, Q_HOST };

struct query {
	enum qkind kind;
	char *text;		/* the term without its kind: prefix */
	struct needle nd;	/* prefilter */
};

int query_parse(const char *arg, struct query *q);
int query_match(const struct query *q, const struct logline *ll);
const char *query_kind_name(enum qkind k);
/* Looks like a query rather than a file name? */
int query_is_term(const char *arg);

/* ---- collect.c ----------------------------------------------------- */
enum txlkind {
	TXL_OWN,		/* a line of the transaction */
	TXL_UNPARSED,		/* not understood, but holds the queue ID */
	TXL_MENTION,		/* a line of another transaction naming the ID */
};

struct txline {
	time_t t;
	unsigned file;
	off_t off;
	char *text;		/* the record as read (journal: rewritten) */
	size_t len;
	unsigned char kind;	/* enum txlkind */
	unsigned char hidden;	/* a mention printed with its own transaction */
	unsigned how;		/* LOGREP_* repairs */
	char **ctx;		/* -C: context lines, before then after */
	unsigned nbefore, nafter;
};

enum linkkind { LINK_HANDOFF, LINK_DSN, LINK_MSGID };

struct tx;
struct link {
	enum linkkind kind;
	struct tx *from;
	struct tx *to;		/* NULL: target not found in the logs read */
	char *to_qid;
	char *why;		/* the text that made the link */
};

struct tx {
	char *host, *qid;	/* qid "" for an ID-less line */
	struct txline *lines;
	size_t n, cap;
	int matched;		/* matched a query directly */
	int keep;		/* selected for output */
	char *msgid;
};

struct collector {
	struct query *q;
	size_t nq;
	struct strmap txs;	/* "host\0qid" -> tx */
	struct strmap wanted;	/* qid -> (void *)1 once looked for */
	struct strmap next_ids;	/* qid -> 1, for the next pass */
	struct strmap msgids;	/* msgid -> (void*)1 once looked for */
	struct strmap next_msgids;
	struct strmap cur_ids, cur_msgids;
	struct link *links;
	size_t nlinks, caplinks;
	struct tx **all;	/* output order after collect_finish */
	size_t nall;
	int pass;
	int all_lines;		/* this pass has no needles: prefilter by ID */
	size_t nqids;		/* id: queries */
	const struct sources *srcs;
	struct logrepair rb;
	time_t *last_t;		/* per source: the time of the last dated line */
};

void collect_init(struct collector *c, struct query *q, size_t nq);
/* Runs the passes over the sources.  Returns the number of read errors. */
int collect_run(struct collector *c, struct sources *s);
/* Sorts, applies --since/--until, orders transactions for output. */
void collect_finish(struct collector *c);
/* -C N: reads the context lines of every line to be printed. */
int collect_context(struct collector *c, struct sources *s);
void collect_free(struct collector *c);
/* For -f: handles one new line; returns 0 when it is not printed, else 1
 * (a line of a transaction), 2 (not understood, holds an ID followed) or 3
 * (names a queried ID, another transaction's line). */
int collect_live_line(struct collector *c, const char *line, size_t len);

/* ---- output.c ------------------------------------------------------ */
size_t output_text(FILE *out, const struct collector *c);
size_t output_summary(FILE *out, const struct collector *c);
size_t output_json(FILE *out, const struct collector *c);

/* ---- tail.c -------------------------------------------------------- */
/* Follows the last source as it grows from where the passes stopped reading
 * (or stdin when there is no source), printing matching lines; returns only
 * on error (-1) or at the end of stdin (the number of lines printed). */
int tail_run(struct collector *c, struct sources *s, int from_start);

/* ---- progress (input.c) -------------------------------------------- */
void progress_clear(void);

#endif
