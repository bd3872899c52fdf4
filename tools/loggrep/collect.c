/* collect: the passes over the logs.  Pass 0 finds the queue IDs whose
 * lines match a non-ID query; each later pass gathers every line of the IDs
 * found new by the pass before and, with --follow, discovers the links
 * (hand-off "stat=Sent (ID ...)" / "queued as ID", DSN children, shared
 * msgid=) that name further IDs, both downstream and upstream. */
#include "loggrep.h"
#include "diag.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

#define MAXPASS 16
#define MAXNEEDLES 4

void collect_init(struct collector *c, struct query *q, size_t nq)
{
	memset(c, 0, sizeof(*c));
	c->q = q;
	c->nq = nq;
}

static struct tx *tx_lookup(struct collector *c, struct logspan host, const char *qid,
			    size_t qn, int create)
{
	char key[512];
	if (host.n + qn + 1 > sizeof(key))
		return NULL;
	if (host.n)
		memcpy(key, host.p, host.n);
	key[host.n] = '\0';
	memcpy(key + host.n + 1, qid, qn);
	size_t kn = host.n + 1 + qn;
	if (!create) {
		void **v = strmap_get(&c->txs, key, kn);
		return v ? *v : NULL;
	}
	int created;
	void **v = strmap_put(&c->txs, key, kn, &created);
	if (created) {
		struct tx *t = xcalloc(1, sizeof(*t));
		t->host = host.n ? xstrndup(host.p, host.n) : xstrdup("");
		t->qid = xstrndup(qid, qn);
		*v = t;
	}
	return *v;
}

static void tx_add_line(struct collector *c, struct tx *t, const struct logline *ll,
			const char *rec, size_t len, const struct source *src, off_t off,
			enum txlkind kind, unsigned how)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->lines = xreallocarray(t->lines, t->cap, sizeof(*t->lines));
	}
	struct txline *l = &t->lines[t->n++];
	memset(l, 0, sizeof(*l));
	/* a line without a time stamp sorts after the last dated line read */
	l->t = ll && ll->mon ? logline_time(ll, src->mtime, lg_opts.year) : (time_t)-1;
	if (c->last_t) {
		if (l->t != (time_t)-1)
			c->last_t[src->idx] = l->t;
		else
			l->t = c->last_t[src->idx];
	}
	l->file = src->idx;
	l->off = off;
	if (ll && (how & LOGREP_JOURNAL)) {
		rec = ll->line;
		len = ll->len;
	}
	while (len && (rec[len - 1] == '\n' || rec[len - 1] == '\r'))
		len--;
	l->text = xmalloc(len + 1);	/* every byte: a damaged line may hold a NUL */
	memcpy(l->text, rec, len);
	l->text[len] = '\0';
	l->len = len;
	l->kind = (unsigned char)kind;
	l->how = how;
}

static int in_set(const struct strmap *m, struct logspan s)
{
	return s.p && strmap_get(m, s.p, s.n) != NULL;
}

static void want_id(struct collector *c, struct logspan id)
{
	if (!id.p || in_set(&c->wanted, id))
		return;
	*strmap_put(&c->next_ids, id.p, id.n, NULL) = (void *)1;
}

static void add_link(struct collector *c, enum linkkind kind, struct tx *from,
		     struct logspan to_qid, struct logspan why)
{
	for (size_t i = 0; i < c->nlinks; i++) {
		struct link *l = &c->links[i];
		if (l->from == from && l->kind == kind && logspan_eq(to_qid, l->to_qid))
			return;
	}
	if (c->nlinks == c->caplinks) {
		c->caplinks = c->caplinks ? c->caplinks * 2 : 16;
		c->links = xreallocarray(c->links, c->caplinks, sizeof(*c->links));
	}
	struct link *l = &c->links[c->nlinks++];
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->from = from;
	l->to_qid = logspan_dup(to_qid);
	l->why = logspan_dup(why);
}

static const struct logspan *msgid_of(const struct logline *ll)
{
	const struct logspan *m = NULL;
	if (ll->event == LOGEV_FROM)
		m = logline_get(ll, "msgid");
	else if (ll->event == LOGEV_MSGID)
		m = logline_get(ll, "message-id");
	return m && m->n ? m : NULL;
}

static struct logspan stat_of(const struct logline *ll)
{
	const struct logspan *s = logline_get(ll, "stat");
	if (!s)
		s = logline_get(ll, "status");
	if (s)
		return *s;
	struct logspan none = { NULL, 0 };
	return none;
}

static void stat_span(const struct logline *ll, struct logspan *why)
{
	/* the link's reason: "stat=Sent (...)" as written */
	struct logspan s = stat_of(ll);
	const char *k = s.p;
	while (k > ll->line && k[-1] != ' ')
		k--;
	why->p = k;
	why->n = (size_t)(s.p + s.n - k);
}

/* Links named by a line of a transaction we collect (downstream). */
static void discover(struct collector *c, struct tx *t, const struct logline *ll)
{
	struct logspan id, why;
	if (ll->event == LOGEV_TO && logparse_sent_id(stat_of(ll), &id) == 0 &&
	    !logspan_eq(id, t->qid)) {
		stat_span(ll, &why);
		add_link(c, LINK_HANDOFF, t, id, why);
		want_id(c, id);
	}
	if (ll->event == LOGEV_DSN && ll->child.p) {
		add_link(c, LINK_DSN, t, ll->child, ll->text);
		want_id(c, ll->child);
	}
	const struct logspan *m = msgid_of(ll);
	if (m) {
		if (!t->msgid)
			t->msgid = logspan_dup(*m);
		if (!in_set(&c->msgids, *m)) {
			*strmap_put(&c->msgids, m->p, m->n, NULL) = (void *)1;
			*strmap_put(&c->next_msgids, m->p, m->n, NULL) = (void *)1;
		}
	}
}

/* A line of another transaction that names one of ours (upstream). */
static void discover_upstream(struct collector *c, const struct logline *ll)
{
	struct logspan id, why;
	if (!ll->qid.p || in_set(&c->wanted, ll->qid))
		return;
	if (ll->event == LOGEV_TO && logparse_sent_id(stat_of(ll), &id) == 0 &&
	    in_set(&c->cur_ids, id)) {
		struct tx *t = tx_lookup(c, ll->host, ll->qid.p, ll->qid.n, 1);
		stat_span(ll, &why);
		add_link(c, LINK_HANDOFF, t, id, why);
		want_id(c, ll->qid);
	}
	if (ll->event == LOGEV_DSN && in_set(&c->cur_ids, ll->child)) {
		struct tx *t = tx_lookup(c, ll->host, ll->qid.p, ll->qid.n, 1);
		add_link(c, LINK_DSN, t, ll->child, ll->text);
		want_id(c, ll->qid);
	}
	const struct logspan *m = msgid_of(ll);
	if (m && in_set(&c->cur_msgids, *m))
		want_id(c, ll->qid);
}

static void on_match_line(const char *line, size_t len, const struct source *src,
			  off_t off, void *arg)
{
	struct collector *c = arg;
	struct logline ll;
	unsigned how;
	if (logparse_lenient(&ll, line, len, &c->rb, &how) < 0)
		return;
	for (size_t i = 0; i < c->nq; i++) {
		if (c->q[i].kind == Q_QID || !query_match(&c->q[i], &ll))
			continue;
		if (ll.qid.p) {
			struct tx *t = tx_lookup(c, ll.host, ll.qid.p, ll.qid.n, 1);
			if (t)
				t->matched = 1;
			want_id(c, ll.qid);
		} else {
			/* an ID-less line: a transaction of its own */
			char key[64];
			int kn = snprintf(key, sizeof(key), "#%u:%lld", src->idx, (long long)off);
			struct tx *t = tx_lookup(c, ll.host, key, (size_t)kn, 1);
			if (t && !t->n) {
				free(t->qid);
				t->qid = xstrdup("");
				t->matched = 1;
				tx_add_line(c, t, &ll, line, len, src, off, TXL_OWN, how);
			}
		}
		return;
	}
}

static int is_idch(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Does one of the words of s[0..n) name an ID looked for in this pass? */
static int names_cur_id(const struct collector *c, const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	while (p < end) {
		while (p < end && !is_idch(*p))
			p++;
		const char *w = p;
		while (p < end && is_idch(*p))
			p++;
		if (p - w >= 6 && strmap_get(&c->cur_ids, w, (size_t)(p - w)))
			return 1;
	}
	return 0;
}

static int starts_with(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

/* Without needles every line comes here: skip, before parsing, the lines
 * whose queue ID is not looked for and that cannot name one that is.  The
 * IDs and Message-IDs a line could link to are looked up first, so that
 * only the lines that do link are parsed (each pass reads every line, and
 * the lines of a busy log that carry a stat= or a msgid= are most). */
static int worth_parsing(const struct collector *c, const char *line, size_t len)
{
	const char *end = line + len, *msg = NULL;
	const char *lim = line + (len < 256 ? len : 256);
	/* the usual line: "tag[pid]: QID: " */
	const char *a = memmem(line, (size_t)(lim - line), "]: ", 3);
	if (a) {
		const char *w = a + 3, *e = w;
		while (e < end && is_idch(*e))
			e++;
		if (e + 1 < end && e[0] == ':' && e[1] == ' ' && e - w >= 6) {
			if (strmap_get(&c->cur_ids, w, (size_t)(e - w)))
				return 1;
			if (!lg_opts.follow)
				return 0;
			if (!logparse_is_qid(w, (size_t)(e - w)))
				return memchr(line, '\n', len) != NULL;
			msg = e + 2;
			/* "PARENT: CHILD: DSN: ..." names a child */
			const char *w2 = msg, *e2 = w2;
			while (e2 < end && is_idch(*e2))
				e2++;
			if (e2 < end && *e2 == ':' && e2 - w2 >= 6 &&
			    strmap_get(&c->cur_ids, w2, (size_t)(e2 - w2)))
				return 1;
		}
		lim = line;	/* a syslog line: its queue ID is there or nowhere */
	}
	/* otherwise the words before ": " near the start: the queue ID
	 * wherever the prefix put it (in a journal record's MESSAGE, in a
	 * damaged line), and a DSN child ("PARENT: CHILD: DSN: ...") */
	for (const char *p = line; p < lim && (p = memchr(p, ':', (size_t)(lim - p))) != NULL;
	     p++) {
		if (p + 1 >= end || p[1] != ' ')
			continue;
		const char *w = p;
		while (w > line && is_idch(w[-1]))
			w--;
		if (p - w < 6)
			continue;
		if (strmap_get(&c->cur_ids, w, (size_t)(p - w)))
			return 1;
		if (!msg && logparse_is_qid(w, (size_t)(p - w)))
			msg = p + 2;
	}
	/* a wrapped record whose queue ID was not found where a syslog line
	 * has it: parsed, to be sure (the checks below read whole records) */
	int fast = msg != NULL && a != NULL && lim == line;
	int wrapped = !fast && memchr(line, '\n', len) != NULL;
	if (!lg_opts.follow || !msg)
		return wrapped;
	const char *q;
	if (starts_with(msg, end, "to=")) {
		/* a hand-off to an ID we look for: "stat=Sent (ID ...)", "queued as ID" */
		if (((q = memmem(msg, (size_t)(end - msg), "stat=", 5)) != NULL ||
		     (q = memmem(msg, (size_t)(end - msg), "status=", 7)) != NULL) &&
		    names_cur_id(c, q, (size_t)(end - q)))
			return 1;
	} else if (starts_with(msg, end, "from=") || starts_with(msg, end, "message-id=")) {
		if (c->cur_msgids.n && ((q = memmem(msg, (size_t)(end - msg), "msgid=", 6)) != NULL ||
					(q = memmem(msg, (size_t)(end - msg), "message-id=", 11)) != NULL)) {
			q = memchr(q, '=', (size_t)(end - q)) + 1;
			const char *e = q;
			while (e < end && *e != ',' && *e != ' ')
				e++;
			if (strmap_get(&c->cur_msgids, q, (size_t)(e - q)))
				return 1;
		}
	} else if ((q = memmem(msg, (size_t)(end - msg), "notification: ", 14)) != NULL &&
		   names_cur_id(c, q, (size_t)(end - q))) {
		return 1;	/* Postfix: "sender non-delivery notification: CHILD" */
	}
	/* a wrapped record: its pieces are not where the checks above look */
	return wrapped;
}

/* The query IDs (id: terms) that rec names, for the superset rule: every
 * line holding a queried ID is printed, understood or not. */
static void attach_mentions(struct collector *c, const struct logline *ll, int ok,
			    const char *rec, size_t len, const struct source *src,
			    off_t off, unsigned how)
{
	for (size_t i = 0; i < c->nq; i++) {
		const struct query *q = &c->q[i];
		if (q->kind != Q_QID || !memmem(rec, len, q->nd.s, q->nd.n))
			continue;
		if (ok && ll->qid.p && logspan_eq(ll->qid, q->nd.s))
			continue;	/* its own line, collected already */
		struct logspan nohost = { "", 0 };
		struct tx *t = tx_lookup(c, nohost, q->nd.s, q->nd.n, 1);
		if (!t)
			continue;
		t->matched = 1;
		tx_add_line(c, t, ok ? ll : NULL, rec, len, src, off,
			    ok ? TXL_MENTION : TXL_UNPARSED, how);
	}
}

/* A record not understood that holds an ID followed in this pass (not a
 * query ID: those are done by attach_mentions). */
static void attach_unparsed(struct collector *c, const char *rec, size_t len,
			    const struct source *src, off_t off)
{
	for (size_t i = 0; i < c->cur_ids.cap; i++) {
		if (!c->cur_ids.keys[i])
			continue;
		size_t kn;
		memcpy(&kn, c->cur_ids.keys[i], sizeof(kn));
		const char *id = c->cur_ids.keys[i] + sizeof(size_t);
		int is_query = 0;
		for (size_t k = 0; k < c->nq && !is_query; k++)
			is_query = c->q[k].kind == Q_QID && c->q[k].nd.n == kn &&
				   memcmp(c->q[k].nd.s, id, kn) == 0;
		if (is_query || !memmem(rec, len, id, kn))
			continue;
		struct logspan nohost = { "", 0 };
		struct tx *t = tx_lookup(c, nohost, id, kn, 1);
		if (t)
			tx_add_line(c, t, NULL, rec, len, src, off, TXL_UNPARSED, 0);
	}
}

static void on_collect_line(const char *line, size_t len, const struct source *src,
			    off_t off, void *arg)
{
	struct collector *c = arg;
	struct logline ll;
	unsigned how = 0;
	int query_pass = c->pass == 1 && c->nqids;
	if (c->all_lines && !worth_parsing(c, line, len)) {
		int named = 0;
		for (size_t i = 0; query_pass && i < c->nq && !named; i++)
			named = c->q[i].kind == Q_QID &&
				memmem(line, len, c->q[i].nd.s, c->q[i].nd.n);
		if (!named)
			return;
	}
	int ok = logparse_lenient(&ll, line, len, &c->rb, &how) == 0;
	if (ok && ll.qid.p && in_set(&c->cur_ids, ll.qid)) {
		struct tx *t = tx_lookup(c, ll.host, ll.qid.p, ll.qid.n, 1);
		if (t) {
			tx_add_line(c, t, &ll, line, len, src, off, TXL_OWN, how);
			if (lg_opts.follow)
				discover(c, t, &ll);
		}
	} else if (ok && lg_opts.follow) {
		discover_upstream(c, &ll);
	}
	if (query_pass)
		attach_mentions(c, &ll, ok, line, len, src, off, how);
	if (!ok && !c->all_lines)
		attach_unparsed(c, line, len, src, off);
}

/* Moves next_* into cur_* and builds the needles; returns their count, or
 * (size_t)-1 when there is nothing left to look for. */
static size_t next_pass(struct collector *c, struct needle *nd, size_t maxnd)
{
	strmap_free(&c->cur_ids);
	strmap_free(&c->cur_msgids);
	c->cur_ids = c->next_ids;
	c->cur_msgids = c->next_msgids;
	strmap_init(&c->next_ids);
	strmap_init(&c->next_msgids);
	if (!c->cur_ids.n && !c->cur_msgids.n)
		return (size_t)-1;
	size_t n = 0;
	int all = c->cur_ids.n + c->cur_msgids.n > maxnd;
	for (int which = 0; which < 2; which++) {
		struct strmap *m = which ? &c->cur_msgids : &c->cur_ids;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t kn;
			memcpy(&kn, m->keys[i], sizeof(kn));
			if (!which)
				*strmap_put(&c->wanted, m->keys[i] + sizeof(size_t), kn, NULL) = (void *)1;
			if (!all) {
				nd[n].s = m->keys[i] + sizeof(size_t);
				nd[n].n = kn;
				nd[n].icase = 0;
				n++;
			}
		}
	}
	return all ? 0 : n;
}

static void reset_times(struct collector *c)
{
	for (size_t f = 0; f < c->srcs->n; f++)
		c->last_t[f] = (time_t)-1;
}

int collect_run(struct collector *c, struct sources *s)
{
	int errors = 0;
	c->srcs = s;
	c->last_t = xcalloc(s->n ? s->n : 1, sizeof(*c->last_t));
	reset_times(c);
	struct needle nd[MAXNEEDLES];
	size_t nn = 0;
	int need_pass0 = 0;
	for (size_t i = 0; i < c->nq; i++) {
		if (c->q[i].kind == Q_QID) {
			struct logspan id = { c->q[i].nd.s, c->q[i].nd.n };
			want_id(c, id);
			c->nqids++;
		} else {
			need_pass0 = 1;
			if (nn < MAXNEEDLES)
				nd[nn] = c->q[i].nd;
			nn++;
		}
	}
	if (need_pass0) {
		if (nn > MAXNEEDLES)
			nn = 0;
		for (size_t f = 0; f < s->n; f++)
			if (scan_source(&s->v[f], nd, nn, on_match_line, c, "matching") < 0)
				errors++;
		reset_times(c);
	}
	for (c->pass = 1; c->pass <= MAXPASS; c->pass++) {
		nn = next_pass(c, nd, MAXNEEDLES);
		if (nn == (size_t)-1)
			break;
		c->all_lines = nn == 0;
		for (size_t f = 0; f < s->n; f++)
			if (scan_source(&s->v[f], nd, nn, on_collect_line, c, "collecting") < 0)
				errors++;
		reset_times(c);
		if (!lg_opts.follow)
			break;
	}
	progress_clear();
	return errors;
}

static int cmp_line(const void *a, const void *b)
{
	const struct txline *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int cmp_tx(const void *a, const void *b)
{
	const struct tx *x = *(struct tx *const *)a, *y = *(struct tx *const *)b;
	return cmp_line(&x->lines[0], &y->lines[0]);
}

static int in_window(const struct tx *t)
{
	for (size_t i = 0; i < t->n; i++) {
		time_t tt = t->lines[i].t;
		if ((!lg_opts.since || tt >= lg_opts.since) &&
		    (!lg_opts.until || tt <= lg_opts.until))
			return 1;
	}
	return 0;
}

static int linked(const struct collector *c, const struct tx *a, const struct tx *b)
{
	for (size_t i = 0; i < c->nlinks; i++) {
		const struct link *l = &c->links[i];
		if ((l->from == a && l->to == b) || (l->from == b && l->to == a))
			return 1;
	}
	return 0;
}

/* Lines without a host (a lost prefix, unparsed lines, mentions) join
 * the transaction of their queue ID on a named host, when there is one. */
static void merge_hostless(struct collector *c)
{
	struct strmap hosted;
	strmap_init(&hosted);
	for (size_t i = 0; i < c->txs.cap; i++) {
		struct tx *t = c->txs.keys[i] ? c->txs.vals[i] : NULL;
		if (t && *t->host && *t->qid && t->n) {
			int created;
			void **v = strmap_put(&hosted, t->qid, strlen(t->qid), &created);
			if (created)
				*v = t;
		}
	}
	for (size_t i = 0; i < c->txs.cap; i++) {
		struct tx *t = c->txs.keys[i] ? c->txs.vals[i] : NULL;
		if (!t || *t->host || !*t->qid || !t->n)
			continue;
		void **v = strmap_get(&hosted, t->qid, strlen(t->qid));
		if (!v)
			continue;
		struct tx *h = *v;
		for (size_t k = 0; k < t->n; k++) {
			if (h->n == h->cap) {
				h->cap = h->cap ? h->cap * 2 : 8;
				h->lines = xreallocarray(h->lines, h->cap, sizeof(*h->lines));
			}
			h->lines[h->n++] = t->lines[k];
		}
		t->n = 0;
		h->matched |= t->matched;
		if (!h->msgid && t->msgid) {
			h->msgid = t->msgid;
			t->msgid = NULL;
		}
		for (size_t k = 0; k < c->nlinks; k++)
			if (c->links[k].from == t)
				c->links[k].from = h;
	}
	strmap_free(&hosted);
}

/* A mention is not printed again in the group of the queried ID when its
 * own transaction is printed too. */
static void hide_printed_mentions(struct collector *c)
{
	struct strmap own;
	char key[64];
	strmap_init(&own);
	for (size_t i = 0; i < c->nall; i++) {
		const struct tx *t = c->all[i];
		for (size_t k = 0; t->keep && k < t->n; k++) {
			if (t->lines[k].kind != TXL_OWN)
				continue;
			int n = snprintf(key, sizeof(key), "%u:%lld", t->lines[k].file,
					 (long long)t->lines[k].off);
			*strmap_put(&own, key, (size_t)n, NULL) = (void *)1;
		}
	}
	for (size_t i = 0; i < c->nall; i++) {
		struct tx *t = c->all[i];
		for (size_t k = 0; t->keep && k < t->n; k++) {
			struct txline *l = &t->lines[k];
			if (l->kind == TXL_OWN)
				continue;
			int n = snprintf(key, sizeof(key), "%u:%lld", l->file, (long long)l->off);
			l->hidden = strmap_get(&own, key, (size_t)n) != NULL;
		}
	}
	strmap_free(&own);
}

/* A line without a time (an unparsed one first in its file) takes the time
 * of the nearest dated line of its transaction in the same file. */
static void date_undated(struct tx *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct txline *l = &t->lines[i];
		if (l->t != (time_t)-1)
			continue;
		const struct txline *best = NULL;
		for (size_t k = 0; k < t->n; k++) {
			const struct txline *o = &t->lines[k];
			if (o->t == (time_t)-1 || o->file != l->file)
				continue;
			/* the next line after it, else the last before it */
			if (o->off > l->off ? (!best || best->off < l->off || o->off < best->off)
					    : (!best || (best->off < l->off && o->off > best->off)))
				best = o;
		}
		if (best)
			l->t = best->t;
	}
}

void collect_finish(struct collector *c)
{
	struct strmap byqid;
	strmap_init(&byqid);
	merge_hostless(c);
	for (size_t i = 0; i < c->txs.cap; i++)
		if (c->txs.keys[i])
			date_undated(c->txs.vals[i]);
	c->all = xcalloc(c->txs.n + 1, sizeof(*c->all));
	c->nall = 0;
	for (size_t i = 0; i < c->txs.cap; i++) {
		struct tx *t = c->txs.keys[i] ? c->txs.vals[i] : NULL;
		if (!t || !t->n)
			continue;
		qsort(t->lines, t->n, sizeof(*t->lines), cmp_line);
		for (size_t k = 0; k < c->nq; k++)
			if (c->q[k].kind == Q_QID && strcmp(t->qid, c->q[k].nd.s) == 0)
				t->matched = 1;
		c->all[c->nall++] = t;
	}
	qsort(c->all, c->nall, sizeof(*c->all), cmp_tx);
	for (size_t i = 0; i < c->nall; i++) {
		int created;
		void **v = strmap_put(&byqid, c->all[i]->qid, strlen(c->all[i]->qid), &created);
		if (created)
			*v = c->all[i];
	}
	/* resolve link targets */
	for (size_t i = 0; i < c->nlinks; i++) {
		struct link *l = &c->links[i];
		void **v = strmap_get(&byqid, l->to_qid, strlen(l->to_qid));
		l->to = v ? *v : NULL;
		if (l->to == l->from)
			l->to = NULL;
	}
	/* shared msgid: chain them in time order, unless already linked */
	if (lg_opts.follow) {
		struct strmap first;
		strmap_init(&first);
		for (size_t i = 0; i < c->nall; i++) {
			struct tx *t = c->all[i];
			if (!t->msgid)
				continue;
			int created;
			void **v = strmap_put(&first, t->msgid, strlen(t->msgid), &created);
			if (created) {
				*v = t;
				continue;
			}
			struct tx *f = *v;	/* the previous one with this msgid */
			*v = t;
			if (linked(c, f, t))
				continue;
			char *why = xmalloc(strlen(t->msgid) + 8);
			sprintf(why, "msgid=%s", t->msgid);
			struct logspan q = { t->qid, strlen(t->qid) }, w = { why, strlen(why) };
			add_link(c, LINK_MSGID, f, q, w);
			c->links[c->nlinks - 1].to = t;
			free(why);
		}
		strmap_free(&first);
	}
	strmap_free(&byqid);
	/* selection: matched and inside the time window, plus what links reach */
	for (size_t i = 0; i < c->nall; i++)
		c->all[i]->keep = c->all[i]->matched && in_window(c->all[i]);
	if (lg_opts.follow) {
		int changed = 1;
		while (changed) {
			changed = 0;
			for (size_t i = 0; i < c->nlinks; i++) {
				struct link *l = &c->links[i];
				if (!l->to || l->from->keep == l->to->keep)
					continue;
				if (!l->from->n || !l->to->n)
					continue;
				l->from->keep = l->to->keep = 1;
				changed = 1;
			}
		}
	}
	hide_printed_mentions(c);
}

void collect_free(struct collector *c)
{
	for (size_t i = 0; i < c->txs.cap; i++) {
		struct tx *t = c->txs.keys[i] ? c->txs.vals[i] : NULL;
		if (!t)
			continue;
		for (size_t k = 0; k < t->n; k++) {
			free(t->lines[k].text);
			for (unsigned j = 0; j < t->lines[k].nbefore + t->lines[k].nafter; j++)
				free(t->lines[k].ctx[j]);
			free(t->lines[k].ctx);
		}
		free(t->lines);
		free(t->host);
		free(t->qid);
		free(t->msgid);
		free(t);
	}
	for (size_t i = 0; i < c->nlinks; i++) {
		free(c->links[i].to_qid);
		free(c->links[i].why);
	}
	free(c->links);
	free(c->all);
	free(c->last_t);
	logrepair_free(&c->rb);
	strmap_free(&c->txs);
	strmap_free(&c->wanted);
	strmap_free(&c->next_ids);
	strmap_free(&c->msgids);
	strmap_free(&c->next_msgids);
	strmap_free(&c->cur_ids);
	strmap_free(&c->cur_msgids);
}

int collect_live_line(struct collector *c, const char *line, size_t len)
{
	struct logline ll;
	struct logspan id;
	unsigned how;
	if (logparse_lenient(&ll, line, len, &c->rb, &how) < 0) {
		/* not understood: printed when it holds an ID we follow */
		for (size_t i = 0; i < c->wanted.cap; i++) {
			size_t kn;
			if (!c->wanted.keys[i])
				continue;
			memcpy(&kn, c->wanted.keys[i], sizeof(kn));
			if (memmem(line, len, c->wanted.keys[i] + sizeof(size_t), kn))
				return 2;
		}
		for (size_t i = 0; i < c->nq; i++)
			if (c->q[i].kind == Q_QID && memmem(line, len, c->q[i].nd.s, c->q[i].nd.n))
				return 2;
		return 0;
	}
	int hit = ll.qid.p && in_set(&c->wanted, ll.qid);
	for (size_t i = 0; !hit && i < c->nq; i++)
		hit = query_match(&c->q[i], &ll);
	/* a line naming a queried ID is printed, its transaction not followed */
	for (size_t i = 0; !hit && i < c->nq; i++)
		if (c->q[i].kind == Q_QID && memmem(line, len, c->q[i].nd.s, c->q[i].nd.n))
			return 3;
	const struct logspan *m = msgid_of(&ll);
	if (!hit && lg_opts.follow && m && in_set(&c->msgids, *m))
		hit = 1;
	if (!hit)
		return 0;
	if (ll.qid.p)
		*strmap_put(&c->wanted, ll.qid.p, ll.qid.n, NULL) = (void *)1;
	if (lg_opts.follow) {
		if (ll.event == LOGEV_TO && logparse_sent_id(stat_of(&ll), &id) == 0)
			*strmap_put(&c->wanted, id.p, id.n, NULL) = (void *)1;
		if (ll.event == LOGEV_DSN && ll.child.p)
			*strmap_put(&c->wanted, ll.child.p, ll.child.n, NULL) = (void *)1;
		if (m)
			*strmap_put(&c->msgids, m->p, m->n, NULL) = (void *)1;
	}
	return 1;
}
