/* submit: local submission: -bs (an SMTP session on stdin/stdout) and -bm /
 * -t (a message on stdin for the named or extracted recipients).  Both go
 * through the same enqueue and header code as the daemon. */
#include "mtad.h"
#include "dsnparam.h"
#include "addr.h"
#include "config.h"
#include "fdio.h"
#include "local.h"
#include "diag.h"
#include "maillog.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static char **bs_queued;
static size_t bs_nqueued;

static void bs_hook(const char *qid)
{
	bs_queued = xreallocarray(bs_queued, bs_nqueued + 1, sizeof(char *));
	bs_queued[bs_nqueued++] = xstrdup(qid);
}

static void deliver_now(const char *qid)
{
	char mode = conf_str(C_DELIVERY_MODE)[0];
	if (mode == 'q' || mode == 'd')
		return;
	deliver_message(mtad_queue_dir(), qid);
}

int submit_bs(void)
{
	struct smtpd_session *s = smtpd_new(1, NULL, 0, NULL, 1);
	smtpd_queued_hook = bs_hook;
	smtpd_greet(s);
	char buf[16384];
	for (;;) {
		struct strbuf *out = smtpd_output(s);
		if (out->len && fd_write_all(1, out->s, out->len) < 0)
			break;
		sb_reset(out);
		if (smtpd_done(s))
			break;
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			smtpd_eof(s, 0);
			continue;
		}
		smtpd_input(s, buf, (size_t)n);
	}
	smtpd_free(s);
	for (size_t i = 0; i < bs_nqueued; i++) {
		deliver_now(bs_queued[i]);
		free(bs_queued[i]);
	}
	free(bs_queued);
	return 0;
}

/* ---- -bm / -t ---- */

struct rcptlist {
	char **v;
	size_t n;
};

static void rcpt_add(struct rcptlist *l, const char *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], a) == 0)
			return;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(char *));
	l->v[l->n++] = xstrdup(a);
}

/* Pulls addresses out of an address-list header value: "<a@b>" parts, or
 * bare words, separated by commas; comments and display names are skipped. */
static void extract_addresses(const char *value, struct rcptlist *l)
{
	char *v = hdr_unfold(value);
	char *save = NULL;
	for (char *item = strtok_r(v, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *lt = strchr(item, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		char addr[ADDR_MAXLEN + 1];
		if (lt && gt) {
			snprintf(addr, sizeof(addr), "%.*s", (int)(gt - lt - 1), lt + 1);
		} else {
			char *paren = strchr(item, '(');
			if (paren)
				*paren = '\0';
			while (isspace((unsigned char)*item))
				item++;
			char *e = item + strlen(item);
			while (e > item && isspace((unsigned char)e[-1]))
				*--e = '\0';
			snprintf(addr, sizeof(addr), "%s", item);
		}
		if (addr[0] && addr_chars_ok(addr))
			rcpt_add(l, addr);
	}
	free(v);
}

/* Reads stdin: header block into hl, body into the queue. */
static int read_message(struct enqueue *eq, struct header_list *hl, int ignore_dots, long *size,
			int *eightbit)
{
	struct strbuf line, hdr;
	sb_init(&line);
	sb_init(&hdr);
	int in_headers = 1, c;
	long bytes = 0;
	for (;;) {
		sb_reset(&line);
		while ((c = getchar()) != EOF && c != '\n')
			sb_putc(&line, (char)c);
		if (c == EOF && line.len == 0)
			break;
		if (line.len && line.s[line.len - 1] == '\r')
			sb_truncate(&line, line.len - 1);
		if (!ignore_dots && line.len == 1 && line.s[0] == '.')
			break;
		bytes += (long)line.len + 1;
		for (size_t k = 0; k < line.len && !*eightbit; k++)
			if ((unsigned char)line.s[k] & 0x80)
				*eightbit = 1;
		if (in_headers) {
			if (line.len == 0) {
				in_headers = 0;
				continue;
			}
			if ((hdr.len > 0 && hdr_is_continuation(line.s, line.len)) ||
			    hdr_name_len(line.s, line.len) > 0) {
				if (hdr.len + line.len > (size_t)conf_num(C_MAX_HEADERS_LENGTH)) {
					fprintf(stderr, "mtad: headers too large (MaxHeadersLength %ld)\n",
						conf_num(C_MAX_HEADERS_LENGTH));
					sb_free(&line);
					sb_free(&hdr);
					return -1;
				}
				sb_append(&hdr, line.s, line.len);
				sb_putc(&hdr, '\n');
				continue;
			}
			in_headers = 0;
		}
		enqueue_body(eq, line.s, line.len);
		enqueue_body(eq, "\n", 1);
		if (c == EOF)
			break;
	}
	hdr_parse_block(hl, hdr.s, hdr.len);
	sb_free(&line);
	sb_free(&hdr);
	*size = bytes;
	return ferror(stdin) ? -1 : 0;
}

/* -N, -R, -V, -B checked as MAIL and RCPT check their parameters; the R
 * flags of -N into rflags. */
static int submit_dsn_check(char *rflags, size_t size)
{
	if (G.dsn_notify && dsn_parse_notify(G.dsn_notify, rflags, size) < 0) {
		fprintf(stderr, "mtad: -N %s: NEVER, or a list of SUCCESS, FAILURE, DELAY\n", G.dsn_notify);
		return -1;
	}
	if (G.dsn_ret && !dsn_parse_ret(G.dsn_ret)) {
		fprintf(stderr, "mtad: -R %s: FULL or HDRS\n", G.dsn_ret);
		return -1;
	}
	if (G.dsn_envid && (!dsn_xtext_valid(G.dsn_envid) || strlen(G.dsn_envid) > 100)) {
		fprintf(stderr, "mtad: -V %s: not xtext (RFC 3461)\n", G.dsn_envid);
		return -1;
	}
	if (G.body_type && strcasecmp(G.body_type, "7BIT") && strcasecmp(G.body_type, "8BITMIME")) {
		fprintf(stderr, "mtad: -B %s: 7BIT or 8BITMIME\n", G.body_type);
		return -1;
	}
	return 0;
}

int submit_bm(char **rcpts, int nrcpts, int extract_t, int ignore_dots, const char *from,
	      const char *fullname)
{
	struct passwd *pw = getpwuid(getuid());
	const char *user = pw ? pw->pw_name : "unknown";
	const char *sender = from && *from ? from : user;
	char err[512];
	struct enqueue eq;
	if (enqueue_begin(&eq, mtad_queue_dir(), err, sizeof(err)) < 0) {
		fprintf(stderr, "mtad: cannot queue the message: %s\n", err);
		return EX_TEMPFAIL;
	}
	char rflags[16] = "P";
	if (submit_dsn_check(rflags, sizeof(rflags)) < 0) {
		enqueue_abort(&eq);
		return EX_USAGE;
	}
	struct qf_env env;
	qf_env_init(&env);
	long size = 0;
	int eightbit = 0;
	if (read_message(&eq, &env.headers, ignore_dots, &size, &eightbit) < 0) {
		enqueue_abort(&eq);
		qf_env_free(&env);
		return EX_DATAERR;
	}
	struct rcptlist rl = { NULL, 0 };
	for (int i = 0; i < nrcpts; i++)
		extract_addresses(rcpts[i], &rl);
	if (extract_t) {
		static const char *const fields[] = { "To", "Cc", "Bcc", NULL };
		for (int f = 0; fields[f]; f++)
			for (long at = hdrlist_find(&env.headers, fields[f], 0); at >= 0;
			     at = hdrlist_find(&env.headers, fields[f], (size_t)at + 1))
				extract_addresses(env.headers.h[at].value, &rl);
	}
	long bcc;
	while ((bcc = hdrlist_find(&env.headers, "Bcc", 0)) >= 0)
		hdrlist_remove(&env.headers, (size_t)bcc);
	int bad = 0;
	for (size_t i = 0; i < rl.n; i++) {
		char *local, *domain;
		addr_split(rl.v[i], &local, &domain);
		if (!G.msp && conf_is_local_domain(domain) && !local_name_known(local)) {
			fprintf(stderr, "%s... User unknown\n", rl.v[i]);
			bad++;
		} else {
			qf_env_add_rcpt(&env, rl.v[i], rflags, NULL);
		}
		free(local);
		free(domain);
	}
	for (size_t i = 0; i < rl.n; i++)
		free(rl.v[i]);
	free(rl.v);
	if (env.nrcpts == 0) {
		if (!bad)
			fprintf(stderr, "mtad: no recipients given (name them or use -t)\n");
		enqueue_abort(&eq);
		qf_env_free(&env);
		return bad ? EX_NOUSER : EX_USAGE;
	}
	struct msg_meta meta = { .local_submission = 1, .sender = sender, .nrcpts = (int)env.nrcpts,
				 .first_rcpt = env.rcpts[0].addr, .login = user };
	if (fullname && hdrlist_find(&env.headers, "From", 0) < 0) {
		char value[600];
		snprintf(value, sizeof(value), " %s <%s%s%s>", fullname, sender,
			 strchr(sender, '@') ? "" : "@", strchr(sender, '@') ? "" : G.hostname);
		hdrlist_add(&env.headers, "From", value);
	}
	const char *msgid = msg_complete_headers(&env.headers, eq.qid, &meta);
	char *msgid_copy = msgid ? xstrdup(msgid) : NULL;
	char sbuf[ADDR_MAXLEN + 300];
	if (strchr(sender, '@'))
		snprintf(sbuf, sizeof(sbuf), "<%s>", sender);
	else
		snprintf(sbuf, sizeof(sbuf), "<%s@%s>", sender, G.hostname);
	qf_set(&env.sender, sbuf);
	env.priority = size + conf_num(C_RECIPIENT_FACTOR) * (long)env.nrcpts;
	char relay[300];
	snprintf(relay, sizeof(relay), "%s@localhost", user);
	qf_env_set_macro(&env, "_", relay);
	char ctl[600];
	qf_ctladdr_make(ctl, sizeof(ctl), user, (long)getuid(), (long)getgid(), user);
	qf_set(&env.ctladdr, ctl);
	qf_env_set_macro(&env, "r", "local");
	qf_env_set_macro(&env, "daemon_flags", "c u");	/* sendmail's, for the command line */
	if (eightbit)
		qf_add_flag(&env, '8');
	if (G.dsn_ret)
		qf_add_flag(&env, 'd');
	if (G.dsn_ret && dsn_parse_ret(G.dsn_ret) == 'H')
		qf_add_flag(&env, 'n');
	if (G.dsn_envid)
		qf_set(&env.envid, G.dsn_envid);
	if (G.body_type)
		qf_set(&env.bodytype, G.body_type);
	qf_add_flag(&env, 'b');		/* Bcc: deleted, as sendmail notes for local mail */
	char qid[QID_MAXLEN];
	snprintf(qid, sizeof(qid), "%s", eq.qid);
	if (enqueue_commit(&eq, &env, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtad: cannot queue the message: %s\n", err);
		maillog(qid, "SYSERR: queue write failed: %s", err);
		free(msgid_copy);
		qf_env_free(&env);
		return EX_TEMPFAIL;
	}
	struct maillog_from f = { .sender = sender, .size = size, .nrcpts = (int)env.nrcpts,
				  .msgid = msgid_copy, .bodytype = G.body_type, .relay = relay };
	maillog_from_line(qid, &f);
	free(msgid_copy);
	qf_env_free(&env);
	char mode = conf_str(C_DELIVERY_MODE)[0];
	if (mode == 'b') {
		pid_t pid = fork();
		if (pid == 0) {
			deliver_now(qid);
			_exit(0);
		}
		if (pid < 0)
			msg_warn("%s: cannot fork for delivery; the message stays queued", qid);
	} else {
		deliver_now(qid);
	}
	return bad ? EX_NOUSER : EX_OK;
}
