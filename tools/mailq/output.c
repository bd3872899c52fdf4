/* output: the selection for scripts (--ids, --json) and at a glance
 * (--summary, qshape's table).  The -bp listing is lib/queue_list's. */
#include "mailq.h"
#include "json.h"
#include "queue_shape.h"
#include "timefmt.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void out_ids(FILE *out, const struct queue_listing *ql)
{
	for (size_t i = 0; i < ql->n; i++)
		fprintf(out, "%s\n", ql->entries[i].qid);
}

/* ---- --json ------------------------------------------------------------ */

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

static int has_ci(const char *s, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strcasestr(s, words[i]))
			return 1;
	return 0;
}

/* The class of the last deferral message (the qf's M record): "TLS",
 * "4xx policy" (a remote 4xx reply), "DNS", "timeout", "connection
 * refused" or "other" -- the classes of loggrep --summary. */
static const char *reason_class(const char *msg)
{
	static const char *const tls[] = { "TLS", "SSL", "certificate", "handshake", NULL };
	static const char *const dns[] = { "host map", "name server", "lookup fail", "host unknown",
		"name service error", "domain name not found", "no mx", "nxdomain", "servfail", NULL };
	static const char *const tmo[] = { "timed out", "timeout", "time out", NULL };
	static const char *const conn[] = { "connection refused", "no route to host",
		"network is unreachable", "connection reset", "host is down",
		"lost connection", "connection closed", NULL };
	if (msg == NULL || *msg == '\0')
		return NULL;
	if (has_ci(msg, tls))
		return "TLS";
	const char *p = msg;
	if (strncasecmp(p, "Deferred: ", 10) == 0)
		p += 10;
	if (p[0] == '4' && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
	    (p[3] == ' ' || p[3] == '-'))
		return "4xx policy";
	if (has_ci(msg, dns))
		return "DNS";
	if (has_ci(msg, tmo))
		return "timeout";
	if (has_ci(msg, conn))
		return "connection refused";
	return "other";
}

/* One object per message; the fields of the -bp listing and the rest of
 * the envelope.  Every object is on one line.  next_retry: the earliest
 * time a queue run tries the message again (last attempt + MinQueueAge;
 * null when never tried or held). */
void out_json(FILE *out, const struct queue_listing *ql)
{
	struct json j;
	json_init(&j, out);
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		json_object_begin(&j);
		json_key(&j, "id"); json_string(&j, e->qid);
		json_key(&j, "queue"); json_string(&j, ql->qdir);
		json_key(&j, "status"); json_string(&j, status_word(e));
		char mark[2] = { e->mark, '\0' };
		json_key(&j, "mark"); json_string(&j, mark);
		if (e->err) {
			json_key(&j, "error"); json_string(&j, e->err);
			json_object_end(&j);
			json_newline(&j);
			continue;
		}
		const struct qf_env *env = &e->env;
		json_key(&j, "locked"); json_bool(&j, e->locked);
		json_key(&j, "held"); json_bool(&j, env->quarantine != NULL);
		json_key(&j, "hold_reason"); json_string(&j, env->quarantine);
		json_key(&j, "too_young"); json_bool(&j, e->too_young);
		json_key(&j, "size"); json_int(&j, e->size);
		char when[32];
		time_queue(when, sizeof(when), env->ctime);
		json_key(&j, "queued"); json_int(&j, env->ctime);
		json_key(&j, "queued_text"); json_string(&j, when);
		json_key(&j, "age"); json_int(&j, mq.now - env->ctime);
		json_key(&j, "last_attempt");
		if (env->ktime > 0)
			json_int(&j, env->ktime);
		else
			json_null(&j);
		json_key(&j, "next_retry");
		if (env->ktime > 0 && env->ntries > 0 && !env->quarantine)
			json_int(&j, env->ktime + mq.min_queue_age);
		else
			json_null(&j);
		json_key(&j, "tries"); json_int(&j, env->ntries);
		json_key(&j, "attempts"); json_int(&j, env->ntries);
		json_key(&j, "priority"); json_int(&j, env->priority);
		json_key(&j, "sender"); json_string(&j, env->sender);
		const char *msg = env->msg && *env->msg ? env->msg : NULL;
		json_key(&j, "reason"); json_string(&j, msg);
		json_key(&j, "reason_class"); json_string(&j, reason_class(msg));
		json_key(&j, "envid"); json_string(&j, env->envid);
		json_key(&j, "bodytype"); json_string(&j, env->bodytype);
		json_key(&j, "recipients");
		json_array_begin(&j);
		for (size_t r = 0; r < env->nrcpts; r++) {
			json_object_begin(&j);
			json_key(&j, "address"); json_string(&j, env->rcpts[r].addr);
			/* recipients that were delivered or failed are gone from the
			 * qf: the ones left wait for their first try or a retry */
			json_key(&j, "state");
			json_string(&j, env->quarantine ? "held" : env->ntries > 0 ? "deferred" : "queued");
			json_key(&j, "tries"); json_int(&j, env->ntries);
			json_key(&j, "flags"); json_string(&j, env->rcpts[r].flags);
			json_key(&j, "orcpt"); json_string(&j, env->rcpts[r].orcpt);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
		json_newline(&j);
	}
}

/* ---- --summary ----------------------------------------------------------- */

static void print_row(FILE *out, int width, const char *name, long total, const long *count)
{
	fprintf(out, "%*s %6ld", width, name, total);
	for (size_t i = 0; i < QSHAPE_NB; i++)
		fprintf(out, " %5ld", count[i]);
	putc('\n', out);
}

/* Each message counts once per recipient domain it has; TOTAL counts
 * messages, so it agrees with the -bp "Total requests". */
void out_summary(FILE *out, const struct queue_listing *ql)
{
	struct qshape q;
	qshape_init(&q);
	for (size_t i = 0; i < ql->n; i++) {
		const struct queue_entry *e = &ql->entries[i];
		if (!e->err)
			qshape_add(&q, &e->env, (long)(mq.now - e->env.ctime));
	}
	qshape_sort(&q);
	int width = 20;
	for (size_t k = 0; k < q.n; k++)
		if ((int)strlen(q.rows[k].domain) > width)
			width = (int)strlen(q.rows[k].domain);
	fprintf(out, "%*s %6s", width, "", "T");
	for (size_t i = 0; i < QSHAPE_NB - 1; i++)
		fprintf(out, " %5ld", qshape_minutes[i]);
	fprintf(out, " %5s\n", "1280+");
	print_row(out, width, "TOTAL", q.total.total, q.total.count);
	for (size_t k = 0; k < q.n; k++)
		print_row(out, width, q.rows[k].domain, q.rows[k].total, q.rows[k].count);
	qshape_free(&q);
}
