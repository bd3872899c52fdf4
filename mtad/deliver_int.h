/* deliver_int: what deliver.c shares with the mailers (deliver_smtp.c) and
 * the DSN writer (dsn.c). */
#ifndef DELIVER_INT_H
#define DELIVER_INT_H
#include "mtad.h"
#include "route.h"

enum rcpt_result { R_SENT, R_DEFER, R_FAIL };

struct rcpt_outcome {
	enum rcpt_result result;
	char dsn[16];		/* "2.0.0", "4.4.1", "5.1.1" */
	char stat[1024];	/* the stat= text */
	char relay[300];	/* the relay= text, "" for local */
	char mailer[16];
	char remote_mta[256];	/* for DSNs: the host that answered */
	char diag[600];		/* for DSNs: "550 5.1.1 <x>... User unknown" */
	char tls[160];		/* to= fields when the hop spoke TLS, else "" */
	int dsn_passed;		/* NOTIFY= went on to a next hop that offers DSN */
};

/* The message as SMTP sends it: headers from qf, a blank line, df. */
int deliver_message_text(const struct qf_env *env, int df_fd, struct strbuf *out);

/* Delivers the message to rcpts[0..n) (all routed to r) over SMTP, with
 * sender (no brackets; "" for the null sender) in MAIL FROM.  qrcpts[i] is
 * the qf recipient of rcpts[i] (its DSN NOTIFY/ORCPT go to a next hop that
 * offers DSN), or NULL. */
void deliver_smtp_group(const struct qf_env *env, int df_fd, const struct route *r,
			const char *sender, const char *const *rcpts, const struct qf_rcpt *const *qrcpts,
			size_t n, struct rcpt_outcome *out);

/* Queues a DSN for the recipients whose outcome is R_FAIL (failed=1),
 * R_DEFER (failed=0: a delay warning) or R_SENT (failed=DSN_SUCCESS: a
 * return receipt for NOTIFY=SUCCESS), each only when its NOTIFY asks for
 * it (RFC 3461: none given means FAILURE,DELAY).  RET=FULL returns the
 * whole message, otherwise the headers.  Returns 0 with the child's ID, or
 * -1 (logged).  A DSN of a message with the null sender goes to postmaster;
 * a failed DSN to postmaster is only logged (no loop). */
#define DSN_SUCCESS 2
int dsn_queue(const struct qf_env *env, const struct rcpt_outcome *outcomes, int failed,
	      char *child_qid, size_t child_size);

#endif
