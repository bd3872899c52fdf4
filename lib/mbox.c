/* mbox: locked, all-or-nothing appends to mbox files. */
#include "mbox.h"
#include "fdio.h"
#include "strbuf.h"
#include "timefmt.h"
#include "dirsync.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_TRIES 300		/* 30 s at 100 ms */
#define STALE_LOCK_AGE 300	/* a dotlock older than 5 minutes is stale */

static void nap_100ms(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

/* The pid written in a dotlock, or 0. */
static long dotlock_owner(const char *lockpath)
{
	char buf[32];
	int fd = open(lockpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int dotlock_take(const char *lockpath, char *err, size_t errsize)
{
	for (int i = 0; i < LOCK_TRIES; i++) {
		int fd = open(lockpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			/* our pid in it, so a lock left by a killed process is
			 * recognised at once rather than after STALE_LOCK_AGE */
			char pid[32];
			int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
			if (write(fd, pid, (size_t)n) != n) {
				/* an empty lock still locks; it just ages out */
			}
			close(fd);
			return 0;
		}
		if (errno != EEXIST) {
			snprintf(err, errsize, "cannot create %s: %s", lockpath, strerror(errno));
			return -1;
		}
		struct stat st;
		long owner = dotlock_owner(lockpath);
		if (owner > 0 && kill((pid_t)owner, 0) < 0 && errno == ESRCH)
			unlink(lockpath);	/* its process is gone */
		else if (stat(lockpath, &st) == 0 && time(NULL) - st.st_mtime > STALE_LOCK_AGE)
			unlink(lockpath);
		else
			nap_100ms();
	}
	snprintf(err, errsize, "mailbox is locked (%s)", lockpath);
	return -1;
}

static int fcntl_lock(int fd, char *err, size_t errsize, const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	for (int i = 0; i < LOCK_TRIES; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES) {
			snprintf(err, errsize, "cannot lock %s: %s", path, strerror(errno));
			return -1;
		}
		nap_100ms();
	}
	snprintf(err, errsize, "mailbox %s is locked by another process", path);
	return -1;
}

static int out_flush(int fd, struct strbuf *out)
{
	if (fd_write_all(fd, out->s, out->len) < 0)
		return -1;
	sb_reset(out);
	return 0;
}

/* Copies the body, quoting lines that begin with "From ". */
static int copy_body(int body_fd, int fd, struct strbuf *out)
{
	char buf[65536];
	int at_bol = 1;
	ssize_t n;
	/* "From " split across reads: keep a short pending prefix */
	char pend[5];
	size_t npend = 0;
	while ((n = read(body_fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			if (at_bol || npend > 0) {
				pend[npend++] = c;
				if (memcmp(pend, "From ", npend) == 0) {
					if (npend == 5) {
						sb_puts(out, ">From ");
						npend = 0;
						at_bol = 0;
					}
					continue;
				}
				sb_append(out, pend, npend);
				at_bol = c == '\n';
				npend = 0;
				continue;
			}
			sb_putc(out, c);
			if (c == '\n')
				at_bol = 1;
		}
		if (out->len >= 65536 && out_flush(fd, out) < 0)
			return -1;
	}
	if (n < 0)
		return -1;
	sb_append(out, pend, npend);
	if (out->len > 0 && out->s[out->len - 1] != '\n')
		sb_putc(out, '\n');
	return 0;
}

int mbox_deliver(const char *path, const char *envelope_sender, time_t when,
		 const char *headers, size_t hlen, int body_fd, char *err, size_t errsize)
{
	return mbox_deliver_checked(path, NULL, envelope_sender, when, headers, hlen, body_fd, err, errsize);
}

/* What mail.local checks of an opened mailbox before it writes. */
static int mbox_check(const char *path, const struct mbox_checks *c, const struct stat *st,
		      char *err, size_t errsize)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errsize, "%s is not a regular file", path);
		return -1;
	}
	if (c && c->single_link && st->st_nlink != 1) {
		snprintf(err, errsize, "%s has %lu links (a mailbox has one)", path, (unsigned long)st->st_nlink);
		return -1;
	}
	if (c && c->check_owner && st->st_uid != c->owner) {
		snprintf(err, errsize, "%s is owned by uid %ld, not by its user (uid %ld)", path,
			 (long)st->st_uid, (long)c->owner);
		return -1;
	}
	return 0;
}

/* Opens the mailbox for appending, creating it (mode 0600) when missing;
 * *created says whether this call made it.  O_NONBLOCK: a FIFO in the
 * mailbox's place is refused, not waited on. */
static int mbox_open(const char *path, int *created)
{
	int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
	*created = 0;
	for (int tries = 0; tries < 3; tries++) {
		int fd = open(path, flags);
		if (fd >= 0 || errno != ENOENT)
			return fd;
		fd = open(path, flags | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			*created = 1;
			return fd;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

int mbox_deliver_checked(const char *path, const struct mbox_checks *checks, const char *envelope_sender,
			 time_t when, const char *headers, size_t hlen, int body_fd, char *err, size_t errsize)
{
	char lockpath[4200];
	snprintf(lockpath, sizeof(lockpath), "%s.lock", path);
	if (dotlock_take(lockpath, err, errsize) < 0)
		return -1;
	int rc = -1;
	int created = 0;
	int fd = mbox_open(path, &created);
	if (fd < 0) {
		snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
		unlink(lockpath);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || mbox_check(path, checks, &st, err, errsize) < 0)
		goto out;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if (fcntl_lock(fd, err, errsize, path) < 0)
		goto out;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errsize, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	off_t oldsize = st.st_size;
	struct strbuf out;
	sb_init(&out);
	char date[64];
	time_ctime(date, sizeof(date), when);
	const char *sender = envelope_sender && *envelope_sender ? envelope_sender : "MAILER-DAEMON";
	/* a separator line is one line: blanks in the sender would break parsers */
	sb_puts(&out, "From ");
	for (const char *s = sender; *s; s++)
		sb_putc(&out, (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') ? '_' : *s);
	sb_printf(&out, " %s\n", date);
	sb_append(&out, headers, hlen);
	sb_putc(&out, '\n');
	int ok = copy_body(body_fd, fd, &out) == 0;
	sb_putc(&out, '\n');
	if (ok)
		ok = out_flush(fd, &out) == 0;
	int deferred = checks && checks->defer_sync;
	if (ok && !deferred)
		ok = fsync(fd) == 0;
	/* a mailbox this call made: its name durable too (an fsync of the
	 * file does not do it everywhere); with defer_sync the caller's group
	 * fsyncs the directory once, after its syncfs (mtad/deliver_sync.c) */
	if (ok && !deferred && created)
		ok = dirsync_parent(path) == 0;
	if (!ok) {
		snprintf(err, errsize, "write to %s failed: %s", path, strerror(errno));
		if (ftruncate(fd, oldsize) < 0) {
			/* the error above is what the caller reports */
		}
	} else {
		rc = 0;
	}
	sb_free(&out);
out:
	close(fd);
	unlink(lockpath);
	return rc;
}
