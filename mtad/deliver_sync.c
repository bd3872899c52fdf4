/* deliver_sync: local mailbox appends made durable in groups (see
 * deliver_sync.h). */
#include "deliver_sync.h"
#include "mtad.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct held {
	char qf[2048], df[2048];
	int lockfd;
};

static int active;		/* in a group, with the spool open */
static int spool_fd = -1;	/* MailboxDirectory: syncfs reports errors since its open */
static int marked;
static struct held held[DELIVER_SYNC_MAX];
static size_t nheld;
static long long first_held_ms;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void deliver_sync_begin(void)
{
	if (active || strcmp(enqueue_sync_name(), "syncfs") != 0)
		return;
	/* opened here, in the process that syncs: an open file shared with
	 * another process (a worker forked later) would share its record of
	 * the errors already reported, and one of the two would miss them */
	spool_fd = open(conf_str(C_MAILBOX_DIR), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	active = spool_fd >= 0;	/* (no spool to open: each append fsyncs) */
}

void deliver_sync_end(void)
{
	deliver_sync_flush();
	if (spool_fd >= 0)
		close(spool_fd);
	spool_fd = -1;
	active = 0;
	marked = 0;
}

char deliver_sync_mailbox_kind(void)
{
	return active ? 'm' : 'M';
}

void deliver_sync_mark(void)
{
	marked = 1;
}

int deliver_sync_take_mark(void)
{
	int m = marked;
	marked = 0;
	return m;
}

static void release(size_t upto, int remove)
{
	for (size_t i = 0; i < upto; i++) {
		if (remove) {
			unlink(held[i].qf);
			unlink(held[i].df);
		}
		close(held[i].lockfd);
	}
	nheld = 0;
}

/* The syncfs writes the appends, then the fsync of the spool directory
 * writes the names of mailboxes created in the group and, with its
 * flush, makes durable what the syncfs wrote after its own: on ext4
 * without a journal syncfs writes inodes (sizes, extents) and directory
 * blocks through the block device after its cache flush. */
int deliver_sync_now(void)
{
	const char *how = "syncfs";
	int rc = syncfs(spool_fd);
	if (rc == 0) {
		how = "fsync";
		rc = fsync(spool_fd);
	}
	if (rc < 0) {
		int e = errno;
		maillog(NULL, "SYSERR: %s of %s: %s: the mailbox appends of %zu messages may not be on disk; "
			"they stay queued (delivered again by a later run)", how, conf_str(C_MAILBOX_DIR),
			strerror(e), nheld);
		msg_error("%s of %s: %s", how, conf_str(C_MAILBOX_DIR), strerror(e));
	}
	release(nheld, rc == 0);
	return rc < 0 ? -1 : 0;
}

void deliver_sync_hold(const char *qfpath, const char *dfpath, int lockfd)
{
	if (nheld == 0)
		first_held_ms = now_ms();
	struct held *h = &held[nheld++];
	snprintf(h->qf, sizeof(h->qf), "%s", qfpath);
	snprintf(h->df, sizeof(h->df), "%s", dfpath);
	h->lockfd = lockfd;
	if (nheld == DELIVER_SYNC_MAX)
		deliver_sync_now();
}

void deliver_sync_flush(void)
{
	if (nheld > 0)
		deliver_sync_now();
}

void deliver_sync_tick(void)
{
	if (nheld > 0 && now_ms() - first_held_ms >= DELIVER_SYNC_AGE_MS)
		deliver_sync_now();
}
