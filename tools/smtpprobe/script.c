/* smtpprobe --script: replays a session file.
 *
 *   # comment                 (blank lines are ignored too)
 *   > TEXT                    send TEXT and CRLF (escapes: \r \n \t \\ \xHH \0)
 *   >> TEXT                   send TEXT exactly, no CRLF added
 *   < CODE [/REGEX/]          read one reply: CODE is 250, 2xx, 2 or *; the
 *   < /REGEX/                 POSIX extended REGEX must match its raw lines
 *   expect close              the server closes the connection
 *   pause SECONDS             wait (decimals allowed)
 *   timeout SECONDS           the reply timeout from here on
 *
 * The first unmet expectation ends the run with its line number. */
#include "probe.h"
#include "diag.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the failing step expected and what the server gave, for --json;
 * set by eg() just before script_fail(), which reports and clears them. */
static char eg_expected[512], eg_got[4096];

static void eg(const char *expected, const char *got)
{
	snprintf(eg_expected, sizeof(eg_expected), "%s", expected ? expected : "");
	snprintf(eg_got, sizeof(eg_got), "%s", got ? got : "");
}

static int script_fail(const struct opts *o, size_t lineno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int script_fail(const struct opts *o, size_t lineno, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%zu: ", o->script, lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (o->json) {
		fputs("{\"script\":", stdout);
		json_str(stdout, o->script);
		printf(",\"result\":\"failed\",\"line\":%zu", lineno);
		if (eg_expected[0]) {
			fputs(",\"expected\":", stdout);
			json_str(stdout, eg_expected);
			fputs(",\"got\":", stdout);
			json_str(stdout, eg_got[0] ? eg_got : NULL);
		}
		fputs("}\n", stdout);
	}
	eg_expected[0] = eg_got[0] = '\0';
	return EXIT_PROBE_SCRIPT;
}

/* Does the code pattern ("250", "2xx", "2", "*") match code? */
static int code_matches(const char *pat, size_t n, int code)
{
	char c3[4];
	snprintf(c3, sizeof(c3), "%03d", code);
	if (n == 1 && pat[0] == '*')
		return 1;
	if (n == 1)
		return pat[0] == c3[0];
	if (n != 3)
		return 0;
	for (size_t i = 0; i < 3; i++)
		if (tolower((unsigned char)pat[i]) != 'x' && pat[i] != c3[i])
			return 0;
	return 1;
}

static int is_code_pattern(const char *p, size_t n)
{
	if (n == 1)
		return *p == '*' || (*p >= '1' && *p <= '5');
	if (n != 3)
		return 0;
	for (size_t i = 0; i < 3; i++)
		if (!isdigit((unsigned char)p[i]) && tolower((unsigned char)p[i]) != 'x')
			return 0;
	return 1;
}

static int expect_reply(const struct opts *o, struct smtp_client *c, size_t lineno,
			const char *arg, int timeout_ms)
{
	const char *p = arg;
	const char *code = NULL;
	size_t codelen = 0;

	while (*p == ' ')
		p++;
	if (*p && *p != '/') {
		code = p;
		while (*p && *p != ' ')
			p++;
		codelen = (size_t)(p - code);
		if (!is_code_pattern(code, codelen))
			return script_fail(o, lineno, "bad reply code pattern '%.*s'", (int)codelen,
					   code);
		while (*p == ' ')
			p++;
	}
	char *rx = NULL;
	if (*p == '/') {
		size_t n = strlen(p);
		while (n > 1 && p[n - 1] == ' ')
			n--;
		if (n < 2 || p[n - 1] != '/')
			return script_fail(o, lineno, "a regex is written /like this/");
		rx = strndup(p + 1, n - 2);
	} else if (*p) {
		return script_fail(o, lineno, "unexpected text after the reply code: %s", p);
	}

	enum smtp_result r = smtp_read_reply(c, timeout_ms);
	char want[512];
	snprintf(want, sizeof(want), "%.*s%s%s%s%s", (int)codelen, code ? code : "",
		 code && rx ? " " : "", rx ? "/" : "", rx ? rx : "", rx ? "/" : "");
	if (r != SMTP_OK) {
		eg(want, NULL);
		free(rx);
		return script_fail(o, lineno, "expected a reply%s%.*s, got none: %s",
				   code ? " " : "", (int)codelen, code ? code : "", c->err.s);
	}
	if (code && !code_matches(code, codelen, c->reply.code)) {
		eg(want, c->reply.raw.s);
		free(rx);
		return script_fail(o, lineno, "expected %.*s, got: %s", (int)codelen, code,
				   c->reply.raw.s);
	}
	if (rx) {
		regex_t re;
		int e = regcomp(&re, rx, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
		if (e != 0) {
			char buf[128];
			regerror(e, &re, buf, sizeof(buf));
			free(rx);
			return script_fail(o, lineno, "bad regex: %s", buf);
		}
		int m = regexec(&re, c->reply.raw.s, 0, NULL, 0);
		regfree(&re);
		if (m != 0) {
			eg(want, c->reply.raw.s);
			int rc = script_fail(o, lineno, "expected /%s/, got: %s", rx, c->reply.raw.s);
			free(rx);
			return rc;
		}
		free(rx);
	}
	return 0;
}

static int parse_seconds(const char *s, int *ms)
{
	char *end;
	double v = strtod(s, &end);
	while (*end == ' ' || *end == 's')
		end++;
	if (end == s || *end || v < 0 || v > 86400)
		return -1;
	*ms = (int)(v * 1000);
	return 0;
}

int run_script(const struct opts *o)
{
	FILE *f = strcmp(o->script, "-") == 0 ? stdin : fopen(o->script, "r");
	struct smtp_client c;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int rc = 0;
	int timeout_ms = o->timeout_ms;

	if (!f) {
		fprintf(stderr, "smtpprobe: %s: %s\n", o->script, strerror(errno));
		return EXIT_PROBE_USAGE;
	}
	probe_client_init(o, &c);
	if (smtp_connect(&c, o->host, o->port, o->from_ip, o->family) != SMTP_OK) {
		fprintf(stderr, "smtpprobe: %s\n", c.err.s);
		rc = EXIT_PROBE_CONNECT;
		goto out;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (p[0] == '>') {
			struct strbuf data;
			int raw = p[1] == '>';
			const char *text = p + 1 + raw;
			if (*text == ' ')
				text++;
			sb_init(&data);
			if (unescape(text, &data) < 0) {
				sb_free(&data);
				rc = script_fail(o, lineno, "bad escape in: %s", text);
				break;
			}
			if (!raw)
				sb_append(&data, "\r\n", 2);
			enum smtp_result r = smtp_write_raw(&c, data.s, data.len, timeout_ms);
			sb_free(&data);
			if (r != SMTP_OK) {
				rc = script_fail(o, lineno, "cannot send: %s", c.err.s);
				break;
			}
		} else if (p[0] == '<') {
			rc = expect_reply(o, &c, lineno, p + 1, timeout_ms);
			if (rc)
				break;
		} else if (strncmp(p, "expect close", 12) == 0) {
			enum smtp_result r = smtp_read_reply(&c, timeout_ms);
			if (r == SMTP_OK || !c.eof || c.reply.nlines) {
				eg("close", r == SMTP_OK ? c.reply.raw.s : NULL);
				rc = script_fail(o, lineno, "expected the server to close, got: %s",
						 r == SMTP_OK ? c.reply.raw.s : c.err.s);
				break;
			}
		} else if (strncmp(p, "pause", 5) == 0 || strncmp(p, "timeout", 7) == 0) {
			int ms;
			int is_pause = p[0] == 'p';
			const char *arg = p + (is_pause ? 5 : 7);
			while (*arg == ' ')
				arg++;
			if (parse_seconds(arg, &ms) < 0) {
				rc = script_fail(o, lineno, "wants a number of seconds: %s", p);
				break;
			}
			if (is_pause) {
				struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
				while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
					;
			} else {
				timeout_ms = ms;
			}
		} else {
			rc = script_fail(o, lineno, "unknown step: %s", p);
			break;
		}
	}
	if (rc == 0 && o->json) {
		fputs("{\"script\":", stdout);
		json_str(stdout, o->script);
		printf(",\"result\":\"ok\",\"line\":%zu}\n", lineno);
	}
out:
	free(line);
	if (f != stdin)
		fclose(f);
	smtp_client_free(&c);
	return rc;
}
