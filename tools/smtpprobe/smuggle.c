/* smtpprobe --test smuggling: does the server end DATA at anything but
 * CRLF.CRLF?  Each case sends a message whose text contains one of the
 * end-of-data look-alikes from the 2023 SMTP smuggling research, followed
 * by a complete second transaction, the real CRLF.CRLF and QUIT, all in
 * one write.  A safe server answers once for the whole text (accepted as
 * one message, or refused); a vulnerable one answers the smuggled MAIL,
 * RCPT and DATA as commands of their own. */
#include "probe.h"

#include <string.h>

static const struct {
	const char *name;
	const char *bytes;
	size_t len;
} variants[] = {
#define V(name, s) { name, s, sizeof(s) - 1 }
	V("lf-dot-lf", "\n.\n"),
	V("lf-dot-crlf", "\n.\r\n"),
	V("cr-dot-cr", "\r.\r"),
	V("cr-dot-lf", "\r.\n"),
	V("lf-dot-cr", "\n.\r"),
	V("crlf-dot-lf", "\r\n.\n"),
	V("cr-dot-crlf", "\r.\r\n"),
	V("crlf-dot-cr", "\r\n.\r"),
	V("crlf-nul-dot-crlf", "\r\n\0.\r\n"),
	V("crlf-dot-nul-crlf", "\r\n.\0\r\n"),
	V("crlf-dot-cr-crlf", "\r\n.\r\r\n"),
	V("lf-lf-dot-lf-lf", "\n\n.\n\n"),
#undef V
};

/* Sends one case; appends what came back to recv.  Returns the number of
 * replies to the message text (the QUIT reply not counted), -1 when the
 * case could not be set up; *second_ok is set when a 354 came back and
 * the smuggled message was then accepted. */
static int one_case(const struct opts *o, const char *rcpt, const char *bytes, size_t len,
		    const char *name, struct strbuf *recv, int *second_ok)
{
	struct smtp_client c;
	struct strbuf msg;
	int n = 0, saw354 = 0;

	*second_ok = 0;
	probe_client_init(o, &c);
	if (smtp_connect(&c, o->host, o->port, o->from_ip, o->family) != SMTP_OK
	    || smtp_greeting(&c) != SMTP_OK || smtp_ehlo(&c, probe_helo_name(o)) != SMTP_OK) {
		reply_summary(recv, &c, SMTP_IOERR);
		smtp_client_free(&c);
		return -1;
	}
	sb_init(&msg);
	sb_printf(&msg, "smuggle-test@outside-%s", o->relay_domain);
	if (smtp_mail(&c, msg.s, NULL) != SMTP_OK || smtp_rcpt(&c, rcpt, NULL) != SMTP_OK
	    || smtp_data_begin(&c) != SMTP_OK) {
		sb_puts(recv, "setup failed: ");
		reply_summary(recv, &c, SMTP_OK);
		smtp_client_free(&c);
		sb_free(&msg);
		return -1;
	}
	sb_reset(&msg);
	sb_printf(&msg, "From: <smuggle-test@outside-%s>\r\nTo: <%s>\r\n"
		  "Subject: smtpprobe smuggling test %s\r\n\r\nfirst message", o->relay_domain,
		  rcpt, name);
	sb_append(&msg, bytes, len);
	sb_printf(&msg, "MAIL FROM:<smuggled@outside-%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
		  "From: <smuggled@outside-%s>\r\nTo: <%s>\r\nSubject: smuggled %s\r\n\r\n"
		  "smuggled message\r\n.\r\nQUIT\r\n", o->relay_domain, rcpt, o->relay_domain,
		  rcpt, name);
	if (smtp_write_raw(&c, msg.s, msg.len, c.t.data_block) != SMTP_OK) {
		reply_summary(recv, &c, SMTP_IOERR);
		smtp_client_free(&c);
		sb_free(&msg);
		return -1;
	}
	for (;;) {
		enum smtp_result r = smtp_read_reply(&c, c.t.data_term);
		if (r != SMTP_OK) {
			if (!c.eof) {	/* a timeout or garbage: note it */
				if (recv->len)
					sb_puts(recv, " | ");
				reply_summary(recv, &c, r);
			}
			break;
		}
		if (recv->len)
			sb_puts(recv, " | ");
		reply_summary(recv, &c, r);
		if (c.reply.code == 221)
			break;
		n++;
		if (c.reply.code == 354)
			saw354 = 1;
		else if (saw354 && smtp_reply_class(&c.reply) == 2)
			*second_ok = 1;
	}
	smtp_client_free(&c);
	sb_free(&msg);
	return n;
}

int battery_smuggling(const struct opts *o, struct report *rep)
{
	char rcptbuf[300];
	const char *rcpt = o->rcpt ? o->rcpt : o->nto ? o->to[0] : NULL;

	if (!rcpt) {
		/* Learn the server's name for postmaster@name. */
		struct smtp_client c;
		char dom[256];
		probe_client_init(o, &c);
		if (smtp_connect(&c, o->host, o->port, o->from_ip, o->family) != SMTP_OK
		    || smtp_greeting(&c) != SMTP_OK || smtp_ehlo(&c, probe_helo_name(o)) != SMTP_OK) {
			smtp_client_free(&c);
			return EXIT_PROBE_CONNECT;
		}
		snprintf(rcptbuf, sizeof(rcptbuf), "postmaster@%s",
			 server_domain(o, &c, dom, sizeof(dom)));
		smtp_quit(&c);
		smtp_client_free(&c);
		rcpt = rcptbuf;
	}

	/* Control: a proper CRLF.CRLF and a pipelined second transaction. */
	{
		struct strbuf recv;
		int second;
		sb_init(&recv);
		int n = one_case(o, rcpt, "\r\n.\r\n", 5, "control", &recv, &second);
		report_case(rep, "control-crlf-dot-crlf",
			    "message, \\r\\n.\\r\\n, second transaction, \\r\\n.\\r\\n, QUIT",
			    recv.s, n < 0 ? "error" : second ? "info: second message accepted"
			    : "info: second transaction refused");
		sb_free(&recv);
	}
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct strbuf sent, recv;
		int second;
		const char *verdict;
		sb_init(&sent);
		sb_init(&recv);
		sb_puts(&sent, "message, ");
		escape_bytes(&sent, variants[i].bytes, variants[i].len, 0);
		sb_puts(&sent, ", MAIL/RCPT/DATA of a second message, \\r\\n.\\r\\n, QUIT");
		int n = one_case(o, rcpt, variants[i].bytes, variants[i].len, variants[i].name,
				 &recv, &second);
		if (n < 0)
			verdict = "error";
		else if (n <= 1)
			verdict = "safe";
		else
			verdict = "VULNERABLE";
		if (n > 1)
			sb_puts(&recv, second ? "  [ended DATA early; smuggled message accepted]"
					      : "  [ended DATA early]");
		report_case(rep, variants[i].name, sent.s, recv.s, verdict);
		sb_free(&sent);
		sb_free(&recv);
	}
	return 0;
}
