/* queue_shape: the queue by recipient domain and age, as Postfix's qshape
 * shows it: buckets of minutes since queueing, doubling from 5.  Each
 * message counts once per recipient domain it has, once in the total.
 * Shared by `mailq --summary` and the console's shape pane. */
#ifndef MTA_QUEUE_SHAPE_H
#define MTA_QUEUE_SHAPE_H
#include <stddef.h>
#include "qfile.h"

#define QSHAPE_NB 10		/* 9 bounds (5 .. 1280 minutes) and the rest */
extern const long qshape_minutes[QSHAPE_NB - 1];

struct qshape_row {
	char *domain;
	long total;
	long count[QSHAPE_NB];
};

struct qshape {
	struct qshape_row total;	/* domain "TOTAL" */
	struct qshape_row *rows;
	size_t n;
};

void qshape_init(struct qshape *q);
void qshape_add(struct qshape *q, const struct qf_env *env, long age_seconds);
/* Busiest domains first, then by name. */
void qshape_sort(struct qshape *q);
void qshape_free(struct qshape *q);
int qshape_bucket(long age_seconds);
/* "<Bob@Example.COM.>" -> "example.com"; no domain -> "(local)". */
char *qshape_domain(const char *addr);

#endif
