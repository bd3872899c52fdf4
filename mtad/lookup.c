/* lookup: the DNS work of a session, done in worker threads (workq.c) so a
 * slow resolver never stalls the event loop: at connection the reverse
 * lookup and the DNSBLs, at MAIL the sender's domain.  run() sees only the
 * job's own copies; done() applies the results to the session, if it is
 * still there, in the loop. */
#include "smtpd_int.h"
#include "policy.h"
#include "xalloc.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct connect_job {
	struct work w;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	char ip[64];
	char name[NI_MAXHOST];
	int listed;
	char reply[400], zone[256], answer[16];
};

static void connect_run(struct work *w)
{
	struct connect_job *j = (struct connect_job *)w;
	if (getnameinfo((struct sockaddr *)&j->peer, j->peerlen, j->name, sizeof(j->name), NULL, 0,
			NI_NAMEREQD) != 0)
		j->name[0] = '\0';
	j->listed = policy_dnsbl_lookup(j->ip, j->reply, sizeof(j->reply), j->zone, sizeof(j->zone),
					j->answer, sizeof(j->answer));
}

static void connect_done(struct work *w)
{
	struct connect_job *j = (struct connect_job *)w;
	struct smtpd_session *s = w->session;
	if (s) {
		s->waiting = NULL;
		smtpd_set_client_name(s, j->name);
		policy_connect_verdict(s, j->listed, j->reply, j->zone, j->answer);
	}
	free(j);
}

int smtpd_lookups_start(struct smtpd_session *s)
{
	if (!workq_async() || s->local_bs || s->peerlen == 0)
		return 0;
	struct connect_job *j = xcalloc(1, sizeof(*j));
	j->w.run = connect_run;
	j->w.lane = WORK_NET;
	j->w.done = connect_done;
	j->w.session = s;
	memcpy(&j->peer, &s->peer, s->peerlen);
	j->peerlen = s->peerlen;
	snprintf(j->ip, sizeof(j->ip), "%s", s->client_ip);
	s->waiting = &j->w;
	workq_submit(&j->w);
	return 1;
}

struct sender_job {
	struct work w;
	char addr[ADDR_MAXLEN + 3];
	int result;
};

static void sender_run(struct work *w)
{
	struct sender_job *j = (struct sender_job *)w;
	j->result = policy_sender_domain_check(j->addr);
}

static void sender_done(struct work *w)
{
	struct sender_job *j = (struct sender_job *)w;
	struct smtpd_session *s = w->session;
	if (s) {
		s->waiting = NULL;
		if (s->sender)		/* still the same transaction */
			smtpd_mail_finish(s, j->result);
	}
	free(j);
}

int smtpd_lookup_sender(struct smtpd_session *s)
{
	if (!workq_async())
		return 0;
	struct sender_job *j = xcalloc(1, sizeof(*j));
	j->w.run = sender_run;
	j->w.lane = WORK_NET;
	j->w.done = sender_done;
	j->w.session = s;
	snprintf(j->addr, sizeof(j->addr), "%s", s->sender);
	s->waiting = &j->w;
	workq_submit(&j->w);
	return 1;
}
