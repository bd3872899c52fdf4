/* smtpprobe --test limits: long command, long command without CRLF,
 * long text line, many recipients, SIZE, a slow client, and whether the
 * server still answers afterwards (the one case that counts as
 * vulnerable: a server that stops answering). */
#include "probe.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static int open_session(const struct opts *o, struct smtp_client *c)
{
	probe_client_init(o, c);
	if (smtp_connect(c, o->host, o->port, o->from_ip, o->family) != SMTP_OK
	    || smtp_greeting(c) != SMTP_OK || smtp_ehlo(c, probe_helo_name(o)) != SMTP_OK)
		return -1;
	return 0;
}

static void done(struct smtp_client *c)
{
	if (c->fd >= 0)
		smtp_quit(c);
	smtp_client_free(c);
}

int battery_limits(const struct opts *o, struct report *rep)
{
	struct smtp_client c;
	struct strbuf sent, recv, line;
	char dom[256], rcptbuf[300];
	const char *rcpt;
	enum smtp_result r;

	if (open_session(o, &c) < 0) {
		smtp_client_free(&c);
		return EXIT_PROBE_CONNECT;
	}
	rcpt = o->rcpt ? o->rcpt : o->nto ? o->to[0] : NULL;
	if (!rcpt) {
		snprintf(rcptbuf, sizeof(rcptbuf), "postmaster@%s",
			 server_domain(o, &c, dom, sizeof(dom)));
		rcpt = rcptbuf;
	}
	struct smtp_ext ext = c.ext;
	sb_init(&sent);
	sb_init(&recv);
	sb_init(&line);

	/* 1. A 600-octet command (RFC 5321 4.5.3.1.4 allows 512). */
	sb_puts(&line, "NOOP ");
	for (int i = 0; i < 595; i++)
		sb_putc(&line, 'x');
	r = smtp_command(&c, c.t.other, 2, line.s);
	reply_summary(&recv, &c, r);
	report_case(rep, "long-command", "NOOP xxx... (600 octets)", recv.s,
		    r == SMTP_OK ? "accepted" : r == SMTP_PERM || r == SMTP_TEMP ? "refused"
		    : "error");
	done(&c);

	/* 2. 64 KiB without a line end, then CRLF. */
	sb_reset(&recv);
	if (open_session(o, &c) == 0) {
		sb_reset(&line);
		sb_puts(&line, "NOOP ");
		for (int i = 0; i < 65536; i++)
			sb_putc(&line, 'y');
		sb_puts(&line, "\r\n");
		r = smtp_write_raw(&c, line.s, line.len, c.t.other);
		if (r == SMTP_OK)
			r = smtp_read_reply(&c, c.t.other);
		reply_summary(&recv, &c, r);
		report_case(rep, "huge-command", "NOOP yyy... (65541 octets)", recv.s,
			    r == SMTP_OK && smtp_reply_class(&c.reply) == 2 ? "accepted"
			    : strstr(c.err.s, "timed out") ? "no reply" : "refused");
	}
	done(&c);

	/* 3. A 1100-octet text line (RFC 5321 4.5.3.1.6 allows 1000). */
	sb_reset(&recv);
	sb_reset(&sent);
	if (open_session(o, &c) == 0) {
		const char *rcpts[1] = { rcpt };
		enum smtp_result res[1];
		const char *phase;
		sb_reset(&line);
		sb_puts(&line, "Subject: smtpprobe limits test\n\n");
		for (int i = 0; i < 1100; i++)
			sb_putc(&line, 'z');
		sb_putc(&line, '\n');
		struct smtp_msg m = { .sender = "", .rcpts = rcpts, .nrcpts = 1, .body = line.s,
				      .len = line.len };
		r = smtp_send_message(&c, &m, res, NULL, &phase);
		sb_printf(&sent, "MAIL FROM:<> | RCPT TO:<%s> | DATA | <1100-octet line> | .", rcpt);
		reply_summary(&recv, &c, r);
		report_case(rep, "long-text-line", sent.s, recv.s,
			    r == SMTP_OK ? "accepted"
			    : strcmp(phase, "dot") == 0 && (r == SMTP_PERM || r == SMTP_TEMP)
			    ? "refused" : "error");
	}
	done(&c);

	/* 4. 150 recipients. */
	sb_reset(&recv);
	sb_reset(&sent);
	if (open_session(o, &c) == 0) {
		int ok = 0, first_fail = 0;
		sb_reset(&line);
		smtp_mail(&c, "", NULL);
		for (int i = 0; i < 150; i++) {
			r = smtp_rcpt(&c, rcpt, NULL);
			if (r == SMTP_OK)
				ok++;
			else if (!first_fail) {
				first_fail = i + 1;
				reply_summary(&recv, &c, r);
			}
			if (r == SMTP_IOERR || r == SMTP_PROTO)
				break;
		}
		sb_printf(&sent, "MAIL FROM:<> | RCPT TO:<%s> x 150", rcpt);
		sb_printf(&recv, "%s%d accepted", recv.len ? "; " : "", ok);
		if (first_fail)
			sb_printf(&recv, ", first refusal at #%d", first_fail);
		report_case(rep, "many-recipients", sent.s, recv.s,
			    ok == 150 ? "accepted" : ok > 0 ? "limited" : "refused");
	}
	done(&c);

	/* 5. SIZE: declare one octet more than the server's limit. */
	sb_reset(&recv);
	sb_reset(&sent);
	if (!(ext.flags & SMTP_EXT_SIZE) || ext.size == 0) {
		report_case(rep, "size", "(EHLO)", "no SIZE limit advertised", "info");
	} else if (open_session(o, &c) == 0) {
		char params[64];
		snprintf(params, sizeof(params), "SIZE=%llu", ext.size + 1);
		r = smtp_mail(&c, "", params);
		sb_printf(&sent, "MAIL FROM:<> %s", params);
		reply_summary(&recv, &c, r);
		report_case(rep, "size", sent.s, recv.s,
			    r == SMTP_OK ? "accepted" : r == SMTP_PERM ? "refused" : "error");
		done(&c);
	}

	/* 6. A slow client: EHLO one octet every 50 ms. */
	sb_reset(&recv);
	sb_reset(&sent);
	probe_client_init(o, &c);
	if (smtp_connect(&c, o->host, o->port, o->from_ip, o->family) == SMTP_OK
	    && smtp_greeting(&c) == SMTP_OK) {
		sb_reset(&line);
		sb_printf(&line, "EHLO %s\r\n", probe_helo_name(o));
		r = SMTP_OK;
		for (size_t i = 0; i < line.len && r == SMTP_OK; i++) {
			struct timespec ts = { 0, 50 * 1000000L };
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			r = smtp_write_raw(&c, line.s + i, 1, c.t.other);
		}
		if (r == SMTP_OK)
			r = smtp_read_reply(&c, c.t.helo);
		reply_summary(&recv, &c, r);
		report_case(rep, "slow-client", "EHLO, one octet every 50 ms", recv.s,
			    r == SMTP_OK && smtp_reply_class(&c.reply) == 2 ? "accepted"
			    : "refused");
	}
	done(&c);

	/* 7. Is the server still there? */
	sb_reset(&recv);
	probe_client_init(o, &c);
	r = smtp_connect(&c, o->host, o->port, o->from_ip, o->family);
	if (r == SMTP_OK)
		r = smtp_greeting(&c);
	reply_summary(&recv, &c, r);
	report_case(rep, "survived", "(new connection)", recv.s,
		    r == SMTP_OK ? "safe" : "VULNERABLE");
	done(&c);

	sb_free(&sent);
	sb_free(&recv);
	sb_free(&line);
	return 0;
}
