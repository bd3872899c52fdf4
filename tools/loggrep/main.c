/* loggrep: follow messages through mail logs.  Command line, the order of
 * the steps, exit codes.  See man/loggrep.1. */
#include "version.h"
#include "loggrep.h"
#include "diag.h"
#include "xalloc.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lg_opts lg_opts;

static const char usage_text[] =
"usage: loggrep [options] QUERY... [FILE...]\n"
"Prints every whole transaction (all log lines of a queue ID, in time order)\n"
"that matches a QUERY: a queue ID, an address, @domain, a <Message-ID>, a\n"
"client or relay IP, or a host name.  Prefix a term with id:, addr:,\n"
"domain:, msgid:, ip: or host: to say which it is.  FILEs may be gzipped;\n"
"- is stdin; with no FILE the usual mail logs in /var/log are read.\n"
"\n"
"  -e, --query=QUERY   a query (also one that looks like a file name)\n"
"  -M, --follow        also print linked transactions: the MTA copy of an MSP\n"
"                      message (same msgid=), DSN children, the next hop's\n"
"                      transaction (stat=Sent (ID ...), queued as ID); each\n"
"                      link is shown on a line starting with \"# \"\n"
"  -f, --tail          after the files, keep reading the newest one as it\n"
"                      grows (or stdin) and print matching lines as they come\n"
"  --since=TIME        only transactions with a line at or after TIME\n"
"  --until=TIME        only transactions with a line at or before TIME\n"
"  --year=YYYY         the year of timestamps that have none\n"
"  -C, --context=N     also print the N lines before and after each line\n"
"  --no-filename       print the lines as they are: no file name, no marks\n"
"  --summary           one line per transaction: time, host, id, from, to,\n"
"                      status (a deferral with its class); then the deferred\n"
"                      attempts grouped by class\n"
"  --json              one JSON object per transaction and line\n"
"  -q, --quiet         print nothing; the exit status tells\n"
"  -h, --help          print this help\n"
"      --version       print the version\n"
"\n"
"Each line is printed after its FILE and a mark: \"FILE: \" a log line,\n"
"\"FILE:? \" a line holding the ID that could not be parsed (shown as it is),\n"
"\"FILE:~ \" a line of another transaction that names the ID, \"FILE:+ \" the\n"
"continuation of a wrapped line, \"FILE- \" context.  Input may be syslog\n"
"files, journalctl output (short, short-iso, short-precise, short-unix, json),\n"
"RFC 5424, or\n"
"logs copied from web pages and mails (markup, wrapped and damaged lines).\n"
"\n"
"TIME: 2006-01-04, \"2006-01-04 22:29[:53]\", \"Jan 4 22:29\", 22:29, -2h, -3d, @EPOCH.\n"
"Exit status: 0 a transaction was found, 1 none, 2 error.\n";

static void usage(FILE *out, int code)
{
	fputs(usage_text, out);
	exit(code);
}

enum { OPT_SINCE = 256, OPT_UNTIL, OPT_YEAR, OPT_SUMMARY, OPT_JSON, OPT_NOFILE };

static const struct option longopts[] = {
	{ "query", required_argument, NULL, 'e' },
	{ "follow", no_argument, NULL, 'M' },
	{ "tail", no_argument, NULL, 'f' },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "year", required_argument, NULL, OPT_YEAR },
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "context", required_argument, NULL, 'C' },
	{ "no-filename", no_argument, NULL, OPT_NOFILE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },	/* long form only */
	{ NULL, 0, NULL, 0 },
};

static void add_query(struct query **q, size_t *nq, const char *arg)
{
	*q = xreallocarray(*q, *nq + 1, sizeof(**q));
	if (query_parse(arg, &(*q)[*nq]) < 0)
		msg_fatal_code(LG_EXIT_ERROR, "empty query: '%s'", arg);
	(*nq)++;
}

static int is_file_arg(const char *a)
{
	struct stat st;
	return strcmp(a, "-") == 0 || strchr(a, '/') != NULL || stat(a, &st) == 0;
}

int main(int argc, char **argv)
{
	struct query *q = NULL;
	size_t nq = 0;
	const char *since = NULL, *until = NULL;
	int c;

	diag_init(argv[0], DIAG_STDERR);
	while ((c = getopt_long(argc, argv, "e:MfqhC:", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			add_query(&q, &nq, optarg);
			break;
		case 'M':
			lg_opts.follow = 1;
			break;
		case 'f':
			lg_opts.live = 1;
			break;
		case 'q':
			lg_opts.quiet = 1;
			break;
		case 'V':
			version_print(stdout, "loggrep");
			return 0;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_UNTIL:
			until = optarg;
			break;
		case OPT_YEAR: {
			char *end;
			long y = strtol(optarg, &end, 10);
			if (*end || y < 1970 || y > 9999)
				msg_fatal_code(LG_EXIT_ERROR, "bad --year: %s", optarg);
			lg_opts.year = (int)y;
			break;
		}
		case 'C': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 0 || n > 1000)
				msg_fatal_code(LG_EXIT_ERROR,
					       "bad -C value '%s': give a number of lines, 0 to 1000",
					       optarg);
			lg_opts.context = (int)n;
			break;
		}
		case OPT_NOFILE:
			lg_opts.no_filename = 1;
			break;
		case OPT_SUMMARY:
			lg_opts.summary = 1;
			break;
		case OPT_JSON:
			lg_opts.json = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, LG_EXIT_ERROR);
		}
	}
	if (lg_opts.json && lg_opts.summary)
		msg_fatal_code(LG_EXIT_ERROR, "--json and --summary exclude each other");
	time_t now = time(NULL);
	if (since && lg_parse_time(since, 0, now, &lg_opts.since) < 0)
		msg_fatal_code(LG_EXIT_ERROR, "bad --since time: %s", since);
	if (until && lg_parse_time(until, 1, now, &lg_opts.until) < 0)
		msg_fatal_code(LG_EXIT_ERROR, "bad --until time: %s", until);

	/* QUERY... then FILE...: the first argument naming a file starts the files */
	struct sources src = { NULL, 0 };
	int i = optind;
	for (; i < argc && !is_file_arg(argv[i]); i++)
		add_query(&q, &nq, argv[i]);
	for (; i < argc; i++)
		sources_add(&src, argv[i]);
	if (nq == 0) {
		msg_error("no QUERY given");
		usage(stderr, LG_EXIT_ERROR);
	}
	int stdin_live = lg_opts.live && src.n == 1 && strcmp(src.v[0].path, "-") == 0;
	if (src.n == 0 && !sources_default(&src))
		msg_fatal_code(LG_EXIT_ERROR, "no mail log found in %s; name a FILE",
			       getenv("LOGGREP_LOGDIR") ? getenv("LOGGREP_LOGDIR") : "/var/log");
	sources_sort(&src);
	lg_opts.progress = isatty(2) && !lg_opts.live;

	int errors = 0;
	struct collector col;
	collect_init(&col, q, nq);
	size_t shown = 0;
	if (stdin_live) {
		int r = tail_run(&col, &(struct sources){ NULL, 0 }, 1);
		if (r < 0)
			errors++;
		else
			shown = (size_t)r;
	} else {
		errors += sources_open(&src);
		errors += collect_run(&col, &src);
		collect_finish(&col);
		if (!lg_opts.json && !lg_opts.summary && !lg_opts.quiet)
			errors += collect_context(&col, &src);
		if (lg_opts.quiet)
			shown = 0;
		else if (lg_opts.json)
			shown = output_json(stdout, &col);
		else if (lg_opts.summary)
			shown = output_summary(stdout, &col);
		else
			shown = output_text(stdout, &col);
		if (lg_opts.quiet)
			for (size_t k = 0; k < col.nall; k++)
				shown += col.all[k]->keep;
		fflush(stdout);
		if (lg_opts.live && src.n)
			errors += tail_run(&col, &src, 0) < 0;
	}
	collect_free(&col);
	sources_close(&src);
	for (size_t k = 0; k < nq; k++)
		free(q[k].text);
	free(q);
	if (ferror(stdout))
		return LG_EXIT_ERROR;
	if (errors)
		return LG_EXIT_ERROR;
	return shown ? LG_EXIT_FOUND : LG_EXIT_NONE;
}
