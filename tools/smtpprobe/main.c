/* smtpprobe: talk SMTP by hand, send test messages, replay scripted
 * sessions and run test batteries against a mail server.  This file:
 * options, help text and dispatch.  Exit codes are in probe.h. */
#include "version.h"
#include "probe.h"
#include "diag.h"
#include "xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage_text[] =
"usage: smtpprobe [options] HOST[:PORT]\n"
"       smtpprobe --to ADDR [send options] HOST[:PORT]      quick send\n"
"       smtpprobe --script FILE HOST[:PORT]                 replay a session\n"
"       smtpprobe --test NAME [--test NAME...] HOST[:PORT]  test batteries\n"
"\n"
"Connection:\n"
"  -p, --port PORT         server port (default 25)\n"
"  -4, -6                  use IPv4 or IPv6 only\n"
"      --from-ip ADDR      local address to connect from\n"
"      --helo NAME         name for EHLO/HELO (default: this host's name)\n"
"      --timeout SECONDS   timeout for each step (default 30)\n"
"      --starttls          STARTTLS after EHLO (quick send), then EHLO again\n"
"      --auth MECH         AUTH PLAIN or LOGIN after EHLO (and STARTTLS), quick send\n"
"      --auth-user NAME    the user for --auth\n"
"      --auth-password-file FILE  its password (first line); else $SMTPPROBE_PASSWORD\n"
"Quick send:\n"
"  -f, --from ADDR         envelope sender (default probe@HELO-NAME; \"\" is <>)\n"
"  -t, --to ADDR           recipient (repeatable)\n"
"      --header 'N: V'     add or replace a header (repeatable)\n"
"      --body TEXT|@FILE   message body (\\n escapes in TEXT; - reads stdin)\n"
"      --data TEXT|@FILE   whole message, headers included (- reads stdin)\n"
"      --quit-after PHASE  connect, banner, helo, mail, rcpt, data or dot\n"
"      --pipeline          send MAIL, RCPT and DATA in one go (RFC 2920)\n"
"Replay:\n"
"      --script FILE       run a session file (see smtpprobe(1))\n"
"      --record FILE       interactive: save the session as a script\n"
"Batteries:\n"
"      --test NAME         relay, forgery, smuggling, greetpause, harvest,\n"
"                          limits, or all (repeatable)\n"
"      --relay-domain DOM  foreign domain for relay tests (default example.net)\n"
"      --local-domain DOM  the server's own domain (default: from its banner)\n"
"      --rcpt ADDR         a recipient the server accepts (default\n"
"                          postmaster@LOCAL-DOMAIN, or the first --to)\n"
"Output:\n"
"      --transcript FILE   write the transcript with timestamps to FILE\n"
"      --json              print a JSON summary instead of the transcript\n"
"  -q, --quiet             print nothing but errors\n"
"  -h, --help              this help\n"
"      --version           print the version\n"
"\n"
"Without --to, --script or --test: an interactive session.\n"
"Exit: 0 ok, 64 usage, 69 connect, 70 internal, 21 banner, 22 helo, 23 mail,\n"
"24 no recipient accepted, 25 data, 26 message refused after the dot,\n"
"29 STARTTLS failed, 30 script expectation unmet, 40 a battery found the server vulnerable.\n";

enum {
	OPT_FROM_IP = 256, OPT_HELO, OPT_TIMEOUT, OPT_STARTTLS, OPT_AUTH, OPT_AUTH_USER, OPT_AUTH_PWFILE, OPT_HEADER, OPT_BODY, OPT_DATA,
	OPT_QUIT_AFTER, OPT_PIPELINE, OPT_SCRIPT, OPT_RECORD, OPT_TEST, OPT_RELAY_DOMAIN,
	OPT_LOCAL_DOMAIN, OPT_RCPT, OPT_TRANSCRIPT, OPT_JSON, OPT_VERSION,
};

static const struct option longopts[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "from-ip", required_argument, NULL, OPT_FROM_IP },
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "ehlo", required_argument, NULL, OPT_HELO },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "starttls", no_argument, NULL, OPT_STARTTLS },
	{ "auth", required_argument, NULL, OPT_AUTH },
	{ "auth-user", required_argument, NULL, OPT_AUTH_USER },
	{ "auth-password-file", required_argument, NULL, OPT_AUTH_PWFILE },
	{ "from", required_argument, NULL, 'f' },
	{ "to", required_argument, NULL, 't' },
	{ "header", required_argument, NULL, OPT_HEADER },
	{ "body", required_argument, NULL, OPT_BODY },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "quit-after", required_argument, NULL, OPT_QUIT_AFTER },
	{ "pipeline", no_argument, NULL, OPT_PIPELINE },
	{ "script", required_argument, NULL, OPT_SCRIPT },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "test", required_argument, NULL, OPT_TEST },
	{ "relay-domain", required_argument, NULL, OPT_RELAY_DOMAIN },
	{ "local-domain", required_argument, NULL, OPT_LOCAL_DOMAIN },
	{ "rcpt", required_argument, NULL, OPT_RCPT },
	{ "transcript", required_argument, NULL, OPT_TRANSCRIPT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void usage_error(const char *msg)
{
	fprintf(stderr, "smtpprobe: %s\n", msg);
	fputs("Try 'smtpprobe --help'.\n", stderr);
	exit(EXIT_PROBE_USAGE);
}

/* A port is a number from 1 to 65535 or a service name known to
 * /etc/services ("smtp", "submission"); anything else is refused before
 * a connection is tried. */
static void check_port(const char *port)
{
	char msg[512];
	if (*port == '\0')
		usage_error("empty port number (give 1-65535, e.g. 25, 587 or 465)");
	if (strspn(port, "0123456789") == strlen(port)) {
		char *end;
		errno = 0;
		unsigned long n = strtoul(port, &end, 10);
		if (errno == 0 && n >= 1 && n <= 65535)
			return;
		snprintf(msg, sizeof(msg), "port %s out of range (give 1-65535, e.g. 25, 587 or 465)",
			 port);
		usage_error(msg);
	}
	if (port[0] == '-' || port[0] == '+') {
		snprintf(msg, sizeof(msg), "port %s out of range (give 1-65535, e.g. 25, 587 or 465)",
			 port);
		usage_error(msg);
	}
	if (getservbyname(port, "tcp") == NULL) {
		snprintf(msg, sizeof(msg), "port %s is neither a number (1-65535) nor a service "
			 "name in /etc/services", port);
		usage_error(msg);
	}
}

static const char **push(const char **v, size_t *n, const char *s)
{
	v = xreallocarray(v, *n + 1, sizeof(*v));
	v[(*n)++] = s;
	return v;
}

int main(int argc, char **argv)
{
	struct opts o;
	int ch;

	diag_init(argv[0], DIAG_STDERR);
	memset(&o, 0, sizeof(o));
	o.port = "25";
	o.family = AF_UNSPEC;
	o.timeout_ms = 30000;
	o.relay_domain = "example.net";

	while ((ch = getopt_long(argc, argv, "p:46f:t:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': o.port = optarg; break;
		case '4': o.family = AF_INET; break;
		case '6': o.family = AF_INET6; break;
		case OPT_FROM_IP: o.from_ip = optarg; break;
		case OPT_HELO: o.helo = optarg; break;
		case OPT_TIMEOUT: {
			char *end;
			double s = strtod(optarg, &end);
			if (*end || s <= 0 || s > 86400)
				usage_error("--timeout wants a number of seconds");
			o.timeout_ms = (int)(s * 1000);
			break;
		}
		case OPT_STARTTLS: o.starttls = 1; break;
		case OPT_AUTH:
			if (strcasecmp(optarg, "PLAIN") && strcasecmp(optarg, "LOGIN"))
				usage_error("--auth wants PLAIN or LOGIN");
			o.auth = optarg;
			break;
		case OPT_AUTH_USER: o.auth_user = optarg; break;
		case OPT_AUTH_PWFILE: {
			struct strbuf pw;
			sb_init(&pw);
			if (read_file(optarg, &pw) < 0)
				usage_error("--auth-password-file: cannot read the file");
			pw.s[strcspn(pw.s, "\r\n")] = '\0';
			o.auth_password = pw.s;		/* kept for the run */
			break;
		}
		case 'f': o.from = optarg; break;
		case 't': o.to = push(o.to, &o.nto, optarg); break;
		case OPT_HEADER:
			if (!strchr(optarg, ':'))
				usage_error("--header wants 'Name: value'");
			o.headers = push(o.headers, &o.nheaders, optarg);
			break;
		case OPT_BODY: o.body = optarg; break;
		case OPT_DATA: o.data = optarg; break;
		case OPT_QUIT_AFTER:
			o.quit_after = phase_parse(optarg);
			if (o.quit_after == PH_NONE)
				usage_error("--quit-after wants connect, banner, helo, mail, rcpt, "
					    "data or dot");
			break;
		case OPT_PIPELINE: o.pipeline = 1; break;
		case OPT_SCRIPT: o.script = optarg; break;
		case OPT_RECORD: o.record = optarg; break;
		case OPT_TEST: o.tests = push(o.tests, &o.ntests, optarg); break;
		case OPT_RELAY_DOMAIN: o.relay_domain = optarg; break;
		case OPT_LOCAL_DOMAIN: o.local_domain = optarg; break;
		case OPT_RCPT: o.rcpt = optarg; break;
		case OPT_TRANSCRIPT: o.transcript = optarg; break;
		case OPT_JSON: o.json = 1; break;
		case 'q': o.quiet = 1; break;
		case 'h': fputs(usage_text, stdout); return EXIT_PROBE_OK;
		case OPT_VERSION: version_print(stdout, "smtpprobe"); return EXIT_PROBE_OK;
		default:
			fputs("Try 'smtpprobe --help'.\n", stderr);
			return EXIT_PROBE_USAGE;
		}
	}
	if (optind != argc - 1)
		usage_error(optind >= argc ? "no server given" : "more than one server given");
	split_hostport(argv[optind], &o);
	check_port(o.port);
	if (o.auth && !o.auth_password)
		o.auth_password = getenv("SMTPPROBE_PASSWORD");
	if (o.auth && (!o.auth_user || !o.auth_password))
		usage_error("--auth needs --auth-user and a password (--auth-password-file or $SMTPPROBE_PASSWORD)");
	if (o.body && o.data)
		usage_error("--body and --data exclude each other");
	if ((o.script != NULL) + (o.ntests > 0) > 1)
		usage_error("--script and --test exclude each other");

	out_init(&o);
	int rc;
	if (o.script)
		rc = run_script(&o);
	else if (o.ntests)
		rc = run_batteries(&o);
	else if (o.nto || o.quit_after || o.data || o.body || o.json)
		rc = run_send(&o);
	else
		rc = run_interactive(&o);
	out_close();
	free(o.to);
	free(o.headers);
	free(o.tests);
	return rc;
}
