/* queue_select: which queued messages a command applies to.  One selection
 * serves mailq's listing and actions, mtad's own -qR/-qS/-qI queue runs and
 * the console.
 *
 * Terms follow sendmail:
 *   -qI<sub>   the queue ID contains sub (case-sensitive)
 *   -qR<sub>   some recipient contains sub (case-insensitive)
 *   -qS<sub>   the sender contains sub (case-insensitive)
 *   -qQ[<sub>] held (quarantined) mail, whose reason contains sub
 * each with "!" after the letter to negate it (-qR!example.com).  As in
 * sendmail, terms of the same kind are OR-ed (-qIa -qIb: either ID) and
 * different kinds are AND-ed (-qRx -qSy: both).  Ours, AND-ed with the rest:
 *   older DUR  queued at least DUR ago      younger DUR  queued less than DUR ago
 *   reason RE  the last deferral message matches the extended regex RE
 *              (case-insensitive)
 * An empty selection selects everything. */
#ifndef MTA_QUEUE_SELECT_H
#define MTA_QUEUE_SELECT_H
#include <stddef.h>
#include <time.h>
#include "qfile.h"

enum qsel_kind {
	QSEL_ID, QSEL_RCPT, QSEL_SENDER, QSEL_HELD,
	QSEL_OLDER, QSEL_YOUNGER, QSEL_REASON,
	QSEL_NKINDS
};

struct qsel_term;

struct queue_select {
	struct qsel_term *terms;
	size_t nterms;
};

void qsel_init(struct queue_select *sel);
void qsel_free(struct queue_select *sel);

/* Adds one term.  value is the substring (ID, RCPT, SENDER, HELD), a
 * duration such as "2h" or "90m" (OLDER, YOUNGER; bare numbers are
 * minutes) or an extended regex (REASON).  negate inverts the term.
 * Returns 0, or -1 with a reason in err. */
int qsel_add(struct queue_select *sel, enum qsel_kind kind, const char *value, int negate,
	     char *err, size_t errsize);

/* Parses what follows "-q" on sendmail's command line: "Rsub", "R!sub",
 * "Ssub", "Isub", "Q", "Qsub", "Q!sub" (and "!Rsub", sendmail's older
 * spelling of the negation).  Returns 1 when arg was a selector and was
 * added, 0 when it is not a selector (an interval such as "30m", or "f"),
 * -1 when it is a malformed selector (err says why: "-qR needs a substring"). */
int qsel_parse_q(struct queue_select *sel, const char *arg, char *err, size_t errsize);

/* Does the message match?  env is NULL when the qf could not be read: such a
 * message matches only a selection made of -qI terms alone (or an empty
 * one), so that a damaged file can still be named by its ID.  now is the
 * time that --older/--younger count from. */
int qsel_match(const struct queue_select *sel, const char *qid, const struct qf_env *env,
	       time_t now);

/* Is the selection empty (everything matches)? */
int qsel_empty(const struct queue_select *sel);
/* Can it be decided from the queue ID alone (only -qI terms)? */
int qsel_id_only(const struct queue_select *sel);
/* Does it have a term of this kind? */
int qsel_has(const struct queue_select *sel, enum qsel_kind kind);

/* Case-insensitive substring test (sendmail's strcontainedin(true, ...)). */
int qsel_contains_ci(const char *haystack, const char *needle);

#endif
