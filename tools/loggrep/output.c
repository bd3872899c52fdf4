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
		for (size_t k = 0; k < t->n; k++) {
			fwrite(t->lines[k].text, 1, t->lines[k].len, out);
			fputc('\n', out);
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
	int attempts;
	time_t t;
};

struct digest {
	char *stamp, *from, *msgid, *proto, *relay, *size, *nrcpts, *tag, *event;
	struct rcpt *r;
	size_t nr;
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
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < t->n; i++) {
		struct logline ll;
		if (logparse(&ll, t->lines[i].text, t->lines[i].len) < 0)
			continue;
		if (i == 0) {
			d->stamp = xstrndup(ll.line, (size_t)(ll.host.p - ll.line - 1));
			d->tag = logspan_dup(ll.tag);
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

size_t output_summary(FILE *out, const struct collector *c)
{
	size_t shown = 0;
	for (size_t i = 0; i < c->nall; i++) {
		const struct tx *t = c->all[i];
		if (!t->keep)
			continue;
		shown++;
		struct digest d;
		digest(t, &d);
		fprintf(out, "%s %s %s from=%s to=", d.stamp ? d.stamp : "-", t->host,
			*t->qid ? t->qid : "-", d.from ? d.from : "-");
		struct strbuf st;
		sb_init(&st);
		int mixed = 0;
		char *first = d.nr ? stat_word(d.r[0].stat) : NULL;
		for (size_t k = 0; k < d.nr; k++) {
			char *w = stat_word(d.r[k].stat);
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
		free(first);
		sb_free(&st);
		digest_free(&d);
	}
	return shown;
}

/* ---- JSON ------------------------------------------------------------ */
static void jstr(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	json_quote(out, s, strlen(s));	/* lib/json: always valid UTF-8 */
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
		jkey(out, "host", t->host, &f);
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
		fputs("],\"lines\":[", out);
		for (size_t k = 0; k < t->n; k++) {
			if (k)
				fputc(',', out);
			jstr(out, t->lines[k].text);
		}
		fputs("]}\n", out);
		digest_free(&d);
	}
	return shown;
}
