/* smtpprobe: shared declarations of the tool's small files.
 *   main.c        options, dispatch, exit codes
 *   output.c      transcript (console/file, timestamps), JSON and escapes
 *   send.c        the quick send (swaks-like)
 *   script.c      --script replay with expectations
 *   battery.c     --test framework and the relay, forgery, greetpause,
 *                 harvest batteries
 *   smuggle.c     the smuggling battery
 *   limits.c      the limits battery
 *   interactive.c readline session (and --record)
 *   tls.c         STARTTLS through OpenSSL
 * Every SMTP byte goes through lib/smtp_client. */
#ifndef SMTPPROBE_PROBE_H
#define SMTPPROBE_PROBE_H
#include <stdio.h>

#include "smtp_client.h"
#include "strbuf.h"

/* Exit codes (documented in man/smtpprobe.1). */
enum {
	EXIT_PROBE_OK = 0,
	EXIT_PROBE_USAGE = 64,		/* sysexits EX_USAGE, as every tool */
	EXIT_PROBE_CONNECT = 69,	/* EX_UNAVAILABLE */
	EXIT_PROBE_INTERNAL = 70,	/* EX_SOFTWARE */
	EXIT_PROBE_BANNER = 21,
	EXIT_PROBE_HELO = 22,
	EXIT_PROBE_MAIL = 23,
	EXIT_PROBE_RCPT = 24,
	EXIT_PROBE_DATA = 25,
	EXIT_PROBE_DOT = 26,
	EXIT_PROBE_AUTH = 27,
	EXIT_PROBE_TLS = 29,
	EXIT_PROBE_SCRIPT = 30,
	EXIT_PROBE_VULNERABLE = 40,
};

enum phase {
	PH_NONE, PH_CONNECT, PH_BANNER, PH_HELO, PH_MAIL, PH_RCPT, PH_DATA, PH_DOT,
};

struct opts {
	const char *host;
	const char *port;
	int family;
	const char *from_ip;
	const char *helo;
	const char *from;
	const char **to;
	size_t nto;
	const char **headers;
	size_t nheaders;
	const char *body;
	const char *data;
	enum phase quit_after;
	int pipeline;
	int timeout_ms;
	const char *transcript;
	int json;
	int quiet;
	const char *script;
	const char *record;
	const char **tests;
	size_t ntests;
	const char *relay_domain;
	const char *local_domain;
	const char *rcpt;	/* an address the server accepts, for batteries */
	int starttls;
	const char *auth;		/* PLAIN or LOGIN, or NULL */
	const char *auth_user;
	const char *auth_password;	/* from --auth-password-file or $SMTPPROBE_PASSWORD */
};

/* output.c */
struct out {
	FILE *console;	/* stdout, or NULL when --quiet or --json */
	FILE *file;	/* --transcript */
	long long start_ms;
	int muted;	/* batteries silence the transcript on the console */
};
extern struct out g_out;
void out_init(const struct opts *o);
void out_close(void);
void out_transcript(void *arg, enum smtp_dir dir, const char *data, size_t len);
/* Appends data with C-like escapes for control octets ("\r", "\n", "\x00");
 * keep_crlf_end drops a final CRLF instead of escaping it. */
void escape_bytes(struct strbuf *sb, const char *data, size_t len, int keep_crlf_end);
/* Decodes escapes (\r \n \t \\ \xHH \0) in s into out; -1 on a bad escape. */
int unescape(const char *s, struct strbuf *out);
void json_str(FILE *f, const char *s);
void json_strn(FILE *f, const char *s, size_t n);
long long mono_ms(void);
/* Splits "HOST[:PORT]", "[v6]:PORT", "v6" into the options. */
void split_hostport(const char *arg, struct opts *o);

/* Connects, reads the banner, says EHLO.  Returns 0 or an exit code. */
int probe_open(const struct opts *o, struct smtp_client *c, enum phase stop_after);
void probe_client_init(const struct opts *o, struct smtp_client *c);
const char *probe_helo_name(const struct opts *o);
/* Reads a whole file ("-" = stdin) into sb; -1 on error. */
int read_file(const char *path, struct strbuf *sb);
enum phase phase_parse(const char *s);

/* tls.c: STARTTLS and the handshake; 0 or EXIT_PROBE_TLS. */
int probe_starttls(const struct opts *o, struct smtp_client *c);
void probe_tls_close(void);

/* auth.c: AUTH PLAIN or LOGIN after EHLO; 0 or EXIT_PROBE_AUTH.  The
 * credentials never appear in the transcript. */
int probe_auth(const struct opts *o, struct smtp_client *c);

int run_send(const struct opts *o);
int run_script(const struct opts *o);
int run_batteries(const struct opts *o);
int run_interactive(const struct opts *o);

/* battery.c: shared by the batteries */
struct report;
struct report *report_new(const char *battery);
void report_case(struct report *r, const char *name, const char *sent, const char *received,
		 const char *verdict);
int battery_relay(const struct opts *o, struct report *r);
int battery_forgery(const struct opts *o, struct report *r);
int battery_greetpause(const struct opts *o, struct report *r);
int battery_harvest(const struct opts *o, struct report *r);
int battery_smuggling(const struct opts *o, struct report *r);
int battery_limits(const struct opts *o, struct report *r);
/* The server's own domain: --local-domain, else the name in its banner. */
const char *server_domain(const struct opts *o, const struct smtp_client *c, char *buf,
			  size_t bufsz);
/* Appends the raw lines of c->reply ("NNN text | NNN text") to sb, or the
 * error text when there was no reply. */
void reply_summary(struct strbuf *sb, const struct smtp_client *c, int r);

#endif
