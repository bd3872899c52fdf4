/* hdrtrace: the types shared by its files.
 *   input.c    files, mboxes, Maildirs, stdin -> one message at a time
 *   chain.c    a message -> hop chains (Received:, X-Received:, returned)
 *   trust.c    --trusted specs; which hosts and addresses are ours
 *   verdict.c  first untrusted hop and the verdicts
 *   dns.c      optional live PTR/forward/DNSBL checks (--dns)
 *   out_text.c the hop table; out_json.c the --json lines
 *   main.c     options and exit codes */
#ifndef HDRTRACE_H
#define HDRTRACE_H
#include "dkim.h"
#include "header.h"
#include "hopchain.h"
#include "received.h"

#include <stddef.h>
#include <time.h>

/* exit codes (also in man/hdrtrace.1) */
#define HT_EXIT_CLEAN 0		/* read everything, no verdict */
#define HT_EXIT_VERDICT 1	/* at least one verdict */
#define HT_EXIT_USAGE 64	/* EX_USAGE */
#define HT_EXIT_NOINPUT 66	/* EX_NOINPUT: a file could not be read */

struct verdict {
	const char *code;
	char *text;
	int hop;		/* 0: the message as a whole */
	const char *chain;	/* "hops" or "returned_message" */
	const char *severity;	/* "info", "warning", "alert" */
	int line;		/* header line of the hop's field (1-based), 0: none */
};

/* walk.c: the role of each hop in the first-untrusted-hop walk */
enum walk_role { WALK_BEYOND = 0, WALK_RETRIEVED, WALK_LOCAL, WALK_TRUSTED, WALK_ENTRY, WALK_STOP };
struct walk_step {
	enum walk_role role;
	char *why;		/* NULL for hops the walk did not reach */
};

/* loglink.c: log lines of one hop (--log) */
struct log_link {
	const char *file;
	long lineno;
	const char *text;
	const char *match;	/* "qid", "next-hop", "mention" */
	int host_ok;		/* the line's host is the hop's by host */
	int parsed;		/* the syslog prefix was read */
};
struct hop_log {
	struct log_link *l;
	size_t n, cap;
};

struct message {
	const char *source;	/* file name, "-" for stdin */
	size_t index;		/* 1-based position in an mbox/Maildir */
	char *envelope_from;	/* mbox From_ line sender */
	struct header_list hl;
	char *message_id, *from, *subject, *date;
	struct hopchain hops;
	struct hopchain xrecv;
	int has_returned;
	struct header_list returned_hl;
	struct hopchain returned;
	int is_bounce;
	const char *bounce_why;
	int first_untrusted;	/* hop number, 0 if none */
	struct walk_step *walk;	/* one per hop of hops, origin first */
	int decided_hop;	/* the hop whose line decided the walk, 0 if none */
	int decided_line;	/* its line in the header block (1-based) */
	char *untrusted_note;	/* why there is none, when --trusted given */
	struct verdict *v;
	size_t nv, vcap;
	const char *body;	/* after the header block (valid while judged) */
	size_t body_len;
	struct hop_log *logs;	/* one per hop, with --log */
	struct dkim_result *auth;	/* DKIM/ARC signatures, header order */
	int *auth_line;
	size_t nauth;
	int arc_instances;	/* the newest ARC i=, 0: no ARC headers */
	const char *arc_result;	/* "pass", "fail", or NULL without ARC */
	char *arc_why;
};

struct options {
	int json;
	int color;
	int block_ip;		/* print only the IP to block */
	long tolerance;		/* seconds, for time-reversal */
	int dns;
	const char *resolver;
	int dns_timeout;
	const char **dnsbl;
	size_t ndnsbl;
};

/* input.c: calls fn for every message found in path ("-" = stdin).
 * Returns 0, or -1 after a diagnostic when path cannot be read. */
typedef void (*message_fn)(const char *buf, size_t len, const char *source, size_t index,
			   void *arg);
int input_read(const char *path, message_fn fn, void *arg);

/* chain.c */
void message_load(struct message *m, const char *buf, size_t len);
void message_free(struct message *m);
char *domain_of_addr(const char *addr);	/* lower-cased, or NULL */

/* trust.c */
int trust_add(const char *spec);	/* -1 if spec is not a domain/IP/CIDR */
int trust_add_file(const char *path);	/* -1 with errno */
int trust_explicit(void);		/* --trusted was given */
void trust_implicit_from(const struct hopchain *c);
const char *trust_describe(void);	/* for the output: "deer-run.com, 10.0.0.0/8" */
int trust_host(const char *host);
const char *trust_which(const char *host_or_ip);	/* the matching spec, or NULL */
void trust_add_implicit(const char *domain);	/* for this message only */
int trust_ip(const char *ip);
void trust_mark(struct hopchain *c);
const char *org_domain(const char *host, char *buf, size_t size);
int ip_private(const char *ip);		/* private, loopback, link-local, CGN */
int ip_loopback(const char *ip);
void trust_reset(void);

/* walk.c */
void walk_run(struct message *m);
int hop_is_retrieval(const struct received *r);
int hop_header_line(const struct header_list *hl, const char *name, size_t nhops, int n);
const char *walk_role_name(enum walk_role r);

/* verdict.c */
void verdicts_run(struct message *m, const struct options *o);
void verdict_add(struct message *m, const char *code, const char *severity, const char *chain,
		 int hop, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* auth.c */
int auth_add_key_file(const char *path);	/* -1 with errno */
void auth_use_dns(int on);
void auth_check(struct message *m);
const char *auth_kind_name(enum dkim_kind k);
const char *auth_arc_results(const struct message *m, int inst, int *line);

/* loglink.c */
int loglink_add_file(const char *path);	/* -1 with errno */
int loglink_enabled(void);
void loglink_message(struct message *m);
void loglink_free_message(struct message *m);

/* dns.c */
void dns_check_chain(struct hopchain *c, const struct options *o);

/* out_text.c, out_json.c */
void out_text(const struct message *m, const struct options *o, int multi);
void out_json(const struct message *m, const struct options *o);
void out_block_ip(const struct message *m);

#endif
