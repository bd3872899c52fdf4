/* libfault: an LD_PRELOAD shim that makes chosen file-system calls fail,
 * for the reliability tests (tests/e2e/test_reliability.py).  Test-only; it
 * is never linked into a product binary.
 *
 * MTA_FAULT holds rules separated by ';' (or ','):
 *     op:pattern:nth[:errno]
 *   op       fsync (also fdatasync), syncfs, syncrange (sync_file_range),
 *            write (also pwrite, writev),
 *            rename, open (also openat, creat), unlink
 *   pattern  a substring of the path: for fd calls the file the descriptor
 *            names (readlink /proc/self/fd/N), for rename the source or the
 *            target, for open/unlink the path given; "*" matches any path;
 *            a trailing "$" anchors it at the end ("mqueue$": the directory)
 *   nth      which matching call fails, counted per process from 1: "1" the
 *            first only, "2+" the second and every later one, "*" all
 *   errno    EIO (default for fsync/syncfs/write/rename), ENOSPC, EDQUOT,
 *            EACCES (default for open/unlink), EROFS, EMFILE, or a number;
 *            or "delayMS": the call is not failed but made MS milliseconds
 *            late (a slow disk: commits that arrive meanwhile queue up)
 * Examples: MTA_FAULT="fsync:/df:1"            first fsync of a df file: EIO
 *           MTA_FAULT="write:/df:*:ENOSPC"     every write to a df file
 *           MTA_FAULT="fsync:/mqueue:1"        the queue directory fsync
 * Each injected failure is reported on stderr as
 *     libfault: pid N: OP PATH -> ERRNO
 * and appended to $MTA_FAULT_LOG when that is set, so a test can prove the
 * fault was hit.  Counters are per process: a forked child starts with the
 * parent's counts at fork time.
 *
 * Works under ASan when the process is run with
 * ASAN_OPTIONS=verify_asan_link_order=0 (the shim then comes before the ASan
 * runtime; it only forwards through dlsym(RTLD_NEXT), so both see the calls). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULES 16

enum fop { F_FSYNC, F_SYNCFS, F_SYNCRANGE, F_WRITE, F_RENAME, F_OPEN, F_UNLINK };

struct rule {
	enum fop op;
	char pattern[256];
	long nth;		/* 0: every match */
	int from_nth;		/* nth and all later */
	int err;
	long delay_ms;		/* not a failure: the call is made late */
	long seen;
};

static struct rule rules[MAX_RULES];
static int nrules = -1;		/* -1: not parsed yet */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int parse_errno(const char *s, enum fop op)
{
	static const struct { const char *name; int val; } names[] = {
		{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT }, { "EACCES", EACCES },
		{ "EROFS", EROFS }, { "EMFILE", EMFILE }, { "EPERM", EPERM }, { "EFBIG", EFBIG },
	};
	if (s == NULL || *s == '\0')
		return (op == F_OPEN || op == F_UNLINK) ? EACCES : EIO;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].val;
	int v = atoi(s);
	return v > 0 ? v : EIO;
}

static void parse_rules(void)
{
	nrules = 0;
	const char *spec = getenv("MTA_FAULT");
	if (spec == NULL)
		return;
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s", spec);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ";,", &save); tok && nrules < MAX_RULES;
	     tok = strtok_r(NULL, ";,", &save)) {
		char *f[4] = { NULL, NULL, NULL, NULL };
		int nf = 0;
		char *s2 = NULL;
		for (char *p = strtok_r(tok, ":", &s2); p && nf < 4; p = strtok_r(NULL, ":", &s2))
			f[nf++] = p;
		if (nf < 3)
			continue;
		struct rule *r = &rules[nrules];
		memset(r, 0, sizeof(*r));
		if (strcmp(f[0], "fsync") == 0)
			r->op = F_FSYNC;
		else if (strcmp(f[0], "syncfs") == 0)
			r->op = F_SYNCFS;
		else if (strcmp(f[0], "syncrange") == 0)
			r->op = F_SYNCRANGE;
		else if (strcmp(f[0], "write") == 0)
			r->op = F_WRITE;
		else if (strcmp(f[0], "rename") == 0)
			r->op = F_RENAME;
		else if (strcmp(f[0], "open") == 0)
			r->op = F_OPEN;
		else if (strcmp(f[0], "unlink") == 0)
			r->op = F_UNLINK;
		else
			continue;
		snprintf(r->pattern, sizeof(r->pattern), "%s", f[1]);
		if (strcmp(f[2], "*") == 0) {
			r->nth = 0;
		} else {
			size_t l = strlen(f[2]);
			r->from_nth = l > 0 && f[2][l - 1] == '+';
			r->nth = atol(f[2]);
			if (r->nth < 1)
				r->nth = 1;
		}
		if (f[3] && strncmp(f[3], "delay", 5) == 0)
			r->delay_ms = atol(f[3] + 5) > 0 ? atol(f[3] + 5) : 1;
		else
			r->err = parse_errno(f[3], r->op);
		nrules++;
	}
}

static int path_match(const char *path, const char *pat)
{
	if (path == NULL)
		return 0;
	size_t pl = strlen(pat);
	if (pl > 0 && pat[pl - 1] == '$') {
		size_t n = strlen(path);
		return n >= pl - 1 && memcmp(path + n - (pl - 1), pat, pl - 1) == 0;
	}
	return strstr(path, pat) != NULL;
}

static int fd_path(int fd, char *buf, size_t size)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	long n = syscall(SYS_readlink, link, buf, size - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static void report(const char *what, const char *path, int err)
{
	char line[1200];
	int n = snprintf(line, sizeof(line), "libfault: pid %ld: %s %s -> %s\n", (long)getpid(), what,
			 path, strerror(err));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (syscall(SYS_write, 2, line, (size_t)n) < 0) {
		/* nothing to do */
	}
	const char *log = getenv("MTA_FAULT_LOG");
	if (log && *log) {
		int fd = (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (syscall(SYS_write, fd, line, (size_t)n) < 0) {
				/* nothing to do */
			}
			syscall(SYS_close, fd);
		}
	}
}

/* Returns the errno to inject for a call of op on path (or path2), 0 for none. */
static int should_fail(enum fop op, const char *what, const char *path, const char *path2)
{
	int saved = errno;
	pthread_mutex_lock(&mu);
	if (nrules < 0)
		parse_rules();
	int err = 0;
	long delay_ms = 0;
	const char *hit = NULL;
	for (int i = 0; i < nrules && !err && !delay_ms; i++) {
		struct rule *r = &rules[i];
		if (r->op != op)
			continue;
		const char *m = NULL;
		if (strcmp(r->pattern, "*") == 0)
			m = path ? path : "";
		else if (path_match(path, r->pattern))
			m = path;
		else if (path_match(path2, r->pattern))
			m = path2;
		if (m == NULL)
			continue;
		r->seen++;
		if (r->nth == 0 || r->seen == r->nth || (r->from_nth && r->seen > r->nth)) {
			err = r->err;
			delay_ms = r->delay_ms;
			hit = m;
		}
	}
	pthread_mutex_unlock(&mu);
	if (err)
		report(what, hit, err);
	if (delay_ms) {
		char late[64];
		snprintf(late, sizeof(late), "%s (delayed %ld ms)", what, delay_ms);
		report(late, hit, 0);	/* "-> Success": made late, not failed */
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	errno = saved;
	return err;
}

static int any_rule(enum fop op)
{
	int saved = errno;
	pthread_mutex_lock(&mu);
	if (nrules < 0)
		parse_rules();
	int yes = 0;
	for (int i = 0; i < nrules; i++)
		if (rules[i].op == op)
			yes = 1;
	pthread_mutex_unlock(&mu);
	errno = saved;
	return yes;
}

static int fd_should_fail(enum fop op, const char *what, int fd)
{
	if (!any_rule(op))
		return 0;
	char path[1024];
	int saved = errno;
	if (fd_path(fd, path, sizeof(path)) < 0) {
		errno = saved;
		return 0;
	}
	return should_fail(op, what, path, NULL);
}

/* Looks up the real function once.  errno is kept as the caller left it
 * (dlsym may change it), so a call that is not faulted is invisible. */
#define NEXT(name) \
	static __typeof__(&name) next_##name; \
	if (!next_##name) { \
		int saved_errno_ = errno; \
		next_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name); \
		errno = saved_errno_; \
	}

int fsync(int fd)
{
	NEXT(fsync);
	int e = fd_should_fail(F_FSYNC, "fsync", fd);
	if (e) {
		errno = e;
		return -1;
	}
	return next_fsync(fd);
}

int fdatasync(int fd)
{
	NEXT(fdatasync);
	int e = fd_should_fail(F_FSYNC, "fdatasync", fd);
	if (e) {
		errno = e;
		return -1;
	}
	return next_fdatasync(fd);
}

int syncfs(int fd)
{
	NEXT(syncfs);
	int e = fd_should_fail(F_SYNCFS, "syncfs", fd);
	if (e) {
		errno = e;
		return -1;
	}
	return next_syncfs(fd);
}

int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
	NEXT(sync_file_range);
	int e = fd_should_fail(F_SYNCRANGE, "sync_file_range", fd);
	if (e) {
		errno = e;
		return -1;
	}
	return next_sync_file_range(fd, off, n, flags);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	NEXT(write);
	/* the terminal and sockets are never faulted: only files with paths */
	if (fd > 2) {
		int e = fd_should_fail(F_WRITE, "write", fd);
		if (e) {
			errno = e;
			return -1;
		}
	}
	return next_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	NEXT(pwrite);
	int e = fd > 2 ? fd_should_fail(F_WRITE, "pwrite", fd) : 0;
	if (e) {
		errno = e;
		return -1;
	}
	return next_pwrite(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	NEXT(writev);
	int e = fd > 2 ? fd_should_fail(F_WRITE, "writev", fd) : 0;
	if (e) {
		errno = e;
		return -1;
	}
	return next_writev(fd, iov, cnt);
}

int rename(const char *from, const char *to)
{
	NEXT(rename);
	int e = any_rule(F_RENAME) ? should_fail(F_RENAME, "rename", from, to) : 0;
	if (e) {
		errno = e;
		return -1;
	}
	return next_rename(from, to);
}

int unlink(const char *path)
{
	NEXT(unlink);
	int e = any_rule(F_UNLINK) ? should_fail(F_UNLINK, "unlink", path, NULL) : 0;
	if (e) {
		errno = e;
		return -1;
	}
	return next_unlink(path);
}

static int open_fault(const char *path, int flags)
{
	(void)flags;
	return any_rule(F_OPEN) ? should_fail(F_OPEN, "open", path, NULL) : 0;
}

int open(const char *path, int flags, ...)
{
	NEXT(open);
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	int e = open_fault(path, flags);
	if (e) {
		errno = e;
		return -1;
	}
	return next_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	NEXT(open64);
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	int e = open_fault(path, flags);
	if (e) {
		errno = e;
		return -1;
	}
	return next_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	NEXT(openat);
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	int e = open_fault(path, flags);
	if (e) {
		errno = e;
		return -1;
	}
	return next_openat(dirfd, path, flags, mode);
}

int creat(const char *path, mode_t mode)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}
