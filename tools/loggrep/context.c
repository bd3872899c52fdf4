/* context: -C N, the N records before and after each printed line, read in
 * one more pass over the files that hold printed lines. */
#include "loggrep.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct target {
	off_t off;
	struct txline *l;
};

struct ctx_state {
	struct target *t;
	size_t n, next;
	char **ring;		/* the last N records, oldest first */
	unsigned nring;
	struct txline **open;	/* lines still taking records after them */
	size_t nopen;
};

static int cmp_target(const void *a, const void *b)
{
	const struct target *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static void add_ctx(struct txline *l, char *text)
{
	l->ctx = xreallocarray(l->ctx, l->nbefore + l->nafter + 1, sizeof(*l->ctx));
	l->ctx[l->nbefore + l->nafter] = text;
}

static void on_record(const char *rec, size_t len, const struct source *src, off_t off,
		      void *arg)
{
	struct ctx_state *st = arg;
	unsigned N = (unsigned)lg_opts.context;
	(void)src;
	int is_target = 0;
	while (st->next < st->n && st->t[st->next].off <= off) {
		struct target *t = &st->t[st->next++];
		if (t->off != off)
			continue;
		is_target = 1;
		for (unsigned i = 0; i < st->nring; i++) {
			add_ctx(t->l, xstrdup(st->ring[i]));
			t->l->nbefore++;
		}
		st->open = xreallocarray(st->open, st->nopen + 1, sizeof(*st->open));
		st->open[st->nopen++] = t->l;
	}
	if (!is_target) {
		size_t k = 0;
		for (size_t i = 0; i < st->nopen; i++) {
			struct txline *l = st->open[i];
			add_ctx(l, xstrndup(rec, len));
			l->nafter++;
			if (l->nafter < N)
				st->open[k++] = l;
		}
		st->nopen = k;
	} else {
		/* a printed line ends the "after" of the lines before it */
		size_t k = 0;
		for (size_t i = 0; i < st->nopen; i++)
			if (st->open[i]->off == off)
				st->open[k++] = st->open[i];
		st->nopen = k;
	}
	if (st->nring == N) {
		free(st->ring[0]);
		memmove(st->ring, st->ring + 1, (N - 1) * sizeof(*st->ring));
		st->nring--;
	}
	st->ring[st->nring++] = is_target ? xstrdup("") : xstrndup(rec, len);
	if (is_target) {	/* printed lines are not context of others */
		for (unsigned i = 0; i < st->nring; i++)
			free(st->ring[i]);
		st->nring = 0;
	}
}

int collect_context(struct collector *c, struct sources *s)
{
	int errors = 0;
	if (lg_opts.context <= 0)
		return 0;
	for (size_t f = 0; f < s->n; f++) {
		struct ctx_state st;
		memset(&st, 0, sizeof(st));
		for (size_t i = 0; i < c->nall; i++) {
			struct tx *t = c->all[i];
			for (size_t k = 0; t->keep && k < t->n; k++) {
				if (t->lines[k].file != s->v[f].idx || t->lines[k].hidden)
					continue;
				st.t = xreallocarray(st.t, st.n + 1, sizeof(*st.t));
				st.t[st.n].off = t->lines[k].off;
				st.t[st.n].l = &t->lines[k];
				st.n++;
			}
		}
		if (!st.n)
			continue;
		qsort(st.t, st.n, sizeof(*st.t), cmp_target);
		st.ring = xcalloc((size_t)lg_opts.context, sizeof(*st.ring));
		if (scan_source(&s->v[f], NULL, 0, on_record, &st, "context") < 0)
			errors++;
		for (unsigned i = 0; i < st.nring; i++)
			free(st.ring[i]);
		free(st.ring);
		free(st.open);
		free(st.t);
	}
	return errors;
}
