/* queue_shape: domain x age counts of a queue. */
#include "queue_shape.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const long qshape_minutes[QSHAPE_NB - 1] = { 5, 10, 20, 40, 80, 160, 320, 640, 1280 };

void qshape_init(struct qshape *q)
{
	memset(q, 0, sizeof(*q));
	q->total.domain = xstrdup("TOTAL");
}

int qshape_bucket(long age_seconds)
{
	long minutes = age_seconds < 0 ? 0 : age_seconds / 60;
	for (int i = 0; i < QSHAPE_NB - 1; i++)
		if (minutes < qshape_minutes[i])
			return i;
	return QSHAPE_NB - 1;
}

char *qshape_domain(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	if (at == NULL)
		return xstrdup("(local)");
	char *d = xstrdup(at + 1);
	size_t n = strlen(d);
	while (n && (d[n - 1] == '>' || d[n - 1] == '.' || isspace((unsigned char)d[n - 1])))
		d[--n] = '\0';
	for (char *p = d; *p; p++)
		*p = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : (char)tolower((unsigned char)*p);
	if (!*d) {
		free(d);
		return xstrdup("(local)");
	}
	return d;
}

static struct qshape_row *row_for(struct qshape *q, const char *domain)
{
	for (size_t k = 0; k < q->n; k++)
		if (strcmp(q->rows[k].domain, domain) == 0)
			return &q->rows[k];
	q->rows = xreallocarray(q->rows, q->n + 1, sizeof(*q->rows));
	memset(&q->rows[q->n], 0, sizeof(*q->rows));
	q->rows[q->n].domain = xstrdup(domain);
	return &q->rows[q->n++];
}

void qshape_add(struct qshape *q, const struct qf_env *env, long age_seconds)
{
	int b = qshape_bucket(age_seconds);
	q->total.total++;
	q->total.count[b]++;
	char **seen = xcalloc(env->nrcpts + 1, sizeof(char *));
	size_t nseen = 0;
	for (size_t r = 0; r < env->nrcpts; r++) {
		char *d = qshape_domain(env->rcpts[r].addr);
		int dup = 0;
		for (size_t s = 0; s < nseen && !dup; s++)
			dup = strcmp(seen[s], d) == 0;
		if (dup) {
			free(d);
			continue;
		}
		seen[nseen++] = d;
		struct qshape_row *row = row_for(q, d);
		row->total++;
		row->count[b]++;
	}
	for (size_t s = 0; s < nseen; s++)
		free(seen[s]);
	free(seen);
}

static int cmp_row(const void *a, const void *b)
{
	const struct qshape_row *x = a, *y = b;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

void qshape_sort(struct qshape *q)
{
	if (q->n > 1)
		qsort(q->rows, q->n, sizeof(*q->rows), cmp_row);
}

void qshape_free(struct qshape *q)
{
	for (size_t k = 0; k < q->n; k++)
		free(q->rows[k].domain);
	free(q->rows);
	free(q->total.domain);
	memset(q, 0, sizeof(*q));
}
