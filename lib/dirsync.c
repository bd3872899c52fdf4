/* dirsync: one directory fsync, or one syncfs of a file system, shared by
 * concurrent callers (dirsync.h). */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIRSYNC_DIRS 8		/* queue, qf/, df/, MSP queue: a few at most */

enum sync_kind { SYNC_DIR, SYNC_FS };

/* One shared sync: of a directory (keyed by its path) or of a whole file
 * system (keyed by its device; each syncfs opens the directory that the
 * caller issuing it named). */
struct dir_state {
	enum sync_kind kind;
	char path[4096];
	dev_t dev;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t started;	/* syncs begun */
	uint64_t done;		/* the last one finished */
	int running;
	int waiting;		/* callers waiting for a sync another issues */
	int err;		/* errno of the last one finished, 0 if it worked */
};

static struct dir_state dirs[DIRSYNC_DIRS];
static int ndirs;
static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static volatile int in_child;

static void mark_child(void)
{
	in_child = 1;
}

static void register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, mark_child);
}

/* The directory opened afresh: a sync reports the errors raised after its
 * descriptor was opened, so every error of the sync itself. */
static int sync_now(enum sync_kind kind, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = kind == SYNC_FS ? syncfs(fd) : fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* The state of (kind, dir or dev), made on first use; NULL when the table
 * is full or the path too long (the caller then syncs alone). */
static struct dir_state *state_of(enum sync_kind kind, const char *dir, dev_t dev)
{
	size_t len = strlen(dir);
	if (len >= sizeof(dirs[0].path))
		return NULL;
	struct dir_state *found = NULL;
	pthread_mutex_lock(&table_mu);
	for (int i = 0; i < ndirs && found == NULL; i++)
		if (dirs[i].kind == kind && (kind == SYNC_FS ? dirs[i].dev == dev : strcmp(dirs[i].path, dir) == 0))
			found = &dirs[i];
	if (found == NULL && ndirs < DIRSYNC_DIRS) {
		found = &dirs[ndirs];
		found->kind = kind;
		memcpy(found->path, dir, len + 1);
		found->dev = dev;
		pthread_mutex_init(&found->mu, NULL);
		pthread_cond_init(&found->cv, NULL);
		found->started = found->done = 0;
		found->running = found->waiting = found->err = 0;
		ndirs++;
	}
	pthread_mutex_unlock(&table_mu);
	return found;
}

/* Returns once a sync of d that began after the call has finished: the
 * one running now may have begun before the caller's change, so the
 * caller needs the next; whoever finds none running issues it for all. */
static int shared_sync(struct dir_state *d, const char *dir)
{
	pthread_mutex_lock(&d->mu);
	uint64_t need = d->started + 1;
	while (d->done < need) {
		if (d->running) {
			d->waiting++;
			pthread_cond_wait(&d->cv, &d->mu);
			d->waiting--;
			continue;
		}
		d->running = 1;
		uint64_t gen = ++d->started;
		pthread_mutex_unlock(&d->mu);
		int rc = sync_now(d->kind, d->kind == SYNC_FS ? dir : d->path);
		int e = rc < 0 ? errno : 0;
		pthread_mutex_lock(&d->mu);
		d->running = 0;
		d->done = gen;
		d->err = e;
		pthread_cond_broadcast(&d->cv);
	}
	/* A later sync that worked covers an earlier one that failed. */
	int err = d->err;
	pthread_mutex_unlock(&d->mu);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

int dirsync(const char *dir)
{
	pthread_once(&atfork_once, register_atfork);
	if (in_child)
		return sync_now(SYNC_DIR, dir);
	struct dir_state *d = state_of(SYNC_DIR, dir, 0);
	if (d == NULL)
		return sync_now(SYNC_DIR, dir);
	return shared_sync(d, dir);
}

void path_dirname(char *buf, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(buf, size, ".");
	else if (slash == path)
		snprintf(buf, size, "/");
	else
		snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

int dirsync_parent(const char *path)
{
	char dir[4096];
	path_dirname(dir, sizeof(dir), path);
	return dirsync(dir);
}

int fssync(const char *dir)
{
	pthread_once(&atfork_once, register_atfork);
	struct stat st;
	if (stat(dir, &st) < 0)
		return -1;
	if (in_child)
		return sync_now(SYNC_FS, dir);
	struct dir_state *d = state_of(SYNC_FS, dir, st.st_dev);
	if (d == NULL)
		return sync_now(SYNC_FS, dir);
	return shared_sync(d, dir);
}

unsigned long dirsync_count(const char *dir)
{
	unsigned long n = 0;
	pthread_mutex_lock(&table_mu);
	for (int i = 0; i < ndirs; i++)
		if (dirs[i].kind == SYNC_DIR && strcmp(dirs[i].path, dir) == 0) {
			pthread_mutex_lock(&dirs[i].mu);
			n = (unsigned long)dirs[i].started;
			pthread_mutex_unlock(&dirs[i].mu);
		}
	pthread_mutex_unlock(&table_mu);
	return n;
}

/* The count of fssync issued, or with waiting its callers waiting now. */
static unsigned long fssync_stat(const char *dir, int waiting)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return 0;
	unsigned long n = 0;
	pthread_mutex_lock(&table_mu);
	for (int i = 0; i < ndirs; i++)
		if (dirs[i].kind == SYNC_FS && dirs[i].dev == st.st_dev) {
			pthread_mutex_lock(&dirs[i].mu);
			n = waiting ? (unsigned long)dirs[i].waiting : (unsigned long)dirs[i].started;
			pthread_mutex_unlock(&dirs[i].mu);
		}
	pthread_mutex_unlock(&table_mu);
	return n;
}

unsigned long fssync_count(const char *dir)
{
	return fssync_stat(dir, 0);
}

unsigned long fssync_waiting(const char *dir)
{
	return fssync_stat(dir, 1);
}
