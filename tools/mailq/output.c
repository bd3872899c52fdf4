/* output: the selection for scripts (--ids, --json) and at a glance
 * (--summary, qshape's table).  The -bp listing is lib/queue_list's. */
#include "mailq.h"
#include "json.h"
#include "queue_shape.h"
#include "timefmt.h"
#include "xalloc.h"
#include "backoff.h"
#include "config.h"
#include "hoststat.h"

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

/* Strings go through lib/json, the one JSON writer: always valid UTF-8
 * (the latin-1 of a remote reply in a deferral reason as \u00XX). */
static void json_str(FILE *out, const char *s)
{
	if (s == NULL) {
		fputs("null", out);
		return;
	}
	json_quote(out, s, strlen(s));
}

static void json_key(FILE *out, const char *key, int *first)
{
	fprintf(out, "%s\"%s\":", *first ? "" : ",", key);
	*first = 0;
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
		/* the earliest time a periodic queue run tries it again: the last
		 * attempt plus the backoff (MinQueueAge doubled per try, at most
		 * MaxQueueBackoff; lib/backoff); null when never tried or held.  A
		 * flush by hand does not wait. */
		json_key(out, "next_retry", &first);
		if (env->ktime > 0 && env->ntries > 0 && !env->quarantine)
			fprintf(out, "%lld", (long long)env->ktime +
				backoff_wait(env->ntries, mq.min_queue_age, conf_num(C_MAX_QUEUE_BACKOFF)));
		else
			fputs("null", out);
		json_key(out, "priority", &first);
		fprintf(out, "%ld", env->priority);
		json_key(out, "sender", &first);
		json_str(out, env->sender);
		json_key(out, "reason", &first);
		json_str(out, env->msg && *env->msg ? env->msg : NULL);
		json_key(out, "reason_class", &first);
		json_str(out, reason_class(env->msg && *env->msg ? env->msg : NULL));
		json_key(out, "attempts", &first);
		fprintf(out, "%d", env->ntries);
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
	/* hosts that mtad's queue runners found down (HostStatusDirectory) */
	const char *hsdir = conf_str(C_HOST_STATUS_DIR);
	if (hsdir[0]) {
		fprintf(out, "\nHosts down:\n");
		if (hoststat_print_down(out, hsdir, mq.now, conf_num(C_TO_HOSTSTATUS), "  ") == 0)
			fprintf(out, "  none\n");
	}
}
