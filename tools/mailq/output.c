/* output: the selection for scripts (--ids, --json) and at a glance
 * (--summary, qshape's table).  The -bp listing is lib/queue_list's. */
#include "mailq.h"
#include "timefmt.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void out_ids(FILE *out, const struct queue_listing *ql)
{
	for (size_t i = 0; i < ql->n; i++)
		fprintf(out, "%s\n", ql->entries[i].qid);
}

/* ---- --json ------------------------------------------------------------ */

static void json_str(FILE *out, const char *s)
{
	if (s == NULL) {
		fputs("null", out);
		return;
	}
	putc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				putc(*p, out);
		}
	}
	putc('"', out);
}

static void json_key(FILE *out, const char *key, int *first)
{
	fprintf(out, "%s\"%s\":", *first ? "" : ",", key);
	*first = 0;
}

static const char *status_word(const struct queue_entry *e)
{
	if (e->err)
		return "unreadable";
	if (e->env.quarantine)
		return "held";
	if (e->locked)
		return "delivering";
	if (e->env.ntries > 0)
		return "deferred";
	return "queued";
}

/* One object per message; the fields of the -bp listing and the rest of
 * the envelope.  Every object is on one line. */
void out_json(FILE *out, const struct queue_listing *ql)
{
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		int first = 1;
		putc('{', out);
		json_key(out, "id", &first);
		json_str(out, e->qid);
		json_key(out, "queue", &first);
		json_str(out, ql->qdir);
		json_key(out, "status", &first);
		json_str(out, status_word(e));
		char mark[2] = { e->mark, '\0' };
		json_key(out, "mark", &first);
		json_str(out, mark);
		if (e->err) {
			json_key(out, "error", &first);
			json_str(out, e->err);
			fputs("}\n", out);
			continue;
		}
		const struct qf_env *env = &e->env;
		json_key(out, "locked", &first);
		fputs(e->locked ? "true" : "false", out);
		json_key(out, "held", &first);
		fputs(env->quarantine ? "true" : "false", out);
		json_key(out, "hold_reason", &first);
		json_str(out, env->quarantine);
		json_key(out, "too_young", &first);
		fputs(e->too_young ? "true" : "false", out);
		json_key(out, "size", &first);
		fprintf(out, "%ld", e->size);
		char when[32];
		time_queue(when, sizeof(when), env->ctime);
		json_key(out, "queued", &first);
		fprintf(out, "%lld", (long long)env->ctime);
		json_key(out, "queued_text", &first);
		json_str(out, when);
		json_key(out, "age", &first);
		fprintf(out, "%lld", (long long)(mq.now - env->ctime));
		json_key(out, "last_attempt", &first);
		if (env->ktime > 0)
			fprintf(out, "%lld", (long long)env->ktime);
		else
			fputs("null", out);
		json_key(out, "tries", &first);
		fprintf(out, "%d", env->ntries);
		json_key(out, "priority", &first);
		fprintf(out, "%ld", env->priority);
		json_key(out, "sender", &first);
		json_str(out, env->sender);
		json_key(out, "reason", &first);
		json_str(out, env->msg && *env->msg ? env->msg : NULL);
		json_key(out, "envid", &first);
		json_str(out, env->envid);
		json_key(out, "bodytype", &first);
		json_str(out, env->bodytype);
		json_key(out, "recipients", &first);
		putc('[', out);
		for (size_t r = 0; r < env->nrcpts; r++) {
			int rf = 1;
			fputs(r ? ",{" : "{", out);
			json_key(out, "address", &rf);
			json_str(out, env->rcpts[r].addr);
			/* recipients that were delivered or failed are gone from the
			 * qf: the ones left wait for their first try or a retry */
			json_key(out, "state", &rf);
			json_str(out, env->quarantine ? "held" : env->ntries > 0 ? "deferred" : "queued");
			json_key(out, "tries", &rf);
			fprintf(out, "%d", env->ntries);
			json_key(out, "flags", &rf);
			json_str(out, env->rcpts[r].flags);
			json_key(out, "orcpt", &rf);
			json_str(out, env->rcpts[r].orcpt);
			putc('}', out);
		}
		putc(']', out);
		fputs("}\n", out);
	}
}

/* ---- --summary ----------------------------------------------------------- */

/* qshape's buckets: minutes since the message was queued, doubling from 5;
 * a message falls in the first bucket whose bound it is under. */
static const long bucket_min[] = { 5, 10, 20, 40, 80, 160, 320, 640, 1280 };
#define NBUCKETS (sizeof(bucket_min) / sizeof(bucket_min[0]) + 1)

struct drow {
	char *domain;
	long total;
	long count[NBUCKETS];
};

static int bucket_of(long age_seconds)
{
	long minutes = age_seconds < 0 ? 0 : age_seconds / 60;
	for (size_t i = 0; i < NBUCKETS - 1; i++)
		if (minutes < bucket_min[i])
			return (int)i;
	return (int)NBUCKETS - 1;
}

/* "<Bob@Example.COM.>" -> "example.com"; no domain -> "(local)". */
static char *rcpt_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
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

static int cmp_row(const void *a, const void *b)
{
	const struct drow *x = a, *y = b;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

static void print_row(FILE *out, int width, const char *name, long total, const long *count)
{
	fprintf(out, "%*s %6ld", width, name, total);
	for (size_t i = 0; i < NBUCKETS; i++)
		fprintf(out, " %5ld", count[i]);
	putc('\n', out);
}

/* Each message counts once per recipient domain it has; TOTAL counts
 * messages, so it agrees with the -bp "Total requests". */
void out_summary(FILE *out, const struct queue_listing *ql)
{
	struct drow *rows = NULL;
	size_t nrows = 0;
	long total = 0, tcount[NBUCKETS] = { 0 };
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		if (e->err)
			continue;
		int b = bucket_of((long)(mq.now - e->env.ctime));
		total++;
		tcount[b]++;
		char **seen = xcalloc(e->env.nrcpts + 1, sizeof(char *));
		size_t nseen = 0;
		for (size_t r = 0; r < e->env.nrcpts; r++) {
			char *d = rcpt_domain(e->env.rcpts[r].addr);
			int dup = 0;
			for (size_t s = 0; s < nseen && !dup; s++)
				dup = strcmp(seen[s], d) == 0;
			if (dup) {
				free(d);
				continue;
			}
			seen[nseen++] = d;
			size_t k;
			for (k = 0; k < nrows; k++)
				if (strcmp(rows[k].domain, d) == 0)
					break;
			if (k == nrows) {
				rows = xreallocarray(rows, nrows + 1, sizeof(*rows));
				memset(&rows[nrows], 0, sizeof(*rows));
				rows[nrows].domain = xstrdup(d);
				nrows++;
			}
			rows[k].total++;
			rows[k].count[b]++;
		}
		for (size_t s = 0; s < nseen; s++)
			free(seen[s]);
		free(seen);
	}
	if (nrows)
		qsort(rows, nrows, sizeof(*rows), cmp_row);
	int width = 20;
	for (size_t k = 0; k < nrows; k++)
		if ((int)strlen(rows[k].domain) > width)
			width = (int)strlen(rows[k].domain);
	fprintf(out, "%*s %6s", width, "", "T");
	for (size_t i = 0; i < NBUCKETS - 1; i++)
		fprintf(out, " %5ld", bucket_min[i]);
	fprintf(out, " %5s\n", "1280+");
	print_row(out, width, "TOTAL", total, tcount);
	for (size_t k = 0; k < nrows; k++) {
		print_row(out, width, rows[k].domain, rows[k].total, rows[k].count);
		free(rows[k].domain);
	}
	free(rows);
}
