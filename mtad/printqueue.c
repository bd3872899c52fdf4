/* printqueue: `mtad -bp`, the queue listing in sendmail's format; the
 * reading and the format are lib/queue_list's, shared with mailq.  With
 * -qR/-qS/-qI/-qQ only the selected messages are listed, as sendmail does;
 * -v gives sendmail's verbose listing. */
#include "mtad.h"
#include "config.h"
#include "queue_list.h"

#include <stdio.h>

static const struct queue_select *bp_sel;
static int bp_verbose;

void print_queue_options(const struct queue_select *sel, int verbose)
{
	bp_sel = sel;
	bp_verbose = verbose;
}

int print_queue(const char *qdir)
{
	const struct queue_select *sel = bp_sel;
	int verbose = bp_verbose;
	if (queue_sort_parse(conf_str(C_QUEUE_SORT_ORDER)) < 0)
		fprintf(stderr, "mtad: QueueSortOrder=%s is not an order (priority, filename, time, "
			"modification); listing by priority\n", conf_str(C_QUEUE_SORT_ORDER));
	struct queue_list_opts o = { .sel = sel, .min_queue_age = conf_num(C_MIN_QUEUE_AGE),
				     .sort_order = conf_str(C_QUEUE_SORT_ORDER) };
	if (queue_list_bp(stdout, qdir, &o, verbose) < 0) {
		fprintf(stderr, "mtad: cannot read queue directory %s (check QueueDirectory and permissions)\n", qdir);
		return -1;
	}
	return 0;
}
