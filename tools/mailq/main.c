/* mailq: command line, configuration, and the order of the steps: load
 * the selected part of the queue, then print it or act on it.  See
 * man/mailq.1. */
#include "mailq.h"
#include "config.h"
#include "diag.h"
#include "version.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

struct mq_opts mq;

static const char usage_text[] =
"usage: mailq [options] [selection] [output | action]\n"
"Lists the mail queue as `sendmail -bp` does, or the part of it selected.\n"
"\n"
"Configuration:\n"
"  -C file.mc          read the queue directories from this .mc (as mtad -C)\n"
"  -O Option=value     set an option, e.g. -OQueueDirectory=/var/spool/slow\n"
"  -oQdir              the same as -OQueueDirectory=dir\n"
"  -Ac                 list the MSP queue (MSP_QUEUE_DIR, clientmqueue)\n"
"  -Am                 list the MTA queue (the default)\n"
"  -bp                 accepted: listing is what mailq does\n"
"  -L tag              syslog tag of the log lines actions write (default mailq)\n"
"Selection (sendmail's; the same kind OR-ed, different kinds AND-ed):\n"
"  -qI[!]substr        queue ID contains (or, with !, does not contain) substr\n"
"  -qR[!]substr        a recipient contains substr (case-insensitive)\n"
"  -qS[!]substr        the sender contains substr (case-insensitive)\n"
"  -qQ[[!]substr]      held (quarantined) mail [whose reason contains substr]\n"
"  --older DUR         queued at least DUR ago (90s, 10m, 2h, 5d; bare: minutes)\n"
"  --younger DUR       queued less than DUR ago\n"
"  --reason REGEX      the last deferral reason matches REGEX (extended,\n"
"                      case-insensitive)\n"
"Output (default: the -bp listing):\n"
"  --count             the number of selected messages\n"
"  --ids               the selected queue IDs, one a line\n"
"  --json              one JSON object per message, one a line\n"
"  --summary           recipient domains by age (minutes), qshape-style\n"
"  --show ID           print one queued message: envelope, headers and body\n"
"Actions on the selection (the whole queue only with --all):\n"
"  --flush             deliver now: runs mtad -qI<ID> with the same\n"
"                      configuration; -v shows the transcript\n"
"  --bounce            return them to their senders now: runs mtad -Mg <ID>\n"
"                      (asks on a terminal; --yes)\n"
"  --hold REASON       hold (quarantine) the messages with this reason\n"
"  --release           release held messages\n"
"  --delete            remove the messages (asks on a terminal; --yes)\n"
"  --yes               do not ask before --delete or --bounce\n"
"  --all               let an action apply to the whole queue (no selection)\n"
"  --dry-run           say what the action would do to which messages; change\n"
"                      nothing\n"
"  --mtad PATH         the mtad that --flush and --bounce run (default: next to mailq)\n"
"  -v                  verbose (--flush: the delivery transcript)\n"
"  -h, --help          print this help\n"
"  --version           print the version\n"
"\n"
"A message being delivered (its queue file locked) is listed with '*' and\n"
"skipped by actions with a note.  A value that looks like a flag (--hold -qI...)\n"
"is refused; write --hold=-text to mean it.  Every action ends with a count on\n"
"stderr and a log line naming who did what to how many messages.\n"
"Exit status: 0 done; 1 --delete or --bounce declined;\n"
"64 usage; 72 queue directory unreadable; 75 some messages were locked and\n"
"skipped; 78 configuration error; --flush: mtad's status when it failed.\n";

static void usage(FILE *out, int code)
{
	fputs(usage_text, out);
	exit(code);
}

enum action { A_NONE, A_FLUSH, A_BOUNCE, A_HOLD, A_RELEASE, A_DELETE };
enum output { O_LIST, O_COUNT, O_IDS, O_JSON, O_SUMMARY, O_SHOW };

/* Notes a selection argument for the log line of an action. */
static void note_selection(const char *a, const char *b)
{
	size_t len = strlen(mq.selection);
	snprintf(mq.selection + len, sizeof(mq.selection) - len, "%s%s%s%s", len ? " " : "", a,
		 b ? " " : "", b ? b : "");
}

/* "--name=value" or "--name value": the value, or NULL when a is not --name. */
static const char *long_value(const char *a, const char *name, int argc, char **argv, int *i)
{
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		msg_error("%s needs a value (see --help)", name);
		exit(EX_USAGE);
	}
	const char *v = argv[*i + 1];
	if (v[0] == '-' && v[1] != '\0') {
		/* "--hold -qIabc": a forgotten value, not a reason */
		msg_error("%s needs a value, and %s looks like a flag; give the value "
			  "(e.g. %s 'spam review'), or write %s=%s if you mean it", name, v, name,
			  name, v);
		exit(EX_USAGE);
	}
	return argv[++*i];
}

int main(int argc, char **argv)
{
	diag_init("mailq", DIAG_STDERR);
	mq.log_tag = "mailq";
	mq.argv0 = argv[0];
	mq.oopts = xcalloc((size_t)argc + 1, sizeof(char *));
	struct queue_select sel;
	qsel_init(&sel);
	enum action action = A_NONE;
	enum output output = O_LIST;
	int noutputs = 0, nactions = 0;
	const char *hold_reason = NULL, *show_id = NULL;
	char err[512];

	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		const char *v;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			usage(stdout, 0);
		if (strcmp(a, "--version") == 0) {
			version_print(stdout, "mailq");
			return 0;
		}
		if (strncmp(a, "--", 2) == 0) {
			if (strcmp(a, "--count") == 0) {
				output = O_COUNT; noutputs++;
			} else if (strcmp(a, "--ids") == 0) {
				output = O_IDS; noutputs++;
			} else if (strcmp(a, "--json") == 0) {
				output = O_JSON; noutputs++;
			} else if (strcmp(a, "--summary") == 0) {
				output = O_SUMMARY; noutputs++;
			} else if (strcmp(a, "--flush") == 0) {
				action = A_FLUSH; nactions++;
			} else if (strcmp(a, "--bounce") == 0) {
				action = A_BOUNCE; nactions++;
			} else if (strcmp(a, "--release") == 0) {
				action = A_RELEASE; nactions++;
			} else if (strcmp(a, "--delete") == 0) {
				action = A_DELETE; nactions++;
			} else if (strcmp(a, "--yes") == 0) {
				mq.yes = 1;
			} else if (strcmp(a, "--all") == 0) {
				mq.all = 1;
			} else if (strcmp(a, "--dry-run") == 0) {
				mq.dry_run = 1;
			} else if ((v = long_value(a, "--show", argc, argv, &i)) != NULL) {
				output = O_SHOW; noutputs++;
				show_id = v;
			} else if ((v = long_value(a, "--hold", argc, argv, &i)) != NULL) {
				if (*v == '\0') {
					msg_error("--hold needs a reason");
					return EX_USAGE;
				}
				action = A_HOLD; nactions++;
				hold_reason = v;
			} else if ((v = long_value(a, "--mtad", argc, argv, &i)) != NULL) {
				mq.mtad = v;
			} else if ((v = long_value(a, "--older", argc, argv, &i)) != NULL) {
				if (qsel_add(&sel, QSEL_OLDER, v, 0, err, sizeof(err)) < 0)
					goto bad_sel;
				note_selection("--older", v);
			} else if ((v = long_value(a, "--younger", argc, argv, &i)) != NULL) {
				if (qsel_add(&sel, QSEL_YOUNGER, v, 0, err, sizeof(err)) < 0)
					goto bad_sel;
				note_selection("--younger", v);
			} else if ((v = long_value(a, "--reason", argc, argv, &i)) != NULL) {
				if (qsel_add(&sel, QSEL_REASON, v, 0, err, sizeof(err)) < 0)
					goto bad_sel;
				note_selection("--reason", v);
			} else {
				msg_error("unknown option %s (see --help)", a);
				return EX_USAGE;
			}
			continue;
		}
		if (a[0] != '-' || a[1] == '\0') {
			msg_error("unexpected argument %s (see --help)", a);
			return EX_USAGE;
		}
#define NEXTARG() (a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : (usage(stderr, EX_USAGE), "")))
		switch (a[1]) {
		case 'q': {
			/* -qR sub (separate) is taken as -qRsub */
			char joined[1024];
			const char *arg = a + 2;
			if ((strcmp(arg, "I") == 0 || strcmp(arg, "R") == 0 || strcmp(arg, "S") == 0 ||
			     strcmp(arg, "I!") == 0 || strcmp(arg, "R!") == 0 || strcmp(arg, "S!") == 0) &&
			    i + 1 < argc) {
				snprintf(joined, sizeof(joined), "%s%s", arg, argv[++i]);
				arg = joined;
			}
			int rc = qsel_parse_q(&sel, arg, err, sizeof(err));
			if (rc < 0)
				goto bad_sel;
			if (rc > 0) {
				char given[1100];
				snprintf(given, sizeof(given), "-q%s", arg);
				note_selection(given, NULL);
			}
			if (rc == 0) {
				msg_error("%s: mailq selects with -qI, -qR, -qS and -qQ; "
					  "queue runs are mtad's (see --help)", a);
				return EX_USAGE;
			}
			break;
		}
		case 'C': mq.conf_file = NEXTARG(); break;
		case 'O': mq.oopts[mq.noopts++] = xstrdup(NEXTARG()); break;
		case 'o':
			if (a[2] == 'Q' && a[3]) {
				size_t n = strlen(a + 3) + sizeof("QueueDirectory=");
				char *o = xmalloc(n);
				snprintf(o, n, "QueueDirectory=%s", a + 3);
				mq.oopts[mq.noopts++] = o;
			} else {
				msg_error("unsupported option %s (use -O Name=value)", a);
				return EX_USAGE;
			}
			break;
		case 'A':
			if (strcmp(a, "-Ac") == 0)
				mq.msp = 1;
			else if (strcmp(a, "-Am") == 0)
				mq.msp = 0;
			else {
				msg_error("%s: expected -Ac or -Am", a);
				return EX_USAGE;
			}
			break;
		case 'b':
			if (strcmp(a, "-bp") != 0) {
				msg_error("%s: mailq only lists (-bp); other modes are mtad's", a);
				return EX_USAGE;
			}
			break;
		case 'L': mq.log_tag = NEXTARG(); break;
		case 'v': mq.verbose++; break;
		default:
			msg_error("unknown flag %s (see --help)", a);
			return EX_USAGE;
		}
	}
	if (noutputs > 1 || nactions > 1 || (noutputs && nactions)) {
		msg_error("choose one of --count, --ids, --json, --summary, --flush, --bounce, --hold, "
			  "--release and --delete");
		return EX_USAGE;
	}
	if (mq.yes && action != A_DELETE && action != A_BOUNCE) {
		msg_error("--yes goes with --delete or --bounce");
		return EX_USAGE;
	}
	if (mq.dry_run && action == A_NONE) {
		msg_error("--dry-run goes with an action (--flush, --bounce, --hold, --release, --delete)");
		return EX_USAGE;
	}
	if (action != A_NONE && qsel_empty(&sel) && !mq.all) {
		msg_error("an action needs a selection (-qI, -qR, -qS, -qQ, --older, --younger, "
			  "--reason); to act on the whole queue add --all");
		return EX_USAGE;
	}
	if (output == O_SHOW && !qsel_empty(&sel)) {
		msg_error("--show takes one queue ID and no selection");
		return EX_USAGE;
	}
	if (mq_conf_load(mq.conf_file, mq.oopts, mq.noopts) < 0) {
		msg_error("configuration not loaded; fix the line named above");
		return EX_CONFIG;
	}
	mq.qdir = conf_str(mq.msp ? C_MSP_QUEUE_DIR : C_QUEUE_DIR);
	mq.now = time(NULL);
	mq.min_queue_age = conf_num(C_MIN_QUEUE_AGE);
	if (queue_sort_parse(conf_str(C_QUEUE_SORT_ORDER)) < 0)
		msg_warn("QueueSortOrder=%s is not an order (priority, filename, time, modification); "
			 "listing by priority", conf_str(C_QUEUE_SORT_ORDER));

	if (output == O_SHOW) {
		int src = show_message(show_id);
		for (size_t i = 0; i < mq.noopts; i++)
			free(mq.oopts[i]);
		free(mq.oopts);
		qsel_free(&sel);
		if (fflush(stdout) != 0 && src == 0)
			src = EX_IOERR;
		return src;
	}
	struct queue_list_opts lo = { .sel = &sel, .min_queue_age = conf_num(C_MIN_QUEUE_AGE),
				      .now = mq.now, .sort_order = conf_str(C_QUEUE_SORT_ORDER) };
	struct queue_listing ql;
	if (queue_list_load(&ql, mq.qdir, &lo) < 0) {
		msg_error("cannot read queue directory %s: %s (check QueueDirectory and permissions)",
			  mq.qdir, strerror(errno));
		return EX_OSFILE;
	}
	/* damaged files are named on stderr when the output is for scripts or
	 * an action; the listing shows them in place */
	if (output != O_LIST || action != A_NONE)
		for (size_t i = 0; i < ql.n; i++)
			if (ql.entries[i].err)
				msg_warn("%s: skipped: %s", ql.entries[i].qid, ql.entries[i].err);
	int rc = 0;
	switch (action) {
	case A_FLUSH: rc = act_flush(&ql); break;
	case A_BOUNCE: rc = act_bounce(&ql); break;
	case A_HOLD: rc = act_hold(&ql, hold_reason); break;
	case A_RELEASE: rc = act_release(&ql); break;
	case A_DELETE: rc = act_delete(&ql); break;
	case A_NONE:
		switch (output) {
		case O_LIST: queue_list_print(stdout, &ql, mq.verbose); break;
		case O_COUNT: printf("%zu\n", ql.n); break;
		case O_IDS: out_ids(stdout, &ql); break;
		case O_JSON: out_json(stdout, &ql); break;
		case O_SUMMARY: out_summary(stdout, &ql); break;
		case O_SHOW: break;
		}
		break;
	}
	queue_list_free(&ql);
	qsel_free(&sel);
	for (size_t i = 0; i < mq.noopts; i++)
		free(mq.oopts[i]);
	free(mq.oopts);
	if (fflush(stdout) != 0 && rc == 0)
		rc = EX_IOERR;
	return rc;

bad_sel:
	msg_error("%s", err);
	return EX_USAGE;
}
