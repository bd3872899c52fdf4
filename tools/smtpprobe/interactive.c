/* smtpprobe interactive mode: a readline prompt with history and SMTP
 * verb completion; DATA takes multi-line input ending with a lone "."
 * and sends it with CRLF and dot-stuffing.  Without a terminal, lines
 * are read from stdin as they come (`cat session | smtpprobe host`).
 * --record FILE saves the session as a --script file. */
#include "probe.h"
#include "diag.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

static const char *verbs[] = {
	"EHLO ", "HELO ", "MAIL FROM:<", "RCPT TO:<", "DATA", "RSET", "NOOP", "QUIT",
	"VRFY ", "EXPN ", "HELP", "STARTTLS", NULL,
};

static char *verb_generator(const char *text, int state)
{
	static size_t idx, len;
	if (!state) {
		idx = 0;
		len = strlen(text);
	}
	while (verbs[idx]) {
		const char *v = verbs[idx++];
		if (strncasecmp(v, text, len) == 0)
			return xstrdup(v);
	}
	return NULL;
}

static char **verb_completion(const char *text, int start, int end)
{
	(void)end;
	rl_attempted_completion_over = 1;
	if (start != 0)
		return NULL;
	return rl_completion_matches(text, verb_generator);
}

static int use_readline;

/* One line of input, without its newline; NULL at EOF.  Caller frees. */
static char *get_line(const char *prompt)
{
	if (use_readline) {
		char *l = readline(prompt);
		if (l && *l)
			add_history(l);
		return l;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static void record_send(FILE *rec, const char *prefix, const char *data, size_t len)
{
	if (!rec)
		return;
	struct strbuf sb;
	sb_init(&sb);
	escape_bytes(&sb, data, len, 0);
	fprintf(rec, "%s %s\n", prefix, sb.s);
	sb_free(&sb);
}

static void record_reply(FILE *rec, const struct smtp_client *c)
{
	if (rec)
		fprintf(rec, "< %03d\n", c->reply.code);
}

int run_interactive(const struct opts *o)
{
	struct smtp_client c;
	FILE *rec = NULL;
	int rc = 0;

	use_readline = isatty(0);
	if (use_readline) {
		rl_readline_name = "smtpprobe";
		rl_attempted_completion_function = verb_completion;
	}
	if (o->record) {
		rec = fopen(o->record, "w");
		if (!rec) {
			fprintf(stderr, "smtpprobe: %s: %s\n", o->record, strerror(errno));
			return EXIT_PROBE_USAGE;
		}
		fprintf(rec, "# recorded by smtpprobe; replay with smtpprobe --script FILE HOST\n");
	}
	probe_client_init(o, &c);
	if (g_out.console == NULL && !o->quiet)
		g_out.console = stdout;
	if (smtp_connect(&c, o->host, o->port, o->from_ip, o->family) != SMTP_OK) {
		rc = EXIT_PROBE_CONNECT;
		goto out;
	}
	if (smtp_read_reply(&c, c.t.greeting) != SMTP_OK) {
		rc = EXIT_PROBE_BANNER;
		goto out;
	}
	record_reply(rec, &c);
	for (;;) {
		char *line = get_line(use_readline ? "smtp> " : "");
		if (!line)
			break;
		if (strpbrk(line, "\r\n")) {
			free(line);
			continue;
		}
		struct strbuf out;
		sb_init(&out);
		sb_puts(&out, line);
		sb_append(&out, "\r\n", 2);
		record_send(rec, ">", line, strlen(line));
		if (strcasecmp(line, "STARTTLS") == 0) {
			/* The command, the 220, the handshake (transcript notes). */
			free(line);
			sb_free(&out);
			if (probe_starttls(o, &c) != 0 && (c.fd < 0 || c.eof))
				break;
			record_reply(rec, &c);
			continue;
		}
		int is_data = strcasecmp(line, "DATA") == 0;
		int is_quit = strcasecmp(line, "QUIT") == 0;
		free(line);
		enum smtp_result r = smtp_write_raw(&c, out.s, out.len, c.t.other);
		sb_free(&out);
		if (r == SMTP_OK)
			r = smtp_read_reply(&c, is_data ? c.t.data_init : c.t.other);
		if (r != SMTP_OK)
			break;
		record_reply(rec, &c);
		if (is_quit || c.reply.code == 221 || c.reply.code == 421)
			break;
		if (!is_data || c.reply.code != 354)
			continue;
		/* Message text, up to a line with a lone ".". */
		struct strbuf body, wire;
		struct smtp_dotstuff d;
		sb_init(&body);
		for (;;) {
			char *l = get_line(use_readline ? "data> " : "");
			if (!l || strcmp(l, ".") == 0) {
				free(l);
				break;
			}
			sb_puts(&body, l);
			sb_putc(&body, '\n');
			free(l);
		}
		sb_init(&wire);
		smtp_dotstuff_init(&d);
		smtp_dotstuff(&d, body.s, body.len, &wire);
		smtp_dotstuff_end(&d, &wire);
		record_send(rec, ">>", wire.s, wire.len);
		r = smtp_write_raw(&c, wire.s, wire.len, c.t.data_block);
		sb_free(&body);
		sb_free(&wire);
		if (r == SMTP_OK)
			r = smtp_read_reply(&c, c.t.data_term);
		if (r != SMTP_OK)
			break;
		record_reply(rec, &c);
	}
	if (c.eof && rec)
		fprintf(rec, "expect close\n");
out:
	if (rec)
		fclose(rec);
	smtp_client_close(&c);
	probe_tls_close();
	smtp_client_free(&c);
	return rc;
}
