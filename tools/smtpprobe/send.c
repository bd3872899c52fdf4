/* smtpprobe quick send: one message (or part of a session, with
 * --quit-after), a transcript, a JSON summary and an exit code per
 * failing phase. */
#include "probe.h"
#include "diag.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct step {
	const char *phase;
	const char *address;	/* rcpt steps */
	int code;
	char esc[16];
	char *text;
	enum smtp_result res;
};

struct steps {
	struct step *v;
	size_t n;
};

static void add_step(struct steps *s, const char *phase, const char *address,
		     const struct smtp_reply *r, enum smtp_result res)
{
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	struct step *st = &s->v[s->n++];
	st->phase = phase;
	st->address = address;
	st->code = r->code;
	memcpy(st->esc, r->esc, sizeof(st->esc));
	st->text = xstrdup(r->text.s);
	st->res = res;
}

static const char *phase_name(enum phase p)
{
	static const char *names[] = { "none", "connect", "banner", "helo", "mail", "rcpt",
				       "data", "dot" };
	return names[p];
}

/* Builds the message: --data as is, or default headers (replaced or
 * extended by --header) and --body. */
static int build_message(const struct opts *o, const char *from, struct strbuf *msg)
{
	struct strbuf body;
	sb_init(&body);
	if (o->data) {
		int rc = o->data[0] == '@' ? read_file(o->data + 1, msg)
			 : strcmp(o->data, "-") == 0 ? read_file("-", msg)
			 : unescape(o->data, msg);
		sb_free(&body);
		return rc;
	}
	if (o->body) {
		int rc = o->body[0] == '@' ? read_file(o->body + 1, &body)
			 : strcmp(o->body, "-") == 0 ? read_file("-", &body)
			 : unescape(o->body, &body);
		if (rc < 0) {
			sb_free(&body);
			return -1;
		}
	} else {
		sb_puts(&body, "This is a test message sent by smtpprobe.\n");
	}

	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	struct strbuf to, subj, mid;
	sb_init(&to);
	sb_init(&subj);
	sb_init(&mid);
	for (size_t i = 0; i < o->nto; i++)
		sb_printf(&to, "%s<%s>", i ? ", " : "", o->to[i]);
	sb_printf(&subj, "smtpprobe test %s", date);
	sb_printf(&mid, "<%lld.%ld@%s>", (long long)now, (long)getpid(), probe_helo_name(o));
	struct {
		const char *name;
		const char *value;
	} defs[] = {
		{ "Date", date },
		{ "From", from[0] ? from : "<>" },
		{ "To", to.s },
		{ "Subject", subj.s },
		{ "Message-ID", mid.s },
		{ "X-Mailer", "smtpprobe" },
	};
	for (size_t d = 0; d < sizeof(defs) / sizeof(defs[0]); d++) {
		int replaced = 0;
		size_t nl = strlen(defs[d].name);
		for (size_t h = 0; h < o->nheaders; h++)
			if (strncasecmp(o->headers[h], defs[d].name, nl) == 0
			    && o->headers[h][nl] == ':')
				replaced = 1;
		if (!replaced && (defs[d].value[0] || d != 2))
			sb_printf(msg, "%s: %s\n", defs[d].name, defs[d].value);
	}
	for (size_t h = 0; h < o->nheaders; h++) {
		if (unescape(o->headers[h], msg) < 0)
			return -1;
		sb_putc(msg, '\n');
	}
	sb_putc(msg, '\n');
	sb_append(msg, body.s, body.len);
	sb_free(&to);
	sb_free(&subj);
	sb_free(&mid);
	sb_free(&body);
	return 0;
}

static void print_json(const struct opts *o, const struct smtp_client *c, const struct steps *s,
		       int rc, enum phase failed)
{
	FILE *f = stdout;
	fputs("{\"server\":", f);
	json_str(f, o->host);
	fputs(",\"port\":", f);
	json_str(f, o->port);
	fputs(",\"peer\":", f);
	json_str(f, c->peer[0] ? c->peer : NULL);
	fprintf(f, ",\"exit\":%d,\"failed_phase\":", rc);
	json_str(f, failed == PH_NONE ? NULL : phase_name(failed));
	fputs(",\"error\":", f);
	json_str(f, c->err.len ? c->err.s : NULL);
	fprintf(f, ",\"esmtp\":%s,\"extensions\":{", c->esmtp ? "true" : "false");
	static const struct {
		unsigned flag;
		const char *name;
	} ext[] = {
		{ SMTP_EXT_PIPELINING, "PIPELINING" }, { SMTP_EXT_SIZE, "SIZE" },
		{ SMTP_EXT_8BITMIME, "8BITMIME" }, { SMTP_EXT_STARTTLS, "STARTTLS" },
		{ SMTP_EXT_DSN, "DSN" }, { SMTP_EXT_ENHANCEDSTATUSCODES, "ENHANCEDSTATUSCODES" },
		{ SMTP_EXT_SMTPUTF8, "SMTPUTF8" }, { SMTP_EXT_CHUNKING, "CHUNKING" },
		{ SMTP_EXT_AUTH, "AUTH" },
	};
	int first = 1;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		if (!(c->ext.flags & ext[i].flag))
			continue;
		fprintf(f, "%s\"%s\":", first ? "" : ",", ext[i].name);
		if (ext[i].flag == SMTP_EXT_SIZE)
			fprintf(f, "%llu", c->ext.size);
		else if (ext[i].flag == SMTP_EXT_AUTH)
			json_str(f, c->ext.auth);
		else
			fputs("true", f);
		first = 0;
	}
	fputs("},\"steps\":[", f);
	for (size_t i = 0; i < s->n; i++) {
		const struct step *st = &s->v[i];
		fprintf(f, "%s{\"phase\":\"%s\",", i ? "," : "", st->phase);
		if (st->address) {
			fputs("\"address\":", f);
			json_str(f, st->address);
			fputc(',', f);
		}
		fprintf(f, "\"code\":%d,\"esc\":", st->code);
		json_str(f, st->esc[0] ? st->esc : NULL);
		fputs(",\"text\":", f);
		json_str(f, st->text);
		fprintf(f, ",\"result\":\"%s\"}", smtp_result_str(st->res));
	}
	fputs("]}\n", f);
}

int run_send(const struct opts *o)
{
	struct smtp_client c;
	struct steps s = { NULL, 0 };
	struct strbuf msg;
	enum phase failed = PH_NONE;
	enum phase stop = o->quit_after ? o->quit_after : PH_DOT;
	int rc = EXIT_PROBE_OK;
	const char *from = o->from;
	char fromdef[300];
	enum smtp_result r;

	if (!from) {
		snprintf(fromdef, sizeof(fromdef), "probe@%s", probe_helo_name(o));
		from = fromdef;
	}
	if (stop >= PH_MAIL && o->nto == 0) {
		if (o->quit_after) {
			fputs("smtpprobe: --quit-after mail or later needs --to\n", stderr);
			return EXIT_PROBE_USAGE;
		}
		stop = PH_HELO;	/* no recipient: just look at the server */
	}
	sb_init(&msg);
	if (stop >= PH_DOT && build_message(o, from, &msg) < 0) {
		fputs("smtpprobe: cannot read the message (--data/--body)\n", stderr);
		sb_free(&msg);
		return EXIT_PROBE_USAGE;
	}

	probe_client_init(o, &c);
	if (smtp_connect(&c, o->host, o->port, o->from_ip, o->family) != SMTP_OK) {
		failed = PH_CONNECT;
		rc = EXIT_PROBE_CONNECT;
		goto done;
	}
	if (stop == PH_CONNECT)
		goto done;
	r = smtp_greeting(&c);
	add_step(&s, "banner", NULL, &c.reply, r);
	if (r != SMTP_OK) {
		failed = PH_BANNER;
		rc = EXIT_PROBE_BANNER;
		goto quit;
	}
	if (stop == PH_BANNER)
		goto quit;
	r = smtp_ehlo(&c, probe_helo_name(o));
	add_step(&s, c.esmtp ? "ehlo" : "helo", NULL, &c.reply, r);
	if (r != SMTP_OK) {
		failed = PH_HELO;
		rc = EXIT_PROBE_HELO;
		goto quit;
	}
	if (o->starttls) {
		if (!(c.ext.flags & SMTP_EXT_STARTTLS))
			out_transcript(NULL, SMTP_DIR_INFO, "server does not offer STARTTLS", 30);
		if (!(c.ext.flags & SMTP_EXT_STARTTLS) || probe_starttls(o, &c) != 0) {
			if (c.reply.code)
				add_step(&s, "starttls", NULL, &c.reply, SMTP_PROTO);
			failed = PH_HELO;
			rc = EXIT_PROBE_TLS;
			goto quit;
		}
		add_step(&s, "starttls", NULL, &c.reply, SMTP_OK);
		r = smtp_ehlo(&c, probe_helo_name(o));
		add_step(&s, "ehlo", NULL, &c.reply, r);
		if (r != SMTP_OK) {
			failed = PH_HELO;
			rc = EXIT_PROBE_HELO;
			goto quit;
		}
	}
	if (o->auth) {
		if (probe_auth(o, &c) != 0) {
			if (c.reply.code)
				add_step(&s, "auth", NULL, &c.reply, SMTP_PERM);
			failed = PH_HELO;
			rc = EXIT_PROBE_AUTH;
			goto quit;
		}
		add_step(&s, "auth", NULL, &c.reply, SMTP_OK);
	}
	if (stop == PH_HELO)
		goto quit;

	if (stop < PH_DOT) {
		/* Step by step, so that we can stop after any step. */
		r = smtp_mail(&c, from, NULL);
		add_step(&s, "mail", NULL, &c.reply, r);
		if (r != SMTP_OK) {
			failed = PH_MAIL;
			rc = EXIT_PROBE_MAIL;
			goto quit;
		}
		if (stop == PH_MAIL)
			goto quit;
		size_t ok = 0;
		for (size_t i = 0; i < o->nto; i++) {
			r = smtp_rcpt(&c, o->to[i], NULL);
			add_step(&s, "rcpt", o->to[i], &c.reply, r);
			ok += r == SMTP_OK;
		}
		if (ok == 0) {
			failed = PH_RCPT;
			rc = EXIT_PROBE_RCPT;
			goto quit;
		}
		if (stop == PH_RCPT)
			goto quit;
		r = smtp_data_begin(&c);
		add_step(&s, "data", NULL, &c.reply, r);
		if (r != SMTP_OK) {
			failed = PH_DATA;
			rc = EXIT_PROBE_DATA;
			goto quit;
		}
		/* After 354 anything we send is message text: just hang up. */
		goto done;
	}

	{
		enum smtp_result *res = xcalloc(o->nto, sizeof(*res));
		struct smtp_reply *rr = xcalloc(o->nto, sizeof(*rr));
		struct smtp_reply mail_reply, data_reply;
		const char *phase = "mail";
		smtp_reply_init(&mail_reply);
		smtp_reply_init(&data_reply);
		for (size_t i = 0; i < o->nto; i++)
			smtp_reply_init(&rr[i]);
		if (o->pipeline && !(c.ext.flags & SMTP_EXT_PIPELINING))
			out_transcript(NULL, SMTP_DIR_INFO, "server does not offer PIPELINING; "
				       "sending step by step", 52);
		struct smtp_msg m = { .sender = from, .rcpts = o->to, .nrcpts = o->nto,
				      .body = msg.s, .len = msg.len, .pipeline = o->pipeline,
				      .mail_reply = &mail_reply, .data_reply = &data_reply };
		r = smtp_send_message(&c, &m, res, rr, &phase);
		if (mail_reply.code || strcmp(phase, "mail") == 0)
			add_step(&s, "mail", NULL, &mail_reply,
				 strcmp(phase, "mail") == 0 ? r : SMTP_OK);
		for (size_t i = 0; i < o->nto; i++)
			if (rr[i].code)
				add_step(&s, "rcpt", o->to[i], &rr[i], res[i]);
		if (data_reply.code)
			add_step(&s, "data", NULL, &data_reply,
				 strcmp(phase, "data") == 0 ? r : SMTP_OK);
		if (strcmp(phase, "dot") == 0)
			add_step(&s, "dot", NULL, &c.reply, r);
		if (r != SMTP_OK) {
			failed = phase_parse(phase);
			rc = failed == PH_MAIL ? EXIT_PROBE_MAIL
			     : failed == PH_RCPT ? EXIT_PROBE_RCPT
			     : failed == PH_DATA ? EXIT_PROBE_DATA : EXIT_PROBE_DOT;
		}
		for (size_t i = 0; i < o->nto; i++)
			smtp_reply_free(&rr[i]);
		free(rr);
		free(res);
		smtp_reply_free(&mail_reply);
		smtp_reply_free(&data_reply);
	}

quit:
	if (c.fd >= 0) {
		struct strbuf keep;
		sb_init(&keep);
		sb_append(&keep, c.err.s, c.err.len);
		smtp_quit(&c);
		sb_reset(&c.err);
		sb_append(&c.err, keep.s, keep.len);
		sb_free(&keep);
	}
done:
	smtp_client_close(&c);
	probe_tls_close();
	if (o->json)
		print_json(o, &c, &s, rc, failed);
	else if (rc != EXIT_PROBE_OK && !o->quiet)
		fprintf(stderr, "smtpprobe: failed at %s%s%s\n", phase_name(failed),
			c.err.len ? ": " : "", c.err.s);
	for (size_t i = 0; i < s.n; i++)
		free(s.v[i].text);
	free(s.v);
	sb_free(&msg);
	smtp_client_free(&c);
	return rc;
}
