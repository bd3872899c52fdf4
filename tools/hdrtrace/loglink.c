/* loglink: --log FILE links the queue ID of each hop to the log lines of
 * that host.  Lines are read once (plain or gzip, through zlib) and
 * parsed with lib/logparse (read-only use of its API).  A line is linked
 * to a hop when its queue ID is the hop's ID ("qid"), when its stat= names
 * the hop's ID as the next hop's ("next-hop": the sending host's delivery
 * to us), or, for a line whose syslog prefix cannot be parsed or that
 * mentions the ID elsewhere, when the ID appears in it ("mention"): never
 * fewer lines than grep -F ID. */
#include "hdrtrace.h"
#include "logparse.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

struct logsrc {
	const char *file;
	long lineno;
	char *text;
};

static struct logsrc *lines;
static size_t nlines, clines;

int loglink_add_file(const char *path)
{
	gzFile g = gzopen(path, "rb");
	if (!g)
		return -1;
	struct strbuf cur;
	sb_init(&cur);
	char buf[8192];
	long lineno = 0;
	int err = 0;
	for (;;) {
		char *r = gzgets(g, buf, sizeof(buf));
		if (!r)
			break;
		size_t n = strlen(buf);
		sb_append(&cur, buf, n);
		if (n == 0 || buf[n - 1] != '\n')
			continue;	/* a long line goes on */
		lineno++;
		while (cur.len && (cur.s[cur.len - 1] == '\n' || cur.s[cur.len - 1] == '\r'))
			sb_truncate(&cur, cur.len - 1);
		if (nlines == clines) {
			clines = clines ? clines * 2 : 1024;
			lines = xreallocarray(lines, clines, sizeof(*lines));
		}
		lines[nlines].file = path;
		lines[nlines].lineno = lineno;
		lines[nlines].text = xstrdup(cur.len ? cur.s : "");
		nlines++;
		sb_reset(&cur);
	}
	int ge;
	gzerror(g, &ge);
	if (ge != Z_OK && ge != Z_STREAM_END)
		err = 1;
	if (cur.len) {
		lineno++;
		if (nlines == clines) {
			clines = clines ? clines * 2 : 1024;
			lines = xreallocarray(lines, clines, sizeof(*lines));
		}
		lines[nlines].file = path;
		lines[nlines].lineno = lineno;
		lines[nlines].text = xstrdup(cur.s);
		nlines++;
	}
	sb_free(&cur);
	gzclose(g);
	if (err) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int loglink_enabled(void)
{
	return lines != NULL;
}

static int usable_id(const char *id)
{
	if (!id)
		return 0;
	size_t n = strlen(id);
	if (n < 5 || n > 64)
		return 0;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return 0;
	return 1;
}

/* short host names equal ("mx" vs "mx.example.org")? */
static int host_matches(struct logspan h, const char *by)
{
	if (!h.p || !by)
		return 0;
	size_t bl = strcspn(by, ".");
	size_t hl = h.n;
	const char *dot = memchr(h.p, '.', h.n);
	if (dot)
		hl = (size_t)(dot - h.p);
	return hl == bl && !strncasecmp(h.p, by, bl);
}

static void add_link(struct hop_log *hl, const struct logsrc *s, const char *match, int host_ok,
		     int parsed)
{
	if (hl->n == hl->cap) {
		hl->cap = hl->cap ? hl->cap * 2 : 8;
		hl->l = xreallocarray(hl->l, hl->cap, sizeof(*hl->l));
	}
	struct log_link *k = &hl->l[hl->n++];
	k->file = s->file;
	k->lineno = s->lineno;
	k->text = s->text;
	k->match = match;
	k->host_ok = host_ok;
	k->parsed = parsed;
}

/* One pass over the lines: each line is searched for every hop's ID and
 * parsed at most once, whatever the number of hops. */
void loglink_message(struct message *m)
{
	if (!lines || m->hops.n == 0)
		return;
	size_t nh = m->hops.n;
	m->logs = xcalloc(nh, sizeof(*m->logs));
	size_t *idl = xcalloc(nh, sizeof(*idl));	/* 0: no usable ID */
	int any = 0;
	for (size_t i = 0; i < nh; i++)
		if (usable_id(m->hops.hops[i].r.id)) {
			idl[i] = strlen(m->hops.hops[i].r.id);
			any = 1;
		}
	for (size_t k = 0; any && k < nlines; k++) {
		const char *t = lines[k].text;
		struct logline ll;
		int ok = -1;	/* not parsed yet */
		for (size_t i = 0; i < nh; i++) {
			const struct received *r = &m->hops.hops[i].r;
			if (!idl[i] || !strstr(t, r->id))
				continue;
			if (ok < 0)
				ok = logparse(&ll, t, strlen(t)) == 0;
			const char *match = "mention";
			if (ok && ll.qid.p && ll.qid.n == idl[i] && !memcmp(ll.qid.p, r->id, idl[i])) {
				match = "qid";
			} else if (ok) {
				const struct logspan *st = logline_get(&ll, "stat");
				if (!st)
					st = logline_get(&ll, "status");
				struct logspan nid;
				if (st && logparse_sent_id(*st, &nid) == 0 && nid.n == idl[i] &&
				    !memcmp(nid.p, r->id, idl[i]))
					match = "next-hop";
			}
			/* a next-hop line is the sending host's: its host is not checked */
			add_link(&m->logs[i], &lines[k], match,
				 ok && (!strcmp(match, "next-hop") || host_matches(ll.host, r->by)), ok);
		}
	}
	free(idl);
}

void loglink_free_message(struct message *m)
{
	if (!m->logs)
		return;
	for (size_t i = 0; i < m->hops.n; i++)
		free(m->logs[i].l);
	free(m->logs);
	m->logs = NULL;
}
