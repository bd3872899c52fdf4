/* printqueue: `mtad -bp`, the queue listing in sendmail's format; the
 * reading and the format are lib/queue_list's, shared with mailq. */
#include "mtad.h"
#include "config.h"
#include "queue_list.h"

#include <stdio.h>

int print_queue(const char *qdir)
{
	struct queue_list_opts o = { .min_queue_age = conf_num(C_MIN_QUEUE_AGE) };
	if (queue_list_bp(stdout, qdir, &o) < 0) {
		fprintf(stderr, "mtad: cannot read queue directory %s (check QueueDirectory and permissions)\n", qdir);
		return -1;
	}
	return 0;
}
