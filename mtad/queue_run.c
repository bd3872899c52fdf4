/* queue_run: one pass over the queue (-q), delivering every message that
 * is not locked by another runner and is due (backoff, lib/backoff).
 *
 * Messages are grouped by destination (the domain of their first
 * recipient; DestinationConcurrency groups for one destination at most).
 * With more than one group, up to MaxRunnersPerQueue worker processes each
 * take a whole group at a time (the parent hands them out over a pipe and
 * collects each group's counts), so that a destination's messages go over
 * its cached connections (mci.c) and a destination that hangs holds up
 * only the worker that has it, once (host status), while the others go on.
 * DestinationRateDelay spaces a group's messages.  Totals (and progress,
 * on a terminal) at the end.  deliver_batch() is the same in one process
 * for the daemon's delivery processes. */
#include "mtad.h"
#include "deliver_sync.h"
#include "lda.h"
#include "config.h"
#include "maillog.h"
#include "qid.h"
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include "diag.h"
#include "queue_select.h"
#include <time.h>
#include "xalloc.h"
#include "backoff.h"
#include "mci.h"
#include <ctype.h>
#include <sys/wait.h>
#include <poll.h>
#include "strbuf.h"
#include <fcntl.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct idlist {
	char **ids;
	size_t n;
};

/* one destination (or a part of one): messages whose first recipient is
 * in domain, oldest first */
struct group {
	char *domain;
	size_t *msgs;		/* indexes into the id list */
	size_t n;
};

struct totals {
	long msgs, sent, deferred, failed, hosts_down;
};

static void collect(const char *qid, void *arg)
{
	struct idlist *l = arg;
	l->ids = xreallocarray(l->ids, l->n + 1, sizeof(char *));
	l->ids[l->n++] = xstrdup(qid);
}

/* Selection (-qR/-qS/-qI...) and MinQueueAge: a message tried less than
 * min_age ago waits for a later run. */
static int wanted(const char *qdir, const char *qid, const struct queue_select *sel, long min_age,
		  time_t now)
{
	if ((sel == NULL || qsel_empty(sel)) && min_age <= 0)
		return 1;
	if (sel && qsel_id_only(sel) && min_age <= 0)
		return qsel_match(sel, qid, NULL, now);
	char path[2048], err[512];
	qf_path(path, sizeof(path), qdir, 'q', qid);
	struct qf_env env;
	qf_env_init(&env);
	int ok = qf_read(path, &env, err, sizeof(err)) == 0;
	int yes = sel ? qsel_match(sel, qid, ok ? &env : NULL, now) : 1;
	if (yes && ok && now < backoff_next_retry(env.ktime, env.ntries, min_age, conf_num(C_MAX_QUEUE_BACKOFF)))
		yes = 0;
	qf_env_free(&env);
	return yes;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define ORPHAN_AGE (36 * 3600)	/* qmail's limit for half-made messages */
#define ORPHAN_AGE_DEAD (10 * 60)	/* when the process that wrote it is gone */

/* A df, tf or xf without its qf is what a crash mid-DATA or mid-commit
 * leaves.  It is removed once it is old (or its writer, the pid in the queue
 * ID, is dead and it is no longer fresh), with a log line. */
static void remove_orphans(const char *dir, const char *qdir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if ((n[0] != 'd' && n[0] != 't' && n[0] != 'x') || n[1] != 'f' || !qid_valid(n + 2))
			continue;
		char path[2048], qf[2048];
		snprintf(path, sizeof(path), "%s/%s", dir, n);
		qf_path(qf, sizeof(qf), qdir, 'q', n + 2);
		struct stat st;
		if (lstat(path, &st) < 0 || access(qf, F_OK) == 0)
			continue;
		long age = (long)(now - st.st_mtime);
		/* the writer's pid is every digit after the 8 time and sequence
		 * characters of the ID: compared whole (a pid may exceed 999999) */
		long pid = strlen(n + 2) > 8 ? strtol(n + 2 + 8, NULL, 10) : 0;
		int writer_gone = pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
		if (age < ORPHAN_AGE && !(writer_gone && age >= ORPHAN_AGE_DEAD))
			continue;
		if (unlink(path) == 0)
			maillog(n + 2, "SYSERR: orphaned %s (no control file, %ld minutes old) removed", n, age / 60);
	}
	closedir(d);
}

/* The destination of a message: its first recipient's domain, lower
 * case ("" when the qf cannot be read or has no recipient). */
static char *destination(const char *qdir, const char *qid)
{
	char path[2048], err[512];
	qf_path(path, sizeof(path), qdir, 'q', qid);
	struct qf_env env;
	qf_env_init(&env);
	char *d = NULL;
	if (qf_read(path, &env, err, sizeof(err)) == 0 && env.nrcpts > 0) {
		const char *a = env.rcpts[0].addr;
		const char *at = strrchr(a, '@');
		d = xstrdup(at ? at + 1 : "");
		size_t l = strlen(d);
		if (l && d[l - 1] == '>')
			d[l - 1] = '\0';
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	qf_env_free(&env);
	return d ? d : xstrdup("");
}

struct keyed {
	char *domain;
	size_t idx;
};

static int by_domain_then_age(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int by_oldest(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	return (x->msgs[0] > y->msgs[0]) - (x->msgs[0] < y->msgs[0]);
}

/* Groups l's messages by destination, oldest group first.  A destination
 * with more messages than one may take DestinationConcurrency groups,
 * dealt round-robin, that run side by side in different workers. */
static size_t make_groups(const char *qdir, const struct idlist *l, struct group **gp)
{
	struct keyed *k = xcalloc(l->n ? l->n : 1, sizeof(*k));
	for (size_t i = 0; i < l->n; i++) {
		k[i].domain = destination(qdir, l->ids[i]);
		k[i].idx = i;
	}
	qsort(k, l->n, sizeof(*k), by_domain_then_age);
	size_t conc = (size_t)conf_num(C_DEST_CONCURRENCY);
	if (conc < 1)
		conc = 1;
	struct group *g = NULL;
	size_t ng = 0;
	for (size_t i = 0; i < l->n;) {
		size_t j = i;
		while (j < l->n && strcmp(k[j].domain, k[i].domain) == 0)
			j++;
		size_t parts = j - i < conc ? j - i : conc;
		g = xreallocarray(g, ng + parts, sizeof(*g));
		for (size_t p = 0; p < parts; p++) {
			memset(&g[ng + p], 0, sizeof(g[ng + p]));
			g[ng + p].domain = xstrdup(k[i].domain);
			g[ng + p].msgs = xcalloc((j - i) / parts + 1, sizeof(size_t));
		}
		for (size_t m = i; m < j; m++) {
			struct group *t = &g[ng + (m - i) % parts];
			t->msgs[t->n++] = k[m].idx;
		}
		ng += parts;
		i = j;
	}
	for (size_t i = 0; i < l->n; i++)
		free(k[i].domain);
	free(k);
	if (ng > 1)
		qsort(g, ng, sizeof(*g), by_oldest);
	*gp = g;
	return ng;
}

/* Progress on a terminal, for a run asked for on the command line (not the
 * daemon's or a persistent runner's periodic runs, nor with -v). */
static int show_progress;

static void progress(const struct totals *t, size_t done, size_t all, int final)
{
	if (!show_progress)
		return;
	fprintf(stderr, "\r\033[Kqueue run: %zu of %zu messages; delivered %ld, deferred %ld, bounced %ld, hosts down %ld%s",
		done, all, t->sent, t->deferred, t->failed, t->hosts_down, final ? "\n" : "");
	fflush(stderr);
}

/* DestinationRateDelay (Postfix's default_destination_rate_delay): a
 * pause before each message of a destination but its first. */
static void rate_delay(size_t j)
{
	long d = conf_num(C_DEST_RATE_DELAY);
	if (j == 0 || d <= 0)
		return;
	struct timespec ts = { .tv_sec = d, .tv_nsec = 0 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void deliver_one(const char *qdir, const struct idlist *l, size_t i, int verbose)
{
	if (verbose) {
		char path[2048];
		qf_path(path, sizeof(path), qdir, 'q', l->ids[i]);
		printf("\nRunning %s (sequence %zu of %zu)\n", path, i + 1, l->n);
		fflush(stdout);
	}
	deliver_message(qdir, l->ids[i]);
	fflush(stdout);
}

/* A worker: takes group numbers from cmd, one a line, delivers each group
 * and answers "<group> <sent> <deferred> <failed> <hosts down>" on res. */
static void worker(const char *qdir, const struct idlist *l, const struct group *g, int cmd, int res)
{
	FILE *in = fdopen(cmd, "r");
	char line[64];
	mci_begin();
	deliver_sync_begin();
	while (in && fgets(line, sizeof(line), in)) {
		size_t k = (size_t)strtoul(line, NULL, 10);
		struct deliver_counts before = deliver_counts;
		size_t down_before = mci_hosts_down();
		for (size_t j = 0; j < g[k].n; j++) {
			rate_delay(j);
			deliver_one(qdir, l, g[k].msgs[j], 0);
		}
		deliver_sync_flush();	/* its messages done before it is reported */
		char out[160];
		int n = snprintf(out, sizeof(out), "%zu %ld %ld %ld %zu\n", k, deliver_counts.sent - before.sent,
				 deliver_counts.deferred - before.deferred, deliver_counts.failed - before.failed,
				 mci_hosts_down() > down_before ? mci_hosts_down() - down_before : 0);
		if (write(res, out, (size_t)n) != n)
			break;
	}
	deliver_sync_end();
	mci_end();
	_exit(0);
}

/* The workers of a queue run.  cur[w] is 1 + the group worker w has, 0
 * when it has none; cmd[w] -1 once it was told to end; pid[w] 0 once
 * reaped. */
struct pool {
	int res[2];		/* every worker writes its results here */
	int *cmd;
	pid_t *pid;
	size_t *cur;
	size_t n, cap;
};

/* A stall: no group finished for this long while groups wait, and every
 * worker is busy (on destinations that hang, most likely): as many workers
 * again, up to STALL_FACTOR x MaxRunnersPerQueue. */
#define STALL_MS 500
#define STALL_FACTOR 4

static int spawn_worker(struct pool *p, const char *qdir, const struct idlist *l, const struct group *g)
{
	int c[2];
	if (p->n == p->cap)
		return -1;
	/* a process that gave up root to its agent (a persistent runner after
	 * its first run) gives each worker an agent of its own */
	int agent = lda_channel_new();
	if (lda_has_agent() && agent < 0)
		return -1;
	if (pipe2(c, O_CLOEXEC) < 0) {
		if (agent >= 0)
			close(agent);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		lda_channel_use(agent);
		close(c[1]);
		close(p->res[0]);
		for (size_t o = 0; o < p->n; o++)	/* the others' ends: their EOF is theirs */
			if (p->cmd[o] >= 0)
				close(p->cmd[o]);
		worker(qdir, l, g, c[0], p->res[1]);
	}
	close(c[0]);
	if (agent >= 0)
		close(agent);
	if (pid < 0) {
		close(c[1]);
		return -1;
	}
	p->cmd[p->n] = c[1];
	p->pid[p->n] = pid;
	p->cur[p->n] = 0;
	p->n++;
	return 0;
}

/* Gives worker w the next group, or tells it to end. */
static void assign(struct pool *p, size_t w, size_t *next, size_t ng)
{
	if (*next < ng && p->cmd[w] >= 0 && dprintf(p->cmd[w], "%zu\n", *next) > 0) {
		p->cur[w] = ++*next;
		return;
	}
	p->cur[w] = 0;
	if (p->cmd[w] >= 0)
		close(p->cmd[w]);
	p->cmd[w] = -1;
}

/* A worker that died with a group: the group counts as finished (its
 * messages stay queued or were delivered; their counts are lost). */
static size_t reap_dead(struct pool *p)
{
	size_t lost = 0;
	for (size_t w = 0; w < p->n; w++) {
		if (p->pid[w] <= 0 || waitpid(p->pid[w], NULL, WNOHANG) != p->pid[w])
			continue;
		p->pid[w] = 0;
		if (p->cur[w]) {
			msg_warn("queue run: a worker died; the rest of its destination waits for the next run");
			lost++;
			p->cur[w] = 0;
		}
		if (p->cmd[w] >= 0)
			close(p->cmd[w]);
		p->cmd[w] = -1;
	}
	return lost;
}

static size_t alive_workers(const struct pool *p)
{
	size_t a = 0;
	for (size_t w = 0; w < p->n; w++)
		a += p->pid[w] > 0;
	return a;
}

static size_t busy_workers(const struct pool *p)
{
	size_t b = 0;
	for (size_t w = 0; w < p->n; w++)
		b += p->pid[w] > 0 && p->cur[w] != 0;
	return b;
}

/* One "<group> <sent> <deferred> <failed> <hosts down>" line from a worker. */
static void take_result(struct pool *p, const char *line, const struct group *g, size_t ng, size_t *next,
			size_t *finished, size_t *done_msgs, struct totals *t, const struct idlist *l)
{
	size_t k;
	long sent, deferred, failed, down;
	if (sscanf(line, "%zu %ld %ld %ld %ld", &k, &sent, &deferred, &failed, &down) != 5 || k >= ng)
		return;
	(*finished)++;
	*done_msgs += g[k].n;
	t->sent += sent;
	t->deferred += deferred;
	t->failed += failed;
	t->hosts_down += down;
	progress(t, *done_msgs, l->n, 0);
	for (size_t w = 0; w < p->n; w++)
		if (p->cur[w] == k + 1) {
			assign(p, w, next, ng);
			break;
		}
}

/* Runs the groups in nw workers (more when they all stall); adds their
 * results to t.  -1 when no worker could be started. */
static int run_parallel(const char *qdir, const struct idlist *l, const struct group *g, size_t ng, size_t nw,
			struct totals *t)
{
	struct pool p = { .cap = nw * STALL_FACTOR < ng ? nw * STALL_FACTOR : ng };
	if (pipe2(p.res, O_CLOEXEC) < 0) {
		msg_error("queue run: pipe: %s", strerror(errno));
		return -1;
	}
	/* a worker that died is seen as a short count, not a SIGPIPE */
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	p.cmd = xcalloc(p.cap, sizeof(int));
	p.pid = xcalloc(p.cap, sizeof(pid_t));
	p.cur = xcalloc(p.cap, sizeof(size_t));
	size_t next = 0, finished = 0, done_msgs = 0;
	for (size_t w = 0; w < nw && spawn_worker(&p, qdir, l, g) == 0; w++)
		assign(&p, p.n - 1, &next, ng);
	struct strbuf in;
	sb_init(&in);
	while (p.n > 0 && finished < ng) {
		struct pollfd pfd = { .fd = p.res[0], .events = POLLIN };
		int r = poll(&pfd, 1, STALL_MS);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0) {
			char buf[4096];
			ssize_t n = read(p.res[0], buf, sizeof(buf));
			if (n > 0)
				sb_append(&in, buf, (size_t)n);
			char *nl;
			while ((nl = memchr(in.s, '\n', in.len)) != NULL) {
				*nl = '\0';
				take_result(&p, in.s, g, ng, &next, &finished, &done_msgs, t, l);
				size_t rest = in.len - (size_t)(nl + 1 - in.s);
				memmove(in.s, nl + 1, rest);
				sb_truncate(&in, rest);
			}
		}
		finished += reap_dead(&p);
		size_t busy = busy_workers(&p), alive = alive_workers(&p);
		if (next < ng && (alive == 0 || (r == 0 && busy == alive))) {
			/* every worker stuck (or none left): as many again take the
			 * next groups, up to the cap */
			size_t more = alive ? alive : 1;
			size_t added = 0;
			while (added < more && next < ng && spawn_worker(&p, qdir, l, g) == 0) {
				assign(&p, p.n - 1, &next, ng);
				added++;
			}
			if (added == 0 && alive == 0)
				break;
		}
		if (next >= ng && busy_workers(&p) == 0)
			break;
	}
	sb_free(&in);
	for (size_t w = 0; w < p.n; w++)
		if (p.cmd[w] >= 0)
			close(p.cmd[w]);
	close(p.res[1]);
	close(p.res[0]);
	for (size_t w = 0; w < p.n; w++)
		while (p.pid[w] > 0 && waitpid(p.pid[w], NULL, 0) < 0 && errno == EINTR)
			;
	signal(SIGPIPE, old_pipe);
	int started = p.n > 0;
	free(p.cmd);
	free(p.pid);
	free(p.cur);
	return started ? 0 : -1;
}

/* One process, destination by destination (its transcript in order). */
static void run_serial(const char *qdir, const struct idlist *l, const struct group *g, size_t ng, int verbose,
		       struct totals *t)
{
	struct deliver_counts before = deliver_counts;
	mci_begin();
	deliver_sync_begin();
	size_t done = 0;
	for (size_t k = 0; k < ng; k++) {
		for (size_t j = 0; j < g[k].n; j++) {
			rate_delay(j);
			deliver_one(qdir, l, g[k].msgs[j], verbose);
			t->sent = deliver_counts.sent - before.sent;
			t->deferred = deliver_counts.deferred - before.deferred;
			t->failed = deliver_counts.failed - before.failed;
			t->hosts_down = (long)mci_hosts_down();
			progress(t, ++done, l->n, 0);
		}
		deliver_sync_flush();	/* not held through the next destination's timeouts */
	}
	deliver_sync_end();
	mci_end();
}

static void free_groups(struct group *g, size_t ng)
{
	for (size_t k = 0; k < ng; k++) {
		free(g[k].domain);
		free(g[k].msgs);
	}
	free(g);
}

void deliver_batch(const char *qdir, char *const *ids, size_t n)
{
	struct idlist l = { (char **)ids, n };
	struct group *g = NULL;
	size_t ng = n ? make_groups(qdir, &l, &g) : 0;
	struct totals t = { .msgs = (long)n };
	show_progress = 0;
	run_serial(qdir, &l, g, ng, 0, &t);
	free_groups(g, ng);
}

int queue_run(const char *qdir, int verbose, const struct queue_select *sel, int honour_age)
{
	char sub[2048];
	remove_orphans(qdir, qdir);
	snprintf(sub, sizeof(sub), "%s/df", qdir);
	remove_orphans(sub, qdir);
	snprintf(sub, sizeof(sub), "%s/qf", qdir);
	remove_orphans(sub, qdir);
	struct idlist l = { NULL, 0 };
	if (qf_scan(qdir, collect, &l) < 0) {
		msg_error("cannot read queue directory %s", qdir);
		return -1;
	}
	if (l.n > 1)
		qsort(l.ids, l.n, sizeof(char *), cmp_str);	/* IDs sort by age */
	size_t keep = 0;
	time_t now = time(NULL);
	long min_age = conf_num(C_MIN_QUEUE_AGE);
	for (size_t i = 0; i < l.n; i++) {
		if (!wanted(qdir, l.ids[i], sel, honour_age ? min_age : 0, now)) {
			free(l.ids[i]);
			continue;
		}
		l.ids[keep++] = l.ids[i];
	}
	l.n = keep;
	mci_forget();
	struct group *g = NULL;
	size_t ng = l.n ? make_groups(qdir, &l, &g) : 0;
	size_t nw = (size_t)conf_num(C_QUEUE_RUNNERS);
	if (nw > ng)
		nw = ng;
	struct totals t = { .msgs = (long)l.n };
	show_progress = !honour_age && !verbose && isatty(STDERR_FILENO);
	if (nw <= 1 || verbose) {
		run_serial(qdir, &l, g, ng, verbose, &t);
	} else if (run_parallel(qdir, &l, g, ng, nw, &t) < 0) {
		msg_warn("queue run: cannot start workers (%s); one process delivers", strerror(errno));
		run_serial(qdir, &l, g, ng, 0, &t);
	}
	if (l.n > 0)
		progress(&t, l.n, l.n, 1);
	if (verbose && l.n > 0)
		printf("Queue run: %ld messages; delivered %ld, deferred %ld, bounced %ld recipients; %ld hosts down\n",
		       t.msgs, t.sent, t.deferred, t.failed, t.hosts_down);
	free_groups(g, ng);
	for (size_t i = 0; i < l.n; i++)
		free(l.ids[i]);
	free(l.ids);
	return 0;
}
