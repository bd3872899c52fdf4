/* smtpprobe output: the transcript (direction marks, timestamps), byte
 * escapes, JSON strings, and small shared helpers. */
#include "probe.h"
#include "json.h"
#include "diag.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct out g_out;

long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void out_init(const struct opts *o)
{
	g_out.console = (o->quiet || o->json) ? NULL : stdout;
	g_out.file = NULL;
	g_out.start_ms = mono_ms();
	if (o->transcript) {
		g_out.file = fopen(o->transcript, "w");
		if (!g_out.file)
			msg_fatal_code(EXIT_PROBE_USAGE, "%s: %s", o->transcript, strerror(errno));
	}
}

void out_close(void)
{
	if (g_out.file)
		fclose(g_out.file);
	g_out.file = NULL;
	fflush(stdout);
}

void escape_bytes(struct strbuf *sb, const char *data, size_t len, int keep_crlf_end)
{
	if (keep_crlf_end && len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\n')
		len -= 2;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)data[i];
		switch (ch) {
		case '\r': sb_puts(sb, "\\r"); break;
		case '\n': sb_puts(sb, "\\n"); break;
		case '\t': sb_puts(sb, "\\t"); break;
		case '\\': sb_puts(sb, "\\\\"); break;
		default:
			if (ch < 0x20 || ch == 0x7f)
				sb_printf(sb, "\\x%02x", ch);
			else
				sb_putc(sb, (char)ch);
		}
	}
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int unescape(const char *s, struct strbuf *out)
{
	for (; *s; s++) {
		if (*s != '\\') {
			sb_putc(out, *s);
			continue;
		}
		s++;
		switch (*s) {
		case 'r': sb_putc(out, '\r'); break;
		case 'n': sb_putc(out, '\n'); break;
		case 't': sb_putc(out, '\t'); break;
		case '0': sb_append(out, "", 1); break;
		case '\\': sb_putc(out, '\\'); break;
		case 'x': {
			int hi = hexval((unsigned char)s[1]);
			int lo = hi >= 0 ? hexval((unsigned char)s[2]) : -1;
			if (lo < 0)
				return -1;
			char ch = (char)(hi * 16 + lo);
			sb_append(out, &ch, 1);
			s += 2;
			break;
		}
		default:
			return -1;
		}
	}
	return 0;
}

void out_transcript(void *arg, enum smtp_dir dir, const char *data, size_t len)
{
	(void)arg;
	if (g_out.muted && !g_out.file)
		return;
	struct strbuf line;
	struct timeval tv;
	struct tm tm;
	char ts[32];
	long long el = mono_ms() - g_out.start_ms;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	sb_init(&line);
	sb_printf(&line, "%s.%03ld +%lld.%03llds %s ", ts, (long)(tv.tv_usec / 1000), el / 1000,
		  el % 1000, dir == SMTP_DIR_SEND ? ">" : dir == SMTP_DIR_RECV ? "<" : "*");
	escape_bytes(&line, data, len, dir == SMTP_DIR_SEND);
	sb_putc(&line, '\n');
	if (g_out.console && !g_out.muted)
		fputs(line.s + 13, g_out.console);	/* the console shows elapsed time only */
	if (g_out.file)
		fputs(line.s, g_out.file);
	sb_free(&line);
}

/* The one JSON writer's escaping (lib/json): always valid UTF-8, latin-1
 * bytes of a server's reply as \u00XX. */
void json_strn(FILE *f, const char *s, size_t n)
{
	json_quote(f, s, n);
}

void json_str(FILE *f, const char *s)
{
	if (!s)
		fputs("null", f);
	else
		json_strn(f, s, strlen(s));
}

void split_hostport(const char *arg, struct opts *o)
{
	static char host[256];
	const char *colon;

	if (arg[0] == '[') {
		const char *rb = strchr(arg, ']');
		if (rb && (size_t)(rb - arg) < sizeof(host)) {
			memcpy(host, arg + 1, (size_t)(rb - arg - 1));
			host[rb - arg - 1] = '\0';
			o->host = host;
			if (rb[1] == ':' && rb[2])
				o->port = rb + 2;
			return;
		}
	}
	colon = strchr(arg, ':');
	if (colon && !strchr(colon + 1, ':') && (size_t)(colon - arg) < sizeof(host)) {
		memcpy(host, arg, (size_t)(colon - arg));
		host[colon - arg] = '\0';
		o->host = host;
		if (colon[1])
			o->port = colon + 1;
		return;
	}
	o->host = arg;	/* a name, IPv4, or a bare IPv6 address */
}

int read_file(const char *path, struct strbuf *sb)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char buf[8192];
	size_t n;
	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_append(sb, buf, n);
	int err = ferror(f);
	if (f != stdin)
		fclose(f);
	return err ? -1 : 0;
}

enum phase phase_parse(const char *s)
{
	static const char *names[] = { "", "connect", "banner", "helo", "mail", "rcpt", "data",
				       "dot" };
	for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (enum phase)i;
	if (strcasecmp(s, "ehlo") == 0 || strcasecmp(s, "greeting") == 0)
		return strcasecmp(s, "ehlo") == 0 ? PH_HELO : PH_BANNER;
	return PH_NONE;
}

const char *probe_helo_name(const struct opts *o)
{
	static char name[256];
	if (o->helo)
		return o->helo;
	if (!name[0] && gethostname(name, sizeof(name) - 1) != 0)
		strcpy(name, "smtpprobe.invalid");
	if (!name[0])
		strcpy(name, "smtpprobe.invalid");
	return name;
}

void probe_client_init(const struct opts *o, struct smtp_client *c)
{
	struct smtp_timeouts t;
	smtp_timeouts_all(&t, o->timeout_ms);
	smtp_client_init(c, &t);
	smtp_client_set_transcript(c, out_transcript, NULL);
}

int probe_open(const struct opts *o, struct smtp_client *c, enum phase stop_after)
{
	if (smtp_connect(c, o->host, o->port, o->from_ip, o->family) != SMTP_OK)
		return EXIT_PROBE_CONNECT;
	if (stop_after == PH_CONNECT)
		return 0;
	if (smtp_greeting(c) != SMTP_OK)
		return EXIT_PROBE_BANNER;
	if (stop_after == PH_BANNER)
		return 0;
	if (smtp_ehlo(c, probe_helo_name(o)) != SMTP_OK)
		return EXIT_PROBE_HELO;
	return 0;
}
