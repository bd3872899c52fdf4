/* output: prints the selected transactions as log lines (with "# " link
 * lines for --follow), one summary line each (--summary), or one JSON
 * object per line (--json). */
#include "loggrep.h"
#include "json.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *kind_name(enum linkkind k)
{
	return k == LINK_HANDOFF ? "handoff" : k == LINK_DSN ? "dsn" : "msgid";
}

static void link_reason(FILE *out, const struct link *l)
{
	switch (l->kind) {
	case LINK_HANDOFF:
		fprintf(out, "hand-off, %s", l->why);
		break;
	case LINK_DSN:
		fprintf(out, "DSN, %s", l->why);
		break;
	case LINK_MSGID:
		fprintf(out, "same %s", l->why);
		break;
	}
}

static const char *file_name(const struct collector *c, unsigned idx)
{
	if (!c->srcs || idx >= c->srcs->n)
		return "?";
	const char *p = c->srcs->v[idx].path;
	return strcmp(p, "-") == 0 ? "(standard input)" : p;
}

/* One record, each physical line with the file's name and a mark: ':' a
 * line understood, ':?' one shown as it is (not understood), ':~' a line
 * of another transaction naming the ID, '-' context (-C). */
static void put_record(FILE *out, const char *name, const char *mark, const char *text,
		       size_t len)
{
	const char *p = text, *end = text + len;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (name)
			fprintf(out, "%s%s ", name, mark);
		fwrite(p, 1, (size_t)(le - p), out);
		fputc('\n', out);
		if (!nl)
			break;
		p = nl + 1;
		mark = *mark == '-' ? "-" : ":+";	/* a wrapped line's continuation */
	}
}

static const char *line_mark(const struct txline *l)
{
	return l->kind == TXL_UNPARSED ? ":?" : l->kind == TXL_MENTION ? ":~" : ":";
}

size_t output_text(FILE *out, const struct collector *c)
{
	size_t shown = 0;
	for (size_t i = 0; i < c->nall; i++) {
		const struct tx *t = c->all[i];
		if (!t->keep)
			continue;
		if (shown++)
			fputc('\n', out);
		for (size_t k = 0; lg_opts.follow && k < c->nlinks; k++) {
			const struct link *l = &c->links[k];
			if (l->to != t || !l->from->keep)
				continue;
			fprintf(out, "# link %s on %s -> %s on %s: ", l->from->qid, l->from->host,
				t->qid, t->host);
			link_reason(out, l);
			fputc('\n', out);
		}
		if (!*t->host && *t->qid && !lg_opts.no_filename)
			fprintf(out, "# %s: no line of it names its host\n", t->qid);
		off_t last_off = -1;
		unsigned last_file = 0;
		for (size_t k = 0; k < t->n; k++) {
			const struct txline *l = &t->lines[k];
			if (l->hidden)
				continue;
			const char *name = lg_opts.no_filename ? NULL : file_name(c, l->file);
			for (unsigned j = 0; j < l->nbefore; j++)
				put_record(out, name, "-", l->ctx[j], strlen(l->ctx[j]));
			if (!(l->file == last_file && l->off == last_off))
				put_record(out, name, line_mark(l), l->text, l->len);
			last_file = l->file;
			last_off = l->off;
			for (unsigned j = 0; j < l->nafter; j++)
				put_record(out, name, "-", l->ctx[l->nbefore + j],
					   strlen(l->ctx[l->nbefore + j]));
			if (lg_opts.context && k + 1 < t->n)
				fputs(name ? "--\n" : "--\n", out);
		}
		for (size_t k = 0; lg_opts.follow && k < c->nlinks; k++) {
			const struct link *l = &c->links[k];
			if (l->from != t || l->to)
				continue;
			fprintf(out, "# link %s on %s -> %s: not in the logs read; ", t->qid,
				t->host, l->to_qid);
			link_reason(out, l);
			fputc('\n', out);
		}
	}
	return shown;
}

/* ---- per-transaction digest for --summary and --json ----------------- */
struct rcpt {
	char *addr, *stat, *dsn, *mailer, *relay, *delay, *xdelay;
	const char *dclass;	/* the class of the last status, when deferred */
	int attempts;
	time_t t;
};

#define NCLASS 6
static const char *const class_names[NCLASS] = {
	"connection refused", "timeout", "DNS", "4xx policy", "TLS", "other",
};

static int class_index(const char *cl)
{
	for (int i = 0; i < NCLASS; i++)
		if (strcmp(cl, class_names[i]) == 0)
			return i;
	return NCLASS - 1;
}

struct digest {
	char *stamp, *from, *msgid, *proto, *relay, *size, *nrcpts, *tag, *event;
	struct rcpt *r;
	size_t nr;
	unsigned defer[NCLASS];	/* deferred attempts by class */
};

static char *dupv(const struct logline *ll, const char *key)
{
	const struct logspan *v = logline_get(ll, key);
	return v ? logspan_dup(*v) : NULL;
}

struct rcpt_ctx {
	struct digest *d;
	const struct logline *ll;
	time_t t;
};

static void set(char **dst, char *v)
{
	if (v) {
		free(*dst);
		*dst = v;
	}
}

static int add_rcpt(struct logspan a, void *arg)
{
	struct rcpt_ctx *x = arg;
	struct digest *d = x->d;
	struct rcpt *r = NULL;
	for (size_t i = 0; i < d->nr; i++)
		if (logspan_eq(a, d->r[i].addr))
			r = &d->r[i];
	if (!r) {
		d->r = xreallocarray(d->r, d->nr + 1, sizeof(*d->r));
		r = &d->r[d->nr++];
		memset(r, 0, sizeof(*r));
		r->addr = logspan_dup(a);
	}
	r->attempts++;
	r->t = x->t;
	char *st = dupv(x->ll, "stat");
	set(&r->stat, st ? st : dupv(x->ll, "status"));
	set(&r->dsn, dupv(x->ll, "dsn"));
	set(&r->mailer, dupv(x->ll, "mailer"));
	set(&r->relay, dupv(x->ll, "relay"));
	set(&r->delay, dupv(x->ll, "delay"));
	set(&r->xdelay, dupv(x->ll, "xdelay"));
	struct logspan st0 = { r->stat, r->stat ? strlen(r->stat) : 0 };
	struct logspan ds0 = { r->dsn, r->dsn ? strlen(r->dsn) : 0 };
	if (!r->stat)
		st0.p = NULL;
	if (!r->dsn)
		ds0.p = NULL;
	r->dclass = logparse_defer_class(st0, ds0);
	return 0;
}

static const char *event_name(enum logev e)
{
	switch (e) {
	case LOGEV_RULESET: return "ruleset";
	case LOGEV_LOST_INPUT: return "lost input channel";
	case LOGEV_NO_MAIL: return "no MAIL";
	case LOGEV_REJECT: return "reject";
	default: return NULL;
	}
}

static void digest(const struct tx *t, struct digest *d)
{
	struct logrepair rb = { NULL, 0 };
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < t->n; i++) {
		struct logline ll;
		unsigned how;
		if (t->lines[i].kind != TXL_OWN ||
		    logparse_lenient(&ll, t->lines[i].text, t->lines[i].len, &rb, &how) < 0)
			continue;
		if (!d->stamp && ll.host.p && ll.host.p > ll.line && !(how & LOGREP_PREFIX)) {
			d->stamp = xstrndup(ll.line, (size_t)(ll.host.p - ll.line - 1));
			d->tag = logspan_dup(ll.tag);
		}
		if (ll.event == LOGEV_TO) {
			const struct logspan *st = logline_get(&ll, "stat");
			const struct logspan *ds = logline_get(&ll, "dsn");
			struct logspan none = { NULL, 0 };
			if (!st)
				st = logline_get(&ll, "status");
			const char *cl = st ? logparse_defer_class(*st, ds ? *ds : none) : NULL;
			if (cl)
				d->defer[class_index(cl)]++;
		}
		if (ll.event == LOGEV_FROM || ll.event == LOGEV_PICKUP) {
			set(&d->from, dupv(&ll, "from"));
			set(&d->size, dupv(&ll, "size"));
			char *n = dupv(&ll, "nrcpts");
			set(&d->nrcpts, n ? n : dupv(&ll, "nrcpt"));
			set(&d->msgid, dupv(&ll, "msgid"));
			set(&d->proto, dupv(&ll, "proto"));
			set(&d->relay, dupv(&ll, "relay"));
		} else if (ll.event == LOGEV_CLIENT) {
			set(&d->relay, dupv(&ll, "client"));
		} else if (ll.event == LOGEV_MSGID) {
			set(&d->msgid, dupv(&ll, "message-id"));
		} else if (ll.event == LOGEV_TO) {
			struct rcpt_ctx x = { d, &ll, t->lines[i].t };
			const struct logspan *to = logline_get(&ll, "to");
			if (to)
				logparse_addrs(*to, add_rcpt, &x);
		} else if (event_name(ll.event) && !d->event) {
			const char *e = event_name(ll.event);
			const struct logspan *rj = logline_get(&ll, "reject");
			if (rj) {
				d->event = xmalloc(strlen(e) + rj->n + 10);
				sprintf(d->event, "%s reject=%.*s", e, (int)rj->n, rj->p);
			} else {
				d->event = xstrdup(e);
			}
			if (!d->relay)
				set(&d->relay, dupv(&ll, "relay"));
		}
	}
	logrepair_free(&rb);
}

static void digest_free(struct digest *d)
{
	char **s[] = { &d->stamp, &d->from, &d->msgid, &d->proto, &d->relay, &d->size,
		       &d->nrcpts, &d->tag, &d->event };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	for (size_t i = 0; i < d->nr; i++) {
		struct rcpt *r = &d->r[i];
		free(r->addr);
		free(r->stat);
		free(r->dsn);
		free(r->mailer);
		free(r->relay);
		free(r->delay);
		free(r->xdelay);
	}
	free(d->r);
}

static char *stat_word(const char *stat)
{
	struct logspan s = { stat, stat ? strlen(stat) : 0 };
	return stat ? logspan_dup(logparse_stat_word(s)) : xstrdup("-");
}

/* "Deferred[timeout]": the status word and, for a deferral, its class */
static char *rcpt_word(const struct rcpt *r)
{
	char *w = stat_word(r->stat);
	if (!r->dclass)
		return w;
	char *x = xmalloc(strlen(w) + strlen(r->dclass) + 3);
	sprintf(x, "%s[%s]", w, r->dclass);
	free(w);
	return x;
}

#define MAXLISTED 20	/* queue IDs named per deferral class */

size_t output_summary(FILE *out, const struct collector *c)
{
	size_t shown = 0;
	unsigned defer[NCLASS] = { 0 }, ntx[NCLASS] = { 0 };
	struct strbuf ids[NCLASS];
	for (int k = 0; k < NCLASS; k++)
		sb_init(&ids[k]);
	for (size_t i = 0; i < c->nall; i++) {
		const struct tx *t = c->all[i];
		if (!t->keep)
			continue;
		shown++;
		struct digest d;
		digest(t, &d);
		fprintf(out, "%s %s %s from=%s to=", d.stamp ? d.stamp : "-",
			*t->host ? t->host : "?", *t->qid ? t->qid : "-", d.from ? d.from : "-");
		struct strbuf st;
		sb_init(&st);
		int mixed = 0;
		char *first = d.nr ? rcpt_word(&d.r[0]) : NULL;
		for (size_t k = 0; k < d.nr; k++) {
			char *w = rcpt_word(&d.r[k]);
			fprintf(out, "%s%s", k ? "," : "", d.r[k].addr);
			if (strcmp(w, first) != 0)
				mixed = 1;
			sb_printf(&st, "%s%s:%s", k ? "," : "", d.r[k].addr, w);
			free(w);
		}
		if (!d.nr)
			fputc('-', out);
		if (!d.nr)
			fprintf(out, " stat=%s\n", d.event ? d.event : "-");
		else if (mixed)
			fprintf(out, " stat=mixed(%s)\n", st.s);
		else
			fprintf(out, " stat=%s\n", first);
		for (int k = 0; k < NCLASS; k++) {
			if (!d.defer[k])
				continue;
			if (ntx[k]++ < MAXLISTED)
				sb_printf(&ids[k], " %s", *t->qid ? t->qid : "-");
			defer[k] += d.defer[k];
		}
		free(first);
		sb_free(&st);
		digest_free(&d);
	}
	/* the deferral reasons, grouped: how many attempts, which messages */
	int any = 0;
	for (int k = 0; k < NCLASS; k++)
		any |= defer[k] != 0;
	if (any)
		fprintf(out, "# deferred attempts by class:\n");
	for (int k = 0; k < NCLASS; k++) {
		if (defer[k] && ntx[k] > MAXLISTED)
			fprintf(out, "#   %-18s %5u:%s ... (%u messages)\n", class_names[k],
				defer[k], ids[k].s, ntx[k]);
		else if (defer[k])
			fprintf(out, "#   %-18s %5u:%s\n", class_names[k], defer[k], ids[k].s);
		sb_free(&ids[k]);
	}
	return shown;
}

/* ---- JSON ------------------------------------------------------------ */
/* n bytes of s (a log line may hold a NUL: "\u0000"); s[n] is a NUL. */
static void jstrn(FILE *out, const char *s, size_t n)
{
	json_quote(out, s, n);	/* lib/json: always valid UTF-8, a NUL as \u0000 */
}

static void jstr(FILE *out, const char *s)
{
	if (!s)
		fputs("null", out);
	else
		jstrn(out, s, strlen(s));
}

static void jkey(FILE *out, const char *k, const char *v, int *first)
{
	fprintf(out, "%s\"%s\":", *first ? "" : ",", k);
	*first = 0;
	jstr(out, v);
}

static void jtime(FILE *out, const char *k, time_t t, int *first)
{
	char buf[64];
	struct tm tm;
	if (t == (time_t)-1 || !localtime_r(&t, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm)) {
		jkey(out, k, NULL, first);
		return;
	}
	jkey(out, k, buf, first);
}

static void jnum(FILE *out, const char *k, const char *v, int *first)
{
	char *end;
	if (v && *v) {
		long long n = strtoll(v, &end, 10);
		if (*end == '\0') {
			fprintf(out, "%s\"%s\":%lld", *first ? "" : ",", k, n);
			*first = 0;
			return;
		}
	}
	jkey(out, k, v, first);
}

static void jrelay(FILE *out, const char *k, const char *v, int *first)
{
	fprintf(out, "%s\"%s\":", *first ? "" : ",", k);
	*first = 0;
	struct logspan sp = { v, v ? strlen(v) : 0 }, name, ip;
	if (!v || logparse_relay(sp, &name, &ip) < 0) {
		fputs("null", out);
		return;
	}
	char *n = logspan_dup(name), *i = logspan_dup(ip);
	int f = 1;
	fputc('{', out);
	jkey(out, "name", name.p ? n : NULL, &f);
	jkey(out, "ip", ip.p ? i : NULL, &f);
	jkey(out, "text", v, &f);
	fputc('}', out);
	free(n);
	free(i);
}

size_t output_json(FILE *out, const struct collector *c)
{
	size_t shown = 0;
	for (size_t i = 0; i < c->nall; i++) {
		const struct tx *t = c->all[i];
		if (!t->keep)
			continue;
		shown++;
		struct digest d;
		digest(t, &d);
		int f = 1;
		fputc('{', out);
		jkey(out, "id", *t->qid ? t->qid : NULL, &f);
		jkey(out, "host", *t->host ? t->host : NULL, &f);
		jkey(out, "tag", d.tag, &f);
		jtime(out, "start", t->lines[0].t, &f);
		jtime(out, "end", t->lines[t->n - 1].t, &f);
		fprintf(out, ",\"matched\":%s", t->matched ? "true" : "false");
		jkey(out, "from", d.from, &f);
		jnum(out, "size", d.size, &f);
		jnum(out, "nrcpts", d.nrcpts, &f);
		jkey(out, "msgid", d.msgid, &f);
		jkey(out, "proto", d.proto, &f);
		jrelay(out, "client", d.relay, &f);
		jkey(out, "event", d.event, &f);
		fputs(",\"recipients\":[", out);
		for (size_t k = 0; k < d.nr; k++) {
			const struct rcpt *r = &d.r[k];
			int g = 1;
			fputs(k ? ",{" : "{", out);
			jkey(out, "to", r->addr, &g);
			char *w = stat_word(r->stat);
			jkey(out, "status", w, &g);
			free(w);
			jkey(out, "stat", r->stat, &g);
			jkey(out, "class", r->dclass, &g);
			jkey(out, "dsn", r->dsn, &g);
			jkey(out, "mailer", r->mailer, &g);
			jrelay(out, "relay", r->relay, &g);
			jkey(out, "delay", r->delay, &g);
			jkey(out, "xdelay", r->xdelay, &g);
			fprintf(out, ",\"attempts\":%d", r->attempts);
			jtime(out, "time", r->t, &g);
			fputc('}', out);
		}
		fputs("],\"links\":[", out);
		int nl = 0;
		for (size_t k = 0; k < c->nlinks; k++) {
			const struct link *l = &c->links[k];
			if (l->from != t && l->to != t)
				continue;
			int g = 1;
			fputs(nl++ ? ",{" : "{", out);
			jkey(out, "type", kind_name(l->kind), &g);
			jkey(out, "direction", l->from == t ? "out" : "in", &g);
			jkey(out, "id", l->from == t ? l->to_qid : l->from->qid, &g);
			jkey(out, "host", l->from == t ? (l->to ? l->to->host : NULL) : l->from->host, &g);
			jkey(out, "reason", l->why, &g);
			fputc('}', out);
		}
		fputs("],\"deferrals\":{", out);
		for (int k = 0, g = 1; k < NCLASS; k++) {
			if (!d.defer[k])
				continue;
			fprintf(out, "%s", g ? "" : ",");
			g = 0;
			jstr(out, class_names[k]);
			fprintf(out, ":%u", d.defer[k]);
		}
		fputs("},\"lines\":[", out);
		int nshown = 0;
		for (size_t k = 0; k < t->n; k++) {
			if (t->lines[k].hidden)
				continue;
			if (nshown++)
				fputc(',', out);
			jstrn(out, t->lines[k].text, t->lines[k].len);
		}
		/* where each line comes from and what it is, in the order of lines */
		fputs("],\"sources\":[", out);
		nshown = 0;
		struct logrepair rb = { NULL, 0 };
		for (size_t k = 0; k < t->n; k++) {
			const struct txline *l = &t->lines[k];
			if (l->hidden)
				continue;
			int g = 1;
			fputs(nshown++ ? ",{" : "{", out);
			jkey(out, "file", file_name(c, l->file), &g);
			/* the host the line names, else its transaction's */
			struct logline ll;
			unsigned how;
			char *lh = NULL;
			if (logparse_lenient(&ll, l->text, l->len, &rb, &how) == 0 && ll.host.n)
				lh = logspan_dup(ll.host);
			jkey(out, "host", lh ? lh : *t->host ? t->host : NULL, &g);
			free(lh);
			jkey(out, "kind", l->kind == TXL_UNPARSED ? "unparsed" :
					  l->kind == TXL_MENTION ? "mention" : "line", &g);
			fprintf(out, ",\"repaired\":[");
			static const char *const rep[] = { "joined", "markup", "junk", "prefix",
							   "journal" };
			for (int b = 0, h = 0; b < 5; b++)
				if (l->how & (1u << b)) {
					fputs(h++ ? "," : "", out);
					jstr(out, rep[b]);
				}
			fputs("]}", out);
		}
		logrepair_free(&rb);
		fputs("]}\n", out);
		digest_free(&d);
	}
	return shown;
}
