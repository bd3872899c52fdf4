/* hopchain: Received: fields -> hops, origin first, with times and delays
 * (moved here from hdrtrace so that the console builds the same table). */
#include "hopchain.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hopchain_free(struct hopchain *c)
{
	for (size_t i = 0; i < c->n; i++) {
		received_free(&c->hops[i].r);
		free(c->hops[i].dns.ptr);
		free(c->hops[i].dns.listed);
		free(c->hops[i].dns.error);
	}
	free(c->hops);
	memset(c, 0, sizeof(*c));
}

/* A date written without a zone borrows one: from a hop written by the
 * same host if there is one, else from the nearest dated neighbour. */
static int borrow_zone(const struct hopchain *c, size_t i, int *off)
{
	const struct received *me = &c->hops[i].r;
	for (size_t j = 0; j < c->n; j++) {
		const struct received *o = &c->hops[j].r;
		if (j != i && o->has_date && !(o->date.flags & DATE_NOZONE) && me->by && o->by &&
		    !strcasecmp(me->by, o->by)) {
			*off = o->date.tzoff;
			return 1;
		}
	}
	for (size_t d = 1; d < c->n; d++) {
		size_t cand[2] = { i + d, i >= d ? i - d : (size_t)-1 };
		for (int k = 0; k < 2; k++) {
			if (cand[k] >= c->n)
				continue;
			const struct received *o = &c->hops[cand[k]].r;
			if (o->has_date && !(o->date.flags & DATE_NOZONE)) {
				*off = o->date.tzoff;
				return 1;
			}
		}
	}
	return 0;
}

void hopchain_build(struct hopchain *c, const struct header_list *hl, const char *name)
{
	memset(c, 0, sizeof(*c));
	size_t n = hdrlist_count(hl, name);
	if (n == 0)
		return;
	c->hops = xcalloc(n, sizeof(*c->hops));
	c->n = n;
	/* headers are newest first; hops are origin first */
	size_t k = n;
	for (long i = hdrlist_find(hl, name, 0); i >= 0; i = hdrlist_find(hl, name, (size_t)i + 1)) {
		struct hop *h = &c->hops[--k];
		received_parse(hl->h[i].value, &h->r);
	}
	for (size_t i = 0; i < n; i++) {
		struct hop *h = &c->hops[i];
		h->n = (int)i + 1;
		if (!h->r.has_date)
			continue;
		h->has_time = 1;
		h->t = h->r.date.t;
		int off;
		if ((h->r.date.flags & DATE_NOZONE) && borrow_zone(c, i, &off)) {
			h->t -= (time_t)off * 60;
			h->zone_assumed = 1;
		}
	}
	time_t origin = 0, prev = 0;
	int have_origin = 0, have_prev = 0;
	for (size_t i = 0; i < n; i++) {
		struct hop *h = &c->hops[i];
		if (!h->has_time)
			continue;
		if (!have_origin) {
			origin = h->t;
			have_origin = 1;
		}
		if (have_prev) {
			h->has_delay = 1;
			h->delay = (long)(h->t - prev);
		}
		h->has_total = 1;
		h->total = (long)(h->t - origin);
		prev = h->t;
		have_prev = 1;
	}
}
