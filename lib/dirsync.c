/* dirsync: one directory fsync shared by concurrent callers (dirsync.h). */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define DIRSYNC_DIRS 8		/* queue, qf/, df/, MSP queue: a few at most */

struct dir_state {
	char path[4096];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t started;	/* fsyncs begun */
	uint64_t done;		/* the last one finished */
	int running;
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

static int fsync_dir_now(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* The state of DIR, made on first use; NULL when the table is full or the
 * path too long (the caller then fsyncs alone). */
static struct dir_state *state_of(const char *dir)
{
	size_t len = strlen(dir);
	if (len >= sizeof(dirs[0].path))
		return NULL;
	struct dir_state *found = NULL;
	pthread_mutex_lock(&table_mu);
	for (int i = 0; i < ndirs && found == NULL; i++)
		if (strcmp(dirs[i].path, dir) == 0)
			found = &dirs[i];
	if (found == NULL && ndirs < DIRSYNC_DIRS) {
		found = &dirs[ndirs];
		memcpy(found->path, dir, len + 1);
		pthread_mutex_init(&found->mu, NULL);
		pthread_cond_init(&found->cv, NULL);
		found->started = found->done = 0;
		found->running = found->err = 0;
		ndirs++;
	}
	pthread_mutex_unlock(&table_mu);
	return found;
}

int dirsync(const char *dir)
{
	pthread_once(&atfork_once, register_atfork);
	if (in_child)
		return fsync_dir_now(dir);
	struct dir_state *d = state_of(dir);
	if (d == NULL)
		return fsync_dir_now(dir);
	pthread_mutex_lock(&d->mu);
	/* The fsync running now may have begun before our entry changed: we
	 * need the next one. */
	uint64_t need = d->started + 1;
	while (d->done < need) {
		if (d->running) {
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		d->running = 1;
		uint64_t gen = ++d->started;
		pthread_mutex_unlock(&d->mu);
		int rc = fsync_dir_now(dir);
		int e = rc < 0 ? errno : 0;
		pthread_mutex_lock(&d->mu);
		d->running = 0;
		d->done = gen;
		d->err = e;
		pthread_cond_broadcast(&d->cv);
	}
	/* A later fsync that worked covers an earlier one that failed. */
	int err = d->err;
	pthread_mutex_unlock(&d->mu);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

unsigned long dirsync_count(const char *dir)
{
	unsigned long n = 0;
	pthread_mutex_lock(&table_mu);
	for (int i = 0; i < ndirs; i++)
		if (strcmp(dirs[i].path, dir) == 0) {
			pthread_mutex_lock(&dirs[i].mu);
			n = (unsigned long)dirs[i].started;
			pthread_mutex_unlock(&dirs[i].mu);
		}
	pthread_mutex_unlock(&table_mu);
	return n;
}
