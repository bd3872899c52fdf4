/* smtpprobe --test: the battery framework (reports, verdicts, exit status)
 * and the relay, forgery, greetpause and harvest batteries.  The
 * smuggling and limits batteries are in smuggle.c and limits.c. */
#include "probe.h"
#include "diag.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct bcase {
	char *name, *sent, *received, *verdict;
};

struct report {
	const char *battery;
	struct bcase *v;
	size_t n;
	size_t vulnerable;
	struct report *next;
};

static struct report *reports, **reports_tail = &reports;
static int report_quiet;

struct report *report_new(const char *battery)
{
	struct report *r = xcalloc(1, sizeof(*r));
	r->battery = battery;
	*reports_tail = r;
	reports_tail = &r->next;
	return r;
}

void report_case(struct report *r, const char *name, const char *sent, const char *received,
		 const char *verdict)
{
	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	struct bcase *bc = &r->v[r->n++];
	bc->name = xstrdup(name);
	bc->sent = xstrdup(sent);
	bc->received = xstrdup(received);
	bc->verdict = xstrdup(verdict);
	if (strcmp(verdict, "VULNERABLE") == 0)
		r->vulnerable++;
	if (!report_quiet) {
		printf("%-10s %-24s %s\n", r->battery, name, verdict);
		printf("    sent:     %s\n    received: %s\n", sent, received);
		fflush(stdout);
	}
}

void reply_summary(struct strbuf *sb, const struct smtp_client *c, int r)
{
	if (r != SMTP_OK && c->reply.nlines == 0) {
		sb_printf(sb, "(no reply: %s)", c->err.len ? c->err.s : "error");
		return;
	}
	/* Long replies (EHLO) are shown by their first line. */
	const char *nl = strchr(c->reply.raw.s, '\n');
	if (nl && c->reply.nlines > 2) {
		sb_append(sb, c->reply.raw.s, (size_t)(nl - c->reply.raw.s));
		sb_printf(sb, " (+%zu lines)", c->reply.nlines - 1);
		return;
	}
	for (const char *p = c->reply.raw.s; *p; p++) {
		if (*p == '\n')
			sb_puts(sb, " | ");
		else
			sb_putc(sb, *p);
	}
}

const char *server_domain(const struct opts *o, const struct smtp_client *c, char *buf,
			  size_t bufsz)
{
	if (o->local_domain)
		return o->local_domain;
	/* The first word of the EHLO/greeting reply is the server's name. */
	const char *p = c->reply.text.s;
	size_t n = strcspn(p, " \n");
	if (n == 0 || n >= bufsz) {
		snprintf(buf, bufsz, "localhost");
		return buf;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/* The server's address as an IP literal, "[192.0.2.1]" or "[IPv6:...]". */
static void server_literal(const struct smtp_client *c, char *buf, size_t bufsz)
{
	size_t n = strcspn(c->peer, " ");
	int v6 = memchr(c->peer, ':', n) != NULL;
	snprintf(buf, bufsz, "[%s%.*s]", v6 ? "IPv6:" : "", (int)n, c->peer);
}

/* Connects, reads the greeting, says EHLO (HELO fallback) as helo.
 * Returns SMTP_OK or the failure; the EHLO reply is in c->reply. */
static enum smtp_result session(const struct opts *o, struct smtp_client *c, const char *helo)
{
	enum smtp_result r;
	smtp_client_close(c);
	r = smtp_connect(c, o->host, o->port, o->from_ip, o->family);
	if (r != SMTP_OK)
		return r;
	r = smtp_greeting(c);
	if (r != SMTP_OK)
		return r;
	return smtp_ehlo(c, helo ? helo : probe_helo_name(o));
}

static enum smtp_result cmd(struct smtp_client *c, const char *line, struct strbuf *sent,
			    struct strbuf *recv)
{
	if (sent->len)
		sb_puts(sent, " | ");
	sb_puts(sent, line);
	enum smtp_result r = smtp_command(c, c->t.other, 2, line);
	if (recv) {
		if (recv->len)
			sb_puts(recv, " | ");
		reply_summary(recv, c, r);
	}
	return r;
}

static const char *default_rcpt(const struct opts *o, const char *dom, char *buf, size_t bufsz)
{
	if (o->rcpt)
		return o->rcpt;
	if (o->nto)
		return o->to[0];
	snprintf(buf, bufsz, "postmaster@%s", dom);
	return buf;
}

/* ---- relay ---------------------------------------------------------- */

int battery_relay(const struct opts *o, struct report *rep)
{
	struct smtp_client c;
	char dombuf[256], lit[80], outside[300];
	const char *F = o->relay_domain;
	enum smtp_result r;

	probe_client_init(o, &c);
	if ((r = session(o, &c, NULL)) != SMTP_OK) {
		smtp_client_free(&c);
		return EXIT_PROBE_CONNECT;
	}
	const char *D = server_domain(o, &c, dombuf, sizeof(dombuf));
	server_literal(&c, lit, sizeof(lit));
	snprintf(outside, sizeof(outside), "relaytest@outside-%s", F);
	char upper[256];
	snprintf(upper, sizeof(upper), "RELAYTEST@%s", F);
	for (char *p = upper; *p; p++)
		*p = (char)toupper((unsigned char)*p);

	struct {
		const char *name;
		const char *from;	/* NULL: the outside sender */
		const char *fmt;	/* RCPT TO argument; %1$s foreign, %2$s local, %3$s literal */
	} cases[] = {
		{ "plain", NULL, "<relaytest@%1$s>" },
		{ "percent-hack", NULL, "<relaytest%%%1$s@%2$s>" },
		{ "bang-path", NULL, "<%1$s!relaytest@%2$s>" },
		{ "source-route", NULL, "<@%2$s:relaytest@%1$s>" },
		{ "source-route-list", NULL, "<@%2$s,@%2$s:relaytest@%1$s>" },
		{ "quoted", NULL, "<\"relaytest@%1$s\">" },
		{ "quoted-at-local", NULL, "<\"relaytest@%1$s\"@%2$s>" },
		{ "quoted-percent", NULL, "<\"relaytest%%%1$s\"@%2$s>" },
		{ "double-at", NULL, "<relaytest@%1$s@%2$s>" },
		{ "ip-literal", NULL, "<relaytest@[192.0.2.1]>" },
		{ "percent-literal", NULL, "<relaytest%%%1$s@%3$s>" },
		{ "bang-literal", NULL, "<%1$s!relaytest@%3$s>" },
		{ "source-route-literal", NULL, "<@%3$s:relaytest@%1$s>" },
		{ "percent-localhost", NULL, "<relaytest%%%1$s@localhost>" },
		{ "bang-only", NULL, "<%1$s!relaytest>" },
		{ "trailing-dot", NULL, "<relaytest@%1$s.>" },
		{ "bracketless", NULL, "relaytest@%1$s" },
		{ "own-domain-sender", "postmaster@%2$s", "<relaytest@%1$s>" },
		{ "null-sender", "", "<relaytest@%1$s>" },
		{ "uppercase", NULL, "<UPPER>" },
	};
	size_t ncases = sizeof(cases) / sizeof(cases[0]);
	for (size_t i = 0; i < ncases; i++) {
		struct strbuf sent, recv, line, from;
		sb_init(&sent);
		sb_init(&recv);
		sb_init(&line);
		sb_init(&from);
		if (c.fd < 0 && session(o, &c, NULL) != SMTP_OK) {
			report_case(rep, cases[i].name, "(connect)", c.err.s, "error");
			sb_free(&sent); sb_free(&recv); sb_free(&line); sb_free(&from);
			continue;
		}
		if (i > 0)
			smtp_rset(&c);
		if (cases[i].from)
			sb_printf(&from, cases[i].from, F, D, lit);
		else
			sb_puts(&from, outside);
		sb_printf(&line, "MAIL FROM:<%s>", from.s);
		const char *verdict;
		r = cmd(&c, line.s, &sent, &recv);
		if (r == SMTP_OK) {
			sb_reset(&line);
			sb_puts(&line, "RCPT TO:");
			if (strcmp(cases[i].fmt, "<UPPER>") == 0)
				sb_printf(&line, "<%s>", upper);
			else
				sb_printf(&line, cases[i].fmt, F, D, lit);
			r = cmd(&c, line.s, &sent, &recv);
		}
		if (r == SMTP_OK)
			verdict = "VULNERABLE";
		else if (r == SMTP_TEMP || r == SMTP_PERM)
			verdict = "safe";
		else {
			verdict = "error";
			smtp_client_close(&c);
		}
		report_case(rep, cases[i].name, sent.s, recv.s, verdict);
		sb_free(&sent); sb_free(&recv); sb_free(&line); sb_free(&from);
	}
	if (c.fd >= 0)
		smtp_quit(&c);
	smtp_client_free(&c);
	return 0;
}

/* ---- forgery ------------------------------------------------------- */

/* One forged transaction; returns the verdict for an accepted message. */
static void forgery_case(const struct opts *o, struct report *rep, const char *name,
			 const char *helo, const char *sender, const char *hdr_from,
			 const char *rcpt, const char *if_accepted)
{
	struct smtp_client c;
	struct strbuf sent, recv, line;
	enum smtp_result r;
	const char *verdict = "rejected";

	probe_client_init(o, &c);
	sb_init(&sent);
	sb_init(&recv);
	sb_init(&line);
	r = session(o, &c, helo);
	sb_printf(&sent, "EHLO %s", helo ? helo : probe_helo_name(o));
	reply_summary(&recv, &c, r);
	if (r == SMTP_IOERR || r == SMTP_PROTO) {
		report_case(rep, name, sent.s, recv.s, c.fd < 0 && !c.reply.code ? "error" : "rejected");
		goto out;
	}
	if (r != SMTP_OK)
		goto done;
	if (!sender) {
		verdict = "accepted";
		goto done;
	}
	sb_printf(&line, "MAIL FROM:<%s>", sender);
	if (cmd(&c, line.s, &sent, &recv) != SMTP_OK)
		goto done;
	sb_reset(&line);
	sb_printf(&line, "RCPT TO:<%s>", rcpt);
	if (cmd(&c, line.s, &sent, &recv) != SMTP_OK)
		goto done;
	if (!hdr_from) {
		verdict = if_accepted;
		goto done;
	}
	sb_puts(&sent, " | DATA");
	r = smtp_data_begin(&c);
	sb_puts(&recv, " | ");
	reply_summary(&recv, &c, r);
	if (r != SMTP_OK)
		goto done;
	sb_reset(&line);
	sb_printf(&line, "From: <%s>\nTo: <%s>\nSubject: smtpprobe forgery test\n\n"
		  "This message was sent by the smtpprobe forgery battery.\n", hdr_from, rcpt);
	sb_printf(&sent, " | <message, From: %s> | .", hdr_from);
	r = smtp_data_body(&c, line.s, line.len);
	sb_puts(&recv, " | ");
	reply_summary(&recv, &c, r);
	if (r == SMTP_OK)
		verdict = if_accepted;
done:
	report_case(rep, name, sent.s, recv.s, verdict);
out:
	if (c.fd >= 0)
		smtp_quit(&c);
	smtp_client_free(&c);
	sb_free(&sent);
	sb_free(&recv);
	sb_free(&line);
}

int battery_forgery(const struct opts *o, struct report *rep)
{
	struct smtp_client c;
	char dombuf[256], lit[80], rcptbuf[300], own[300], outside[300];

	probe_client_init(o, &c);
	if (session(o, &c, NULL) != SMTP_OK) {
		smtp_client_free(&c);
		return EXIT_PROBE_CONNECT;
	}
	const char *D = server_domain(o, &c, dombuf, sizeof(dombuf));
	server_literal(&c, lit, sizeof(lit));
	smtp_quit(&c);
	smtp_client_free(&c);
	const char *rcpt = default_rcpt(o, D, rcptbuf, sizeof(rcptbuf));
	snprintf(own, sizeof(own), "postmaster@%s", D);
	snprintf(outside, sizeof(outside), "forgerytest@outside-%s", o->relay_domain);

	forgery_case(o, rep, "helo-own-name", D, NULL, NULL, rcpt, "accepted");
	forgery_case(o, rep, "helo-own-literal", lit, NULL, NULL, rcpt, "accepted");
	forgery_case(o, rep, "helo-localhost", "localhost", NULL, NULL, rcpt, "accepted");
	forgery_case(o, rep, "sender-own-domain", NULL, own, NULL, rcpt, "VULNERABLE");
	forgery_case(o, rep, "header-from-own-domain", NULL, outside, own, rcpt, "accepted");
	forgery_case(o, rep, "full-forgery", D, own, own, rcpt, "VULNERABLE");
	return 0;
}

/* ---- greetpause ------------------------------------------------------ */

int battery_greetpause(const struct opts *o, struct report *rep)
{
	struct smtp_client c;
	struct strbuf sent, recv, line;
	const char *verdict;

	probe_client_init(o, &c);
	if (smtp_connect(&c, o->host, o->port, o->from_ip, o->family) != SMTP_OK) {
		smtp_client_free(&c);
		return EXIT_PROBE_CONNECT;
	}
	sb_init(&sent);
	sb_init(&recv);
	sb_init(&line);
	/* Talk at once, before the greeting arrives. */
	sb_printf(&line, "EHLO %s\r\n", probe_helo_name(o));
	sb_printf(&sent, "EHLO %s (before the greeting)", probe_helo_name(o));
	smtp_write_raw(&c, line.s, line.len, c.t.other);
	enum smtp_result r1 = smtp_read_reply(&c, c.t.greeting);
	reply_summary(&recv, &c, r1);
	if (r1 != SMTP_OK || smtp_reply_class(&c.reply) != 2) {
		verdict = "safe";	/* refused, or hung up */
	} else {
		enum smtp_result r2 = smtp_read_reply(&c, c.t.helo);
		sb_puts(&recv, " | ");
		reply_summary(&recv, &c, r2);
		verdict = (r2 == SMTP_OK && smtp_reply_class(&c.reply) == 2) ? "VULNERABLE" : "safe";
	}
	report_case(rep, "talk-before-greeting", sent.s, recv.s, verdict);
	if (c.fd >= 0)
		smtp_quit(&c);
	smtp_client_free(&c);
	sb_free(&sent);
	sb_free(&recv);
	sb_free(&line);
	return 0;
}

/* ---- harvest --------------------------------------------------------- */

int battery_harvest(const struct opts *o, struct report *rep)
{
	struct smtp_client c;
	char dombuf[256], rcptbuf[300], nouser[300], line[400];
	int codes[2];

	probe_client_init(o, &c);
	if (session(o, &c, NULL) != SMTP_OK) {
		smtp_client_free(&c);
		return EXIT_PROBE_CONNECT;
	}
	const char *D = server_domain(o, &c, dombuf, sizeof(dombuf));
	const char *known = default_rcpt(o, D, rcptbuf, sizeof(rcptbuf));
	snprintf(nouser, sizeof(nouser), "nosuchuser%ld@%s", (long)getpid(), D);
	const char *users[2] = { known, nouser };

	/* VRFY */
	{
		struct strbuf sent, recv;
		sb_init(&sent);
		sb_init(&recv);
		for (int i = 0; i < 2; i++) {
			snprintf(line, sizeof(line), "VRFY %s", users[i]);
			cmd(&c, line, &sent, &recv);
			codes[i] = c.reply.code;
		}
		report_case(rep, "vrfy", sent.s, recv.s,
			    codes[0] != codes[1] ? "VULNERABLE" : "safe");
		sb_free(&sent);
		sb_free(&recv);
	}
	/* EXPN */
	{
		struct strbuf sent, recv;
		sb_init(&sent);
		sb_init(&recv);
		snprintf(line, sizeof(line), "EXPN %s", known);
		cmd(&c, line, &sent, &recv);
		report_case(rep, "expn", sent.s, recv.s,
			    c.reply.code == 250 ? "VULNERABLE" : "safe");
		sb_free(&sent);
		sb_free(&recv);
	}
	/* RCPT: rejecting unknown users at RCPT is right (no backscatter),
	 * so a difference here is reported, not counted. */
	{
		struct strbuf sent, recv;
		sb_init(&sent);
		sb_init(&recv);
		smtp_rset(&c);
		snprintf(line, sizeof(line), "MAIL FROM:<harvest@outside-%s>", o->relay_domain);
		cmd(&c, line, &sent, &recv);
		for (int i = 0; i < 2; i++) {
			snprintf(line, sizeof(line), "RCPT TO:<%s>", users[i]);
			cmd(&c, line, &sent, &recv);
			codes[i] = c.reply.code;
		}
		report_case(rep, "rcpt", sent.s, recv.s,
			    codes[0] != codes[1] ? "distinguishable" : "indistinguishable");
		sb_free(&sent);
		sb_free(&recv);
	}
	if (c.fd >= 0)
		smtp_quit(&c);
	smtp_client_free(&c);
	return 0;
}

/* ---- driver ------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*fn)(const struct opts *, struct report *);
} batteries[] = {
	{ "relay", battery_relay },
	{ "forgery", battery_forgery },
	{ "smuggling", battery_smuggling },
	{ "greetpause", battery_greetpause },
	{ "harvest", battery_harvest },
	{ "limits", battery_limits },
};
#define NBATTERIES (sizeof(batteries) / sizeof(batteries[0]))

static void print_json(const struct opts *o, int rc)
{
	size_t total = 0;
	fputs("{\"server\":", stdout);
	json_str(stdout, o->host);
	fputs(",\"port\":", stdout);
	json_str(stdout, o->port);
	fputs(",\"batteries\":[", stdout);
	for (struct report *r = reports; r; r = r->next) {
		printf("%s{\"name\":\"%s\",\"vulnerable\":%zu,\"cases\":[", r == reports ? "" : ",",
		       r->battery, r->vulnerable);
		for (size_t i = 0; i < r->n; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, r->v[i].name);
			fputs(",\"sent\":", stdout);
			json_str(stdout, r->v[i].sent);
			fputs(",\"received\":", stdout);
			json_str(stdout, r->v[i].received);
			fputs(",\"verdict\":", stdout);
			json_str(stdout, r->v[i].verdict);
			fputc('}', stdout);
		}
		fputs("]}", stdout);
		total += r->vulnerable;
	}
	printf("],\"vulnerable\":%zu,\"exit\":%d}\n", total, rc);
}

int run_batteries(const struct opts *o)
{
	int want[NBATTERIES] = { 0 };
	int rc = 0;

	for (size_t i = 0; i < o->ntests; i++) {
		int found = 0;
		for (size_t b = 0; b < NBATTERIES; b++)
			if (strcmp(o->tests[i], "all") == 0 || strcmp(o->tests[i], batteries[b].name) == 0)
				want[b] = found = 1;
		if (!found) {
			fprintf(stderr, "smtpprobe: unknown test battery '%s' (relay, forgery, "
				"smuggling, greetpause, harvest, limits, all)\n", o->tests[i]);
			return EXIT_PROBE_USAGE;
		}
	}
	report_quiet = o->json || o->quiet;
	g_out.muted = 1;
	for (size_t b = 0; b < NBATTERIES; b++) {
		if (!want[b])
			continue;
		struct report *r = report_new(batteries[b].name);
		int e = batteries[b].fn(o, r);
		if (e) {
			if (!o->quiet)
				fprintf(stderr, "smtpprobe: %s: cannot run: could not talk to the "
					"server\n", batteries[b].name);
			rc = e;
			break;
		}
		if (!report_quiet)
			printf("%-10s %zu cases, %zu vulnerable\n", r->battery, r->n, r->vulnerable);
		if (r->vulnerable && !rc)
			rc = EXIT_PROBE_VULNERABLE;
	}
	if (o->json)
		print_json(o, rc);
	while (reports) {
		struct report *r = reports;
		reports = r->next;
		for (size_t i = 0; i < r->n; i++) {
			free(r->v[i].name);
			free(r->v[i].sent);
			free(r->v[i].received);
			free(r->v[i].verdict);
		}
		free(r->v);
		free(r);
	}
	reports_tail = &reports;
	return rc;
}
