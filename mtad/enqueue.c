/* enqueue: writing one message into the queue.  The body goes to df as it
 * arrives (bounded memory); the commit fsyncs df, then writes qf through
 * lib/qfile (tf, fsync, rename, directory fsync).  Until the commit returns
 * 0 the message does not exist; on any failure nothing is left behind. */
#include "mtad.h"
#include "safeopen.h"
#include "diag.h"
#include "fdio.h"
#include "qid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

int enqueue_open(struct enqueue *eq, char *err, size_t errsize)
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
	sb_init(&eq->dfbuf);
	return 0;
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
	if (ftruncate(eq->df_fd, 0) < 0 || lseek(eq->df_fd, 0, SEEK_SET) < 0) {
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

int enqueue_commit(struct enqueue *eq, struct qf_env *env, char *err, size_t errsize)
{
	if (!eq->failed)
		df_flush(eq);
	if (!eq->failed && fsync(eq->df_fd) < 0) {
		snprintf(eq->errbuf, sizeof(eq->errbuf), "fsync of df%s: %s", eq->qid, strerror(errno));
		eq->err_no = errno;
		eq->failed = 1;
	}
	if (!eq->failed) {
		/* the df's directory entry too, when df/ is a directory of its own
		 * (qf_write fsyncs the qf's) */
		char df[2048], qf[2048], ddir[2048], qdir[2048];
		qf_path(df, sizeof(df), eq->qdir, 'd', eq->qid);
		qf_path(qf, sizeof(qf), eq->qdir, 'q', eq->qid);
		path_dirname(ddir, sizeof(ddir), df);
		path_dirname(qdir, sizeof(qdir), qf);
		if (strcmp(ddir, qdir) != 0 && fsync_dir(ddir) < 0) {
			snprintf(eq->errbuf, sizeof(eq->errbuf), "fsync of directory %s: %s", ddir, strerror(errno));
			eq->err_no = errno;
			eq->failed = 1;
		}
	}
	if (eq->failed) {
		snprintf(err, errsize, "%s", eq->errbuf);
		enqueue_abort(eq);
		errno = eq->err_no;
		return -1;
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
	if (qf_write(eq->qdir, env, 0, err, errsize) < 0) {
		/* the rename may have happened before the directory fsync failed:
		 * the client gets a 4xx, so no qf of this message may stay */
		int saved = errno;
		eq->err_no = saved;
		char qf[2048];
		qf_path(qf, sizeof(qf), eq->qdir, 'q', eq->qid);
		unlink(qf);
		enqueue_abort(eq);
		errno = saved;
		return -1;
	}
	close(eq->df_fd);
	eq->df_fd = -1;
	sb_free(&eq->dfbuf);
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
