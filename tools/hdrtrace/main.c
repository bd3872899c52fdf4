/* hdrtrace: rebuild the Received: hop chain of messages and judge it.
 * This file: options, the per-message loop, exit codes. */
#include "version.h"
#include "hdrtrace.h"
#include "diag.h"
#include "dns.h"
#include "xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static const char usage_text[] =
	"Usage: hdrtrace [OPTION]... [FILE]...\n"
	"Rebuild the Received: hop chain of each message and judge it.\n"
	"FILE is a message, an mbox, a Maildir or a directory of messages;\n"
	"with no FILE, or when FILE is -, read standard input.\n"
	"\n"
	"  -t, --trusted=SPEC        a domain, host, IP or CIDR you control (repeatable)\n"
	"  -T, --trusted-file=FILE   read trusted SPECs from FILE, one a line, # comments\n"
	"  -j, --json                one JSON object per message (JSON Lines)\n"
	"  -b, --block-ip            print only the IP of the first untrusted hop\n"
	"      --tolerance=SECONDS   time-reversal tolerance (default 300)\n"
	"  -l, --log=FILE            link each hop's queue ID to its lines in a mail log\n"
	"                            (plain or .gz; repeatable)\n"
	"  -k, --dkim-key=FILE       DKIM/ARC public keys (zone-file TXT lines; repeatable)\n"
	"      --dns                 live PTR, forward, DNSBL and DKIM key lookups (off by default)\n"
	"      --dnsbl=ZONE          DNSBL zone for --dns (repeatable; default zen.spamhaus.org)\n"
	"      --resolver=ADDR[:PORT]  DNS server for --dns (default: /etc/resolv.conf)\n"
	"      --dns-timeout=SECONDS per-query timeout for --dns (default 2)\n"
	"      --color[=WHEN]        colour: auto (default, on a terminal), always, never\n"
	"      --no-color            same as --color=never\n"
	"  -h, --help                show this help and exit\n"
	"  -V, --version             show the version and exit\n"
	"\n"
	"Exit status: 0 no verdict, 1 at least one verdict, 64 usage error,\n"
	"66 an input could not be read or held no message.\n";

enum { OPT_TOLERANCE = 256, OPT_DNS, OPT_DNSBL, OPT_RESOLVER, OPT_DNS_TIMEOUT, OPT_COLOR,
       OPT_NO_COLOR };

static const struct option longopts[] = {
	{ "trusted", required_argument, NULL, 't' },
	{ "trusted-file", required_argument, NULL, 'T' },
	{ "json", no_argument, NULL, 'j' },
	{ "block-ip", no_argument, NULL, 'b' },
	{ "tolerance", required_argument, NULL, OPT_TOLERANCE },
	{ "dns", no_argument, NULL, OPT_DNS },
	{ "dkim-key", required_argument, NULL, 'k' },
	{ "log", required_argument, NULL, 'l' },
	{ "dnsbl", required_argument, NULL, OPT_DNSBL },
	{ "resolver", required_argument, NULL, OPT_RESOLVER },
	{ "dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT },
	{ "color", optional_argument, NULL, OPT_COLOR },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct run {
	struct options *o;
	size_t messages;
	size_t with_verdicts;
};

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "hdrtrace: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'hdrtrace --help' for more information.\n");
	exit(HT_EXIT_USAGE);
}

static long number(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		usage_error(what, s);
	return v;
}

static void one_message(const char *buf, size_t len, const char *source, size_t index, void *arg)
{
	struct run *run = arg;
	struct message m;
	memset(&m, 0, sizeof(m));
	m.source = source;
	m.index = index;
	message_load(&m, buf, len);
	verdicts_run(&m, run->o);
	if (run->o->block_ip)
		out_block_ip(&m);
	else if (run->o->json)
		out_json(&m, run->o);
	else
		out_text(&m, run->o, 1);
	run->messages++;
	if (m.nv)
		run->with_verdicts++;
	message_free(&m);
}

int main(int argc, char **argv)
{
	struct options o;
	memset(&o, 0, sizeof(o));
	o.tolerance = 300;
	o.dns_timeout = 2;
	int color_mode = -1;	/* auto */
	diag_init("hdrtrace", DIAG_STDERR);

	int c;
	while ((c = getopt_long(argc, argv, "t:T:k:l:jbhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (trust_add(optarg) < 0)
				usage_error("--trusted: not a domain, host, IP or CIDR: %s", optarg);
			break;
		case 'T':
			if (trust_add_file(optarg) < 0) {
				fprintf(stderr, "hdrtrace: %s: %s\n", optarg, strerror(errno));
				exit(errno == EINVAL ? HT_EXIT_USAGE : HT_EXIT_NOINPUT);
			}
			break;
		case 'l':
			if (loglink_add_file(optarg) < 0) {
				fprintf(stderr, "hdrtrace: --log %s: %s\n", optarg, strerror(errno));
				exit(HT_EXIT_NOINPUT);
			}
			break;
		case 'k':
			if (auth_add_key_file(optarg) < 0) {
				fprintf(stderr, "hdrtrace: --dkim-key %s: %s\n", optarg,
					errno == EINVAL ? "no key record in the file (expected lines like "
					"'sel._domainkey.example.com TXT \"v=DKIM1; k=rsa; p=...\"')" :
					strerror(errno));
				exit(errno == EINVAL ? HT_EXIT_USAGE : HT_EXIT_NOINPUT);
			}
			break;
		case 'j':
			o.json = 1;
			break;
		case 'b':
			o.block_ip = 1;
			break;
		case OPT_TOLERANCE:
			o.tolerance = number(optarg, "--tolerance: not a number of seconds: %s");
			break;
		case OPT_DNS:
			o.dns = 1;
			break;
		case OPT_DNSBL:
			o.dnsbl = xreallocarray(o.dnsbl, o.ndnsbl + 1, sizeof(*o.dnsbl));
			o.dnsbl[o.ndnsbl++] = optarg;
			break;
		case OPT_RESOLVER:
			o.resolver = optarg;
			break;
		case OPT_DNS_TIMEOUT:
			o.dns_timeout = (int)number(optarg, "--dns-timeout: not a number of seconds: %s");
			if (o.dns_timeout < 1 || o.dns_timeout > 60)
				usage_error("--dns-timeout: out of range 1-60: %s", optarg);
			break;
		case OPT_COLOR:
			if (!optarg || !strcmp(optarg, "auto"))
				color_mode = -1;
			else if (!strcmp(optarg, "always"))
				color_mode = 1;
			else if (!strcmp(optarg, "never"))
				color_mode = 0;
			else
				usage_error("--color: expected auto, always or never, not %s", optarg);
			break;
		case OPT_NO_COLOR:
			color_mode = 0;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			version_print(stdout, "hdrtrace");
			return 0;
		default:
			fprintf(stderr, "Try 'hdrtrace --help' for more information.\n");
			return HT_EXIT_USAGE;
		}
	}
	if (o.dns && o.ndnsbl == 0) {
		static const char *def[] = { "zen.spamhaus.org" };
		o.dnsbl = xmalloc(sizeof(*o.dnsbl));
		o.dnsbl[0] = def[0];
		o.ndnsbl = 1;
	}
	if (o.dns) {
		auth_use_dns(1);
		if (o.resolver && dns_set_server(o.resolver) < 0)
			usage_error("--resolver: not an IPv4 address[:port]: %s", o.resolver);
	}
	if (color_mode < 0) {
		const char *term = getenv("TERM");
		color_mode = isatty(1) && !getenv("NO_COLOR") && term && strcmp(term, "dumb");
	}
	o.color = color_mode && !o.json;

	struct run run = { &o, 0, 0 };
	int bad = 0;
	if (optind >= argc) {
		if (input_read("-", one_message, &run) < 0)
			bad = 1;
	} else {
		for (int i = optind; i < argc; i++)
			if (input_read(argv[i], one_message, &run) < 0)
				bad = 1;
	}
	fflush(stdout);
	free(o.dnsbl);
	if (run.messages == 0 && !bad) {
		msg_error("no message found");
		bad = 1;
	}
	if (bad)
		return HT_EXIT_NOINPUT;
	return run.with_verdicts ? HT_EXIT_VERDICT : HT_EXIT_CLEAN;
}
