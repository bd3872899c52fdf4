/* smtpd_etrn: ETRN (RFC 1985) as sendmail 8.17 answers it.
 *   ETRN domain   messages with a recipient containing "@domain"
 *   ETRN @domain  messages with a recipient containing "domain" (subdomains)
 *   ETRN #queue   the whole queue group; ours has one, "mqueue"
 * The matching messages are found in a worker (the queue is read from
 * disk) and handed to the queue manager as newly queued ones are
 * (smtpd_queued_hook): they are delivered at once, whatever their backoff.
 * The client's own address loses its HostStatusDirectory entries: it is
 * up, it just said so.
 * Replies: 250 2.0.0 Queuing for node X started / for queue group X
 * started; 459 4.5.4 Queue X unknown; 500 5.5.2 Parameter required; 502
 * 5.7.0 when PrivacyOptions has noetrn or goaway, on a listener with M=E,
 * or as the MSP; ours, after RFC
 * 1985: 501 5.5.4 for a node that cannot be a domain, 458 4.5.0 when the
 * queue cannot be read. */
#include "smtpd_int.h"
#include "config.h"
#include "hoststat.h"
#include "maillog.h"
#include "queue_select.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETRN_QUEUE_GROUP "mqueue"

int smtpd_hook_flush;

struct etrn_job {
	struct work w;
	char qdir[1024];
	char arg[300];		/* as given, for the reply */
	char client_ip[64];	/* who asked: a host that talks is up */
	char hsdir[1024];	/* HostStatusDirectory, or "" */
	int group;		/* #queue: everything */
	struct queue_select sel;
	char **ids;
	size_t n;
	int failed;
};

static void add_id(const char *qid, void *arg)
{
	struct etrn_job *j = arg;
	j->ids = xreallocarray(j->ids, j->n + 1, sizeof(char *));
	j->ids[j->n++] = xstrdup(qid);
}

/* The client that says ETRN is up: its host status (by address, any port)
 * is removed, so the deliveries it asked for are not deferred at once. */
static void up_again(const struct hoststat *hs, void *arg)
{
	struct etrn_job *j = arg;
	size_t n = strlen(j->client_ip);
	if (hs->host[0] == '[' && strncmp(hs->host + 1, j->client_ip, n) == 0 && hs->host[n + 1] == ']')
		hoststat_remove(j->hsdir, hs->host);
}

static void etrn_run(struct work *w)
{
	struct etrn_job *j = (struct etrn_job *)w;
	if (j->hsdir[0] && j->client_ip[0])
		hoststat_scan(j->hsdir, up_again, j);
	struct etrn_job all = { .n = 0 };
	if (qf_scan(j->qdir, add_id, &all) < 0) {
		j->failed = 1;
		return;
	}
	time_t now = time(NULL);
	for (size_t i = 0; i < all.n; i++) {
		int yes = j->group;
		if (!yes) {
			char path[2048], err[512];
			struct qf_env env;
			qf_env_init(&env);
			qf_path(path, sizeof(path), j->qdir, 'q', all.ids[i]);
			yes = qf_read(path, &env, err, sizeof(err)) == 0 && !env.quarantine &&
			      qsel_match(&j->sel, all.ids[i], &env, now);
			qf_env_free(&env);
		}
		if (yes)
			add_id(all.ids[i], j);
		free(all.ids[i]);
	}
	free(all.ids);
}

static void etrn_done(struct work *w)
{
	struct etrn_job *j = (struct etrn_job *)w;
	struct smtpd_session *s = w->session;
	if (!j->failed && smtpd_queued_hook) {
		smtpd_hook_flush = 1;
		for (size_t i = 0; i < j->n; i++)
			smtpd_queued_hook(j->ids[i]);
		smtpd_hook_flush = 0;
	}
	if (s) {
		s->waiting = NULL;
		if (j->failed)
			smtpd_reply(s, "458 4.5.0 Unable to queue messages for node %s", j->arg);
		else if (j->group)
			smtpd_reply(s, "250 2.0.0 Queuing for queue group %s started", j->arg + 1);
		else
			smtpd_reply(s, "250 2.0.0 Queuing for node %s started", j->arg);
	}
	for (size_t i = 0; i < j->n; i++)
		free(j->ids[i]);
	free(j->ids);
	qsel_free(&j->sel);
	free(j);
}

int smtpd_etrn_offered(const struct smtpd_session *s)
{
	return !conf_has_flag(C_PRIVACY_FLAGS, "noetrn") && !conf_has_flag(C_PRIVACY_FLAGS, "goaway") && !G.msp &&
	       !strchr(s->modifiers, 'E');
}

static int node_ok(const char *p)
{
	if (!*p || strlen(p) > 255)
		return 0;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_[]:", *p))
			return 0;
	return 1;
}

void smtpd_cmd_etrn(struct smtpd_session *s, const char *arg)
{
	s->mail_count++;
	if (!smtpd_etrn_offered(s)) {
		smtpd_reply(s, "502 5.7.0 Sorry, we do not allow this operation");
		return;
	}
	while (*arg == ' ')
		arg++;
	if (!*arg) {
		smtpd_reply(s, "500 5.5.2 Parameter required");
		return;
	}
	maillog(NULL, "%s: ETRN %.100s", s->relay[0] ? s->relay : s->client_ip, arg);
	struct etrn_job *j = xcalloc(1, sizeof(*j));
	qsel_init(&j->sel);
	snprintf(j->arg, sizeof(j->arg), "%s", arg);
	snprintf(j->qdir, sizeof(j->qdir), "%s", mtad_queue_dir());
	snprintf(j->client_ip, sizeof(j->client_ip), "%s", s->client_ip);
	snprintf(j->hsdir, sizeof(j->hsdir), "%s", conf_str(C_HOST_STATUS_DIR));
	if (arg[0] == '#') {
		if (strcmp(arg + 1, ETRN_QUEUE_GROUP) != 0) {
			smtpd_reply(s, "459 4.5.4 Queue %s unknown", node_ok(arg + 1) ? arg + 1 : "(invalid)");
			free(j);
			return;
		}
		j->group = 1;
	} else {
		const char *node = arg[0] == '@' ? arg + 1 : arg;
		char term[300], err[256];
		/* "domain" matches recipients with "@domain"; "@domain" any with "domain" */
		snprintf(term, sizeof(term), "R%s%s", arg[0] == '@' ? "" : "@", node);
		if (!node_ok(node) || qsel_parse_q(&j->sel, term, err, sizeof(err)) < 0) {
			smtpd_reply(s, "501 5.5.4 Syntax error in parameters: not a domain");
			qsel_free(&j->sel);
			free(j);
			return;
		}
	}
	j->w.run = etrn_run;
	j->w.lane = WORK_DISK;
	j->w.done = etrn_done;
	j->w.session = s;
	if (!workq_async()) {
		workq_inline(&j->w);
		return;
	}
	s->waiting = &j->w;
	workq_submit(&j->w);
}
