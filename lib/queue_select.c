/* queue_select: the selection terms of mailq and of mtad's -qR/-qS/-qI runs,
 * matched against a queue ID and its parsed qf. */
#include "queue_select.h"
#include "timefmt.h"
#include "xalloc.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct qsel_term {
	enum qsel_kind kind;
	int negate;
	char *value;
	long seconds;		/* OLDER, YOUNGER */
	regex_t re;		/* REASON */
};

static const char *const kind_names[QSEL_NKINDS] = {
	"-qI", "-qR", "-qS", "-qQ", "--older", "--younger", "--reason",
};

void qsel_init(struct queue_select *sel)
{
	sel->terms = NULL;
	sel->nterms = 0;
}

void qsel_free(struct queue_select *sel)
{
	for (size_t i = 0; i < sel->nterms; i++) {
		if (sel->terms[i].kind == QSEL_REASON)
			regfree(&sel->terms[i].re);
		free(sel->terms[i].value);
	}
	free(sel->terms);
	qsel_init(sel);
}

int qsel_add(struct queue_select *sel, enum qsel_kind kind, const char *value, int negate,
	     char *err, size_t errsize)
{
	if ((unsigned)kind >= QSEL_NKINDS) {
		snprintf(err, errsize, "unknown selection kind %d", (int)kind);
		return -1;
	}
	if (value == NULL)
		value = "";
	struct qsel_term t = { .kind = kind, .negate = negate != 0 };
	switch (kind) {
	case QSEL_ID:
	case QSEL_RCPT:
	case QSEL_SENDER:
		if (*value == '\0') {
			snprintf(err, errsize, "%s needs a substring to look for", kind_names[kind]);
			return -1;
		}
		break;
	case QSEL_HELD:
		break;
	case QSEL_OLDER:
	case QSEL_YOUNGER:
		t.seconds = time_parse_duration(value, 'm');
		if (t.seconds < 0) {
			snprintf(err, errsize, "%s %s: not a duration (e.g. 90s, 10m, 2h, 5d, 1h30m)",
				 kind_names[kind], value);
			return -1;
		}
		break;
	case QSEL_REASON: {
		int rc = regcomp(&t.re, value, REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (rc != 0) {
			char why[256];
			regerror(rc, &t.re, why, sizeof(why));
			snprintf(err, errsize, "--reason %s: %s", value, why);
			return -1;
		}
		break;
	}
	default:
		break;
	}
	t.value = xstrdup(value);
	sel->terms = xreallocarray(sel->terms, sel->nterms + 1, sizeof(*sel->terms));
	sel->terms[sel->nterms++] = t;
	return 0;
}

int qsel_parse_q(struct queue_select *sel, const char *arg, char *err, size_t errsize)
{
	if (arg == NULL || *arg == '\0')
		return 0;
	int negate = 0;
	if (*arg == '!') {		/* -q!Rsub */
		negate = 1;
		arg++;
	}
	enum qsel_kind kind;
	switch (*arg) {
	case 'I': kind = QSEL_ID; break;
	case 'R': kind = QSEL_RCPT; break;
	case 'S': kind = QSEL_SENDER; break;
	case 'Q': kind = QSEL_HELD; break;
	default:
		if (negate) {
			snprintf(err, errsize, "-q!%s: expected I, R, S or Q after -q!", arg);
			return -1;
		}
		return 0;
	}
	arg++;
	if (*arg == '!') {		/* -qR!sub */
		negate = !negate;
		arg++;
	}
	return qsel_add(sel, kind, arg, negate, err, errsize) < 0 ? -1 : 1;
}

int qsel_contains_ci(const char *hay, const char *needle)
{
	if (hay == NULL || needle == NULL)
		return 0;
	return strcasestr(hay, needle) != NULL;
}

/* One term against one message; env is not NULL here. */
static int term_match(const struct qsel_term *t, const char *qid, const struct qf_env *env,
		      time_t now)
{
	switch (t->kind) {
	case QSEL_ID:
		return (strstr(qid, t->value) != NULL) != t->negate;
	case QSEL_SENDER:
		return qsel_contains_ci(env->sender, t->value) != t->negate;
	case QSEL_RCPT:
		/* as sendmail: true when some recipient satisfies the term, so
		 * -qR!dead.example picks messages with a recipient elsewhere */
		for (size_t i = 0; i < env->nrcpts; i++)
			if (qsel_contains_ci(env->rcpts[i].addr, t->value) != t->negate)
				return 1;
		return 0;
	case QSEL_HELD:
		if (env->quarantine == NULL)
			return 0;
		if (t->value[0] == '\0')
			return !t->negate;
		return qsel_contains_ci(env->quarantine, t->value) != t->negate;
	case QSEL_OLDER:
		return (now - env->ctime >= t->seconds) != t->negate;
	case QSEL_YOUNGER:
		return (now - env->ctime < t->seconds) != t->negate;
	case QSEL_REASON:
		if (env->msg == NULL)
			return t->negate;
		return (regexec(&t->re, env->msg, 0, NULL, 0) == 0) != t->negate;
	default:
		return 0;
	}
}

int qsel_match(const struct queue_select *sel, const char *qid, const struct qf_env *env,
	       time_t now)
{
	if (env == NULL && !qsel_id_only(sel))
		return 0;
	/* per kind: no term of the kind, or some term of it matches */
	int seen[QSEL_NKINDS] = { 0 }, ok[QSEL_NKINDS] = { 0 };
	for (size_t i = 0; i < sel->nterms; i++) {
		const struct qsel_term *t = &sel->terms[i];
		seen[t->kind] = 1;
		if (!ok[t->kind] && term_match(t, qid, env, now))
			ok[t->kind] = 1;
	}
	for (int k = 0; k < QSEL_NKINDS; k++)
		if (seen[k] && !ok[k])
			return 0;
	return 1;
}

int qsel_empty(const struct queue_select *sel)
{
	return sel->nterms == 0;
}

int qsel_id_only(const struct queue_select *sel)
{
	for (size_t i = 0; i < sel->nterms; i++)
		if (sel->terms[i].kind != QSEL_ID)
			return 0;
	return 1;
}

int qsel_has(const struct queue_select *sel, enum qsel_kind kind)
{
	for (size_t i = 0; i < sel->nterms; i++)
		if (sel->terms[i].kind == kind)
			return 1;
	return 0;
}
