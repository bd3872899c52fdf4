/* Unit tests for lib/dirsync: concurrent callers share directory fsyncs
 * (fewer fsyncs than calls, every caller answered), a missing directory is
 * an error with errno for every caller, and a forked child fsyncs alone
 * even when the parent's state is busy.  fssync (syncfs shared per file
 * system) is tested through a wrapped syncfs (-Wl,--wrap=syncfs) that the
 * test can hold and make fail: every caller that waited for a failed
 * syncfs gets its error, and a caller is never answered by a syncfs that
 * began before it called. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirsync.h"

/* ---- the wrapped syncfs ---- */
int __real_syncfs(int fd);
static pthread_mutex_t wrap_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wrap_cv = PTHREAD_COND_INITIALIZER;
static int wrap_hold;		/* syncfs calls block while set */
static int wrap_in;		/* calls inside the wrapper now */
static int wrap_fail_call;	/* this call (counted from 1) fails with EIO */
static int wrap_calls;

int __wrap_syncfs(int fd);
int __wrap_syncfs(int fd)
{
	pthread_mutex_lock(&wrap_mu);
	int call = ++wrap_calls;
	wrap_in++;
	pthread_cond_broadcast(&wrap_cv);
	while (wrap_hold)
		pthread_cond_wait(&wrap_cv, &wrap_mu);
	wrap_in--;
	int fail = call == wrap_fail_call;
	pthread_mutex_unlock(&wrap_mu);
	if (fail) {
		errno = EIO;
		return -1;
	}
	return __real_syncfs(fd);
}

#define THREADS 16
#define CALLS 40

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/var/tmp/dirsync-test.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
	(void)state;
	return rmdir(dir);
}

struct worker {
	pthread_t t;
	int failures;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < CALLS; i++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/f%p.%d", dir, (void *)w, i);
		FILE *f = fopen(path, "w");
		if (f != NULL)
			fclose(f);
		if (dirsync(dir) != 0)
			w->failures++;
		unlink(path);
	}
	return NULL;
}

static void concurrent_callers_share_fsyncs(void **state)
{
	(void)state;
	struct worker w[THREADS];
	memset(w, 0, sizeof(w));
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&w[i].t, NULL, hammer, &w[i]), 0);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].t, NULL);
		assert_int_equal(w[i].failures, 0);
	}
	unsigned long n = dirsync_count(dir);
	assert_true(n >= 1);
	/* every call returned only after an fsync; sixteen threads at once
	 * must have shared some of them */
	assert_true(n < (unsigned long)THREADS * CALLS);
}

static void single_caller_gets_its_own_fsync(void **state)
{
	(void)state;
	unsigned long before = dirsync_count(dir);
	assert_int_equal(dirsync(dir), 0);
	assert_int_equal(dirsync(dir), 0);
	assert_int_equal(dirsync_count(dir), before + 2);
}

static void missing_directory_is_an_error(void **state)
{
	(void)state;
	char gone[128];
	snprintf(gone, sizeof(gone), "%s/not-there", dir);
	errno = 0;
	assert_int_equal(dirsync(gone), -1);
	assert_int_equal(errno, ENOENT);
	/* the error is not sticky: the directory made, the next call works */
	assert_int_equal(mkdir(gone, 0700), 0);
	assert_int_equal(dirsync(gone), 0);
	assert_int_equal(rmdir(gone), 0);
}

static void forked_child_syncs_alone(void **state)
{
	(void)state;
	assert_int_equal(dirsync(dir), 0);
	unsigned long before = dirsync_count(dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(dirsync(dir) == 0 && dirsync_count(dir) == before ? 0 : 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

struct fs_caller {
	pthread_t t;
	int rc, err;
};

static void *call_fssync(void *arg)
{
	struct fs_caller *c = arg;
	errno = 0;
	c->rc = fssync(dir);
	c->err = errno;
	return NULL;
}

static void wait_until(int (*cond)(void))
{
	while (!cond())
		sched_yield();	/* a condition polled, not a delay */
}

static int one_in_syncfs(void)
{
	pthread_mutex_lock(&wrap_mu);
	int yes = wrap_in == 1;
	pthread_mutex_unlock(&wrap_mu);
	return yes;
}

static int two_waiting(void)
{
	return fssync_waiting(dir) == 2;
}

static void fssync_failure_reaches_every_caller_that_waited_for_it(void **state)
{
	(void)state;
	unsigned long before = fssync_count(dir);
	pthread_mutex_lock(&wrap_mu);
	wrap_calls = 0;
	wrap_hold = 1;
	wrap_fail_call = 2;
	pthread_mutex_unlock(&wrap_mu);

	/* the first caller's syncfs runs (held); two more arrive meanwhile:
	 * it began before their writes, so they must wait for the next one */
	struct fs_caller first = { 0 }, late[2];
	memset(late, 0, sizeof(late));
	assert_int_equal(pthread_create(&first.t, NULL, call_fssync, &first), 0);
	wait_until(one_in_syncfs);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&late[i].t, NULL, call_fssync, &late[i]), 0);
	wait_until(two_waiting);

	/* let it go: the first gets its syncfs (it worked), the two share the
	 * second, which fails */
	pthread_mutex_lock(&wrap_mu);
	wrap_hold = 0;
	pthread_cond_broadcast(&wrap_cv);
	pthread_mutex_unlock(&wrap_mu);
	pthread_join(first.t, NULL);
	assert_int_equal(first.rc, 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(late[i].t, NULL);
		assert_int_equal(late[i].rc, -1);
		assert_int_equal(late[i].err, EIO);
	}
	assert_int_equal(fssync_count(dir), before + 2);

	/* the failure is not sticky: the next caller's own syncfs works */
	assert_int_equal(fssync(dir), 0);
	assert_int_equal(fssync_count(dir), before + 3);
	pthread_mutex_lock(&wrap_mu);
	wrap_fail_call = 0;
	pthread_mutex_unlock(&wrap_mu);
}

static void fssync_shared_with_any_directory_of_the_file_system(void **state)
{
	(void)state;
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/qf", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	unsigned long before = fssync_count(dir);
	assert_int_equal(fssync(sub), 0);
	assert_int_equal(fssync_count(dir), before + 1);	/* one counter: the file system's */
	errno = 0;
	snprintf(sub, sizeof(sub), "%s/not-there", dir);
	assert_int_equal(fssync(sub), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(sub, sizeof(sub), "%s/qf", dir);
	assert_int_equal(rmdir(sub), 0);
}

static void parent_of_a_path(void **state)
{
	(void)state;
	char buf[64];
	path_dirname(buf, sizeof(buf), "/var/spool/mqueue/qfX");
	assert_string_equal(buf, "/var/spool/mqueue");
	path_dirname(buf, sizeof(buf), "qfX");
	assert_string_equal(buf, ".");
	path_dirname(buf, sizeof(buf), "/qfX");
	assert_string_equal(buf, "/");

	/* dirsync_parent fsyncs the directory holding the name, through the
	 * shared path (its count), and reports a missing one */
	char name[160];
	snprintf(name, sizeof(name), "%s/mailbox", dir);
	unsigned long before = dirsync_count(dir);
	assert_int_equal(dirsync_parent(name), 0);
	assert_int_equal(dirsync_count(dir), before + 1);
	snprintf(name, sizeof(name), "%s/not-there/mailbox", dir);
	errno = 0;
	assert_int_equal(dirsync_parent(name), -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrent_callers_share_fsyncs),
		cmocka_unit_test(single_caller_gets_its_own_fsync),
		cmocka_unit_test(missing_directory_is_an_error),
		cmocka_unit_test(forked_child_syncs_alone),
		cmocka_unit_test(fssync_failure_reaches_every_caller_that_waited_for_it),
		cmocka_unit_test(fssync_shared_with_any_directory_of_the_file_system),
		cmocka_unit_test(parent_of_a_path),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
