/* actions: flush, hold, release, delete and bounce go through mailq, the
 * binary, so that the console acts exactly as `mailq -qI<ID> --hold ...`
 * would; the status line shows that command.  Every action is a y/n
 * question first, naming the message or the count; an action typed after
 * `:` is counted first by `mailq ... --dry-run`.
 * The child runs in the background (its output read from a non-blocking
 * pipe by the event loop), so a long flush never freezes the screen. */
#include "console.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_MAX (1024 * 1024)

void runner_init(struct runner *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	sb_init(&r->out);
}

const char *action_name(enum act a)
{
	static const char *const n[] = { "flush", "hold", "release", "delete", "bounce", "run" };
	return n[a];
}

static void argv_free(char **av)
{
	for (size_t i = 0; av && av[i]; i++)
		free(av[i]);
	free(av);
}

struct argv {
	char **v;
	size_t n;
};

static void av_add(struct argv *a, const char *s)
{
	a->v = xreallocarray(a->v, a->n + 2, sizeof(char *));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

/* Words of a typed command line: blanks separate, '...' and "..." quote. */
static int split_words(struct argv *a, const char *s, char *err, size_t errsize)
{
	struct strbuf w;
	sb_init(&w);
	int inword = 0;
	for (const char *p = s;; p++) {
		if (*p == '\0' || *p == ' ' || *p == '\t') {
			if (inword)
				av_add(a, w.s);
			sb_reset(&w);
			inword = 0;
			if (*p == '\0')
				break;
			continue;
		}
		inword = 1;
		if (*p == '\'' || *p == '"') {
			const char *e = strchr(p + 1, *p);
			if (e == NULL) {
				snprintf(err, errsize, "unterminated %c quote", *p);
				sb_free(&w);
				return -1;
			}
			sb_append(&w, p + 1, (size_t)(e - p - 1));
			p = e;
			continue;
		}
		sb_putc(&w, *p);
	}
	sb_free(&w);
	return 0;
}

/* Shell quoting for the command shown: what a postmaster could paste. */
static void show_word(struct strbuf *sb, const char *w)
{
	int plain = *w != '\0';
	for (const char *p = w; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@+%", *p))
			plain = 0;
	if (plain) {
		sb_puts(sb, w);
		return;
	}
	sb_putc(sb, '\'');
	for (const char *p = w; *p; p++) {
		if (*p == '\'')
			sb_puts(sb, "'\\''");
		else
			sb_putc(sb, *p);
	}
	sb_putc(sb, '\'');
}

static int has_word(const struct argv *a, const char *w)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], w) == 0 || (strncmp(a->v[i], w, strlen(w)) == 0 &&
						 a->v[i][strlen(w)] == '='))
			return 1;
	return 0;
}

/* Starts mailq's argv av with stdin /dev/null and stdout and stderr on a
 * pipe; returns the pipe's read end (*pid set), or -1 with err. */
static int spawn_mailq(char **av, pid_t *pid, char *err, size_t errsize)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errsize, "pipe: %s", strerror(errno));
		return -1;
	}
	*pid = fork();
	if (*pid < 0) {
		snprintf(err, errsize, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (*pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execv(av[0], av);
		dprintf(2, "cannot run %s: %s (set it with --mailq)\n", av[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	return p[0];
}

/* Runs av with --dry-run added and counts the messages it names ("<ID>:
 * would ..." lines).  Returns the count, or -1 with mailq's complaint in
 * err (a usage error: no selection, a value that looks like a flag).  It
 * only lists, so waiting for it is short. */
static long dry_run_count(char **av, char *err, size_t errsize)
{
	size_t n = 0;
	while (av[n])
		n++;
	char **dv = xcalloc(n + 2, sizeof(char *));
	memcpy(dv, av, n * sizeof(char *));
	dv[n] = "--dry-run";
	pid_t pid;
	int fd = spawn_mailq(dv, &pid, err, errsize);
	free(dv);
	if (fd < 0)
		return -1;
	struct strbuf out;
	sb_init(&out);
	char buf[4096];
	ssize_t k;
	while ((k = read(fd, buf, sizeof(buf))) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (out.len < OUT_MAX)
			sb_append(&out, buf, (size_t)k);
	}
	close(fd);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	long count = 0;
	char last[400] = "";
	for (const char *s = out.s; s && *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (memmem(s, len, ": would ", 8))
			count++;
		else if (len)
			snprintf(last, sizeof(last), "%.*s", (int)len, s);
		s += len + (nl ? 1 : 0);
	}
	sb_free(&out);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, errsize, "%s", last[0] ? last : "mailq --dry-run failed");
		return -1;
	}
	return count;
}

int action_prepare(struct runner *r, enum act a, const char *const *ids, size_t nids,
		   const char *arg, char *err, size_t errsize)
{
	if (r->pid) {
		snprintf(err, errsize, "a mailq command is still running (%s)", r->cmdline);
		return -1;
	}
	if (a == ACT_HOLD && (arg == NULL || *arg == '\0')) {
		snprintf(err, errsize, "hold: a reason is needed");
		return -1;
	}
	if (a != ACT_COMMAND && nids == 0) {
		snprintf(err, errsize, "%s: no message selected", action_name(a));
		return -1;
	}
	action_cancel(r);
	struct argv av = { 0 };
	av_add(&av, con.mailq);
	if (con.conf_file) {
		av_add(&av, "-C");
		av_add(&av, con.conf_file);
	}
	for (size_t i = 0; i < con.noopts; i++) {
		av_add(&av, "-O");
		av_add(&av, con.oopts[i]);
	}
	if (con.msp)
		av_add(&av, "-Ac");
	int listing = 0;
	if (a == ACT_COMMAND) {
		size_t before = av.n;
		if (split_words(&av, arg ? arg : "", err, errsize) < 0) {
			argv_free(av.v);
			return -1;
		}
		if (av.n > before && strcmp(av.v[before], "mailq") == 0) {
			free(av.v[before]);	/* ":mailq -qRx" is ":-qRx" */
			memmove(&av.v[before], &av.v[before + 1], (av.n - before) * sizeof(char *));
			av.n--;
		}
		listing = !has_word(&av, "--flush") && !has_word(&av, "--hold") &&
			  !has_word(&av, "--release") && !has_word(&av, "--delete") &&
			  !has_word(&av, "--bounce");
		if (has_word(&av, "--dry-run"))
			listing = 1;	/* changes nothing: its output is shown */
		if ((has_word(&av, "--delete") || has_word(&av, "--bounce")) && !has_word(&av, "--yes"))
			av_add(&av, "--yes");	/* the console asks */
	} else {
		for (size_t i = 0; i < nids; i++) {
			char sel[64];
			snprintf(sel, sizeof(sel), "-qI%s", ids[i]);
			av_add(&av, sel);
		}
		switch (a) {
		case ACT_FLUSH: av_add(&av, "--flush"); break;
		case ACT_HOLD: {
			/* "--hold=REASON": a reason that begins with '-' is a reason */
			struct strbuf h;
			sb_init(&h);
			sb_printf(&h, "--hold=%s", arg);
			av_add(&av, h.s);
			sb_free(&h);
			break;
		}
		case ACT_RELEASE: av_add(&av, "--release"); break;
		case ACT_DELETE: av_add(&av, "--delete"); av_add(&av, "--yes"); break;
		case ACT_BOUNCE: av_add(&av, "--bounce"); av_add(&av, "--yes"); break;
		default: break;
		}
	}
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "mailq");
	for (size_t i = 1; i < av.n; i++) {
		sb_putc(&sb, ' ');
		show_word(&sb, av.v[i]);
	}
	snprintf(r->cmdline, sizeof(r->cmdline), "%s", sb.s);
	sb_free(&sb);
	r->pending = av.v;
	r->show_output = listing;
	if (listing)
		return 1;
	if (a == ACT_COMMAND) {
		/* what the typed action would touch, counted by mailq itself */
		long count = dry_run_count(av.v, err, errsize);
		if (count < 0) {
			argv_free(av.v);
			r->pending = NULL;
			return -1;
		}
		if (count == 0) {
			snprintf(err, errsize, "%s: no message selected; nothing to do", r->cmdline);
			argv_free(av.v);
			r->pending = NULL;
			return -1;
		}
		snprintf(r->prompt, sizeof(r->prompt), "Run %s on %ld message%s? (y/n)", r->cmdline,
			 count, count == 1 ? "" : "s");
	} else if (nids == 1)
		snprintf(r->prompt, sizeof(r->prompt), "%s%s %s? (y/n)",
			 a == ACT_DELETE ? "DELETE" : "", a == ACT_DELETE ? "" : action_name(a), ids[0]);
	else
		snprintf(r->prompt, sizeof(r->prompt), "%s%s %zu messages? (y/n)",
			 a == ACT_DELETE ? "DELETE" : "", a == ACT_DELETE ? "" : action_name(a), nids);
	if (a == ACT_BOUNCE)
		memcpy(r->prompt, "BOUNCE", 6);	/* "bounce" -> "BOUNCE": it cannot be undone */
	else if (a != ACT_DELETE && a != ACT_COMMAND)
		r->prompt[0] = (char)(r->prompt[0] - 'a' + 'A');
	return 0;
}

void action_cancel(struct runner *r)
{
	argv_free(r->pending);
	r->pending = NULL;
	r->prompt[0] = '\0';
}

int action_start(struct runner *r, char *err, size_t errsize)
{
	if (r->pending == NULL) {
		snprintf(err, errsize, "nothing to run");
		return -1;
	}
	pid_t pid;
	int fd = spawn_mailq(r->pending, &pid, err, errsize);
	if (fd < 0)
		return -1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	r->pid = pid;
	r->fd = fd;
	r->started = time(NULL);
	r->finished = 0;
	sb_reset(&r->out);
	argv_free(r->pending);
	r->pending = NULL;
	r->prompt[0] = '\0';
	return 0;
}

int action_poll(struct runner *r)
{
	if (r->pid == 0)
		return 0;
	char buf[4096];
	ssize_t n;
	while (r->fd >= 0 && (n = read(r->fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			break;
		}
		if (r->out.len + (size_t)n <= OUT_MAX)
			sb_append(&r->out, buf, (size_t)n);
	}
	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	int st;
	pid_t w = waitpid(r->pid, &st, WNOHANG);
	if (w == 0)
		return 0;	/* closed its output but still running */
	r->status = w < 0 ? 255 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->pid = 0;
	r->finished = 1;
	return 1;
}
