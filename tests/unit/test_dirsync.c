/* Unit tests for lib/dirsync: concurrent callers share directory fsyncs
 * (fewer fsyncs than calls, every caller answered), a missing directory is
 * an error with errno for every caller, and a forked child fsyncs alone
 * even when the parent's state is busy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirsync.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrent_callers_share_fsyncs),
		cmocka_unit_test(single_caller_gets_its_own_fsync),
		cmocka_unit_test(missing_directory_is_an_error),
		cmocka_unit_test(forked_child_syncs_alone),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
