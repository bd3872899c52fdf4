/* Unit tests for lib/mbox: the From_ line, ">From " quoting (also where a
 * line start falls on the 64K read boundary), the closing blank line,
 * appending, a stale dotlock, and clean failures (directory, symlink, no
 * lock directory, unreadable body: the mailbox is cut back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define _XOPEN_SOURCE_EXTENDED 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mbox.h"
#include "strbuf.h"

#define T_SEED ((time_t)1136442493)	/* Thu Jan  5 06:28:13 2006 UTC */
#define FROM_LINE "From sender@example.org Thu Jan  5 06:28:13 2006\n"
#define HDRS "Subject: hi\nFrom: a@example.org\n"

struct fixture {
	char dir[64];
	char mbox[128];
	char lock[160];
	char body[128];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_mbox.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->mbox, sizeof(f->mbox), "%s/user", f->dir);
	snprintf(f->lock, sizeof(f->lock), "%s/user.lock", f->dir);
	snprintf(f->body, sizeof(f->body), "%s/body", f->dir);
	setenv("TZ", "UTC", 1);
	tzset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Writes the body to a file and returns it open for reading at offset 0. */
static int body_fd(const struct fixture *f, const char *body, size_t len)
{
	int fd = open(f->body, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, body + off, len - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static char *slurp(const char *path, size_t *lenp)
{
	struct strbuf sb;
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	sb_init(&sb);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sb_append(&sb, buf, (size_t)n);
	close(fd);
	*lenp = sb.len;
	char *s = sb_steal(&sb);
	sb_free(&sb);		/* steal leaves sb re-initialised */
	return s;
}

static void deliver_ok(const struct fixture *f, const char *sender, const char *hdrs,
		       const char *body, size_t blen)
{
	char err[512] = "";
	int fd = body_fd(f, body, blen);
	int rc = mbox_deliver(f->mbox, sender, T_SEED, hdrs, strlen(hdrs), fd, err, sizeof(err));
	close(fd);
	if (rc != 0)
		fail_msg("mbox_deliver: %s", err);
}

static void assert_file(const char *path, const char *expect, size_t elen)
{
	size_t len;
	char *got = slurp(path, &len);
	assert_non_null(got);
	if (len != elen || memcmp(got, expect, elen) != 0)
		fail_msg("%s: got %zu bytes, want %zu:\n--- got\n%s\n--- want\n%s", path, len, elen,
			 len < 2000 ? got : "(long)", elen < 2000 ? expect : "(long)");
	free(got);
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

struct dcase {
	const char *what;
	const char *sender;
	const char *body;
	const char *expect;	/* everything after the headers' blank line */
	const char *from_line;	/* NULL: FROM_LINE */
};

static const struct dcase dcases[] = {
	{ "quoting", "sender@example.org",
	  "line1\nFrom here\n>From there\nFromage\n From x\nFrom\nFrom\tx\nx From y\n",
	  "line1\n>From here\n>From there\nFromage\n From x\nFrom\nFrom\tx\nx From y\n\n", NULL },
	{ "first_line_from", "sender@example.org", "From the start\n",
	  ">From the start\n\n", NULL },
	{ "no_final_newline", "sender@example.org", "abc", "abc\n\n", NULL },
	{ "ends_in_partial_from", "sender@example.org", "x\nFrom", "x\nFrom\n\n", NULL },
	{ "empty_body", "sender@example.org", "", "\n", NULL },
	{ "blank_lines", "sender@example.org", "\n\nFrom a\n\n", "\n\n>From a\n\n\n", NULL },
	{ "null_sender", "", "b\n", "b\n\n", "From MAILER-DAEMON Thu Jan  5 06:28:13 2006\n" },
	{ "blanks_in_sender", "a b\tc\nd@x", "b\n", "b\n\n", "From a_b_c_d@x Thu Jan  5 06:28:13 2006\n" },
};

static void test_deliver_table(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *c = &dcases[i];
		unlink(f->mbox);
		deliver_ok(f, c->sender, HDRS, c->body, strlen(c->body));
		struct strbuf want;
		sb_init(&want);
		sb_puts(&want, c->from_line ? c->from_line : FROM_LINE);
		sb_puts(&want, HDRS "\n");
		sb_puts(&want, c->expect);
		assert_file(f->mbox, want.s, want.len);
		sb_free(&want);
		struct stat st;
		assert_int_equal(stat(f->mbox, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(access(f->lock, F_OK), -1);	/* dotlock released */
	}
}

static void test_null_sender_pointer(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int fd = body_fd(f, "b\n", 2);
	assert_int_equal(mbox_deliver(f->mbox, NULL, T_SEED, "", 0, fd, err, sizeof(err)), 0);
	close(fd);
	const char want[] = "From MAILER-DAEMON Thu Jan  5 06:28:13 2006\n\nb\n\n";
	assert_file(f->mbox, want, sizeof(want) - 1);
}

static void test_append(void **state)
{
	struct fixture *f = *state;
	deliver_ok(f, "sender@example.org", HDRS, "one\n", 4);
	deliver_ok(f, "other@example.net", "Subject: two\n", "From two\n", 9);
	const char want[] =
		FROM_LINE HDRS "\none\n\n"
		"From other@example.net Thu Jan  5 06:28:13 2006\nSubject: two\n\n>From two\n\n";
	assert_file(f->mbox, want, sizeof(want) - 1);
}

/* The body is read from the descriptor's current offset. */
static void test_body_offset(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int fd = body_fd(f, "skip\nFrom kept\n", 15);
	assert_int_equal(lseek(fd, 5, SEEK_SET), 5);
	assert_int_equal(mbox_deliver(f->mbox, "sender@example.org", T_SEED, HDRS, strlen(HDRS), fd,
				      err, sizeof(err)), 0);
	close(fd);
	const char want[] = FROM_LINE HDRS "\n>From kept\n\n";
	assert_file(f->mbox, want, sizeof(want) - 1);
}

/* Reference quoting, line by line, for the large bodies below. */
static void quote_ref(struct strbuf *out, const char *body, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - body) + 1 : len;
		if (end - pos >= 5 && memcmp(body + pos, "From ", 5) == 0)
			sb_putc(out, '>');
		sb_append(out, body + pos, end - pos);
		pos = end;
	}
	if (len > 0 && body[len - 1] != '\n')
		sb_putc(out, '\n');
}

/* A line starting at offset `at` holding `line`, in a body of filler lines. */
static void boundary_case(struct fixture *f, size_t at, const char *line, int quoted)
{
	size_t llen = strlen(line);
	size_t blen = at + llen + 4 + 65536;
	char *body = malloc(blen);
	assert_non_null(body);
	memset(body, 'x', blen);
	for (size_t i = 79; i < at; i += 80)
		body[i] = '\n';
	body[at - 1] = '\n';
	memcpy(body + at, line, llen);
	memcpy(body + at + llen, "end\n", 4);
	/* more lines after, one of them "From " again past the next boundary */
	for (size_t i = at + llen + 4 + 79; i < blen; i += 80)
		body[i] = '\n';
	body[blen - 1] = '\n';
	memcpy(body + blen - 81, "\nFrom z", 7);

	unlink(f->mbox);
	deliver_ok(f, "sender@example.org", HDRS, body, blen);

	struct strbuf want;
	sb_init(&want);
	sb_puts(&want, FROM_LINE HDRS "\n");
	quote_ref(&want, body, blen);
	sb_putc(&want, '\n');
	/* the reference must agree with what this case is about */
	char probe[64];
	snprintf(probe, sizeof(probe), "\n%s%s", quoted ? ">" : "", line);
	assert_non_null(memmem(want.s, want.len, probe, strlen(probe)));
	assert_file(f->mbox, want.s, want.len);
	sb_free(&want);
	free(body);
}

static void test_from_across_64k(void **state)
{
	struct fixture *f = *state;
	/* the body file is read from offset 0 in 64K reads */
	/* "From " split 2/3 across the first read */
	boundary_case(f, 65536 - 2, "From split\n", 1);
	/* starts exactly at the second read, after a '\n' that ended the first */
	boundary_case(f, 65536, "From start\n", 1);
	/* "From" then a non-blank after the boundary: not quoted */
	boundary_case(f, 65536 - 4, "Fromage\n", 0);
	/* "From " whole, ending exactly at the boundary */
	boundary_case(f, 65536 - 5, "From edge\n", 1);
}

static void test_stale_lock(void **state)
{
	struct fixture *f = *state;
	int fd = open(f->lock, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	struct timespec ts[2];
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 6 * 60;	/* older than 5 minutes */
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, f->lock, ts, 0), 0);
	time_t start = time(NULL);
	deliver_ok(f, "sender@example.org", HDRS, "b\n", 2);
	assert_true(time(NULL) - start < 5);	/* broken at once, not waited out */
	assert_int_equal(access(f->lock, F_OK), -1);
	const char want[] = FROM_LINE HDRS "\nb\n\n";
	assert_file(f->mbox, want, sizeof(want) - 1);
}

/* A fresh lock whose writer is dead (its pid in the lock) is broken at once. */
static void test_lock_of_dead_process(void **state)
{
	struct fixture *f = *state;
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	int fd = open(f->lock, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)child);
	assert_int_equal(write(fd, pid, (size_t)n), n);
	close(fd);
	time_t start = time(NULL);
	deliver_ok(f, "sender@example.org", HDRS, "b\n", 2);
	assert_true(time(NULL) - start < 5);
	assert_int_equal(access(f->lock, F_OK), -1);
}

static void test_directory_fails_cleanly(void **state)
{
	struct fixture *f = *state;
	char err[512] = "", expect[600];
	assert_int_equal(mkdir(f->mbox, 0700), 0);
	int fd = body_fd(f, "b\n", 2);
	assert_int_equal(mbox_deliver(f->mbox, "s@x", T_SEED, HDRS, strlen(HDRS), fd, err, sizeof(err)), -1);
	close(fd);
	snprintf(expect, sizeof(expect), "cannot open %s: %s", f->mbox, strerror(EISDIR));
	assert_string_equal(err, expect);
	assert_int_equal(access(f->lock, F_OK), -1);
	assert_int_equal(entries(f->mbox), 0);
	assert_int_equal(entries(f->dir), 2);	/* the directory and the body file */
}

static void test_symlink_refused(void **state)
{
	struct fixture *f = *state;
	char target[160], err[512] = "", expect[600];
	snprintf(target, sizeof(target), "%s/target", f->dir);
	int tfd = open(target, O_WRONLY | O_CREAT, 0600);
	assert_true(tfd >= 0);
	close(tfd);
	assert_int_equal(symlink(target, f->mbox), 0);
	int fd = body_fd(f, "b\n", 2);
	assert_int_equal(mbox_deliver(f->mbox, "s@x", T_SEED, HDRS, strlen(HDRS), fd, err, sizeof(err)), -1);
	close(fd);
	snprintf(expect, sizeof(expect), "cannot open %s: %s", f->mbox, strerror(ELOOP));
	assert_string_equal(err, expect);
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(access(f->lock, F_OK), -1);
}

/* mail.local's checks as root: a mailbox with a second link, or owned by
 * someone else, or a FIFO in its place, is refused and left untouched. */
static void test_checked_links_owner_fifo(void **state)
{
	struct fixture *f = *state;
	char other[200], err[512] = "";
	int mfd = open(f->mbox, O_WRONLY | O_CREAT, 0600);
	assert_true(mfd >= 0);
	close(mfd);
	snprintf(other, sizeof(other), "%s/elsewhere", f->dir);
	assert_int_equal(link(f->mbox, other), 0);
	struct mbox_checks c = { .single_link = 1, .check_owner = 1, .owner = getuid() };
	int fd = body_fd(f, "b\n", 2);
	assert_int_equal(mbox_deliver_checked(f->mbox, &c, "s@x", T_SEED, HDRS, strlen(HDRS), fd, err,
					      sizeof(err)), -1);
	assert_non_null(strstr(err, "has 2 links"));
	unlink(other);
	c.owner = getuid() + 1;
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(mbox_deliver_checked(f->mbox, &c, "s@x", T_SEED, HDRS, strlen(HDRS), fd, err,
					      sizeof(err)), -1);
	assert_non_null(strstr(err, "not by its user"));
	c.owner = getuid();
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(mbox_deliver_checked(f->mbox, &c, "s@x", T_SEED, HDRS, strlen(HDRS), fd, err,
					      sizeof(err)), 0);
	unlink(f->mbox);
	assert_int_equal(mkfifo(f->mbox, 0600), 0);	/* no reader: must not block */
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(mbox_deliver_checked(f->mbox, &c, "s@x", T_SEED, HDRS, strlen(HDRS), fd, err,
					      sizeof(err)), -1);
	close(fd);
	unlink(f->mbox);
	assert_int_equal(access(f->lock, F_OK), -1);
}

static void test_no_directory(void **state)
{
	struct fixture *f = *state;
	char path[200], err[512] = "", expect[600];
	snprintf(path, sizeof(path), "%s/missing/user", f->dir);
	int fd = body_fd(f, "b\n", 2);
	assert_int_equal(mbox_deliver(path, "s@x", T_SEED, HDRS, strlen(HDRS), fd, err, sizeof(err)), -1);
	close(fd);
	snprintf(expect, sizeof(expect), "cannot create %s.lock: %s", path, strerror(ENOENT));
	assert_string_equal(err, expect);
}

/* A body that cannot be read: the mailbox goes back to its old size. */
static void test_failure_truncates(void **state)
{
	struct fixture *f = *state;
	char err[512] = "", expect[600];
	deliver_ok(f, "sender@example.org", HDRS, "first\n", 6);
	int fd = open(f->body, O_WRONLY);	/* read() fails with EBADF */
	assert_true(fd >= 0);
	assert_int_equal(mbox_deliver(f->mbox, "s@x", T_SEED, HDRS, strlen(HDRS), fd, err, sizeof(err)), -1);
	close(fd);
	snprintf(expect, sizeof(expect), "write to %s failed: %s", f->mbox, strerror(EBADF));
	assert_string_equal(err, expect);
	const char want[] = FROM_LINE HDRS "\nfirst\n\n";
	assert_file(f->mbox, want, sizeof(want) - 1);
	assert_int_equal(access(f->lock, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deliver_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_sender_pointer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_across_64k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_of_dead_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_fails_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checked_links_owner_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_truncates, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
