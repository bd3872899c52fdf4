/* qfile: reading and writing sendmail 8 qf control files. */
#include "qfile.h"
#include "dirsync.h"
#include "safeopen.h"
#include "fdio.h"
#include "strbuf.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void qf_env_init(struct qf_env *env)
{
	memset(env, 0, sizeof(*env));
	env->version = 8;
	hdrlist_init(&env->headers);
}

void qf_env_free(struct qf_env *env)
{
	free(env->inode); free(env->msg); free(env->flags); free(env->bodytype);
	free(env->envid); free(env->auth); free(env->sender); free(env->ctladdr);
	free(env->quarantine);
	for (size_t i = 0; i < env->nmacros; i++) {
		free(env->macros[i].name);
		free(env->macros[i].value);
	}
	free(env->macros);
	for (size_t i = 0; i < env->nrcpts; i++)
		qf_rcpt_clear(&env->rcpts[i]);
	free(env->rcpts);
	for (size_t i = 0; i < env->nextra; i++)
		free(env->extra[i]);
	free(env->extra);
	hdrlist_free(&env->headers);
	qf_env_init(env);
}

void qf_set(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

void qf_env_add_rcpt(struct qf_env *env, const char *addr, const char *flags, const char *orcpt)
{
	env->rcpts = xreallocarray(env->rcpts, env->nrcpts + 1, sizeof(*env->rcpts));
	struct qf_rcpt *r = &env->rcpts[env->nrcpts++];
	r->addr = xstrdup(addr);
	r->flags = xstrdup(flags ? flags : "");
	r->orcpt = orcpt ? xstrdup(orcpt) : NULL;
	r->final = r->ctladdr = r->msg = NULL;
}

/* sendmail's SM_MM_QUOTE: octets that are internal characters in a qf
 * (0x80-0x9f, among them the macro octet \201, and the quote \377 itself)
 * are written with \377 before them when they are the message's own. */
static int needs_quote(unsigned char c)
{
	return (c & 0xe0) == 0x80 || c == 0xff;
}

long qf_msgsize(const struct qf_env *env, long dfsize)
{
	long n = dfsize;
	for (size_t i = 0; i < env->headers.count; i++) {
		const struct header *h = &env->headers.h[i];
		n += (long)(strlen(h->name) + 1 + (h->cond ? strlen(h->cond) : 0));
		for (const char *v = h->value; *v; v++)
			n += *v == '\r' ? 0 : (!h->macros && needs_quote((unsigned char)*v)) ? 2 : 1;
	}
	return n;
}

void qf_rcpt_clear(struct qf_rcpt *r)
{
	free(r->addr); free(r->flags); free(r->orcpt);
	free(r->final); free(r->ctladdr); free(r->msg);
	memset(r, 0, sizeof(*r));
}

int qf_has_flag(const struct qf_env *env, char f)
{
	return env->flags && strchr(env->flags, f) != NULL;
}

/* Adds f, keeping the order sendmail's queueup writes its flags in. */
void qf_add_flag(struct qf_env *env, char f)
{
	static const char order[] = "wr8bdns";
	if (qf_has_flag(env, f))
		return;
	size_t n = env->flags ? strlen(env->flags) : 0, k = 0;
	char *nf = xmalloc(n + 2);
	for (const char *o = order; *o; o++)
		if (*o == f || qf_has_flag(env, *o))
			nf[k++] = *o;
	for (size_t i = 0; i < n; i++)
		if (!strchr(order, env->flags[i]))
			nf[k++] = env->flags[i];
	if (!strchr(order, f))
		nf[k++] = f;
	nf[k] = '\0';
	free(env->flags);
	env->flags = nf;
}

void qf_ctladdr_make(char *buf, size_t size, const char *user, long uid, long gid, const char *addr)
{
	if (uid == 0 || !user || !*user)
		snprintf(buf, size, ":%s", addr);
	else
		snprintf(buf, size, "%s:%ld:%ld:%s", user, uid, gid, addr);
}

void qf_ctladdr_show(char *buf, size_t size, const char *ctl)
{
	const char *p = ctl;
	char user[256];
	long uid = 0, gid = 0;
	if (strchr(ctl, ':') == NULL) {	/* mtad before 0.2: "alice (1000/1000)" */
		snprintf(buf, size, "%s", ctl);
		return;
	}
	size_t n = strcspn(p, ":");
	snprintf(user, sizeof(user), "%.*s", (int)(n < sizeof(user) ? n : sizeof(user) - 1), p);
	p += n + 1;
	if (user[0]) {
		char *end;
		uid = strtol(p, &end, 10);
		if (*end == ':') {
			gid = strtol(end + 1, &end, 10);
			p = *end == ':' ? end + 1 : end;
		}
	}
	snprintf(buf, size, "%s (%ld/%ld)", *p ? p : user, uid, gid);
}

void qf_env_set_macro(struct qf_env *env, const char *name, const char *value)
{
	for (size_t i = 0; i < env->nmacros; i++) {
		if (strcmp(env->macros[i].name, name) == 0) {
			qf_set(&env->macros[i].value, value);
			return;
		}
	}
	env->macros = xreallocarray(env->macros, env->nmacros + 1, sizeof(*env->macros));
	env->macros[env->nmacros].name = xstrdup(name);
	env->macros[env->nmacros].value = xstrdup(value);
	env->nmacros++;
}

const char *qf_env_macro(const struct qf_env *env, const char *name)
{
	for (size_t i = 0; i < env->nmacros; i++)
		if (strcmp(env->macros[i].name, name) == 0)
			return env->macros[i].value;
	return NULL;
}

/* Whether QDIR/Xf is a directory, looked up at most once a second per queue
 * directory and type: a stat per file name cost two stats a message on the
 * accepted path.  sendmail itself decides the subdirectories when it builds
 * its queue groups at start; a second keeps a subdirectory made (or removed)
 * while mtad runs noticed soon.  Shared by the commit threads, hence the lock;
 * clock_gettime(CLOCK_MONOTONIC_COARSE) is no system call (vDSO). */
#define SUBDIR_CACHE 8
static struct subdir_seen {
	char qdir[256];
	char type;
	int isdir;
	time_t at;
} subdir_seen[SUBDIR_CACHE];
static unsigned subdir_next;
static pthread_mutex_t subdir_mu = PTHREAD_MUTEX_INITIALIZER;

static int subdir_is_dir(const char *qdir, char subtype)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	size_t len = strlen(qdir);
	int cacheable = len < sizeof(subdir_seen[0].qdir);
	if (cacheable) {
		pthread_mutex_lock(&subdir_mu);
		for (size_t i = 0; i < SUBDIR_CACHE; i++) {
			struct subdir_seen *e = &subdir_seen[i];
			if (e->type == subtype && e->at == now.tv_sec && strcmp(e->qdir, qdir) == 0) {
				int isdir = e->isdir;
				pthread_mutex_unlock(&subdir_mu);
				return isdir;
			}
		}
		pthread_mutex_unlock(&subdir_mu);
	}
	char probe[4096];
	snprintf(probe, sizeof(probe), "%s/%cf", qdir, subtype);
	struct stat st;
	int isdir = stat(probe, &st) == 0 && S_ISDIR(st.st_mode);
	if (cacheable) {
		pthread_mutex_lock(&subdir_mu);
		struct subdir_seen *e = NULL;
		for (size_t i = 0; i < SUBDIR_CACHE && e == NULL; i++)
			if (subdir_seen[i].type == subtype && strcmp(subdir_seen[i].qdir, qdir) == 0)
				e = &subdir_seen[i];
		if (e == NULL)
			e = &subdir_seen[subdir_next++ % SUBDIR_CACHE];
		memcpy(e->qdir, qdir, len + 1);
		e->type = subtype;
		e->isdir = isdir;
		e->at = now.tv_sec;
		pthread_mutex_unlock(&subdir_mu);
	}
	return isdir;
}

void qf_path_forget(void)
{
	pthread_mutex_lock(&subdir_mu);
	memset(subdir_seen, 0, sizeof(subdir_seen));
	pthread_mutex_unlock(&subdir_mu);
}

void qf_path(char *buf, size_t size, const char *qdir, char type, const char *qid)
{
	char sub[8] = "";
	if (type != 'h') {
		char subtype = type == 't' ? 'q' : type;
		if (subdir_is_dir(qdir, subtype))
			snprintf(sub, sizeof(sub), "%cf/", subtype);
	}
	snprintf(buf, size, "%s/%s%cf%s", qdir, sub, type, qid);
}

/* Shared with concurrent commits of other threads: lib/dirsync. */
int fsync_dir(const char *dir)
{
	return dirsync(dir);
}

/* Appends a single-line value with CR, LF and NUL made harmless. */
static void put_line_value(struct strbuf *sb, const char *v)
{
	for (; v && *v; v++)
		sb_putc(sb, (*v == '\r' || *v == '\n') ? ' ' : *v);
}

static void put_record(struct strbuf *sb, char type, const char *v)
{
	if (v == NULL)
		return;
	sb_putc(sb, type);
	put_line_value(sb, v);
	sb_putc(sb, '\n');
}

/* A header value may span lines, but every continuation must begin with a
 * blank, or the reader would take it for a record of its own. */
static void put_header(struct strbuf *sb, const struct header *h)
{
	sb_puts(sb, "H?");
	put_line_value(sb, h->cond);
	sb_putc(sb, '?');
	put_line_value(sb, h->name);
	sb_putc(sb, ':');
	for (const char *v = h->value; *v; v++) {
		if (*v == '\r')
			continue;
		if (!h->macros && needs_quote((unsigned char)*v))
			sb_putc(sb, '\377');
		sb_putc(sb, *v);
		if (*v == '\n' && v[1] != ' ' && v[1] != '\t')
			sb_putc(sb, '\t');
	}
	sb_putc(sb, '\n');
}

/* C records as sendmail's printctladdr: written when the controlling user
 * changes from the recipient before; a bare "C" ends one. */
static void put_ctladdr(struct strbuf *sb, const char *ctl, const char **last)
{
	if (ctl == NULL) {
		if (*last)
			sb_puts(sb, "C\n");
		*last = NULL;
		return;
	}
	if (*last && strcmp(*last, ctl) == 0)
		return;
	put_record(sb, 'C', ctl);
	*last = ctl;
}

/* R flags in the order sendmail's queueup writes them; a recipient without
 * NOTIFY gets F and D, as sendmail gives it (RFC 3461's default): sendmail
 * sends no DSN at all for a recipient with none of N, S, F, D. */
static void put_rflags(struct strbuf *sb, const char *flags)
{
	static const char order[] = "PNSFDBAM";
	const char *f = flags ? flags : "";
	int notify = strpbrk(f, "NSFD") != NULL;
	for (const char *o = order; *o; o++)
		if (strchr(f, *o) || (!notify && (*o == 'F' || *o == 'D')))
			sb_putc(sb, *o);
	for (const char *p = f; *p; p++)
		if (!strchr(order, *p))
			sb_putc(sb, (*p == '\r' || *p == '\n') ? ' ' : *p);
}

static void qf_format(struct strbuf *sb, const struct qf_env *env)
{
	sb_printf(sb, "V%d\n", env->version ? env->version : 8);
	sb_printf(sb, "T%lld\n", (long long)env->ctime);
	sb_printf(sb, "K%lld\n", (long long)env->ktime);
	sb_printf(sb, "N%d\n", env->ntries);
	sb_printf(sb, "P%ld\n", env->priority);
	put_record(sb, 'I', env->inode);
	put_record(sb, 'B', env->bodytype);
	put_record(sb, 'q', env->quarantine);
	put_record(sb, 'M', env->msg);
	if (env->flags && *env->flags)
		put_record(sb, 'F', env->flags);
	for (size_t i = 0; i < env->nmacros; i++) {
		sb_putc(sb, '$');
		if (strlen(env->macros[i].name) == 1)
			sb_puts(sb, env->macros[i].name);
		else
			sb_printf(sb, "{%s}", env->macros[i].name);
		put_line_value(sb, env->macros[i].value);
		sb_putc(sb, '\n');
	}
	put_record(sb, 'S', env->sender);
	put_record(sb, 'Z', env->envid);
	put_record(sb, 'A', env->auth);
	for (size_t i = 0; i < env->nextra; i++)
		put_record(sb, env->extra[i][0], env->extra[i] + 1);
	const char *last = NULL;
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct qf_rcpt *r = &env->rcpts[i];
		put_record(sb, 'M', r->msg);
		put_ctladdr(sb, r->ctladdr ? r->ctladdr : env->ctladdr, &last);
		put_record(sb, 'Q', r->orcpt);
		put_record(sb, 'r', r->final);
		sb_putc(sb, 'R');
		put_rflags(sb, r->flags);
		sb_putc(sb, ':');
		put_line_value(sb, r->addr);
		sb_putc(sb, '\n');
	}
	for (size_t i = 0; i < env->headers.count; i++)
		put_header(sb, &env->headers.h[i]);
	sb_puts(sb, ".\n");
}

unsigned qf_file_mode = 0600;

/* Writing a qf in steps, so that a caller committing several messages can
 * make them all durable with one journal commit (see qfile.h). */
int qf_stage_write(const char *qdir, const struct qf_env *env, int keep_lock, struct qf_stage *st,
		   char *err, size_t errsize)
{
	qf_path(st->tf, sizeof(st->tf), qdir, 't', env->qid);
	qf_path(st->qf, sizeof(st->qf), qdir, 'q', env->qid);
	st->renamed = 0;
	st->fd = safe_open(st->tf, O_WRONLY | O_CREAT | O_EXCL, 0600, NULL, 0);
	if (st->fd < 0) {
		snprintf(err, errsize, "cannot create %s: %s", st->tf, strerror(errno));
		return -1;
	}
	if (qf_file_mode != 0600)
		(void)fchmod(st->fd, (mode_t)qf_file_mode);
	/* Only a rewrite that goes on holding the message needs the lock.  A
	 * new message takes none: its fd may be copied into a process forked
	 * meanwhile, and a lock on the copy would outlive the commit. */
	if (keep_lock && flock(st->fd, LOCK_EX | LOCK_NB) < 0)
		return qf_stage_fail(st, "lock", err, errsize);
	struct strbuf sb;
	sb_init(&sb);
	qf_format(&sb, env);
	int wrc = fd_write_all(st->fd, sb.s, sb.len);
	sb_free(&sb);
	if (wrc < 0)
		return qf_stage_fail(st, "write", err, errsize);
	return 0;
}

void qf_stage_start_sync(const struct qf_stage *st)
{
	/* a hint: the data goes to the disk now, beside the other files of
	 * the batch; fsync (qf_stage_sync) is what makes it durable */
	(void)sync_file_range(st->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

int qf_stage_sync(struct qf_stage *st, char *err, size_t errsize)
{
	return fsync(st->fd) < 0 ? qf_stage_fail(st, "fsync", err, errsize) : 0;
}

int qf_stage_publish(struct qf_stage *st, char *err, size_t errsize)
{
	if (rename(st->tf, st->qf) < 0)
		return qf_stage_fail(st, "rename", err, errsize);
	st->renamed = 1;
	return 0;
}

int qf_stage_fail(struct qf_stage *st, const char *step, char *err, size_t errsize)
{
	int saved = errno;
	snprintf(err, errsize, "%s of %s failed: %s", step, st->tf, strerror(saved));
	qf_stage_abort(st);
	errno = saved;
	return -1;
}

void qf_stage_abort(struct qf_stage *st)
{
	int saved = errno;
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	unlink(st->renamed ? st->qf : st->tf);
	errno = saved;
}

int qf_write(const char *qdir, const struct qf_env *env, int keep_lock, char *err, size_t errsize)
{
	struct qf_stage st;
	char dir[4096];
	if (qf_stage_write(qdir, env, keep_lock, &st, err, errsize) < 0 || qf_stage_sync(&st, err, errsize) < 0 ||
	    qf_stage_publish(&st, err, errsize) < 0)
		return -1;
	path_dirname(dir, sizeof(dir), st.qf);
	if (fsync_dir(dir) < 0) {
		/* The rename happened but may not be durable: report, keep the file. */
		snprintf(err, errsize, "fsync of directory %s: %s", dir, strerror(errno));
		int saved = errno;
		close(st.fd);
		errno = saved;
		return -1;
	}
	if (keep_lock)
		return st.fd;
	close(st.fd);
	return 0;
}

static int qf_error(char *err, size_t errsize, const char *name, size_t line, const char *why)
{
	snprintf(err, errsize, "%s:%zu: %s", name, line, why);
	return -1;
}

static int parse_long(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* A value read from a qf: with an unquoted \201 (a macro) it stays in the
 * internal form, for lib/qheader to expand; otherwise the \377 quotes are
 * removed and it is the message's own octets.  An unquoted \201 right after
 * an unquoted UTF-8 lead or continuation octet is text, not a macro: files
 * mtad wrote before it quoted (0.1) hold UTF-8 as it came. */
static void header_from_qf(struct header *h)
{
	char *v = h->value;
	unsigned char prev = 0;		/* the last unquoted octet, 0 after a quoted one */
	for (size_t i = 0; v[i]; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == 0377 && v[i + 1]) {
			i++;
			prev = 0;
			continue;
		}
		if (c == 0201 && !(prev >= 0x80 && prev <= 0xf4)) {
			h->macros = 1;
			return;
		}
		prev = c;
	}
	size_t o = 0;
	for (size_t i = 0; v[i]; i++) {
		if ((unsigned char)v[i] == 0377 && v[i + 1])
			i++;
		v[o++] = v[i];
	}
	v[o] = '\0';
}

/* What records before an R carry over to it. */
struct qf_pending {
	char *orcpt;	/* Q */
	char *final;	/* r */
	char *msg;	/* M after S */
	char *ctladdr;	/* C in force */
	int seen_sender;
};

static void pending_free(struct qf_pending *p)
{
	free(p->orcpt); free(p->final); free(p->msg); free(p->ctladdr);
	memset(p, 0, sizeof(*p));
}

static void keep_record(struct qf_env *env, const char *rec)
{
	env->extra = xreallocarray(env->extra, env->nextra + 1, sizeof(*env->extra));
	env->extra[env->nextra++] = xstrdup(rec);
}

/* Applies one logical record (continuations already joined with "\n"). */
static int qf_record(struct qf_env *env, char *rec, const char **why, struct qf_pending *pend)
{
	long long v;
	char type = rec[0];
	char *val = rec + 1;
	switch (type) {
	case 'V':
		if (parse_long(val, &v) < 0 || v < 1 || v > 8) { *why = "unsupported version"; return -1; }
		env->version = (int)v;
		return 0;
	case 'T':
		if (parse_long(val, &v) < 0) { *why = "bad T (creation time) record"; return -1; }
		env->ctime = (time_t)v;
		return 0;
	case 'K':
		if (parse_long(val, &v) < 0) { *why = "bad K (last run) record"; return -1; }
		env->ktime = (time_t)v;
		return 0;
	case 'N':
		if (parse_long(val, &v) < 0 || v < 0 || v > 1000000) { *why = "bad N (tries) record"; return -1; }
		env->ntries = (int)v;
		return 0;
	case 'P':
		if (parse_long(val, &v) < 0) { *why = "bad P (priority) record"; return -1; }
		env->priority = (long)v;
		return 0;
	case 'I': qf_set(&env->inode, val); return 0;
	case 'M':
		qf_set(pend->seen_sender ? &pend->msg : &env->msg, val);
		return 0;
	case 'F': qf_set(&env->flags, val); return 0;
	case 'B': qf_set(&env->bodytype, val); return 0;
	case 'Z': qf_set(&env->envid, val); return 0;
	case 'A': qf_set(&env->auth, val); return 0;
	case 'S':
		qf_set(&env->sender, val);
		pend->seen_sender = 1;
		return 0;
	case 'C':
		qf_set(&pend->ctladdr, *val ? val : NULL);
		if (*val && env->ctladdr == NULL)
			qf_set(&env->ctladdr, val);
		return 0;
	case 'q': qf_set(&env->quarantine, val); return 0;
	case 'Q': qf_set(&pend->orcpt, val); return 0;
	case 'r': qf_set(&pend->final, val); return 0;
	case 'R': {
		char *colon = strchr(val, ':');
		char *flags = "";
		char *addr = val;
		if (colon) {
			*colon = '\0';
			flags = val;
			addr = colon + 1;
		}
		if (*addr == '\0') { *why = "empty recipient"; return -1; }
		qf_env_add_rcpt(env, addr, flags, pend->orcpt);
		struct qf_rcpt *r = &env->rcpts[env->nrcpts - 1];
		r->final = pend->final;
		r->msg = pend->msg;
		r->ctladdr = pend->ctladdr ? xstrdup(pend->ctladdr) : NULL;
		free(pend->orcpt);
		pend->orcpt = pend->final = pend->msg = NULL;
		return 0;
	}
	case '$': {
		char *name, *value;
		if (val[0] == '{') {
			char *close = strchr(val, '}');
			if (!close || close == val + 1) { *why = "bad macro record"; return -1; }
			*close = '\0';
			name = val + 1;
			value = close + 1;
		} else if (val[0] != '\0') {
			char one[2] = { val[0], '\0' };
			qf_env_set_macro(env, one, val + 1);
			return 0;
		} else {
			*why = "bad macro record";
			return -1;
		}
		qf_env_set_macro(env, name, value);
		return 0;
	}
	case 'H': {
		/* H?cond?Name: value  (the ?cond? part is optional) */
		char *h = val, *cond = NULL;
		if (*h == '?') {
			char *q = strchr(h + 1, '?');
			if (!q) { *why = "bad header record"; return -1; }
			*q = '\0';
			cond = h + 1;
			h = q + 1;
		}
		char *colon = strchr(h, ':');
		if (!colon || colon == h) { *why = "bad header record"; return -1; }
		*colon = '\0';
		hdrlist_add_cond(&env->headers, cond, h, colon + 1);
		header_from_qf(&env->headers.h[env->headers.count - 1]);
		return 0;
	}
	case '!': case 'd': case 'E': case 'j':
		keep_record(env, rec);	/* sendmail's, unused here: written back as read */
		return 0;
	default:
		*why = "unknown record type";	/* sendmail's readqf refuses it too */
		return -1;
	}
}

int qf_parse(const char *text, size_t len, const char *name, struct qf_env *env,
	     char *err, size_t errsize)
{
	struct strbuf rec;
	size_t pos = 0, lineno = 0, rec_line = 0;
	int have = 0, done = 0, rc = 0;
	struct qf_pending pend;
	memset(&pend, 0, sizeof(pend));
	const char *why = NULL;

	sb_init(&rec);
	while (pos < len && !done) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		if (nl == NULL) {
			rc = qf_error(err, errsize, name, lineno + 1, "truncated line (no newline)");
			goto out;
		}
		size_t llen = (size_t)(nl - (text + pos));
		const char *line = text + pos;
		pos += llen + 1;
		lineno++;
		if (memchr(line, '\0', llen)) {
			rc = qf_error(err, errsize, name, lineno, "NUL byte in queue file");
			goto out;
		}
		if (llen > 0 && (line[0] == ' ' || line[0] == '\t')) {
			if (!have) {
				rc = qf_error(err, errsize, name, lineno, "continuation line with no record");
				goto out;
			}
			sb_putc(&rec, '\n');
			sb_append(&rec, line, llen);
			continue;
		}
		if (have) {
			if (qf_record(env, rec.s, &why, &pend) < 0) {
				rc = qf_error(err, errsize, name, rec_line, why);
				goto out;
			}
			have = 0;
		}
		if (llen == 1 && line[0] == '.') {
			done = 1;
			break;
		}
		if (llen == 0) {
			rc = qf_error(err, errsize, name, lineno, "empty line");
			goto out;
		}
		sb_reset(&rec);
		sb_append(&rec, line, llen);
		rec_line = lineno;
		have = 1;
	}
	if (!done) {
		rc = qf_error(err, errsize, name, lineno, "truncated queue file (no \".\" terminator)");
		goto out;
	}
	if (env->sender == NULL) {
		rc = qf_error(err, errsize, name, lineno, "no sender (S) record");
		goto out;
	}
out:
	pending_free(&pend);
	sb_free(&rec);
	return rc;
}

int qf_read(const char *path, struct qf_env *env, char *err, size_t errsize)
{
	int fd = safe_open(path, O_RDONLY, 0, err, errsize);
	if (fd < 0)
		return -1;
	struct strbuf sb;
	sb_init(&sb);
	char buf[16384];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (sb.len + (size_t)n > 64 * 1024 * 1024) {
			snprintf(err, errsize, "%s: queue file larger than 64 MB", path);
			close(fd);
			sb_free(&sb);
			return -1;
		}
		sb_append(&sb, buf, (size_t)n);
	}
	int saved = errno;
	close(fd);
	if (n < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(saved));
		sb_free(&sb);
		return -1;
	}
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	int rc = qf_parse(sb.s, sb.len, path, env, err, errsize);
	if (rc == 0 && strncmp(base, "qf", 2) == 0)
		snprintf(env->qid, sizeof(env->qid), "%s", base + 2);
	sb_free(&sb);
	return rc;
}

/* Calls fn for every "<c>f<ID>" file of dir (qf, or hf: held). */
static int scan_dir(const char *dir, char c, void (*fn)(const char *, void *), void *arg)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != c || de->d_name[1] != 'f' || !qid_valid(de->d_name + 2))
			continue;
		fn(de->d_name + 2, arg);
		n++;
	}
	closedir(d);
	return n;
}

/* The qf/ subdirectory when the queue has one, the queue itself otherwise. */
static int scan_queue(const char *qdir, char c, void (*fn)(const char *, void *), void *arg)
{
	char sub[4096];
	snprintf(sub, sizeof(sub), "%s/qf", qdir);
	struct stat st;
	if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
		return scan_dir(sub, c, fn, arg);
	return scan_dir(qdir, c, fn, arg);
}

int qf_scan(const char *qdir, void (*fn)(const char *qid, void *arg), void *arg)
{
	return scan_queue(qdir, 'q', fn, arg);
}

/* hf<ID>: sendmail renames a quarantined qf so (in the qf/ subdirectory when
 * there is one); listed by -bp -qQ. */
int qf_scan_held(const char *qdir, void (*fn)(const char *qid, void *arg), void *arg)
{
	return scan_queue(qdir, 'h', fn, arg);
}

void qf_held_path(char *buf, size_t size, const char *qdir, const char *qid)
{
	char sub[4096];
	snprintf(sub, sizeof(sub), "%s/qf", qdir);
	struct stat st;
	if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(buf, size, "%s/hf%s", sub, qid);
	else
		snprintf(buf, size, "%s/hf%s", qdir, qid);
}
