/* deliver: one delivery attempt for one queued message, under an exclusive
 * flock() on its qf.  Each recipient is routed (route.c); local ones go to
 * mbox files through lib/mbox, remote ones over SMTP (deliver_smtp.c), one
 * connection per next hop.  Each attempt logs to= lines.  Permanent
 * failures, and deferrals past Timeout.queuereturn, produce a DSN; a delay
 * warning goes out once past Timeout.queuewarn.  Afterwards the files are
 * removed (nothing left to do) or qf is rewritten with the deferral reason
 * and the recipients still pending.  A crash between a delivery and the
 * rewrite can deliver twice, never lose. */
#include "deliver_int.h"
#include "lda.h"
#include "deliver_sync.h"
#include "dirsync.h"
#include "local.h"
#include "ldaproute.h"
#include "masquerade.h"
#include "addr.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "mbox.h"
#include "qheader.h"
#include "safeopen.h"
#include "xalloc.h"

#include <ctype.h>
#include <pwd.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void strip_brackets(char *buf, size_t size, const char *addr)
{
	size_t len = strlen(addr);
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
		snprintf(buf, size, "%.*s", (int)(len - 2), addr + 1);
	else
		snprintf(buf, size, "%s", addr);
}

/* Macros of qf header values, as sendmail expands them at delivery. */
struct hdr_macros {
	const struct qf_env *env;
	const char *sender;	/* $g: the envelope sender, no brackets */
};

static const char *hdr_macro(void *ctx, const char *name)
{
	const struct hdr_macros *m = ctx;
	if (strcmp(name, "g") == 0 || strcmp(name, "f") == 0)
		return m->sender;
	if (strcmp(name, "j") == 0 || strcmp(name, "w") == 0)
		return G.hostname;
	if (strcmp(name, "i") == 0)
		return m->env->qid;
	return qf_env_macro(m->env, name);
}

/* The headers, as they leave: masqueraded when that is configured, the
 * qf conditions resolved for the mailer and macros expanded. */
static void put_headers(const struct qf_env *env, int local, const char *sender, struct strbuf *out)
{
	const struct header_list *hl = &env->headers;
	struct header_list copy;
	int rewrite = local ? conf_num(C_ALWAYS_ADD_DOMAIN) != 0 : masquerade_active();
	if (rewrite) {
		hdrlist_init(&copy);
		for (size_t i = 0; i < env->headers.count; i++) {
			hdrlist_add_cond(&copy, env->headers.h[i].cond, env->headers.h[i].name,
					 env->headers.h[i].value);
			copy.h[copy.count - 1].macros = env->headers.h[i].macros;
		}
		masquerade_headers(&copy, local);
		hl = &copy;
	}
	char bare[ADDR_MAXLEN + 3];
	strip_brackets(bare, sizeof(bare), sender);
	struct hdr_macros m = { env, bare };
	qhdr_put(hl, local ? QHDR_FLAGS_LOCAL : QHDR_FLAGS_SMTP, hdr_macro, &m, out);
	if (rewrite)
		hdrlist_free(&copy);
}

int deliver_message_text(const struct qf_env *env, int df_fd, struct strbuf *out)
{
	put_headers(env, 0, env->sender ? env->sender : "", out);
	sb_putc(out, '\n');
	if (lseek(df_fd, 0, SEEK_SET) != 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(df_fd, buf, sizeof(buf))) > 0)
		sb_append(out, buf, (size_t)n);
	return n < 0 ? -1 : 0;
}

/* The mailbox name for a local part: lower-cased, and refused when it could
 * name anything but a file in the mailbox directory. */
static int mailbox_name(char *buf, size_t size, const char *local)
{
	if (!*local || strlen(local) >= size || strchr(local, '/') || local[0] == '.')
		return -1;
	for (size_t i = 0; local[i]; i++)
		buf[i] = (char)tolower((unsigned char)local[i]);
	buf[strlen(local)] = '\0';
	return 0;
}

/* The headers as a local mailer writes them: Return-Path first (the qf's
 * own H?P?Return-Path when sendmail wrote one). */
static void local_headers(const struct qf_env *env, const char *sender, struct strbuf *hdr)
{
	if (!qhdr_has_cond(&env->headers, "Return-Path"))
		sb_printf(hdr, "Return-Path: <%s>\n", sender);
	put_headers(env, 1, sender, hdr);
}

static void outcome_set(struct rcpt_outcome *o, enum rcpt_result r, const char *dsn, const char *stat,
			const char *diag)
{
	o->result = r;
	snprintf(o->dsn, sizeof(o->dsn), "%s", dsn);
	snprintf(o->stat, sizeof(o->stat), "%s", stat);
	snprintf(o->diag, sizeof(o->diag), "%s", diag ? diag : "");
}

static void log_outcomes(const struct qf_env *env, const size_t *idx, size_t n,
			 const struct rcpt_outcome *out, time_t start);

static void deliver_local(const struct qf_env *env, int df_fd, const char *target, const char *shown,
			  const char *sender, struct rcpt_outcome *o)
{
	char addr[ADDR_MAXLEN + 3], box[256], err[512];
	strip_brackets(addr, sizeof(addr), target);
	char *local, *domain;
	addr_split(addr, &local, &domain);
	snprintf(o->mailer, sizeof(o->mailer), "local");
	if (!conf_is_local_user(local) || mailbox_name(box, sizeof(box), local) < 0) {
		char diag[600];
		snprintf(diag, sizeof(diag), "550 5.1.1 %s... User unknown", shown);
		outcome_set(o, R_FAIL, "5.1.1", "User unknown", diag);
		goto out;
	}
	struct strbuf hdr;
	sb_init(&hdr);
	local_headers(env, sender, &hdr);
	/* the agent (root) writes it as the user; see lda.h (in a group:
	 * durable by the group's syncfs, deliver_sync.h) */
	char kind = deliver_sync_mailbox_kind();
	int rc = lda_deliver(kind, box, "", sender, shown, hdr.s, hdr.len, df_fd, err, sizeof(err));
	sb_free(&hdr);
	if (rc == 0 && kind == 'm')
		deliver_sync_mark();
	if (rc == 1) {
		char stat[700];
		snprintf(stat, sizeof(stat), "Deferred: %s", err);
		outcome_set(o, R_DEFER, "4.2.0", stat, err);
	} else if (rc == 2) {
		char diag[600];
		snprintf(diag, sizeof(diag), "550 5.1.1 %s... %s", shown, err);
		outcome_set(o, R_FAIL, "5.1.1", err, diag);
	} else {
		outcome_set(o, R_SENT, "2.0.0", "Sent", NULL);
	}
out:
	free(local);
	free(domain);
}

/* A file or a program that name (an alias or a user with a .forward)
 * expanded to: the agent finds it there again before it acts. */
static void deliver_target(const struct qf_env *env, int df_fd, char kind, const char *name, const char *target,
			   const char *sender, const char *rcpt, struct rcpt_outcome *o)
{
	char err[512];
	snprintf(o->mailer, sizeof(o->mailer), "%s", kind == 'F' ? "*file*" : "prog");
	struct strbuf hdr;
	sb_init(&hdr);
	local_headers(env, sender, &hdr);
	int rc = lda_deliver(kind, name ? name : "", target, sender, rcpt, hdr.s, hdr.len, df_fd, err, sizeof(err));
	sb_free(&hdr);
	char stat[700];
	if (rc == 0) {
		outcome_set(o, R_SENT, "2.0.0", "Sent", NULL);
	} else if (rc == 1) {
		snprintf(stat, sizeof(stat), "Deferred: %s", err);
		outcome_set(o, R_DEFER, kind == 'F' ? "4.2.0" : "4.3.0", stat, err);
	} else {
		char diag[600];
		snprintf(diag, sizeof(diag), "554 5.3.0 %s", err);
		outcome_set(o, R_FAIL, "5.3.0", err, diag);
	}
}

/* mailertable "error:D.S.N:CODE text" (or "error:CODE text") */
static void route_error(const struct route *r, struct rcpt_outcome *o)
{
	o->result = R_FAIL;
	snprintf(o->mailer, sizeof(o->mailer), "error");
	const char *e = r->error;
	char dsn[16] = "5.0.0";
	const char *colon = strchr(e, ':');
	if (colon && isdigit((unsigned char)e[0]) && strchr(e, '.') && strchr(e, '.') < colon) {
		snprintf(dsn, sizeof(dsn), "%.*s", (int)(colon - e), e);
		e = colon + 1;
	}
	if (e[0] == '4')
		o->result = R_DEFER;
	snprintf(o->dsn, sizeof(o->dsn), "%s", dsn);
	snprintf(o->stat, sizeof(o->stat), "%s", e);
	snprintf(o->diag, sizeof(o->diag), "%s", e);
}

struct deliver_counts deliver_counts;

static void log_outcomes(const struct qf_env *env, const size_t *idx, size_t n,
			 const struct rcpt_outcome *out, time_t start)
{
	for (size_t i = 0; i < n; i++) {
		enum rcpt_result r = out[idx[i]].result;
		if (r == R_SENT)
			deliver_counts.sent++;
		else if (r == R_DEFER)
			deliver_counts.deferred++;
		else
			deliver_counts.failed++;
	}
	int *logged = xcalloc(n ? n : 1, sizeof(int));
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		if (logged[i])
			continue;
		struct strbuf to;
		sb_init(&to);
		const struct rcpt_outcome *o = &out[idx[i]];
		for (size_t j = i; j < n; j++) {
			const struct rcpt_outcome *p = &out[idx[j]];
			if (logged[j] || p->result != o->result || strcmp(p->stat, o->stat) ||
			    strcmp(p->relay, o->relay) || (strcmp(o->mailer, "local") == 0 && j != i))
				continue;
			sb_printf(&to, "%s%s", to.len ? "," : "", env->rcpts[idx[j]].addr);
			logged[j] = 1;
		}
		const char *ctl = env->rcpts[idx[i]].ctladdr ? env->rcpts[idx[i]].ctladdr : env->ctladdr;
		char ctlshow[600];
		if (ctl)
			qf_ctladdr_show(ctlshow, sizeof(ctlshow), ctl);
		struct maillog_to t = {
			.to = to.s, .ctladdr = ctl ? ctlshow : NULL, .delay = (long)(now - env->ctime),
			.xdelay = (long)(now - start),
			.mailer = o->mailer, .pri = env->priority, .relay = o->relay[0] ? o->relay : NULL,
			.extra = o->tls[0] ? o->tls : NULL,
			.dsn = o->dsn, .stat = o->stat,
		};
		maillog_to_line(env->qid, &t);
		if (G.verbose)
			printf("%s... %s\n", to.s, o->stat);
		sb_free(&to);
	}
	free(logged);
}

/* What one recipient of the attempt is, after alias and virtual expansion.
 * env->rcpts[i].addr is what logs and DSNs name; target what is delivered. */
struct item {
	enum alias_kind kind;	/* ALIAS_ADDRESS, ALIAS_LOCAL, ALIAS_FILE, ALIAS_PROGRAM, ALIAS_ERROR */
	char *target;
	char *sender;		/* envelope sender for this item, no brackets */
	char *parent;		/* file, program: the local name it came from */
	struct route route;
	int routed;		/* route already set (ldap_routing's mailHost) */
};

/* Routes and delivers every item; fills out[]. */
static void deliver_all(const struct qf_env *env, int df_fd, struct item *items, struct rcpt_outcome *out)
{
	size_t n = env->nrcpts;
	int *done = xcalloc(n ? n : 1, sizeof(int));
	size_t *idx = xcalloc(n ? n : 1, sizeof(size_t));
	const char **targets = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		if ((items[i].kind == ALIAS_ADDRESS || items[i].kind == ALIAS_LOCAL) && !items[i].routed)
			route_address(items[i].target, &items[i].route);
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		time_t start = time(NULL);
		size_t k = 0;
		struct item *it = &items[i];
		idx[k++] = i;
		done[i] = 1;
		if (it->kind == ALIAS_ERROR) {
			struct route r = { .kind = ROUTE_ERROR };
			snprintf(r.error, sizeof(r.error), "%s", it->target);
			route_error(&r, &out[i]);
		} else if (it->kind == ALIAS_FILE || it->kind == ALIAS_PROGRAM) {
			deliver_target(env, df_fd, it->kind == ALIAS_FILE ? 'F' : 'P', it->parent, it->target, it->sender,
				       env->rcpts[i].addr, &out[i]);
		} else if (it->route.kind == ROUTE_LOCAL || it->kind == ALIAS_LOCAL) {
			if (G.verbose)
				printf("%s... Connecting to local...\n", env->rcpts[i].addr);
			deliver_local(env, df_fd, it->target, env->rcpts[i].addr, it->sender, &out[i]);
		} else if (it->route.kind == ROUTE_ERROR) {
			route_error(&it->route, &out[i]);
		} else {
			for (size_t j = i + 1; j < n; j++) {
				if (!done[j] && (items[j].kind == ALIAS_ADDRESS) && route_same(&it->route, &items[j].route) &&
				    strcmp(it->sender, items[j].sender) == 0) {
					idx[k++] = j;
					done[j] = 1;
				}
			}
			struct rcpt_outcome *group = xcalloc(k, sizeof(*group));
			const struct qf_rcpt **qr = xcalloc(k, sizeof(*qr));
			for (size_t g = 0; g < k; g++) {
				targets[g] = items[idx[g]].target;
				qr[g] = &env->rcpts[idx[g]];
			}
			deliver_smtp_group(env, df_fd, &it->route, it->sender, targets, qr, k, group);
			free(qr);
			for (size_t g = 0; g < k; g++)
				out[idx[g]] = group[g];
			free(group);
		}
		log_outcomes(env, idx, k, out, start);
	}
	free(targets);
	free(idx);
	free(done);
}

/* ---- expansion: virtusertable/domaintable, then aliases, then the
 * .forward of each local user ---- */

struct expansion {
	struct qf_rcpt *rcpts;
	struct item *items;
	size_t n, cap;
	const char *sender;
	const struct qf_rcpt *prcpt;	/* the qf recipient being expanded */
	const char *parent;	/* the local name being expanded, or NULL */
	const char *orcpt;	/* the qf recipient's ORCPT */
};

static void add_item(struct expansion *x, const char *shown, const char *flags, enum alias_kind kind,
		     const char *target, const char *sender)
{
	/* one copy per final target, however many lists name it */
	for (size_t i = 0; i < x->n; i++)
		if (x->items[i].kind == kind && strcasecmp(x->items[i].target, target) == 0 &&
		    kind != ALIAS_ERROR)
			return;
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 8;
		x->rcpts = xreallocarray(x->rcpts, x->cap, sizeof(*x->rcpts));
		x->items = xreallocarray(x->items, x->cap, sizeof(*x->items));
	}
	struct qf_rcpt *nr = &x->rcpts[x->n];
	memset(nr, 0, sizeof(*nr));
	nr->addr = xstrdup(shown);
	const struct qf_rcpt *p = x->prcpt;
	/* what the client asked for (DSN) follows the recipient through aliases */
	char fl[32];
	snprintf(fl, sizeof(fl), "%s", flags);
	size_t fn = strlen(fl);
	for (const char *c = p ? p->flags : ""; *c && fn + 1 < sizeof(fl); c++) {
		if (strchr("NSFD", *c) && !strchr(fl, *c)) {
			fl[fn++] = *c;
			fl[fn] = '\0';
		}
	}
	nr->flags = xstrdup(fl);
	if (p) {
		nr->final = p->final ? xstrdup(p->final) : NULL;
		nr->ctladdr = p->ctladdr ? xstrdup(p->ctladdr) : NULL;
	}
	/* an expanded target keeps, as its ORCPT, the local name it came from:
	 * what the delivery agent expands again to find a file or program */
	if (strchr(flags, 'A') && x->parent) {
		char o[ADDR_MAXLEN + 300];
		snprintf(o, sizeof(o), "rfc822;%s@%s", x->parent, G.hostname);
		nr->orcpt = xstrdup(o);
	} else {
		const char *orcpt = x->orcpt ? x->orcpt : p ? p->orcpt : NULL;
		nr->orcpt = orcpt ? xstrdup(orcpt) : NULL;
	}
	memset(&x->items[x->n], 0, sizeof(x->items[x->n]));
	x->items[x->n].kind = kind;
	x->items[x->n].target = xstrdup(target);
	x->items[x->n].sender = xstrdup(sender);
	x->items[x->n].parent = x->parent ? xstrdup(x->parent) : NULL;
	x->n++;
}

#define FORWARD_DEPTH 5

/* The local part when addr is a local user of ours ("bob", "bob@ourdomain"). */
static int local_user_of(const char *addr, char *user, size_t size)
{
	char a[ADDR_MAXLEN + 3];
	strip_brackets(a, sizeof(a), addr);
	char *at = strrchr(a, '@');
	if (at) {
		if (!conf_is_local_domain(at + 1))
			return 0;
		*at = '\0';
	}
	if (!*a || strlen(a) >= size || strchr(a, '/') || a[0] == '|' || a[0] == '\\' || !conf_is_local_user(a))
		return 0;
	for (size_t i = 0; a[i]; i++)
		user[i] = (char)tolower((unsigned char)a[i]);
	user[strlen(a)] = '\0';
	return 1;
}

/* Replaces the local user by the entries of its .forward (read by the
 * agent, as the user); 1 when it has one, 0 when not. */
static int forward_expand(struct expansion *x, const char *user, const char *sender, int depth)
{
	if (*conf_str(C_NULLCLIENT) || G.msp)
		return 0;
	char *text = NULL, err[512];
	int rc = lda_forward(user, &text, err, sizeof(err));
	const char *saved = x->parent;
	x->parent = user;
	if (rc < 0) {
		char e[700];
		snprintf(e, sizeof(e), "4.3.0:451 %s", err);
		maillog(NULL, "%s: .forward: %s", user, err);
		add_item(x, user, "PA", ALIAS_ERROR, e, sender);
		x->parent = saved;
		return 1;
	}
	if (rc == 0) {
		x->parent = saved;
		return 0;
	}
	struct alias_list l = { 0 };
	char perr[256];
	if (alias_parse_rhs(text, &l, perr, sizeof(perr)) < 0)
		maillog(NULL, "%s: .forward: %s (the entries before it are used)", user, perr);
	size_t before = x->n;
	for (size_t i = 0; i < l.n; i++) {
		const struct alias_item *it = &l.v[i];
		char shown[1100], other[256];
		switch (it->kind) {
		case ALIAS_PROGRAM:
			snprintf(shown, sizeof(shown), "|%s", it->text);
			add_item(x, shown, "PA", ALIAS_PROGRAM, it->text, sender);
			break;
		case ALIAS_FILE:
			add_item(x, it->text, "PA", ALIAS_FILE, it->text, sender);
			break;
		case ALIAS_LOCAL:
			snprintf(shown, sizeof(shown), "\\%s", it->text);
			add_item(x, shown, "PA", ALIAS_LOCAL, it->text, sender);
			break;
		case ALIAS_ADDRESS:
			if (local_user_of(it->text, other, sizeof(other))) {
				if (strcmp(other, user) == 0) {		/* itself: the mailbox */
					snprintf(shown, sizeof(shown), "\\%s", other);
					add_item(x, shown, "PA", ALIAS_LOCAL, other, sender);
					break;
				}
				if (depth < FORWARD_DEPTH && forward_expand(x, other, sender, depth + 1))
					break;
			}
			add_item(x, it->text, "PA", ALIAS_ADDRESS, it->text, sender);
			break;
		default:	/* :include: and error: belong in aliases, not in a .forward */
			maillog(NULL, "%s: .forward: %s entry ignored", user, alias_kind_name(it->kind));
			break;
		}
	}
	alias_list_free(&l);
	free(text);
	x->parent = saved;
	return x->n > before ? 1 : 0;
}

struct alias_ctx {
	struct expansion *x;
	size_t first;		/* where this recipient's targets start */
};

static int alias_cb(void *ctx, const struct alias_target *t)
{
	struct alias_ctx *ac = ctx;
	char owner[ADDR_MAXLEN + 3];
	const char *sender = ac->x->sender;
	if (t->owner) {
		snprintf(owner, sizeof(owner), "%s@%s", t->owner, G.hostname);
		sender = owner;
	}
	if (t->kind == ALIAS_INCLUDE)
		return 0;
	if (t->include && (t->kind == ALIAS_FILE || t->kind == ALIAS_PROGRAM)) {
		/* files and programs only from :include: files root (or we) own */
		struct stat st;
		if (stat(t->include, &st) < 0 || (st.st_uid != 0 && st.st_uid != geteuid())) {
			char e[700];
			snprintf(e, sizeof(e), "5.7.1:550 %s target from unsafe :include: file %s refused",
				 t->kind == ALIAS_FILE ? "file" : "program", t->include);
			add_item(ac->x, t->text, "PA", ALIAS_ERROR, e, sender);
			return 0;
		}
	}
	char user[256];
	if (t->kind == ALIAS_ADDRESS && local_user_of(t->text, user, sizeof(user)) &&
	    forward_expand(ac->x, user, sender, 1))
		return 0;
	/* a target already expanded is written back with the A flag, so a retry
	 * does not expand it again; file and program targets keep their mark */
	char shown[1100];
	if (t->kind == ALIAS_PROGRAM)
		snprintf(shown, sizeof(shown), "|%s", t->text);
	else if (t->kind == ALIAS_LOCAL)
		snprintf(shown, sizeof(shown), "\\%s", t->text);
	else if (t->kind == ALIAS_ERROR)
		snprintf(shown, sizeof(shown), "error:%s", t->text);
	else
		snprintf(shown, sizeof(shown), "%s", t->text);
	add_item(ac->x, shown, "PA", t->kind, t->text, sender);
	return 0;
}

static int domain_is_local(void *ctx, const char *domain)
{
	(void)ctx;
	return conf_is_local_domain(domain);
}

/* An already-expanded recipient (A flag) is delivered as it is; a file or
 * program only after the agent found it again in what its ORCPT's local
 * name expands to (nothing else in the qf says where it came from). */
static void add_expanded(struct expansion *x, const struct qf_rcpt *r)
{
	const char *a = r->addr;
	char parent[256] = "";
	const char *o = r->orcpt ? strchr(r->orcpt, ';') : NULL;
	if (o) {
		snprintf(parent, sizeof(parent), "%s", o + 1);
		parent[strcspn(parent, "@")] = '\0';
	}
	x->parent = parent[0] ? parent : NULL;
	x->orcpt = r->orcpt;
	if (a[0] == '|')
		add_item(x, a, r->flags, ALIAS_PROGRAM, a + 1, x->sender);
	else if (a[0] == '/')
		add_item(x, a, r->flags, ALIAS_FILE, a, x->sender);
	else if (a[0] == '\\')
		add_item(x, a, r->flags, ALIAS_LOCAL, a + 1, x->sender);
	else if (strncmp(a, "error:", 6) == 0)
		add_item(x, a, r->flags, ALIAS_ERROR, a + 6, x->sender);
	else
		add_item(x, a, r->flags, ALIAS_ADDRESS, a, x->sender);
	x->parent = NULL;
	x->orcpt = NULL;
}

/* FEATURE(`ldap_routing'): 1 when the recipient is done (relayed to its
 * mailHost, an error, or deferred because the directory cannot be asked);
 * 0 to go on with addr, which may now be the mailRoutingAddress. */
static int ldaproute_expand(struct expansion *x, const struct qf_rcpt *r, char *addr, size_t size)
{
	struct ldaproute lr;
	char err[600];
	int rc = ldaproute_lookup(addr, &lr, err, sizeof(err));
	if (rc == LDR_NONE)
		return 0;
	if (rc == LDR_TEMPFAIL || rc == LDR_ERROR) {
		char e[700];
		if (rc == LDR_TEMPFAIL)	/* the to= line says which directory */
			snprintf(e, sizeof(e), "4.3.0:451 ldap_routing lookup failed (%s)", err);
		else
			snprintf(e, sizeof(e), "%s", lr.error);
		add_item(x, r->addr, r->flags, ALIAS_ERROR, e, x->sender);
		return 1;
	}
	snprintf(addr, size, "%s", lr.addr);
	if (!lr.host[0])
		return 0;
	size_t before = x->n;
	add_item(x, r->addr, r->flags, ALIAS_ADDRESS, lr.addr, x->sender);
	if (x->n > before) {
		struct item *it = &x->items[x->n - 1];
		if (route_parse_spec(lr.host, "relay", &it->route) == 0) {
			it->routed = 1;
		} else {
			maillog(NULL, "ldap_routing for %s: bad mailHost \"%s\"", r->addr, lr.host);
			it->kind = ALIAS_ERROR;
			free(it->target);
			it->target = xstrdup("4.3.0:451 bad mailHost in the directory");
		}
	}
	return 1;
}

static void expand_recipient(struct expansion *x, const struct qf_rcpt *r)
{
	if (strchr(r->flags, 'A')) {
		add_expanded(x, r);
		return;
	}
	x->orcpt = r->orcpt;
	char addr[ADDR_MAXLEN + 3], rewritten[1100];
	strip_brackets(addr, sizeof(addr), r->addr);
	int vr = virtual_rewrite(addr, rewritten, sizeof(rewritten));
	if (vr == 1) {
		add_item(x, r->addr, r->flags, ALIAS_ERROR, rewritten, x->sender);
		x->orcpt = NULL;
		return;
	}
	if (vr < 0) {
		add_item(x, r->addr, r->flags, ALIAS_ERROR, "4.3.0:451 virtusertable lookup failed", x->sender);
		x->orcpt = NULL;
		return;
	}
	if (ldaproute_expand(x, r, rewritten, sizeof(rewritten)))
		return;
	char *local, *domain;
	addr_split(rewritten, &local, &domain);
	char user[256];
	int ours = conf_is_local_domain(domain) && !*conf_str(C_NULLCLIENT) && !G.msp;
	struct aliases *al = ours ? local_aliases() : NULL;
	x->parent = local;
	if (al) {
		struct alias_ctx ac = { x, x->n };
		struct alias_expand_opts opts = { .maxdepth = 10, .is_local_domain = domain_is_local };
		char err[512];
		int rc = alias_expand(al, local, &opts, alias_cb, &ac, err, sizeof(err));
		if (rc == ALIAS_FOUND) {
			goto out;
		}
		/* discard what an expansion that failed had produced */
		while (x->n > ac.first) {
			x->n--;
			qf_rcpt_clear(&x->rcpts[x->n]);
			free(x->items[x->n].target);
			free(x->items[x->n].sender);
			free(x->items[x->n].parent);
		}
		if (rc == ALIAS_PERMFAIL || rc == ALIAS_TEMPFAIL) {
			char e[700];
			snprintf(e, sizeof(e), "%s:%s %s", rc == ALIAS_PERMFAIL ? "5.3.0" : "4.3.0",
				 rc == ALIAS_PERMFAIL ? "554" : "451", err);
			maillog(NULL, "alias %s: %s", local, err);
			x->parent = NULL;
			add_item(x, r->addr, r->flags, ALIAS_ERROR, e, x->sender);
			goto out;
		}
	}
	if (ours && !al && local_aliases_broken()) {
		x->parent = NULL;
		add_item(x, r->addr, r->flags, ALIAS_ERROR, "4.3.0:451 the aliases cannot be read", x->sender);
		goto out;
	}
	if (ours && local_user_of(local, user, sizeof(user)) && forward_expand(x, user, x->sender, 1))
		goto out;
	x->parent = NULL;
	add_item(x, r->addr, r->flags, ALIAS_ADDRESS, rewritten, x->sender);
out:
	x->parent = NULL;
	x->orcpt = NULL;
	free(local);
	free(domain);
}

/* One qf recipient: what it expands to inherits its DSN flags, ORCPT,
 * final recipient and controlling user. */
static void expand_one(struct expansion *x, const struct qf_rcpt *r)
{
	x->prcpt = r;
	expand_recipient(x, r);
	x->prcpt = NULL;
}

/* Replaces env->rcpts by the expanded list; items[] runs alongside. */
static struct item *expand_recipients(struct qf_env *env)
{
	char sender[ADDR_MAXLEN + 3];
	strip_brackets(sender, sizeof(sender), env->sender);
	struct expansion x = { .sender = sender };
	for (size_t i = 0; i < env->nrcpts; i++)
		expand_one(&x, &env->rcpts[i]);
	for (size_t i = 0; i < env->nrcpts; i++)
		qf_rcpt_clear(&env->rcpts[i]);
	free(env->rcpts);
	env->rcpts = x.rcpts;
	env->nrcpts = x.n;
	return x.items;
}

static void free_items(struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].target);
		free(items[i].sender);
		free(items[i].parent);
	}
	free(items);
}

static void quarantine_bad(const char *qdir, const char *qid, const char *qfpath, const char *why)
{
	char bad[2048];
	snprintf(bad, sizeof(bad), "%s/Qf%s", qdir, qid);
	if (rename(qfpath, bad) == 0) {
		maillog(qid, "SYSERR: %s; queue file renamed to %s", why, bad);
		dirsync_parent(bad);	/* the rename is durable */
	}
	else
		maillog(qid, "SYSERR: %s; cannot rename it: %s", why, strerror(errno));
	msg_error("%s: %s (moved to %s)", qid, why, bad);
}

static int read_fd(int fd, struct strbuf *sb)
{
	char buf[16384];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sb_append(sb, buf, (size_t)n);
	return n < 0 ? -1 : 0;
}

/* Opens, locks and parses qf.  Returns the locked fd, or -1 with *result. */
static int open_locked(const char *qdir, const char *qid, const char *qfpath, struct qf_env *env,
		       enum deliver_result *result)
{
	char err[1024];
	/* a symlink or a FIFO planted in the queue is refused (moved aside and
	 * logged), never followed or waited on */
	int fd = safe_open(qfpath, O_RDWR, 0, err, sizeof(err));
	if (fd < 0) {
		int e = errno;
		if (safe_open_refused(e))
			quarantine_bad(qdir, qid, qfpath, err);
		*result = e == ENOENT ? DELIVER_DONE : DELIVER_ERROR;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		*result = DELIVER_LOCKED;
		return -1;
	}
	/* it may have been delivered and removed between open and lock */
	struct stat st_fd, st_path;
	if (fstat(fd, &st_fd) < 0 || stat(qfpath, &st_path) < 0 || st_fd.st_ino != st_path.st_ino) {
		close(fd);
		*result = DELIVER_DONE;
		return -1;
	}
	struct strbuf text;
	sb_init(&text);
	int bad = 0;
	if (read_fd(fd, &text) < 0) {
		snprintf(err, sizeof(err), "%s: read error: %s", qfpath, strerror(errno));
		bad = 1;
	} else if (qf_parse(text.s, text.len, qfpath, env, err, sizeof(err)) < 0) {
		bad = 1;
	}
	sb_free(&text);
	if (bad) {
		quarantine_bad(qdir, qid, qfpath, err);
		close(fd);
		*result = DELIVER_ERROR;
		return -1;
	}
	snprintf(env->qid, sizeof(env->qid), "%s", qid);
	return fd;
}

/* Past Timeout.queuereturn a deferral becomes a failure. */
static void expire_deferrals(const struct qf_env *env, struct rcpt_outcome *out)
{
	long ret = conf_num(C_TO_QUEUERETURN);
	if (ret <= 0 || time(NULL) - env->ctime < ret)
		return;
	for (size_t i = 0; i < env->nrcpts; i++) {
		if (out[i].result != R_DEFER)
			continue;
		out[i].result = R_FAIL;
		char last[600];
		snprintf(last, sizeof(last), "%s", out[i].stat);
		snprintf(out[i].stat, sizeof(out[i].stat), "Message could not be delivered for %s",
			 conf_str(C_TO_QUEUERETURN));
		snprintf(out[i].dsn, sizeof(out[i].dsn), "4.4.7");
		if (!out[i].diag[0])
			snprintf(out[i].diag, sizeof(out[i].diag), "%s", last);
	}
}

static int has_flag(const char *flags, char f)
{
	return flags && strchr(flags, f) != NULL;
}

/* The paths of qid's qf and df, and its qf opened, locked and read into
 * env; the locked fd, or -1 with *result (env freed). */
static int begin_attempt(const char *qdir, const char *qid, char *qfpath, char *dfpath, size_t size,
			 struct qf_env *env, enum deliver_result *result)
{
	qf_path(qfpath, size, qdir, 'q', qid);
	qf_path(dfpath, size, qdir, 'd', qid);
	qf_env_init(env);
	*result = DELIVER_DONE;
	int fd = open_locked(qdir, qid, qfpath, env, result);
	if (fd < 0)
		qf_env_free(env);
	return fd;
}

/* A recipient delivered asked for a success DSN (NOTIFY=SUCCESS). */
static int notify_success_wanted(const struct qf_env *env, const struct rcpt_outcome *out)
{
	for (size_t i = 0; i < env->nrcpts; i++)
		if (out[i].result == R_SENT && env->rcpts[i].flags && strchr(env->rcpts[i].flags, 'S'))
			return 1;
	return 0;
}

enum deliver_result deliver_message(const char *qdir, const char *qid)
{
	char qfpath[2048], dfpath[2048], tfpath[2048], err[1024];
	struct qf_env env;
	enum deliver_result result;
	if (lda_start() < 0)		/* as root: the agent keeps root, we do not */
		return DELIVER_ERROR;
	deliver_sync_tick();
	int fd = begin_attempt(qdir, qid, qfpath, dfpath, sizeof(qfpath), &env, &result);
	if (fd < 0)
		return result;
	if (env.quarantine) {		/* held: not delivered until released */
		qf_env_free(&env);
		close(fd);
		return DELIVER_DEFERRED;
	}
	int df_fd = safe_open(dfpath, O_RDONLY, 0, NULL, 0);
	if (df_fd < 0) {
		snprintf(err, sizeof(err), "%s: data file missing or not a regular file: %s", dfpath,
			 errno == ELOOP ? "symbolic link" : strerror(errno));
		quarantine_bad(qdir, qid, qfpath, err);
		qf_env_free(&env);
		close(fd);
		return DELIVER_ERROR;
	}
	env.ntries++;
	env.priority += conf_num(C_RETRY_FACTOR);
	struct item *items = expand_recipients(&env);
	struct rcpt_outcome *out = xcalloc(env.nrcpts ? env.nrcpts : 1, sizeof(*out));
	size_t nitems_all = env.nrcpts;
	deliver_all(&env, df_fd, items, out);
	close(df_fd);
	expire_deferrals(&env, out);

	char child[3][QID_MAXLEN] = { "", "", "" };
	int any_fail = 0, any_defer = 0, any_sent = 0;
	const char *reason = NULL;
	for (size_t i = 0; i < env.nrcpts; i++) {
		if (out[i].result == R_FAIL)
			any_fail = 1;
		if (out[i].result == R_SENT)
			any_sent = 1;
		if (out[i].result == R_DEFER) {
			any_defer = 1;
			reason = out[i].stat;
		}
	}
	if (deliver_sync_take_mark()) {
		/* mailbox appends not yet durable (deliver_sync.h) */
		if (!any_defer && !any_fail && !notify_success_wanted(&env, out)) {
			deliver_sync_hold(qfpath, dfpath, fd);	/* removed after the sync */
			free(out);
			free_items(items, nitems_all);
			qf_env_free(&env);
			return DELIVER_DONE;
		}
		if (deliver_sync_now() < 0) {	/* the message stays as it was */
			free(out);
			free_items(items, nitems_all);
			qf_env_free(&env);
			close(fd);
			return DELIVER_DEFERRED;
		}
	}
	if (any_fail && dsn_queue(&env, out, 1, child[0], sizeof(child[0])) < 0)
		child[0][0] = '\0';
	if (any_sent && dsn_queue(&env, out, DSN_SUCCESS, child[2], sizeof(child[2])) < 0)
		child[2][0] = '\0';
	long warn = conf_num(C_TO_QUEUEWARN);
	if (any_defer && warn > 0 && time(NULL) - env.ctime >= warn && !has_flag(env.flags, 'w')) {
		if (dsn_queue(&env, out, 0, child[1], sizeof(child[1])) < 0)
			child[1][0] = '\0';
		qf_add_flag(&env, 'w');
	}

	if (!any_defer) {
		unlink(qfpath);
		unlink(dfpath);
	} else {
		size_t keep = 0;
		for (size_t i = 0; i < env.nrcpts; i++) {
			if (out[i].result == R_DEFER) {
				struct qf_rcpt t = env.rcpts[keep];
				env.rcpts[keep] = env.rcpts[i];
				env.rcpts[i] = t;
				keep++;
			}
		}
		for (size_t i = keep; i < env.nrcpts; i++)
			qf_rcpt_clear(&env.rcpts[i]);
		env.nrcpts = keep;
		env.ktime = time(NULL);
		qf_set(&env.msg, reason);
		qf_path(tfpath, sizeof(tfpath), qdir, 't', qid);
		unlink(tfpath);		/* a stale image from a crash: we hold the lock */
		if (qf_write(qdir, &env, 0, err, sizeof(err)) < 0)
			msg_error("%s: cannot update queue file: %s", qid, err);
		result = DELIVER_DEFERRED;
	}
	free(out);
	free_items(items, nitems_all);
	qf_env_free(&env);
	close(fd);
	for (int c = 0; c < 3; c++)
		if (child[c][0])
			deliver_message(qdir, child[c]);
	return result;
}

/* -Mg (Exim's "give up", ours): returns a queued message to its sender now,
 * every recipient failed with a DSN, through the same code as a bounce. */
enum deliver_result deliver_bounce(const char *qdir, const char *qid)
{
	char qfpath[2048], dfpath[2048];
	struct qf_env env;
	enum deliver_result result;
	if (lda_start() < 0)
		return DELIVER_ERROR;
	int fd = begin_attempt(qdir, qid, qfpath, dfpath, sizeof(qfpath), &env, &result);
	if (fd < 0)
		return result;
	struct rcpt_outcome *out = xcalloc(env.nrcpts ? env.nrcpts : 1, sizeof(*out));
	size_t *idx = xcalloc(env.nrcpts ? env.nrcpts : 1, sizeof(size_t));
	for (size_t i = 0; i < env.nrcpts; i++) {
		outcome_set(&out[i], R_FAIL, "5.0.0", "Bounced by the mail administrator",
			    "Message returned by the mail administrator");
		snprintf(out[i].mailer, sizeof(out[i].mailer), "error");
		idx[i] = i;
	}
	log_outcomes(&env, idx, env.nrcpts, out, time(NULL));
	char child[QID_MAXLEN] = "";
	if (env.nrcpts > 0 && dsn_queue(&env, out, 1, child, sizeof(child)) < 0)
		child[0] = '\0';
	unlink(qfpath);
	unlink(dfpath);
	free(idx);
	free(out);
	qf_env_free(&env);
	close(fd);
	if (child[0])
		deliver_message(qdir, child);
	return DELIVER_DONE;
}
