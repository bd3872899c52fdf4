/* out_text: the hop table for people.  Columns are sized to their widest
 * cell (counting UTF-8 characters, not bytes); colour only when asked
 * (main decides: a terminal, NO_COLOR unset, or --color=always). */
#include "hdrtrace.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { C_MARK, C_NUM, C_HELO, C_RDNS, C_IP, C_BY, C_WITH, C_ID, C_DATE, C_DELAY, C_TOTAL, NCOL };

static const char *const titles[NCOL] = {
	"", "#", "HELO", "RDNS", "IP", "BY", "WITH", "ID", "DATE (UTC)", "DELAY", "TOTAL",
};

#define RED "\033[1;31m"
#define YEL "\033[33m"
#define CYA "\033[36m"
#define GRN "\033[32m"
#define BLD "\033[1m"
#define OFF "\033[0m"

static size_t width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			w++;
	return w;
}

static void dur(long s, char *buf, size_t n)
{
	const char *sign = s < 0 ? "-" : "";
	long a = s < 0 ? -s : s;
	if (a < 60)
		snprintf(buf, n, "%s%lds", sign, a);
	else if (a < 3600)
		snprintf(buf, n, "%s%ldm%02lds", sign, a / 60, a % 60);
	else if (a < 86400)
		snprintf(buf, n, "%s%ldh%02ldm", sign, a / 3600, a % 3600 / 60);
	else
		snprintf(buf, n, "%s%ldd%02ldh", sign, a / 86400, a % 86400 / 3600);
}

static const char *d(const char *s)
{
	return s && *s ? s : "-";
}

static void cells(const struct hop *h, int first_untrusted, char *cell[NCOL])
{
	const struct received *r = &h->r;
	char buf[64];
	cell[C_MARK] = xstrdup(h->n == first_untrusted ? "!" : hop_is_retrieval(r) ? "R" :
			       (h->trusted_by && h->trusted_from) ? "T" : " ");
	snprintf(buf, sizeof(buf), "%d", h->n);
	cell[C_NUM] = xstrdup(buf);
	if (!r->parsed) {
		cell[C_HELO] = xstrdup("(unparsed)");
		for (int c = C_RDNS; c <= C_ID; c++)
			cell[c] = xstrdup("-");
	} else {
		cell[C_HELO] = xstrdup(d(r->from_helo));
		cell[C_RDNS] = xstrdup(d(r->from_rdns));
		cell[C_IP] = xstrdup(d(r->from_ip));
		cell[C_BY] = xstrdup(d(r->by));
		cell[C_WITH] = xstrdup(d(r->with));
		cell[C_ID] = xstrdup(d(r->id));
	}
	if (h->has_time) {
		struct tm tm;
		gmtime_r(&h->t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
		if (h->zone_assumed)
			strcat(buf, "?");
		cell[C_DATE] = xstrdup(buf);
	} else {
		cell[C_DATE] = xstrdup("-");
	}
	if (h->has_delay) {
		dur(h->delay, buf, sizeof(buf));
		cell[C_DELAY] = xstrdup(buf);
	} else {
		cell[C_DELAY] = xstrdup("-");
	}
	if (h->has_total) {
		dur(h->total, buf, sizeof(buf));
		cell[C_TOTAL] = xstrdup(buf);
	} else {
		cell[C_TOTAL] = xstrdup("-");
	}
}

static void pad(struct strbuf *o, const char *s, size_t w, int last)
{
	sb_puts(o, s);
	if (last)
		return;
	for (size_t i = width(s); i < w + 2; i++)
		sb_putc(o, ' ');
}

static void table(struct strbuf *o, const char *title, const struct hopchain *c, int first_untrusted,
		  int color)
{
	if (c->n == 0)
		return;
	char *(*rows)[NCOL] = xcalloc(c->n, sizeof(*rows));
	size_t w[NCOL];
	for (int k = 0; k < NCOL; k++)
		w[k] = width(titles[k]);
	for (size_t i = 0; i < c->n; i++) {
		cells(&c->hops[i], first_untrusted, rows[i]);
		for (int k = 0; k < NCOL; k++)
			if (width(rows[i][k]) > w[k])
				w[k] = width(rows[i][k]);
	}
	if (title)
		sb_printf(o, "%s%s%s\n", color ? BLD : "", title, color ? OFF : "");
	if (color)
		sb_puts(o, BLD);
	for (int k = 0; k < NCOL; k++)
		pad(o, titles[k], w[k], k == NCOL - 1);
	if (color)
		sb_puts(o, OFF);
	sb_putc(o, '\n');
	for (size_t i = 0; i < c->n; i++) {
		const struct hop *h = &c->hops[i];
		const char *on = !color ? "" : h->n == first_untrusted ? RED :
					 (h->trusted_by && h->trusted_from) ? GRN : "";
		sb_puts(o, on);
		for (int k = 0; k < NCOL; k++) {
			pad(o, rows[i][k], w[k], k == NCOL - 1);
			free(rows[i][k]);
		}
		if (*on)
			sb_puts(o, OFF);
		sb_putc(o, '\n');
	}
	for (size_t i = 0; i < c->n; i++)
		if (!c->hops[i].r.parsed)
			sb_printf(o, "  hop %d as written: %s\n", c->hops[i].n, c->hops[i].r.raw);
	free(rows);
}

void out_block_ip(const struct message *m)
{
	if (m->first_untrusted) {
		const char *ip = m->hops.hops[m->first_untrusted - 1].r.from_ip;
		printf("%s\n", ip ? ip : "-");
	}
}

void out_text(const struct message *m, const struct options *o, int multi)
{
	struct strbuf s;
	sb_init(&s);
	int color = o->color;
	if (multi)
		sb_printf(&s, "%s==> %s (message %zu) <==%s\n", color ? BLD : "", m->source, m->index,
			  color ? OFF : "");
	if (m->from)
		sb_printf(&s, "From:       %s\n", m->from);
	if (m->subject)
		sb_printf(&s, "Subject:    %s\n", m->subject);
	if (m->message_id)
		sb_printf(&s, "Message-Id: %s\n", m->message_id);
	sb_printf(&s, "Trusted:    %s%s\n", *trust_describe() ? trust_describe() : "(none)",
		  trust_explicit() ? "" : " (assumed from the newest hop; use --trusted)");
	if (m->hops.n == 0)
		sb_puts(&s, "no Received: fields\n");
	else
		sb_printf(&s, "%zu Received: field%s, origin first:\n", m->hops.n,
			  m->hops.n == 1 ? "" : "s");
	table(&s, NULL, &m->hops, m->first_untrusted, color);
	if (trust_explicit()) {
		if (m->first_untrusted) {
			const struct hop *h = &m->hops.hops[m->first_untrusted - 1];
			sb_printf(&s, "%sFirst untrusted hop: %d: %s%s%s%s, HELO %s, received by %s id %s%s\n",
				  color ? RED : "", h->n, d(h->r.from_ip),
				  h->r.from_rdns ? " (" : "", h->r.from_rdns ? h->r.from_rdns : "",
				  h->r.from_rdns ? ")" : "", d(h->r.from_helo), d(h->r.by),
				  d(h->r.id), color ? OFF : "");
			sb_printf(&s, "Block:      %s\n", d(h->r.from_ip));
		} else {
			sb_printf(&s, "First untrusted hop: none (%s)\n",
				  m->untrusted_note ? m->untrusted_note : "");
		}
		if (m->decided_hop) {
			const struct hop *h = &m->hops.hops[m->decided_hop - 1];
			sb_printf(&s, "Decided by: hop %d, header line %d: Received: %s\n", h->n,
				  m->decided_line, h->r.raw);
		}
		sb_puts(&s, "Trust walk (newest first):\n");
		for (size_t i = m->hops.n; m->walk && i-- > 0;)
			if (m->walk[i].why)
				sb_printf(&s, "  hop %-3d %-9s  %s\n", m->hops.hops[i].n,
					  walk_role_name(m->walk[i].role), m->walk[i].why);
	}
	if (m->xrecv.n) {
		sb_putc(&s, '\n');
		table(&s, "X-Received: (origin first)", &m->xrecv, 0, color);
	}
	if (m->has_returned) {
		sb_putc(&s, '\n');
		table(&s, "Returned message, Received: origin first", &m->returned, 0, color);
		if (m->returned.n == 0)
			sb_puts(&s, "Returned message: no Received: fields\n");
	}
	if (loglink_enabled() && m->logs) {
		sb_puts(&s, "\nLog lines (--log), by hop:\n");
		for (size_t i = m->hops.n; i-- > 0;) {
			const struct hop_log *hl = &m->logs[i];
			const struct received *r = &m->hops.hops[i].r;
			if (!r->id)
				continue;
			sb_printf(&s, "  hop %d id %s by %s: %zu line%s\n", m->hops.hops[i].n, r->id,
				  d(r->by), hl->n, hl->n == 1 ? "" : "s");
			for (size_t k = 0; k < hl->n; k++)
				sb_printf(&s, "    %s:%ld [%s%s%s] %s\n", hl->l[k].file, hl->l[k].lineno,
					  hl->l[k].match, hl->l[k].host_ok ? "" : ", other host",
					  hl->l[k].parsed ? "" : ", unparsed", hl->l[k].text);
		}
	}
	if (m->nauth) {
		sb_puts(&s, "\nSignatures:\n");
		for (size_t i = 0; i < m->nauth; i++) {
			const struct dkim_result *r = &m->auth[i];
			char inst[16] = "";
			if (r->kind != DKIM_SIG)
				snprintf(inst, sizeof(inst), " i=%d", r->instance);
			sb_printf(&s, "  %s%s d=%s s=%s a=%s (header line %d): %s: %s\n",
				  auth_kind_name(r->kind), inst, r->d, r->s, r->a, m->auth_line[i],
				  dkim_status_str(r->status), r->why);
		}
	}
	if (m->arc_instances) {
		sb_printf(&s, "ARC chain: %d instance%s, %s: %s\n", m->arc_instances,
			  m->arc_instances == 1 ? "" : "s", m->arc_result, m->arc_why);
		for (int i = m->arc_instances; i >= 1; i--) {
			int line = 0;
			const char *v = auth_arc_results(m, i, &line);
			char *u = v ? hdr_unfold(v) : NULL;
			sb_printf(&s, "  i=%d saw (header line %d): %s\n", i, line, u ? u : "(missing)");
			free(u);
		}
	}
	sb_putc(&s, '\n');
	if (m->nv == 0) {
		sb_puts(&s, "Verdicts: none\n");
	} else {
		size_t cw = 0;
		for (size_t i = 0; i < m->nv; i++)
			if (strlen(m->v[i].code) > cw)
				cw = strlen(m->v[i].code);
		sb_puts(&s, "Verdicts:\n");
		for (size_t i = 0; i < m->nv; i++) {
			const struct verdict *v = &m->v[i];
			const char *on = !color ? "" : !strcmp(v->severity, "alert") ? RED :
						 !strcmp(v->severity, "warning") ? YEL : CYA;
			sb_printf(&s, "  %s%-*s%s  %-7s  %s", on, (int)cw, v->code, color ? OFF : "",
				  v->severity, v->text);
			if (v->line)
				sb_printf(&s, " [%sheader line %d]",
					  strcmp(v->chain, "hops") ? "returned message " : "", v->line);
			sb_putc(&s, '\n');
		}
	}
	if (multi)
		sb_putc(&s, '\n');
	fwrite(s.s, 1, s.len, stdout);
	sb_free(&s);
}
