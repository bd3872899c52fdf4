/* filter: the `/` filter.  Words are mailq's selectors, written either as
 * R:sub, S:sub, I:sub, Q: / Q:sub (with "!" after the colon to negate) or
 * as on mailq's command line (-qRsub, -qS!sub ...); they go into a
 * lib/queue_select selection, so the console selects exactly as mailq
 * does.  Any other word matches a message whose ID, sender or one of whose
 * recipients contains it (case-insensitive); all words must match. */
#include "console.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

void filter_init(struct cfilter *f)
{
	memset(f, 0, sizeof(*f));
	f->text = xstrdup("");
	qsel_init(&f->sel);
}

void filter_free(struct cfilter *f)
{
	free(f->text);
	qsel_free(&f->sel);
	for (size_t i = 0; i < f->nplain; i++)
		free(f->plain[i]);
	free(f->plain);
	memset(f, 0, sizeof(*f));
}

static int add_word(struct cfilter *f, const char *w, char *err, size_t errsize)
{
	if (w[0] == '-' && w[1] == 'q') {
		int rc = qsel_parse_q(&f->sel, w + 2, err, errsize);
		if (rc == 0)
			snprintf(err, errsize, "%s: not a selector (-qI, -qR, -qS, -qQ)", w);
		return rc > 0 ? 0 : -1;
	}
	static const struct { char c; enum qsel_kind k; } kinds[] = {
		{ 'R', QSEL_RCPT }, { 'S', QSEL_SENDER }, { 'I', QSEL_ID }, { 'Q', QSEL_HELD },
	};
	if (w[0] && w[1] == ':') {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			if (w[0] != kinds[i].c && w[0] != kinds[i].c + ('a' - 'A'))
				continue;
			const char *v = w + 2;
			int neg = *v == '!';
			if (neg)
				v++;
			if (!*v && kinds[i].k != QSEL_HELD) {
				snprintf(err, errsize, "%c: needs a substring", kinds[i].c);
				return -1;
			}
			return qsel_add(&f->sel, kinds[i].k, v, neg, err, errsize);
		}
	}
	f->plain = xreallocarray(f->plain, f->nplain + 1, sizeof(char *));
	f->plain[f->nplain++] = xstrdup(w);
	return 0;
}

int filter_parse(struct cfilter *f, const char *text, char *err, size_t errsize)
{
	struct cfilter nf;
	filter_init(&nf);
	free(nf.text);
	nf.text = xstrdup(text);
	char *copy = xstrdup(text), *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (add_word(&nf, w, err, errsize) < 0) {
			free(copy);
			filter_free(&nf);
			return -1;
		}
	}
	free(copy);
	filter_free(f);
	*f = nf;
	return 0;
}

int filter_match_plain(const struct cfilter *f, const struct queue_entry *e)
{
	for (size_t i = 0; i < f->nplain; i++) {
		const char *w = f->plain[i];
		int hit = qsel_contains_ci(e->qid, w) ||
			  (e->env.sender && qsel_contains_ci(e->env.sender, w));
		for (size_t r = 0; !hit && r < e->env.nrcpts; r++)
			hit = qsel_contains_ci(e->env.rcpts[r].addr, w);
		if (!hit)
			return 0;
	}
	return 1;
}
