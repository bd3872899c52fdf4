/* Unit tests for lib/pwfile: /etc/passwd's table answers a name in the
 * file as glibc's files module does (the first line with it), leaves a
 * name not in the file to NSS, is not used when nsswitch.conf does not put
 * "files" first or when the file holds what it does not read for sure
 * (NIS "+" lines, a broken line), and sees a changed file, even one
 * rewritten in place with its old size and mtime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pwfile.h"

static char dir[64];
static char passwd[256], nss[256];

static void put(const char *path, const char *text)
{
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);	/* a new inode, as useradd does */
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_pwfile.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	snprintf(nss, sizeof(nss), "%s/nsswitch.conf", dir);
	put(nss, "# comment\npasswd:         files systemd\ngroup: files\n");
	put(passwd, "root:x:0:0:root:/root:/bin/bash\n"
		    "# a comment line\n"
		    "alice:x:1001:100:Alice:/home/alice:/bin/sh\n"
		    "\n"
		    "bob:x:1002:100::/home/bob:/usr/sbin/nologin\n"
		    "alice:x:2001:200:second alice:/elsewhere:/bin/sh\n");
	pwfile_set_paths(passwd, nss);
	pwfile_set_recheck_ms(0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(passwd);
	unlink(nss);
	rmdir(dir);
	return 0;
}

static void test_found_first_line_wins(void **state)
{
	(void)state;
	struct pw_entry pw;
	assert_int_equal(pwfile_byname("alice", &pw), 1);
	assert_int_equal(pw.uid, 1001);
	assert_int_equal(pw.gid, 100);
	assert_string_equal(pw.name, "alice");
	assert_string_equal(pw.dir, "/home/alice");
	assert_int_equal(pwfile_byname("bob", &pw), 1);
	assert_int_equal(pw.uid, 1002);
	assert_string_equal(pw.dir, "/home/bob");
	assert_int_equal(pwfile_byname("root", &pw), 1);
	assert_int_equal(pw.uid, 0);
}

static void test_not_in_file_left_to_nss(void **state)
{
	(void)state;
	struct pw_entry pw;
	assert_int_equal(pwfile_byname("carol", &pw), 0);
	assert_int_equal(pwfile_byname("Alice", &pw), 0);	/* names are case-sensitive */
	assert_int_equal(pwfile_byname("", &pw), 0);
}

static void test_not_used_unless_files_first(void **state)
{
	(void)state;
	struct pw_entry pw;
	put(nss, "passwd: ldap files\n");
	assert_int_equal(pwfile_byname("alice", &pw), 0);
	put(nss, "passwd: compat\n");
	assert_int_equal(pwfile_byname("alice", &pw), 0);
	put(nss, "group: files\n");	/* no passwd line */
	assert_int_equal(pwfile_byname("alice", &pw), 0);
	put(nss, "passwd:files [NOTFOUND=return] systemd\n");
	assert_int_equal(pwfile_byname("alice", &pw), 1);
	put(nss, "passwd: files systemd\n");
}

static void test_unsure_file_not_used(void **state)
{
	(void)state;
	struct pw_entry pw;
	put(passwd, "alice:x:1001:100:Alice:/home/alice:/bin/sh\n+@nisusers::::::\n");
	assert_int_equal(pwfile_byname("alice", &pw), 0);
	put(passwd, "alice:x:1001:100:Alice:/home/alice:/bin/sh\nbad:x:notanumber:100::/:/bin/sh\n");
	assert_int_equal(pwfile_byname("alice", &pw), 0);
	put(passwd, "alice:x:1001:100:Alice:/home/alice\n");	/* six fields */
	assert_int_equal(pwfile_byname("alice", &pw), 0);
}

static void test_changed_file_seen(void **state)
{
	(void)state;
	struct pw_entry pw;
	put(passwd, "alice:x:1001:100:Alice:/home/alice:/bin/sh\n");
	assert_int_equal(pwfile_byname("alice", &pw), 1);
	assert_int_equal(pwfile_byname("dave", &pw), 0);
	put(passwd, "dave:x:1004:100::/home/dave:/bin/sh\n");	/* alice removed, dave added */
	assert_int_equal(pwfile_byname("dave", &pw), 1);
	assert_int_equal(pw.uid, 1004);
	assert_int_equal(pwfile_byname("alice", &pw), 0);
}

/* Rewritten in place with its old size and its old mtime put back (an
 * editor's or a script's "touch -r"): only the ctime tells. */
static void test_rewrite_with_old_mtime_seen(void **state)
{
	(void)state;
	struct pw_entry pw;
	put(passwd, "alice:x:1001:100:Alice:/home/alice:/bin/sh\n");
	assert_int_equal(pwfile_byname("alice", &pw), 1);
	struct stat before, after;
	assert_int_equal(stat(passwd, &before), 0);
	do {			/* until the clock has moved on for the ctime */
		FILE *f = fopen(passwd, "r+");
		assert_non_null(f);
		fputs("carol", f);	/* same length as alice */
		fclose(f);
		struct timespec ts[2] = { before.st_atim, before.st_mtim };
		assert_int_equal(utimensat(AT_FDCWD, passwd, ts, 0), 0);
		assert_int_equal(stat(passwd, &after), 0);
	} while (after.st_ctim.tv_sec == before.st_ctim.tv_sec && after.st_ctim.tv_nsec == before.st_ctim.tv_nsec);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(pwfile_byname("carol", &pw), 1);
	assert_int_equal(pwfile_byname("alice", &pw), 0);
}

static void test_many_users(void **state)
{
	(void)state;
	FILE *f = fopen(passwd, "w");
	assert_non_null(f);
	for (int i = 0; i < 5000; i++)
		fprintf(f, "u%d:x:%d:100::/home/u%d:/bin/sh\n", i, 10000 + i, i);
	fclose(f);
	pwfile_set_paths(passwd, nss);
	struct pw_entry pw;
	for (int i = 0; i < 5000; i += 7) {
		char name[32];
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(pwfile_byname(name, &pw), 1);
		assert_int_equal(pw.uid, 10000 + i);
	}
	assert_int_equal(pwfile_byname("u5000", &pw), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_found_first_line_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_in_file_left_to_nss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_used_unless_files_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsure_file_not_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_file_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_with_old_mtime_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_users, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
