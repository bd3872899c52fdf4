/* enqueue: writing one message into the queue.  The body goes to df as it
 * arrives (bounded memory); the commit fsyncs df, then writes qf through
 * lib/qfile (tf, fsync, rename, directory fsync).  Until the commit returns
 * 0 the message does not exist; on any failure nothing is left behind. */
#include "mtad.h"
#include "safeopen.h"
#include "diag.h"
#include "fdio.h"
#include "qid.h"
#include "config.h"
#include "maillog.h"
#include "xalloc.h"
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define DF_FLUSH_AT 65536

void enqueue_prepare(struct enqueue *eq, const char *qdir)
{
	memset(eq, 0, sizeof(*eq));
	snprintf(eq->qdir, sizeof(eq->qdir), "%s", qdir);
	eq->df_fd = -1;
	qid_new(eq->qid, time(NULL), getpid());	/* not thread-safe: the loop's */
}

/* Creates df (exclusively); the write buffer is left as it is. */
static int df_create(struct enqueue *eq, char *err, size_t errsize)
{
	char path[2048];
	qf_path(path, sizeof(path), eq->qdir, 'd', eq->qid);
	eq->df_fd = safe_open(path, O_WRONLY | O_CREAT | O_EXCL, 0600, NULL, 0);
	if (eq->df_fd >= 0 && qf_file_mode != 0600)
		(void)fchmod(eq->df_fd, (mode_t)qf_file_mode);	/* the MSP queue: 0660 */
	if (eq->df_fd < 0) {
		snprintf(err, errsize, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int enqueue_open(struct enqueue *eq, char *err, size_t errsize)
{
	if (df_create(eq, err, errsize) < 0)
		return -1;
	sb_init(&eq->dfbuf);
	return 0;
}

void enqueue_open_later(struct enqueue *eq)
{
	eq->df_fd = -1;
	sb_init(&eq->dfbuf);
}

int enqueue_begin(struct enqueue *eq, const char *qdir, char *err, size_t errsize)
{
	for (int tries = 0; tries < 10; tries++) {
		enqueue_prepare(eq, qdir);
		if (enqueue_open(eq, err, errsize) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	return -1;
}

static int df_flush(struct enqueue *eq)
{
	if (eq->failed)
		return -1;
	if (eq->df_fd < 0 && df_create(eq, eq->errbuf, sizeof(eq->errbuf)) < 0) {	/* opened later: now */
		eq->err_no = errno;
		eq->failed = 1;
		sb_reset(&eq->dfbuf);
		return -1;
	}
	if (fd_write_all(eq->df_fd, eq->dfbuf.s, eq->dfbuf.len) < 0) {
		snprintf(eq->errbuf, sizeof(eq->errbuf), "write to df%s: %s", eq->qid, strerror(errno));
		eq->err_no = errno;
		eq->failed = 1;
	}
	sb_reset(&eq->dfbuf);
	return eq->failed ? -1 : 0;
}

void enqueue_body(struct enqueue *eq, const char *data, size_t len)
{
	if (eq->failed)
		return;
	sb_append(&eq->dfbuf, data, len);
	eq->body_bytes += (long)len;
	if (eq->dfbuf.len >= DF_FLUSH_AT)
		df_flush(eq);
}

int enqueue_flush(struct enqueue *eq, char *err, size_t errsize)
{
	if (!eq->failed)
		df_flush(eq);
	if (eq->failed) {
		snprintf(err, errsize, "%s", eq->errbuf);
		return -1;
	}
	return 0;
}

int enqueue_replace_body(struct enqueue *eq, const char *data, size_t len, char *err, size_t errsize)
{
	sb_reset(&eq->dfbuf);
	if (eq->df_fd >= 0 && (ftruncate(eq->df_fd, 0) < 0 || lseek(eq->df_fd, 0, SEEK_SET) < 0)) {
		snprintf(eq->errbuf, sizeof(eq->errbuf), "truncate df%s: %s", eq->qid, strerror(errno));
		eq->err_no = errno;
		eq->failed = 1;
		snprintf(err, errsize, "%s", eq->errbuf);
		return -1;
	}
	eq->body_bytes = 0;
	enqueue_body(eq, data, len);
	return enqueue_flush(eq, err, errsize);
}

/* ---- the commit, for one message or a batch ----
 *
 * Per message: df flushed, tf written, both made durable, tf renamed to
 * qf, the directory fsynced; only then does the message exist.  For a
 * batch each step is taken for all its messages together: one syncfs of
 * the queue's file system (QueueSync=syncfs), or every file's writeback
 * started and then each fsynced (fsync: on a journalled file system the
 * first fsync's commit carries the batch); then the renames, then one
 * directory fsync for them all.  No qf is renamed into place before its df
 * and itself are durable. */

struct staged {
	struct enqueue_item *it;
	struct qf_stage st;
	int live;
};

static int use_syncfs(void);

static void item_fail(struct staged *x, int err_no, const char *why)
{
	struct enqueue_item *it = x->it;
	it->rc = -1;
	it->err_no = err_no ? err_no : EIO;
	if (why != it->err)
		snprintf(it->err, sizeof(it->err), "%s", why);
	if (x->st.fd >= 0)
		qf_stage_abort(&x->st);
	enqueue_abort(it->eq);
	x->live = 0;
}

/* df written out, its inode recorded, tf written. */
static void stage_one(struct staged *x)
{
	struct enqueue *eq = x->it->eq;
	struct qf_env *env = x->it->env;
	if (!eq->failed)
		df_flush(eq);
	if (eq->failed) {
		item_fail(x, eq->err_no, eq->errbuf);
		return;
	}
	struct stat st;
	if (fstat(eq->df_fd, &st) == 0) {
		char inode[96];
		snprintf(inode, sizeof(inode), "%u/%u/%llu", major(st.st_dev), minor(st.st_dev),
			 (unsigned long long)st.st_ino);
		qf_set(&env->inode, inode);
	}
	snprintf(env->qid, sizeof(env->qid), "%s", eq->qid);
	if (env->ctime == 0)
		env->ctime = time(NULL);
	if (qf_stage_write(eq->qdir, env, 0, &x->st, x->it->err, sizeof(x->it->err)) < 0) {
		item_fail(x, errno, x->it->err);	/* (the tf is gone already) */
		return;
	}
	if (!use_syncfs()) {	/* syncfs submits every dirty file in one plug */
		(void)sync_file_range(eq->df_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		qf_stage_start_sync(&x->st);
	}
}

static void sync_one(struct staged *x)
{
	struct enqueue *eq = x->it->eq;
	char why[512];
	if (fsync(eq->df_fd) < 0) {
		int e = errno;
		snprintf(why, sizeof(why), "fsync of df%s: %s", eq->qid, strerror(e));
		item_fail(x, e, why);
		return;
	}
	if (qf_stage_sync(&x->st, x->it->err, sizeof(x->it->err)) < 0)
		item_fail(x, errno, x->it->err);	/* (the tf is gone already) */
}

/* fsyncs the directory of each live message's file of type ('d' or 'q')
 * once per distinct directory; a failure fails every message in it.  For
 * 'd' only directories other than the qf's count (df/ of its own).
 *
 * Needed with QueueSync=syncfs too: ext4 without a journal writes its
 * directory blocks through the block device, which syncfs writes out
 * after its cache flush, so there a syncfs does not make an entry
 * durable; a directory fsync does. */
static void sync_dirs(struct staged *v, size_t n, char type)
{
	char done[4][2048];
	size_t ndone = 0;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].live)
			continue;
		struct enqueue *eq = v[i].it->eq;
		char path[2048], dir[2048], qdir[2048];
		qf_path(path, sizeof(path), eq->qdir, type, eq->qid);
		path_dirname(dir, sizeof(dir), path);
		if (type == 'd') {
			qf_path(path, sizeof(path), eq->qdir, 'q', eq->qid);
			path_dirname(qdir, sizeof(qdir), path);
			if (strcmp(dir, qdir) == 0)
				continue;
		}
		int seen = 0;
		for (size_t k = 0; k < ndone && !seen; k++)
			seen = strcmp(done[k], dir) == 0;
		if (seen)
			continue;
		if (fsync_dir(dir) < 0) {
			int e = errno;
			char why[2200];
			snprintf(why, sizeof(why), "fsync of directory %s: %s", dir, strerror(e));
			for (size_t k = i; k < n; k++) {
				if (!v[k].live)
					continue;
				char p2[2048], d2[2048];
				qf_path(p2, sizeof(p2), v[k].it->eq->qdir, type, v[k].it->eq->qid);
				path_dirname(d2, sizeof(d2), p2);
				if (strcmp(d2, dir) == 0)
					item_fail(&v[k], e, why);	/* the qf, if renamed, goes too */
			}
			continue;
		}
		if (ndone < 4)
			snprintf(done[ndone++], sizeof(done[0]), "%s", dir);
	}
}

/* syncfs: the data and inodes of every file written before it on a file
 * system are durable, at the cost of one flush for the whole batch;
 * lib/dirsync's fssync shares it with the other commit thread when both
 * wait at once.  (Directory entries are made durable by the directory
 * fsyncs after it: sync_dirs.)  Its errors (those raised while it ran)
 * fail every message with a file on that file system.  One syncfs per
 * file system the batch's df and tf files are on (normally one).
 *
 * An error raised before it (a df the flusher wrote early) is not among
 * them: so each df and tf is then asked for its own errors since its open
 * with sync_file_range, which waits on pages already written (no flush:
 * cheap) and reports the file's writeback errors. */
static dev_t dev_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_dev : (dev_t)-1;
}

static void sync_fs_all(struct staged *v, size_t n)
{
	dev_t done[4];
	size_t ndone = 0;
	for (size_t i = 0; i < n; i++) {
		for (int which = 0; which < 2 && v[i].live; which++) {
			int fd = which == 0 ? v[i].it->eq->df_fd : v[i].st.fd;
			dev_t dev = dev_of(fd);
			int seen = 0;
			for (size_t k = 0; k < ndone && !seen; k++)
				seen = done[k] == dev;
			if (seen)
				continue;
			char path[2048], dir[2048];
			qf_path(path, sizeof(path), v[i].it->eq->qdir, which == 0 ? 'd' : 't', v[i].it->eq->qid);
			path_dirname(dir, sizeof(dir), path);
			if (fssync(dir) == 0) {
				if (ndone < 4)
					done[ndone++] = dev;
				continue;
			}
			int e = errno;
			char why[512];
			snprintf(why, sizeof(why), "syncfs of the queue file system: %s", strerror(e));
			for (size_t k = i; k < n; k++)
				if (v[k].live && (dev_of(v[k].it->eq->df_fd) == dev || dev_of(v[k].st.fd) == dev))
					item_fail(&v[k], e, why);
		}
	}
	for (size_t i = 0; i < n; i++)
		for (int which = 0; which < 2 && v[i].live; which++) {
			int fd = which == 0 ? v[i].it->eq->df_fd : v[i].st.fd;
			unsigned flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
			if (sync_file_range(fd, 0, 0, flags) == 0)
				continue;
			int e = errno;
			char why[512];
			snprintf(why, sizeof(why), "writeback of the %s file: %s", which == 0 ? "data" : "queue control",
				 strerror(e));
			item_fail(&v[i], e, why);
		}
}

/* syncfs reports writeback errors only since Linux 5.8, and errors of a
 * journal commit only since 5.17: before, it could say 0 for a file that
 * never reached the disk. */
static int syncfs_reports_errors(void)
{
	static int answer = -1;
	if (answer < 0) {
		struct utsname u;
		int major = 0, minor = 0;
		answer = uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
			 (major > 5 || (major == 5 && minor >= 17));
	}
	return answer;
}

/* QueueSync: syncfs, fsync, or auto (syncfs where it reports errors). */
static int use_syncfs(void)
{
	const char *mode = conf_str(C_QUEUE_SYNC);
	if (strcmp(mode, "fsync") == 0)
		return 0;
	return syncfs_reports_errors();	/* "syncfs" on an older kernel too: never unsafe */
}

const char *enqueue_sync_name(void)
{
	return use_syncfs() ? "syncfs" : "fsync";
}

void enqueue_commit_many(struct enqueue_item *items, size_t n)
{
	struct staged *v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].it = &items[i];
		v[i].st.fd = -1;
		v[i].live = 1;
		items[i].rc = 0;
		items[i].err_no = 0;
		items[i].err[0] = '\0';
		stage_one(&v[i]);
	}
	if (use_syncfs()) {
		sync_fs_all(v, n);
	} else {
		for (size_t i = 0; i < n; i++)
			if (v[i].live)
				sync_one(&v[i]);
	}
	/* a df/ directory of its own: its new entries too (syncfs may write
	 * a directory's blocks after its flush, on ext4 without a journal) */
	sync_dirs(v, n, 'd');
	for (size_t i = 0; i < n; i++)
		if (v[i].live && qf_stage_publish(&v[i].st, items[i].err, sizeof(items[i].err)) < 0)
			item_fail(&v[i], errno, items[i].err);	/* (the tf is gone already) */
	/* a qf renamed in a directory whose sync fails is removed again: the
	 * client gets a 4xx, so no qf of the message may stay */
	sync_dirs(v, n, 'q');
	for (size_t i = 0; i < n; i++) {
		if (!v[i].live)
			continue;
		struct enqueue *eq = items[i].eq;
		close(v[i].st.fd);
		close(eq->df_fd);
		eq->df_fd = -1;
		sb_free(&eq->dfbuf);
	}
	free(v);
}

int enqueue_commit(struct enqueue *eq, struct qf_env *env, char *err, size_t errsize)
{
	struct enqueue_item it = { .eq = eq, .env = env };
	enqueue_commit_many(&it, 1);
	if (it.rc < 0) {
		snprintf(err, errsize, "%s", it.err);
		errno = it.err_no;
		return -1;
	}
	return 0;
}

void enqueue_abort(struct enqueue *eq)
{
	if (eq->df_fd >= 0) {
		char path[2048];
		close(eq->df_fd);
		eq->df_fd = -1;
		qf_path(path, sizeof(path), eq->qdir, 'd', eq->qid);
		unlink(path);
	}
	if (eq->dfbuf.s)
		sb_free(&eq->dfbuf);
}
