/* mtad: declarations shared by the daemon's modules.
 *
 * Data flow (who owns what):
 *   smtpd.c / submit.c  receive a message and hand it to enqueue.c, which
 *                       writes df (body) while it arrives and, at the end,
 *                       qf (envelope + headers) atomically and fsynced; only
 *                       then does the client get 250.
 *   daemon.c            runs the listeners and the event loop, and forks
 *                       delivery processes for newly queued IDs (DeliveryMode
 *                       b) and periodic queue runs (-q30m).
 *   deliver.c           delivers one queued message under an exclusive lock
 *                       on its qf: local recipients through lib/mbox, logs
 *                       one to= line per attempt, then removes the files or
 *                       rewrites qf with the deferral reason.
 *   queue_run.c         -q: every qf in the queue, through deliver.c.
 *   printqueue.c        -bp: the listing, through lib/qfile. */
#ifndef MTAD_H
#define MTAD_H
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include "qfile.h"
#include "strbuf.h"

#include "version.h"

#define MTAD_VERSION MTA_VERSION	/* one version string: lib/version.h */

/* Identity and the run-time settings derived from the configuration. */
struct mtad_globals {
	char hostname[256];	/* $j */
	const char *progname;
	const char *conf_file;	/* NULL: built-in configuration */
	const char *log_tag;
	int verbose;
	int foreground;
	int msp;		/* -Ac or FEATURE(msp): the MSP queue, everything relayed to the MTA */
	/* -N, -R, -V, -B of a submission (DSN NOTIFY, RET, ENVID; body type); NULL: none */
	const char *dsn_notify, *dsn_ret, *dsn_envid, *body_type;
};
extern struct mtad_globals G;

/* conf_load.c */
const char *mtad_queue_dir(void);	/* the MSP queue with -Ac, else the MTA queue */
int conf_load(const char *mc_path, char **oopts, size_t noopts);
int conf_is_local_domain(const char *domain);
int conf_is_relay_domain(const char *domain);
int conf_client_in_relay_domains(const char *ip);
/* VIRTUSER_DOMAIN_FILE domains and domaintable keys: ours, though not local */
int conf_is_virtual_domain(const char *domain);
/* localnames.c: reads the name files; is a domain in VIRTUSER_DOMAIN_FILE? */
void localnames_load(void);
int localnames_in_virtuser_file(const char *domain);
/* virtual.c */
int domaintable_has(const char *domain);
/* Rewrites a recipient through the domaintable and the virtusertable
 * (repeatedly, as sendmail does).  Returns 0 and the result in out (equal to
 * addr when nothing applies), 1 with an "error:" text (code and message) in
 * out, or -1 on a temporary map failure. */
int virtual_rewrite(const char *addr, char *out, size_t size);
int conf_is_local_user(const char *local);
void conf_print_changed(void);
void conf_print_identity(void);

#include "conf_mc.h"	/* struct listen_opts, listen_opts_parse */

/* enqueue.c: one message being written into the queue */
struct enqueue {
	char qdir[1024];
	char qid[QID_MAXLEN];
	int df_fd;
	long body_bytes;	/* df size */
	int failed;		/* a write to df failed: the message gets a 4xx */
	int err_no;		/* errno of the failure (ENOSPC gives 452) */
	char errbuf[256];
	struct strbuf dfbuf;	/* write buffer for df */
};
int enqueue_begin(struct enqueue *eq, const char *qdir, char *err, size_t errsize);
/* enqueue_begin in two halves: the queue ID (event loop), then the df
 * file (any thread). */
void enqueue_prepare(struct enqueue *eq, const char *qdir);
int enqueue_open(struct enqueue *eq, char *err, size_t errsize);
/* Or: df is created when the body first fills the write buffer (64 KiB),
 * or by the commit, off the event loop, for a message smaller than that. */
void enqueue_open_later(struct enqueue *eq);
void enqueue_body(struct enqueue *eq, const char *data, size_t len);
/* Writes what is buffered to df (the mail filters read it); 0 or -1. */
int enqueue_flush(struct enqueue *eq, char *err, size_t errsize);
/* A mail filter's new body replaces df's content; 0 or -1. */
int enqueue_replace_body(struct enqueue *eq, const char *data, size_t len, char *err, size_t errsize);
/* Completes env (qid, inode, times) and commits qf; 0 or -1 with err. */
int enqueue_commit(struct enqueue *eq, struct qf_env *env, char *err, size_t errsize);
/* Commits several messages at once (a batch shares its journal commits
 * and one directory fsync; see enqueue.c); each item gets rc 0, or -1 with
 * err_no and err, and then nothing of it is left behind. */
struct enqueue_item {
	struct enqueue *eq;
	struct qf_env *env;
	int rc;
	int err_no;
	char err[512];
};
void enqueue_commit_many(struct enqueue_item *items, size_t n);
/* How a batch is made durable (QueueSync): "syncfs" (one syncfs of the
 * queue's file system for the batch) or "fsync" (each file, the writeback
 * of all started first). */
const char *enqueue_sync_name(void);
void enqueue_abort(struct enqueue *eq);

/* Message header completion shared by SMTP and local submission. */
struct msg_meta {
	const char *helo;	/* NULL for local submissions */
	const char *client_name;
	const char *client_ip;
	const char *proto;	/* "SMTP", "ESMTP", NULL (local) */
	const char *first_rcpt;	/* for "for <r>" when there is one recipient */
	int nrcpts;
	int local_submission;
	const char *sender;	/* envelope sender without brackets */
	const char *login;	/* local submissions: the invoking user */
	const struct tls_info *tls;	/* NULL: not over TLS */
	const char *auth;	/* the authenticated user, or NULL */
};
/* Adds Received: (top), and Message-Id:/Date: (and From: for local
 * submissions) when missing.  Returns the Message-Id value. */
const char *msg_complete_headers(struct header_list *hl, const char *qid, const struct msg_meta *m);

/* mailertable.c: fills r from the mailertable when it has an entry for
 * domain or a parent domain (".parent"), or the "." default; 0 if none. */
struct route;
int mailertable_route(const char *domain, struct route *r);

/* deliver.c */
enum deliver_result { DELIVER_DONE, DELIVER_DEFERRED, DELIVER_LOCKED, DELIVER_ERROR };
enum deliver_result deliver_message(const char *qdir, const char *qid);
/* -Mg: every recipient failed now, a DSN to the sender, the message gone. */
enum deliver_result deliver_bounce(const char *qdir, const char *qid);
/* Recipients of this process's attempts so far, by outcome (queue-run totals). */
struct deliver_counts {
	long sent, deferred, failed;
};
extern struct deliver_counts deliver_counts;

/* queue_run.c: one pass over the queue; sel (NULL: everything) picks
 * messages as -qR/-qS/-qI do; honour_age skips messages tried less than
 * MinQueueAge ago (periodic runs; an explicit -q flushes). */
struct queue_select;
int queue_run(const char *qdir, int verbose, const struct queue_select *sel, int honour_age);
/* A delivery process's batch of newly queued IDs: grouped by destination,
 * over cached connections, as a queue run does in one process. */
void deliver_batch(const char *qdir, char *const *ids, size_t n);

/* printqueue.c */
int print_queue(const char *qdir);
/* -bp's selection (-qI/-qR/-qS/-qQ) and -v, given before print_queue(). */
void print_queue_options(const struct queue_select *sel, int verbose);

/* smtpd.c: an SMTP session over a byte stream */
struct smtpd_session;
struct smtpd_session *smtpd_new(int fd_out, const struct sockaddr *peer, socklen_t peerlen,
				const char *daemon_name, int local_bs);
/* Feeds received bytes; replies are queued in the session's output. */
void smtpd_input(struct smtpd_session *s, const char *data, size_t len);
/* Connection closed by the client or timed out. */
void smtpd_eof(struct smtpd_session *s, int timed_out);
int smtpd_done(const struct smtpd_session *s);	/* QUIT handled or fatal error */
/* Lines read so far: a timeout is re-armed only by whole lines, so a client
 * dripping a byte at a time cannot hold a session open. */
unsigned long smtpd_progress(const struct smtpd_session *s);
struct strbuf *smtpd_output(struct smtpd_session *s);
int smtpd_in_data(const struct smtpd_session *s);
void smtpd_free(struct smtpd_session *s);
/* A commit in flight: no input is processed until it is done. */
int smtpd_committing(const struct smtpd_session *s);
struct commit_job;
void smtpd_commit_done(struct commit_job *job);
/* Processes input held back while a commit was in flight. */
void smtpd_resume(struct smtpd_session *s);
void smtpd_set_user(struct smtpd_session *s, void *user);
int smtpd_greeted(const struct smtpd_session *s);
/* The reverse lookup and DNSBLs of a new session, in a worker; returns 1
 * when they were started (greet the client once they are back). */
int smtpd_lookups_start(struct smtpd_session *s);
void *smtpd_user(const struct smtpd_session *s);
void smtpd_greet(struct smtpd_session *s);
/* GreetPause: the client talked first; it gets a 554 greeting and every
 * mail command is refused. */
void smtpd_greet_reject(struct smtpd_session *s, long waited_ms);
long smtpd_greet_pause(const struct smtpd_session *s);
/* The listener's M= modifiers, and whether STARTTLS can be offered. */
void smtpd_set_listener(struct smtpd_session *s, const char *modifiers, int tls_offer);
/* 1 when STARTTLS was accepted: once the 220 is out the daemon starts the
 * handshake (every byte read before it is gone already). */
int smtpd_tls_wanted(const struct smtpd_session *s);
struct tls_info;
/* The handshake completed: the session starts over (RFC 3207 4.2). */
void smtpd_tls_started(struct smtpd_session *s, const struct tls_info *info);
const char *smtpd_relay(const struct smtpd_session *s);
/* The daemon learns of new queue IDs through this hook. */
extern void (*smtpd_queued_hook)(const char *qid);
/* Set while ETRN hands IDs to the hook: deliver them now, whatever
 * DeliveryMode says (smtpd_etrn.c). */
extern int smtpd_hook_flush;

/* daemon.c */
int daemon_run(int background, long queue_interval, char **argv);

/* addrtest.c: -bv and -bt */
int addrtest_verify(char **addrs, int n);
int addrtest_interactive(void);

/* submit.c */
int submit_bs(void);
int submit_bm(char **rcpts, int nrcpts, int extract_t, int ignore_dots, const char *from,
	      const char *fullname);

#endif
