/* deliver_smtp: the esmtp/smtp/relay mailers: next hops from the route
 * (MX records in preference order, or the host itself for [host]), one
 * connection per host for all recipients routed there, through the shared
 * client in lib/smtp_client. */
#include "deliver_int.h"
#include "dsnparam.h"
#include "addr.h"
#include "config.h"
#include "dns.h"
#include "masquerade.h"
#include "access.h"
#include "maillog.h"
#include "mci.h"
#include "smtp_client.h"
#include "tls.h"
#include "xalloc.h"
#include <strings.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_HOPS 16

struct hop {
	char name[DNS_NAME_MAX];	/* as shown in relay=: "mx.example." or "[1.2.3.4]" */
	char addr[64];
};

static void transcript(void *arg, enum smtp_dir dir, const char *data, size_t len)
{
	(void)arg;
	if (dir == SMTP_DIR_SEND) {
		while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
			len--;
		/* the message itself is not echoed, only commands */
		if (memchr(data, '\n', len))
			return;
		printf(">>> %.*s\n", (int)len, data);
	} else if (dir == SMTP_DIR_RECV) {
		printf("%.*s\n", (int)len, data);
	}
	fflush(stdout);
}

static int is_ip_literal(const char *h)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static void add_addrs(const char *host, int mx_name, struct hop *hops, size_t *nh)
{
	if (is_ip_literal(host)) {
		snprintf(hops[*nh].name, sizeof(hops[*nh].name), "[%s]", host);
		snprintf(hops[*nh].addr, sizeof(hops[*nh].addr), "%s", host);
		(*nh)++;
		return;
	}
	struct sockaddr_storage ss[8];
	size_t n = 0;
	if (dns_addrs(host, ss, 8, &n) != DNS_OK)
		return;
	for (size_t i = 0; i < n && *nh < MAX_HOPS; i++) {
		char ip[64];
		if (ss[i].ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss[i])->sin_addr, ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss[i])->sin6_addr, ip, sizeof(ip));
		snprintf(hops[*nh].name, sizeof(hops[*nh].name), mx_name ? "%s." : "[%s]", host);
		snprintf(hops[*nh].addr, sizeof(hops[*nh].addr), "%s", ip);
		(*nh)++;
	}
}

/* Fills the next hops; returns R_SENT when there are some, or the failure. */
static enum rcpt_result next_hops(const struct route *r, struct hop *hops, size_t *nh,
				  char *why, size_t whysize, char *dsn)
{
	*nh = 0;
	if (r->no_mx) {
		add_addrs(r->host, 0, hops, nh);
		if (*nh == 0) {
			snprintf(why, whysize, "Deferred: Name server: %s: host name lookup failure", r->host);
			snprintf(dsn, 16, "4.4.3");
			return R_DEFER;
		}
		return R_SENT;
	}
	struct dns_mx mx[MAX_HOPS];
	size_t nmx = 0;
	int null_mx = 0;
	enum dns_status st = dns_mx(r->host, mx, MAX_HOPS, &nmx, &null_mx);
	if (st == DNS_OK && null_mx) {
		snprintf(why, whysize, "%s does not accept mail (null MX)", r->host);
		snprintf(dsn, 16, "5.1.10");
		return R_FAIL;
	}
	if (st == DNS_NXDOMAIN) {
		snprintf(why, whysize, "Host unknown (Name server: %s: host not found)", r->host);
		snprintf(dsn, 16, "5.1.2");
		return R_FAIL;
	}
	if (st == DNS_TEMPFAIL || st == DNS_ERROR) {
		snprintf(why, whysize, "Deferred: host map: lookup (%s): deferred", r->host);
		snprintf(dsn, 16, "4.4.3");
		return R_DEFER;
	}
	if (st == DNS_NODATA) {		/* no MX: the domain's own addresses */
		snprintf(mx[0].host, sizeof(mx[0].host), "%s", r->host);
		nmx = 1;
	}
	for (size_t i = 0; i < nmx && *nh < MAX_HOPS; i++)
		add_addrs(mx[i].host, 1, hops, nh);
	if (*nh == 0) {
		snprintf(why, whysize, "Deferred: Name server: %s: host name lookup failure", r->host);
		snprintf(dsn, 16, "4.4.3");
		return R_DEFER;
	}
	return R_SENT;
}

static void timeouts_from_config(struct smtp_timeouts *t)
{
	smtp_timeouts_rfc5321(t);
	t->connect = (int)conf_num(C_TO_CONNECT) * 1000;
	t->greeting = (int)conf_num(C_TO_INITIAL) * 1000;
	t->helo = (int)conf_num(C_TO_HELO) * 1000;
	t->mail = (int)conf_num(C_TO_MAIL) * 1000;
	t->rcpt = (int)conf_num(C_TO_RCPT) * 1000;
	t->data_init = (int)conf_num(C_TO_DATAINIT) * 1000;
	t->data_block = (int)conf_num(C_TO_DATABLOCK) * 1000;
	t->data_term = (int)conf_num(C_TO_DATAFINAL) * 1000;
	t->other = (int)conf_num(C_TO_QUIT) * 1000;
}

/* Reply text without the code: "2.0.0 ID Message accepted" -> kept whole
 * after the code, as sendmail puts it in stat=Sent (...). */
static void reply_text(const struct smtp_reply *rep, char *buf, size_t size)
{
	const char *t = rep->text.s ? rep->text.s : "";
	const char *nl = strchr(t, '\n');
	size_t len = nl ? (size_t)(nl - t) : strlen(t);
	size_t esc = smtp_esc_parse(t, NULL, 0);
	if (esc && esc < len && t[esc] == ' ')
		snprintf(buf, size, "%.*s", (int)(len - esc - 1), t + esc + 1);
	else
		snprintf(buf, size, "%.*s", (int)len, t);
}

/* The TLS of the current connection, for the to= lines ("" when none). */
static char hop_tls[160];

static void set_outcome(struct rcpt_outcome *o, enum rcpt_result res, const struct smtp_reply *rep,
			const struct hop *h, const char *mailer)
{
	snprintf(o->tls, sizeof(o->tls), "%s", hop_tls);
	char text[800];
	reply_text(rep, text, sizeof(text));
	o->result = res;
	snprintf(o->mailer, sizeof(o->mailer), "%s", mailer);
	snprintf(o->relay, sizeof(o->relay), "%s [%s]", h->name, h->addr);
	snprintf(o->remote_mta, sizeof(o->remote_mta), "%s", h->name);
	snprintf(o->diag, sizeof(o->diag), "%d %s%s%s", rep->code, rep->esc, rep->esc[0] ? " " : "", text);
	if (rep->esc[0])
		snprintf(o->dsn, sizeof(o->dsn), "%s", rep->esc);
	else
		snprintf(o->dsn, sizeof(o->dsn), "%d.0.0", rep->code / 100);
	if (res == R_SENT)
		snprintf(o->stat, sizeof(o->stat), "Sent (%s)", text);
	else if (res == R_DEFER)
		snprintf(o->stat, sizeof(o->stat), "Deferred: %d %s%s%s", rep->code, rep->esc,
			 rep->esc[0] ? " " : "", text);
	else
		snprintf(o->stat, sizeof(o->stat), "%s", text);
}

/* One context for the delivery process: the system CAs plus CACertFile
 * and CACertPath. */
static SSL_CTX *client_ctx(void)
{
	static SSL_CTX *ctx;
	static int failed;
	if (ctx == NULL && !failed) {
		char err[512];
		ctx = tls_client_ctx(conf_str(C_CACERT), conf_str(C_CACERT_PATH), err, sizeof(err));
		if (ctx == NULL) {
			failed = 1;
			maillog(NULL, "STARTTLS=client: %s; no TLS for outgoing connections", err);
		}
	}
	return ctx;
}

/* The host part of a hop name for the access map: "mx.b.test." -> "mx.b.test",
 * "[1.2.3.4]" -> "" (the address is looked up on its own). */
static void hop_host(const struct hop *h, char *buf, size_t size)
{
	if (h->name[0] == '[') {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, size, "%s", h->name);
	size_t n = strlen(buf);
	if (n > 0 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
}

enum tls_outcome { TLS_PLAIN, TLS_UP, TLS_RETRY_PLAIN, TLS_REFUSED, TLS_DOWN };

/* Opportunistic STARTTLS after EHLO, and the TLS_Srv: requirement for the
 * hop.  TLS_UP: the session is encrypted and EHLO was said again;
 * TLS_PLAIN: go on in the clear; TLS_RETRY_PLAIN: the handshake broke the
 * connection, try the hop again without TLS; TLS_REFUSED: the requirement
 * cannot be met (why says so). */
static enum tls_outcome hop_starttls(struct smtp_client *c, const struct hop *h, int no_tls,
				     SSL **sslp, char *why, size_t whysize)
{
	char host[DNS_NAME_MAX], err[400];
	struct tls_requirement req;
	hop_host(h, host, sizeof(host));
	int need = access_tls_requirement("TLS_Srv", host, h->addr, &req);
	int offered = c->esmtp && (c->ext.flags & SMTP_EXT_STARTTLS);
	if (!offered || (no_tls && !need)) {
		if (!need)
			return TLS_PLAIN;
		snprintf(why, whysize, "Deferred: 403 4.7.0 TLS handshake failed: %s does not offer STARTTLS "
			 "(required by TLS_Srv:)", h->name);
		maillog(NULL, "STARTTLS=client, relay=%s, error: STARTTLS not offered but required", h->name);
		return TLS_REFUSED;
	}
	SSL_CTX *ctx = client_ctx();
	if (ctx == NULL) {
		if (!need)
			return TLS_PLAIN;
		snprintf(why, whysize, "Deferred: 403 4.7.0 TLS handshake failed: no TLS context");
		return TLS_REFUSED;
	}
	enum smtp_result r = smtp_starttls(c);
	if (r != SMTP_OK) {
		if (!need && r != SMTP_IOERR && r != SMTP_PROTO)
			return TLS_PLAIN;	/* a 4xx/5xx to STARTTLS: on in the clear */
		snprintf(why, whysize, "Deferred: 403 4.7.0 STARTTLS failed with %s: %s", h->name,
			 c->reply.code ? c->reply.text.s : c->err.s);
		return need ? TLS_REFUSED : TLS_RETRY_PLAIN;
	}
	struct tls_info info;
	SSL *ssl = tls_client_start(c, ctx, host, &info, err, sizeof(err));
	if (ssl == NULL) {
		maillog(NULL, "STARTTLS=client, relay=%s, error: connect failed: %s", h->name, err);
		if (G.verbose)
			printf("%s\n", err);
		snprintf(why, whysize, "Deferred: 403 4.7.0 %s with %s", err, h->name);
		return need ? TLS_REFUSED : TLS_RETRY_PLAIN;
	}
	*sslp = ssl;
	maillog(NULL, "STARTTLS=client, relay=%s, version=%s, verify=%s, cipher=%s, bits=%d/%d", h->name,
		info.version, info.verify, info.cipher, info.bits, info.alg_bits);
	if (G.verbose)
		printf("STARTTLS: %s, cipher %s, %d bits, verify=%s%s%s\n", info.version, info.cipher, info.bits,
		       info.verify, info.verify_text[0] ? " " : "", info.verify_text);
	snprintf(hop_tls, sizeof(hop_tls), "tls_verify=%s, tls_version=%s, tls_cipher=%s", info.verify,
		 info.version, info.cipher);
	if (need && ((req.verify && strcmp(info.verify, "OK") != 0) || info.bits < req.bits)) {
		if (req.verify && strcmp(info.verify, "OK") != 0)
			snprintf(why, whysize, "Deferred: 403 4.7.0 TLS_Srv: requires a verified certificate; %s has "
				 "verify=%s%s%s", h->name, info.verify, info.verify_text[0] ? " " : "", info.verify_text);
		else
			snprintf(why, whysize, "Deferred: 403 4.7.0 TLS_Srv: encryption too weak %d less than %d",
				 info.bits, req.bits);
		smtp_quit(c);
		return TLS_REFUSED;
	}
	if (smtp_ehlo(c, G.hostname) != SMTP_OK) {
		snprintf(why, whysize, "Deferred: %s with %s after STARTTLS", c->reply.code ? c->reply.text.s
			 : c->err.s[0] ? c->err.s : "Connection lost", h->name);
		return TLS_REFUSED;
	}
	return TLS_UP;
}

/* Connects to hop h, reads the greeting, says EHLO and starts TLS; on a
 * failure to connect or greet the host is marked down (mci).  TLS_PLAIN or
 * TLS_UP: c is ready for a transaction; otherwise c is freed, why says
 * what happened (TLS_DOWN: the host did not answer). */
static enum tls_outcome hop_open(struct smtp_client *c, const struct hop *h, const char *key, const char *port,
				 const char *rcpt, const char *mailer, int no_tls, SSL **sslp, char *why, size_t whysize)
{
	struct smtp_timeouts t;
	timeouts_from_config(&t);
	hop_tls[0] = '\0';
	*sslp = NULL;
	smtp_client_init(c, &t);
	c->sendmail_verbs = 1;
	if (G.verbose) {
		printf("%s... Connecting to %s via %s...\n", rcpt, h->name, mailer);
		smtp_client_set_transcript(c, transcript, NULL);
	}
	enum smtp_result res = smtp_connect(c, h->addr, port, NULL, AF_UNSPEC);
	if (res != SMTP_OK) {
		int timed_out = strstr(c->err.s, "timed out") != NULL;
		snprintf(why, whysize, timed_out ? "Deferred: Connection timed out with %s"
			 : "Deferred: Connection refused by %s", h->name);
		mci_host_failed(key, timed_out ? ETIMEDOUT : ECONNREFUSED, "4.4.1", why);
		smtp_client_free(c);
		return TLS_DOWN;
	}
	res = smtp_greeting(c);
	if (res == SMTP_OK)
		res = smtp_ehlo(c, G.hostname);
	if (res != SMTP_OK) {
		if (c->reply.code)
			snprintf(why, whysize, "Deferred: %d %s", c->reply.code, c->reply.text.s);
		else
			snprintf(why, whysize, "Deferred: %s with %s", c->err.s[0] ? c->err.s : "Connection lost",
				 h->name);
		/* a host that does not greet (or refuses us at the greeting) is down */
		mci_host_failed(key, c->reply.code ? 0 : ETIMEDOUT, c->reply.code ? "4.0.0" : "4.4.2", why);
		smtp_client_free(c);
		return TLS_DOWN;
	}
	mci_host_ok(key);
	enum tls_outcome to = hop_starttls(c, h, no_tls, sslp, why, whysize);
	if (to == TLS_RETRY_PLAIN || to == TLS_REFUSED) {
		smtp_client_free(c);
		tls_client_free(*sslp);
		*sslp = NULL;
		hop_tls[0] = '\0';
	}
	return to;
}

void deliver_smtp_group(const struct qf_env *env, int df_fd, const struct route *r,
			const char *sender, const char *const *given, const struct qf_rcpt *const *qrcpts,
			size_t n, struct rcpt_outcome *out)
{
	struct hop hops[MAX_HOPS];
	size_t nh = 0;
	char why[600], dsn[16] = "4.0.0";
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].mailer, sizeof(out[i].mailer), "%s", r->mailer);
	}
	enum rcpt_result hr = next_hops(r, hops, &nh, why, sizeof(why), dsn);
	if (hr != R_SENT) {
		for (size_t i = 0; i < n; i++) {
			out[i].result = hr;
			snprintf(out[i].dsn, sizeof(out[i].dsn), "%s", dsn);
			snprintf(out[i].stat, sizeof(out[i].stat), "%s", why);
			snprintf(out[i].diag, sizeof(out[i].diag), "%s", why);
		}
		return;
	}
	struct strbuf body;
	sb_init(&body);
	if (deliver_message_text(env, df_fd, &body) < 0) {
		for (size_t i = 0; i < n; i++) {
			out[i].result = R_DEFER;
			snprintf(out[i].dsn, sizeof(out[i].dsn), "4.3.0");
			snprintf(out[i].stat, sizeof(out[i].stat), "Deferred: cannot read the data file");
		}
		sb_free(&body);
		return;
	}
	struct stat dst;
	long dfsize = fstat(df_fd, &dst) == 0 ? (long)dst.st_size : 0;
	const char **rcpts = xcalloc(n, sizeof(char *));
	char **bare = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *a = given[i];
		size_t al = strlen(a);
		bare[i] = (al >= 2 && a[0] == '<' && a[al - 1] == '>') ? xstrndup(a + 1, al - 2) : xstrdup(a);
		if (!strchr(bare[i], '@')) {	/* a bare local name is ours: qualify it */
			size_t ql = strlen(bare[i]) + strlen(G.hostname) + 2;
			char *q = xmalloc(ql);
			snprintf(q, ql, "%s@%s", bare[i], G.hostname);
			free(bare[i]);
			bare[i] = q;
		}
		rcpts[i] = bare[i];
	}
	char params[1200];
	char **rparams = xcalloc(n, sizeof(char *));
	int eightbit = env->bodytype && strcasecmp(env->bodytype, "8BITMIME") == 0;
	char port[8];
	snprintf(port, sizeof(port), "%d", r->port);
	char *masq = masquerade_envelope_sender(sender);
	if (masq)
		sender = masq;
	snprintf(why, sizeof(why), "Deferred: no usable address for %s", r->host);
	int done = 0, no_tls = 0;
	const char *why_dsn = "4.4.1";
	char down_dsn[16];
	for (size_t h = 0; h < nh && !done; h++) {
		struct smtp_client c;
		SSL *ssl = NULL;
		char key[300];
		mci_key(key, sizeof(key), hops[h].addr, r->port);
		struct mci_conn *cached = no_tls ? NULL : mci_take(key);
		int reused = cached != NULL;
		if (cached) {
			c = cached->c;
			ssl = cached->ssl;
			snprintf(hop_tls, sizeof(hop_tls), "%s", cached->tls);
			free(cached);
			if (G.verbose)
				printf("%s... Using cached ESMTP connection to %s via %s...\n", rcpts[0], hops[h].name,
				       r->mailer);
		} else {
			if (mci_host_down(key, hops[h].name, why, sizeof(why), down_dsn, sizeof(down_dsn))) {
				why_dsn = down_dsn;
				if (G.verbose)
					printf("%s... %s\n", rcpts[0], why);
				continue;	/* no new connection to a host that is down */
			}
			enum tls_outcome to = hop_open(&c, &hops[h], key, port, rcpts[0], r->mailer, no_tls, &ssl, why,
							  sizeof(why));
			if (to == TLS_RETRY_PLAIN && !no_tls) {
				no_tls = 1;	/* the same host once more, in the clear */
				h--;
				continue;
			}
			if (to == TLS_RETRY_PLAIN || to == TLS_REFUSED) {
				no_tls = 0;
				why_dsn = "4.7.0";
				continue;
			}
			if (to == TLS_DOWN) {
				no_tls = 0;
				continue;
			}
		}
		no_tls = 0;
		enum smtp_result *rr = xcalloc(n, sizeof(*rr));
		struct smtp_reply *rreply = xcalloc(n, sizeof(*rreply));
		struct smtp_reply mail_reply, data_reply;
		smtp_reply_init(&mail_reply);
		smtp_reply_init(&data_reply);
		for (size_t i = 0; i < n; i++)
			smtp_reply_init(&rreply[i]);
		/* SIZE= and BODY= only to a server that offered them */
		params[0] = '\0';
		if (c.esmtp && (c.ext.flags & SMTP_EXT_SIZE))	/* sendmail's count, from the qf */
			snprintf(params, sizeof(params), "SIZE=%ld", qf_msgsize(env, dfsize));
		if (c.esmtp && eightbit && (c.ext.flags & SMTP_EXT_8BITMIME))
			snprintf(params + strlen(params), sizeof(params) - strlen(params), "%sBODY=8BITMIME",
				 params[0] ? " " : "");
		int dsn_ok = c.esmtp && (c.ext.flags & SMTP_EXT_DSN);
		if (dsn_ok)
			dsn_mail_params(env, params, sizeof(params));
		for (size_t i = 0; i < n; i++) {
			free(rparams[i]);
			rparams[i] = dsn_ok && qrcpts && qrcpts[i] ? dsn_rcpt_params(qrcpts[i]) : NULL;
		}
		/* RCPTs in the order sendmail's deliver() sends them: its chain of
		 * recipients is built backwards from the qf order */
		const char **wr = xcalloc(n, sizeof(char *)), **wp = xcalloc(n, sizeof(char *));
		for (size_t i = 0; i < n; i++) {
			wr[i] = rcpts[n - 1 - i];
			wp[i] = rparams[n - 1 - i];
		}
		struct smtp_msg m = { .sender = sender, .mail_params = params[0] ? params : NULL, .rcpts = wr,
				      .rcpt_params = wp, .nrcpts = n,
				      .body = body.s, .len = body.len, .pipeline = 1, .rset_first = reused,
				      .mail_reply = &mail_reply, .data_reply = &data_reply };
		const char *phase = NULL;
		enum smtp_result res = smtp_send_message(&c, &m, rr, rreply, &phase);
		for (size_t i = 0; i < n / 2; i++) {	/* results back in qf order */
			enum smtp_result tr = rr[i];
			rr[i] = rr[n - 1 - i];
			rr[n - 1 - i] = tr;
			struct smtp_reply tp = rreply[i];
			rreply[i] = rreply[n - 1 - i];
			rreply[n - 1 - i] = tp;
		}
		free(wr);
		free(wp);
		int is_rcpt = phase && strcmp(phase, "rcpt") == 0;
		if (res == SMTP_IOERR && mail_reply.code == 0 && reused) {
			/* a cached connection the server had closed (or its RSET
			 * failed): the same host anew */
			h--;
		} else if (res == SMTP_IOERR && mail_reply.code == 0) {
			/* lost before anything was decided: the next host may do better */
			snprintf(why, sizeof(why), "Deferred: %s with %s", c.err.s[0] ? c.err.s : "Connection lost",
				 hops[h].name);
		} else if (res == SMTP_OK) {
			for (size_t i = 0; i < n; i++) {
				if (rr[i] == SMTP_OK) {
					set_outcome(&out[i], R_SENT, &c.reply, &hops[h], r->mailer);
					out[i].dsn_passed = rparams[i] && strstr(rparams[i], "NOTIFY=") != NULL;
				} else {
					set_outcome(&out[i], smtp_result_is_perm(rr[i]) ? R_FAIL : R_DEFER,
						    &rreply[i], &hops[h], r->mailer);
				}
			}
			done = 1;
		} else if (res == SMTP_IOERR || res == SMTP_PROTO) {
			for (size_t i = 0; i < n; i++) {
				out[i].result = R_DEFER;
				snprintf(out[i].dsn, sizeof(out[i].dsn), "4.4.2");
				snprintf(out[i].stat, sizeof(out[i].stat), "Deferred: %s with %s",
					 c.err.s[0] ? c.err.s : "Connection lost", hops[h].name);
				snprintf(out[i].relay, sizeof(out[i].relay), "%s [%s]", hops[h].name, hops[h].addr);
				snprintf(out[i].tls, sizeof(out[i].tls), "%s", hop_tls);
			}
			done = 1;
		} else {
			for (size_t i = 0; i < n; i++) {
				const struct smtp_reply *which = is_rcpt ? &rreply[i] : &c.reply;
				enum smtp_result ri = is_rcpt ? rr[i] : res;
				set_outcome(&out[i], smtp_result_is_perm(ri) ? R_FAIL : R_DEFER, which,
					    &hops[h], r->mailer);
			}
			done = 1;
		}
		for (size_t i = 0; i < n; i++)
			smtp_reply_free(&rreply[i]);
		smtp_reply_free(&mail_reply);
		smtp_reply_free(&data_reply);
		free(rreply);
		free(rr);
		if (c.fd >= 0 && res != SMTP_IOERR && res != SMTP_PROTO) {
			mci_give(key, &c, ssl, hop_tls);	/* kept for the next message, or QUIT */
		} else {
			smtp_client_free(&c);
			tls_client_free(ssl);
		}
	}
	if (!done) {
		for (size_t i = 0; i < n; i++) {
			out[i].result = R_DEFER;
			snprintf(out[i].dsn, sizeof(out[i].dsn), "%s", why_dsn);
			snprintf(out[i].stat, sizeof(out[i].stat), "%s", why);
			snprintf(out[i].diag, sizeof(out[i].diag), "%s", why);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(bare[i]);
		free(rparams[i]);
	}
	free(rparams);
	free(bare);
	free(masq);
	free(rcpts);
	sb_free(&body);
}
