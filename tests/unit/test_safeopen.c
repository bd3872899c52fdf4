/* test_safeopen: queue files are regular files or nothing: a symbolic
 * link, a FIFO (with no writer: must not block), a directory are refused
 * with a message naming them; a regular file opens, blocking again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safeopen.h"

static char dir[] = "/tmp/test_safeopen.XXXXXX";

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void test_regular_file_opens_blocking(void **state)
{
	(void)state;
	char p[256], err[512];
	path_of(p, sizeof(p), "qfREG");
	int fd = safe_open(p, O_RDWR | O_CREAT | O_EXCL, 0600, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	fd = safe_open(p, O_RDONLY, 0, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
}

static void test_refused_table(void **state)
{
	(void)state;
	char target[256], p[256], err[512];
	path_of(target, sizeof(target), "outside");
	close(open(target, O_WRONLY | O_CREAT, 0600));
	struct {
		const char *name;
		int kind;	/* 0 symlink, 1 FIFO, 2 directory */
		const char *says;
		int err_no;
	} t[] = {
		{ "qfLINK", 0, "is a symbolic link", ELOOP },
		{ "qfFIFO", 1, "is a FIFO, not a regular file", EINVAL },
		{ "qfDIR", 2, "is a directory, not a regular file", EINVAL },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		path_of(p, sizeof(p), t[i].name);
		if (t[i].kind == 0)
			assert_int_equal(symlink(target, p), 0);
		else if (t[i].kind == 1)
			assert_int_equal(mkfifo(p, 0600), 0);
		else
			assert_int_equal(mkdir(p, 0700), 0);
		errno = 0;
		assert_int_equal(safe_open(p, O_RDONLY, 0, err, sizeof(err)), -1);
		assert_int_equal(errno, t[i].err_no);
		assert_true(safe_open_refused(errno));
		assert_non_null(strstr(err, t[i].says));
		assert_non_null(strstr(err, t[i].name));
	}
}

static void test_missing_is_not_refused(void **state)
{
	(void)state;
	char p[256], err[512];
	path_of(p, sizeof(p), "qfNONE");
	assert_int_equal(safe_open(p, O_RDONLY, 0, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_false(safe_open_refused(errno));
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file_opens_blocking),
		cmocka_unit_test(test_refused_table),
		cmocka_unit_test(test_missing_is_not_refused),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
