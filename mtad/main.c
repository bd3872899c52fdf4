/* main: sendmail's command line.  argv[0] picks the mode as in sendmail
 * (sendmail, newaliases, mailq); flags follow sendmail 8's. */
#include "mtad.h"
#include "startcheck.h"
#include "msp.h"
#include "milter.h"
#include "config.h"
#include "diag.h"
#include "aliases.h"
#include "maillog.h"
#include "qid.h"
#include "queue_select.h"
#include "timefmt.h"
#include "xalloc.h"
#include "hoststat.h"
#include <time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static const char usage_text[] =
"usage: mtad [flags] [recipient ...]\n"
"Modes:\n"
"  -bd            run as a daemon in the background\n"
"  -bD            run as a daemon in the foreground\n"
"  -bs            speak SMTP on standard input and output\n"
"  -bm            deliver the message on standard input (default)\n"
"  -bp            list the queue (as mailq)\n"
"  -bi            rebuild the aliases database (as newaliases)\n"
"  -bh            list the host status (as hoststat)\n"
"  -bH            purge the host status (as purgestat)\n"
"  -bC            check the configuration and exit (ours)\n"
"  -bE            check the environment as the daemon will use it: queue\n"
"                 writable, maps and aliases readable (as RunAsUser when\n"
"                 root), mailbox directory; exit 78 naming the file (ours)\n"
"  -bt            address test mode (/help lists its commands)\n"
"  -bv addr...    verify addresses: where each would be delivered\n"
"  -Mg qid...     give up: return these messages to their senders now (Exim's flag)\n"
"  -q[time]       run the queue once, or every time (with -bd/-bD), e.g. -q30m\n"
"  -qR/-qS/-qI[!]sub  run only messages whose recipient/sender/ID contains sub\n"
"  -qQ[sub]       select held (quarantined) messages; they stay held until released\n"
"  -qf            run the queue once in the foreground\n"
"  -d0.1          print the version and the system identity\n"
"Flags:\n"
"  -C file        read this .mc configuration instead of the built-in one\n"
"  -O opt=value   set a configuration option (see mtad.mc(5))\n"
"  -o<x>[value]   sendmail's short options: -oi, -odb, -odi, -odq\n"
"  -L tag         syslog tag (default: sm-mta for the daemon and queue runs,\n"
"                 sm-msp-queue for MSP queue runs, sendmail otherwise)\n"
"  -f sender      envelope sender (also -r)\n"
"  -F name        full name for a From: header we add\n"
"  -t             take recipients from To:, Cc: and Bcc: (Bcc: is removed)\n"
"  -i             a line with a single dot does not end the message\n"
"  -v             verbose (queue runs print what they do)\n"
"  -Ac / -Am      act as the MSP (client queue, relay to the MTA) or as the MTA\n"
"  -N notify      DSN NOTIFY= for every recipient: NEVER, or SUCCESS,FAILURE,DELAY\n"
"  -R ret         DSN RET=: FULL or HDRS\n"
"  -V envid       DSN ENVID= (xtext)\n"
"  -B type        body type: 7BIT or 8BITMIME\n"
"  --help, --version\n"
"Exit codes are those of <sysexits.h>; see mtad(8).\n";

/* "-odq" -> "DeliveryMode=q": sendmail's one-letter options as -O ones. */
static char *short_option(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 2;
	char *s = xmalloc(n);
	snprintf(s, n, "%s=%s", name, value);
	return s;
}

/* -bh (hoststat) and -bH (purgestat) */
static int host_status_command(int purge)
{
	const char *dir = conf_str(C_HOST_STATUS_DIR);
	if (!dir[0]) {
		fprintf(stderr, "mtad: no HostStatusDirectory configured (confHOST_STATUS_DIRECTORY)\n");
		return purge ? EX_CONFIG : 0;
	}
	if (!purge) {
		hoststat_print(stdout, dir, time(NULL));
		return 0;
	}
	int n = hoststat_purge(dir);
	if (n < 0 && errno == ENOENT)
		n = 0;		/* nothing was ever written: nothing to forget */
	if (n < 0) {
		fprintf(stderr, "mtad: %s: cannot read the host status directory\n", dir);
		return EX_OSFILE;
	}
	maillog(NULL, "host status purged by %s: %d hosts", G.progname, n);
	return 0;
}

static void usage(int code)
{
	fputs(usage_text, code == 0 ? stdout : stderr);
	exit(code);
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	diag_init("mtad", DIAG_STDERR);
	G.progname = base;
	G.log_tag = NULL;	/* -L, or chosen by mode below (sm-mta, sendmail) */
	char mode = strcmp(base, "mailq") == 0 ? 'p' : strcmp(base, "newaliases") == 0 ? 'i' : 'm';
	if (strcmp(base, "hoststat") == 0 || strcmp(base, "purgestat") == 0)
		mode = base[0] == 'h' ? 'h' : 'H';
	int extract_t = 0, ignore_dots = 0, queue_once = 0, check_only = 0, identity = 0;
	long queue_interval = 0;
	int want_msp = -1;	/* -1: as the configuration says */
	struct queue_select sel;
	qsel_init(&sel);
	const char *from = NULL, *fullname = NULL;
	char **oopts = xcalloc((size_t)argc + 1, sizeof(char *));
	size_t noopts = 0;
	int i;
	for (i = 1; i < argc; i++) {
		char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--help") == 0)
			usage(0);
		if (strcmp(a, "--version") == 0) {
			version_print(stdout, "mtad");
			return 0;
		}
#define NEXTARG() (a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : (usage(EX_USAGE), "")))
		switch (a[1]) {
		case 'b':
			if (!a[2] || a[3] || !strchr("dDsmpiCEtvhH", a[2])) {
				fprintf(stderr, "mtad: unknown mode %s (see --help)\n", a);
				return EX_USAGE;
			}
			mode = a[2];
			if (mode == 'C' || mode == 'E')
				check_only = 1;
			break;
		case 'q':
			if (a[2] == '\0') {
				queue_once = 1;
			} else if (a[2] == 'f' && a[3] == '\0') {
				queue_once = 1;		/* -qf: in the foreground, as -q is */
			} else if (strchr("RSIQ!", a[2])) {
				char err[256];
				if (qsel_parse_q(&sel, a + 2, err, sizeof(err)) < 0) {
					fprintf(stderr, "mtad: %s: %s\n", a, err);
					return EX_USAGE;
				}
				queue_once = 1;
			} else {
				queue_interval = time_parse_duration(a + 2, 'm');
				if (queue_interval <= 0) {
					fprintf(stderr, "mtad: -q%s: not a queue interval (e.g. -q30m)\n", a + 2);
					return EX_USAGE;
				}
			}
			break;
		case 'C': G.conf_file = NEXTARG(); break;
		case 'O': oopts[noopts++] = NEXTARG(); break;
		case 'L': G.log_tag = NEXTARG(); break;
		case 'f': case 'r': from = NEXTARG(); break;
		case 'F': fullname = NEXTARG(); break;
		case 't': extract_t = 1; break;
		case 'i': ignore_dots = 1; break;
		case 'v': G.verbose++; break;
		case 'A':
			if (strcmp(a, "-Ac") == 0)
				want_msp = 1;
			else if (strcmp(a, "-Am") == 0)
				want_msp = 0;
			else {
				fprintf(stderr, "mtad: %s: expected -Ac or -Am\n", a);
				return EX_USAGE;
			}
			break;
		case 'd':
			if (strcmp(a, "-d0.1") == 0 || strcmp(a, "-d0") == 0)
				identity = 1;
			break;
		case 'o':
			if (a[2] == 'i') {
				ignore_dots = 1;
			} else if (a[2] == 'd' && a[3]) {
				oopts[noopts++] = short_option("DeliveryMode", a + 3);
			} else if (a[2] == 'Q' && a[3]) {
				oopts[noopts++] = short_option("QueueDirectory", a + 3);
			} else if (a[2] == 'e' || a[2] == 'm' || a[2] == 'o') {
				/* error mode, me-too, old headers: accepted */
			} else {
				fprintf(stderr, "mtad: unsupported option %s (use -O Name=value)\n", a);
				return EX_USAGE;
			}
			break;
		case 'M':
			if (strcmp(a, "-Mg") != 0) {
				fprintf(stderr, "mtad: unknown flag %s (see --help)\n", a);
				return EX_USAGE;
			}
			mode = 'g';	/* the queue IDs follow */
			break;
		case 'N': G.dsn_notify = NEXTARG(); break;
		case 'R': G.dsn_ret = NEXTARG(); break;
		case 'V': G.dsn_envid = NEXTARG(); break;
		case 'B': G.body_type = NEXTARG(); break;
		case 'X':
			if (!a[2] && i + 1 < argc)
				i++;	/* a traffic log file: accepted, not written */
			break;
		default:
			fprintf(stderr, "mtad: unknown flag %s (see --help)\n", a);
			return EX_USAGE;
		}
	}
	/* installed setgid (the MSP): kept only for a plain submission */
	int msp_forced = msp_setgid_policy(want_msp == 0 || extract_t < 0 ? 'x' : mode, queue_once || queue_interval,
					   G.conf_file, oopts, noopts);
	if (conf_load(G.conf_file, oopts, noopts) < 0) {
		fprintf(stderr, "mtad: configuration not loaded; fix the line named above%s\n",
			check_only ? "" : " and start again");
		return EX_CONFIG;
	}
	free(oopts);
	if (identity) {
		conf_print_identity();
		milter_print(stdout);
		if (mode == 'm' && i >= argc && !queue_once)
			return 0;
	}
	if (check_only) {
		if (G.verbose)
			conf_print_changed();	/* MailFilter=, InputMailFilters= among them */
		else if (mode != 'E')
			milter_print(stdout);
		return mode == 'E' ? startup_check(0) : 0;
	}
	G.msp = want_msp >= 0 ? want_msp : msp_forced || *conf_str(C_MSP_HOST) != '\0';
	if (G.msp)
		qf_file_mode = 0660;	/* the group hands the MSP queue over */
	if (G.log_tag == NULL)	/* the tags Debian's sendmail uses, which log analyzers read */
		G.log_tag = (mode == 'd' || mode == 'D' || queue_once || queue_interval > 0)
			? (G.msp ? "sm-msp-queue" : "sm-mta") : "sendmail";
	maillog_open(G.log_tag, conf_str(C_LOG_FILE), 1);
	const char *qdir = conf_str(G.msp ? C_MSP_QUEUE_DIR : C_QUEUE_DIR);
	print_queue_options(&sel, G.verbose);	/* -bp -qR... -v */
	switch (mode) {
	case 'd':
	case 'D':
		return daemon_run(mode == 'd', queue_interval, argv);
	case 's':
		return submit_bs();
	case 'p':
		return print_queue(qdir) < 0 ? EX_OSFILE : 0;
	case 'h':
	case 'H':
		return host_status_command(mode == 'H');
	case 'i': {
		char err[512];
		const char *af = conf_str(C_ALIAS_FILE);
		int rc = aliases_rebuild(af, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "mtad: %s\n", err);
			return EX_CANTCREAT;
		}
		maillog(NULL, "alias database %s rebuilt by %s", af, G.progname);
		return rc == 0 ? 0 : EX_DATAERR;
	}
	case 'g': {
		if (i >= argc) {
			fprintf(stderr, "mtad: -Mg needs queue IDs\n");
			return EX_USAGE;
		}
		int bad = 0;
		for (; i < argc; i++) {
			if (!qid_valid(argv[i])) {
				fprintf(stderr, "mtad: %s: not a queue ID\n", argv[i]);
				bad = 1;
				continue;
			}
			enum deliver_result r = deliver_bounce(qdir, argv[i]);
			if (r == DELIVER_LOCKED) {
				fprintf(stderr, "mtad: %s: being delivered; try again\n", argv[i]);
				bad = 1;
			}
		}
		return bad ? EX_TEMPFAIL : 0;
	}
	case 't':
		return addrtest_interactive();
	case 'v':
		if (i >= argc) {
			fprintf(stderr, "mtad: -bv needs addresses to verify\n");
			return EX_USAGE;
		}
		return addrtest_verify(argv + i, argc - i);
	default:
		break;
	}
	if (queue_once)
		return queue_run(qdir, G.verbose, &sel, 0) < 0 ? EX_OSFILE : 0;
	if (queue_interval > 0 && i >= argc && !extract_t) {
		/* a persistent queue runner without a listener (sendmail -Ac -q30m) */
		maillog(NULL, "starting queue runner (" MTAD_VERSION "): every %lds for %s", queue_interval, qdir);
		for (;;) {
			queue_run(qdir, G.verbose, &sel, 1);
			sleep((unsigned)queue_interval);
		}
	}
	if (i >= argc && !extract_t) {
		fprintf(stderr, "mtad: no recipients given (name them, or use -t; --help lists modes)\n");
		return EX_USAGE;
	}
	return submit_bm(argv + i, argc - i, extract_t, ignore_dots, from, fullname);
}
