/* smtpd_ldap: FEATURE(`ldap_routing') in the SMTP session.  At RCPT the
 * directory is asked in a worker thread of the network lane (workq.c), as
 * the sender's DNS check is, so a slow or hung directory never stalls the
 * event loop: the session reads no more input until the answer is back,
 * then smtpd_rcpt_after_ldap() finishes the RCPT in the loop.  Without
 * workers (-bs) the lookup is made inline.  The map layer bounds every
 * wait (-l / -c, map_ldap.h).  MAIL's `sendertoo' check is inline. */
#include "smtpd_int.h"
#include "ldaproute.h"
#include "maillog.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int smtpd_ldap_verdict(struct smtpd_session *s, const char *given, int rc, const struct ldaproute *r,
		       const char *err, char *addr, size_t size)
{
	if (rc == LDR_TEMPFAIL) {
		maillog("NOQUEUE", "ldap_routing for %s: %s", given, err);
		smtpd_reply(s, "451 4.3.0 %s... Temporary lookup failure, try again later", given);
		return -1;
	}
	if (rc == LDR_ERROR) {
		smtpd_reply(s, "550 5.1.1 %s... User unknown", given);
		return -1;
	}
	if (rc == LDR_ROUTED && r->host[0])
		return 1;
	if (rc == LDR_ROUTED)
		snprintf(addr, size, "%s", r->addr);
	return 0;
}

struct rcpt_job {
	struct work w;
	char given[ADDR_MAXLEN + 3];
	char addr[ADDR_MAXLEN + 3];
	char rewritten[1100];
	struct ldaproute r;
	char err[600];
	int rc;
};

static void rcpt_run(struct work *w)
{
	struct rcpt_job *j = (struct rcpt_job *)w;
	j->rc = ldaproute_lookup(j->rewritten, &j->r, j->err, sizeof(j->err));
}

static void rcpt_done(struct work *w)
{
	struct rcpt_job *j = (struct rcpt_job *)w;
	struct smtpd_session *s = w->session;
	if (s) {
		s->waiting = NULL;
		if (s->sender)		/* still the same transaction */
			smtpd_rcpt_after_ldap(s, j->given, j->addr, j->rewritten, sizeof(j->rewritten),
					      j->rc, &j->r, j->err);
	}
	free(j);
}

int smtpd_ldap_rcpt_start(struct smtpd_session *s, const char *given, const char *addr,
			  const char *rewritten)
{
	if (!workq_async() || !ldaproute_applies(rewritten))
		return 0;
	struct rcpt_job *j = xcalloc(1, sizeof(*j));
	j->w.run = rcpt_run;
	j->w.lane = WORK_NET;
	j->w.done = rcpt_done;
	j->w.session = s;
	snprintf(j->given, sizeof(j->given), "%s", given);
	snprintf(j->addr, sizeof(j->addr), "%s", addr);
	snprintf(j->rewritten, sizeof(j->rewritten), "%s", rewritten);
	s->waiting = &j->w;
	workq_submit(&j->w);
	return 1;
}

int smtpd_ldap_mail(struct smtpd_session *s, char *buf, size_t size)
{
	char err[600];
	int rc = s->local_bs ? LDR_NONE : ldaproute_sender_check(s->sender, err, sizeof(err));
	if (rc == LDR_TEMPFAIL) {
		maillog("NOQUEUE", "ldap_routing for sender %s: %s", s->sender_given, err);
		snprintf(buf, size, "451 4.3.0 %s... Temporary lookup failure, try again later", s->sender_given);
		return -1;
	}
	if (rc == LDR_ERROR) {
		snprintf(buf, size, "550 5.1.1 %s... User unknown", s->sender_given);
		return -1;
	}
	return 0;
}
