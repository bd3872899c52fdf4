/* msgview: one queued message on a scrolling page: its envelope (lib/qfile
 * via the queue listing), its recipients with their last state in the log,
 * its headers, its Received: hops (lib/hopchain, the chain hdrtrace
 * builds), its log history (the LogFile through lib/logparse) and, only on
 * request, its body (the df file).  The same page shows the output of a
 * `:` mailq listing. */
#include "console.h"
#include "hopchain.h"
#include "logparse.h"
#include "timefmt.h"
#include "xalloc.h"

#include <curses.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define LOG_SCAN_MAX (64L * 1024 * 1024)
#define BODY_MAX_LINES 5000

static void vadd(struct msgview *v, int attr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vadd(struct msgview *v, int attr, const char *fmt, ...)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->l = xreallocarray(v->l, v->cap, sizeof(*v->l));
	}
	struct strbuf sb;
	sb_init(&sb);
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	v->l[v->n].text = sb_steal(&sb);
	sb_free(&sb);	/* sb_steal leaves a fresh empty buffer */
	v->l[v->n].attr = attr;
	v->n++;
}

static void vclear(struct msgview *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->l[i].text);
	v->n = 0;
}

void msgview_close(struct msgview *v)
{
	vclear(v);
	free(v->l);
	memset(v, 0, sizeof(*v));
}

static const char *nz(const char *s)
{
	return s && *s ? s : "-";
}

/* "<Bob@X>" and "bob@x" compare equal */
static int same_addr(const char *a, size_t an, const char *b)
{
	while (an && (*a == '<' || *a == ' ')) {
		a++;
		an--;
	}
	while (an && (a[an - 1] == '>' || a[an - 1] == ' '))
		an--;
	while (*b == '<' || *b == ' ')
		b++;
	size_t bn = strlen(b);
	while (bn && (b[bn - 1] == '>' || b[bn - 1] == ' '))
		bn--;
	return an == bn && strncasecmp(a, b, an) == 0;
}

struct rcpt_state {
	const struct qf_env *env;
	char **state;		/* per recipient: the last stat= seen */
	struct logspan stat;
};

static int note_rcpt(struct logspan addr, void *arg)
{
	struct rcpt_state *rs = arg;
	for (size_t i = 0; i < rs->env->nrcpts; i++) {
		if (same_addr(addr.p, addr.n, rs->env->rcpts[i].addr)) {
			free(rs->state[i]);
			rs->state[i] = logspan_dup(rs->stat);
		}
	}
	return 0;
}

/* The LogFile lines of this message, and each recipient's last stat=. */
static void read_log(const char *path, const char *qid, const struct qf_env *env,
		     struct strbuf *out, size_t *nlines, char **state, char *err, size_t errsize)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && st.st_size > LOG_SCAN_MAX) {
		fseeko(f, st.st_size - LOG_SCAN_MAX, SEEK_SET);
		snprintf(err, errsize, "only the last %ld MB of %s read", LOG_SCAN_MAX >> 20, path);
	}
	struct rcpt_state rs = { env, state, { NULL, 0 } };
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (strstr(line, qid) == NULL)
			continue;
		struct logline ll;
		if (logparse(&ll, line, (size_t)n) < 0)
			continue;
		if (!(ll.qid.p && logspan_eq(ll.qid, qid)) && !(ll.child.p && logspan_eq(ll.child, qid)))
			continue;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		sb_printf(out, "%02d-%02d %02d:%02d:%02d %.*s\n", ll.mon, ll.mday, ll.hour, ll.min,
			  ll.sec, (int)ll.text.n, ll.text.p);
		(*nlines)++;
		if (ll.event == LOGEV_TO) {
			const struct logspan *to = logline_get(&ll, "to");
			const struct logspan *stat = logline_get(&ll, "stat");
			if (to && stat) {
				rs.stat = *stat;
				logparse_addrs(*to, note_rcpt, &rs);
			}
		}
	}
	free(line);
	fclose(f);
}

static void add_hops(struct msgview *v, const struct header_list *hl)
{
	struct hopchain c;
	hopchain_build(&c, hl, "Received");
	vadd(v, -1, "Received hops (%zu, origin first)", c.n);
	if (c.n)
		vadd(v, CP_DIM, "  #  from                          by                    with     delay");
	for (size_t i = 0; i < c.n; i++) {
		const struct hop *h = &c.hops[i];
		const struct received *r = &h->r;
		if (!r->parsed) {
			vadd(v, CP_WARN, "%3d  (unparsed) %s", h->n, r->raw);
			continue;
		}
		char from[256], delay[32] = "";
		snprintf(from, sizeof(from), "%s%s%s%s%s", nz(r->from_helo ? r->from_helo : r->from_rdns ? r->from_rdns : r->from_ident),
			 r->from_ip ? " [" : "", r->from_ip ? r->from_ip : "", r->from_ip ? "]" : "",
			 r->rdns_forged ? " (forged?)" : "");
		if (h->has_delay)
			time_delay(delay, sizeof(delay), h->delay < 0 ? -h->delay : h->delay);
		vadd(v, h->has_delay && h->delay < 0 ? CP_WARN : 0, "%3d  %-29.29s %-21.21s %-8.8s %s%s",
		     h->n, from, nz(r->by), nz(r->with), h->has_delay && h->delay < 0 ? "-" : "", delay);
		if (r->id || r->date_raw)
			vadd(v, CP_DIM, "     id %s; %s", nz(r->id), nz(r->date_raw));
	}
	hopchain_free(&c);
}

static void add_body(struct msgview *v, const char *qdir, const char *qid)
{
	char path[4096];
	qf_path(path, sizeof(path), qdir, 'd', qid);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		vadd(v, CP_ERR, "  %s: %s", path, strerror(errno));
		return;
	}
	char *line = NULL;
	size_t cap = 0, k = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (++k > BODY_MAX_LINES) {
			vadd(v, CP_DIM, "  ... (the rest is not shown: more than %d lines)", BODY_MAX_LINES);
			break;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		vadd(v, 0, "  %s", line);
	}
	free(line);
	fclose(f);
}

void msgview_open(struct msgview *v, const char *qdir, const struct queue_entry *e,
		  const char *logfile)
{
	int body = v->open && strcmp(v->qid, e->qid) == 0 ? v->show_body : 0;
	size_t top = v->open && strcmp(v->qid, e->qid) == 0 ? v->top : 0;
	vclear(v);
	v->open = 1;
	v->gone = 0;
	v->show_body = body;
	v->top = top;
	snprintf(v->qid, sizeof(v->qid), "%s", e->qid);
	const struct qf_env *env = &e->env;
	char t[64], path[4096];

	vadd(v, -1, "Envelope");
	qf_path(path, sizeof(path), qdir, 'q', e->qid);
	vadd(v, 0, "  Queue ID    %s  (%s)", e->qid, path);
	if (e->err) {
		vadd(v, CP_ERR, "  unreadable: %s", e->err);
		return;
	}
	int sev;
	const char *st = queue_status_text(e, &sev);
	vadd(v, sev, "  Status      %s%s", env->quarantine ? "held: " : "", st);
	char age[16];
	time_queue(t, sizeof(t), env->ctime);
	fmt_age(age, sizeof(age), (long)(con.now - env->ctime));
	vadd(v, 0, "  Queued      %s (%s ago)", t, age);
	if (env->ktime) {
		time_queue(t, sizeof(t), env->ktime);
		vadd(v, 0, "  Last tried  %s, %d attempt%s", t, env->ntries, env->ntries == 1 ? "" : "s");
	} else {
		vadd(v, 0, "  Last tried  never");
	}
	vadd(v, 0, "  Size        %ld bytes (body), %zu bytes of headers; priority %ld", e->size,
	     env->headers.bytes, env->priority);
	vadd(v, 0, "  Sender      %s", nz(env->sender));
	if (env->ctladdr)
		vadd(v, 0, "  Ctladdr     %s", env->ctladdr);
	if (env->flags || env->bodytype || env->envid || env->auth)
		vadd(v, 0, "  Flags %s  body %s  envid %s  auth %s", nz(env->flags), nz(env->bodytype),
		     nz(env->envid), nz(env->auth));
	for (size_t i = 0; i < env->nmacros; i++)
		vadd(v, CP_DIM, "  $%s%s%s  %s", strlen(env->macros[i].name) > 1 ? "{" : "",
		     env->macros[i].name, strlen(env->macros[i].name) > 1 ? "}" : "",
		     env->macros[i].value);

	/* the log first: it gives the recipients their states */
	struct strbuf logtext;
	sb_init(&logtext);
	size_t nlog = 0;
	char logerr[512] = "";
	char **state = xcalloc(env->nrcpts + 1, sizeof(char *));
	if (logfile && *logfile)
		read_log(logfile, e->qid, env, &logtext, &nlog, state, logerr, sizeof(logerr));

	vadd(v, -1, "Recipients (%zu)", env->nrcpts);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const char *s = state[i] ? state[i] : "pending";
		struct logspan w = logparse_stat_word((struct logspan){ s, strlen(s) });
		int a = logspan_caseeq(w, "Sent") ? CP_OK : logspan_caseeq(w, "Deferred") ? CP_WARN :
		    state[i] ? CP_ERR : 0;
		vadd(v, a, "  %-34s %-5s %s", env->rcpts[i].addr, nz(env->rcpts[i].flags), s);
		free(state[i]);
	}
	free(state);

	vadd(v, -1, "Headers (%zu)", env->headers.count);
	for (size_t i = 0; i < env->headers.count; i++) {
		const struct header *h = &env->headers.h[i];
		const char *val = h->value;
		const char *nl = strchr(val, '\n');
		vadd(v, 0, "  %s:%.*s", h->name, (int)(nl ? (size_t)(nl - val) : strlen(val)), val);
		while (nl) {
			val = nl + 1;
			nl = strchr(val, '\n');
			vadd(v, 0, "  %.*s", (int)(nl ? (size_t)(nl - val) : strlen(val)), val);
		}
	}

	add_hops(v, &env->headers);

	if (!logfile || !*logfile)
		vadd(v, -1, "Log history: no LogFile configured (confLOG_FILE, -O LogFile=)");
	else
		vadd(v, -1, "Log history (%zu line%s in %s)", nlog, nlog == 1 ? "" : "s", logfile);
	if (logerr[0])
		vadd(v, CP_WARN, "  %s", logerr);
	for (char *p = logtext.s, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		*nl = '\0';
		vadd(v, logline_class(p), "  %s", p);
	}
	sb_free(&logtext);

	if (v->show_body) {
		vadd(v, -1, "Body");
		add_body(v, qdir, e->qid);
	} else {
		vadd(v, -1, "Body: %ld bytes, not shown (B shows it)", e->size);
	}
}

void msgview_text(struct msgview *v, const char *title, const char *text)
{
	vclear(v);
	v->open = 1;
	v->gone = 0;
	v->top = 0;
	v->show_body = 0;
	v->qid[0] = '\0';
	vadd(v, -1, "%s", title);
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		vadd(v, 0, "%.*s", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

void msgview_scroll(struct msgview *v, long delta, int rows)
{
	long max = (long)v->n - rows;
	long t = (long)v->top + delta;
	if (t > max)
		t = max;
	if (t < 0)
		t = 0;
	v->top = (size_t)t;
}

void msgview_draw(struct msgview *v, int y0, int rows)
{
	msgview_scroll(v, 0, rows);
	for (int r = 0; r < rows; r++) {
		size_t i = v->top + (size_t)r;
		if (i >= v->n)
			break;
		const struct vline *l = &v->l[i];
		int pair = l->attr < 0 ? 0 : l->attr;
		pen_on(pair, l->attr < 0);
		put_text(y0 + r, 0, COLS, l->text, 0);
		pen_off(pair, l->attr < 0);
	}
}
