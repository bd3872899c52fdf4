/* input: where messages come from.  A path is a single message, an mbox
 * (first line "From "; messages split at "From " lines after an empty
 * line), a Maildir (cur/ and new/, files in name order) or a directory of
 * message files; "-" is stdin.  Files are mapped, not copied. */
#include "hdrtrace.h"
#include "diag.h"
#include "strbuf.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void split_mbox(const char *buf, size_t len, const char *source, message_fn fn,
		       void *arg)
{
	size_t start = 0, index = 0;
	if (len == 0)
		return;
	if (len < 5 || memcmp(buf, "From ", 5) != 0) {
		fn(buf, len, source, 1, arg);
		return;
	}
	for (;;) {
		/* the next "\n\nFrom " (or "\n\r\nFrom ") after start */
		size_t pos = start + 5, next = len;
		while (pos < len) {
			const char *f = memmem(buf + pos, len - pos, "\nFrom ", 6);
			if (!f)
				break;
			size_t at = (size_t)(f - buf);
			if ((at >= 1 && buf[at - 1] == '\n') ||
			    (at >= 2 && buf[at - 1] == '\r' && buf[at - 2] == '\n')) {
				next = at + 1;
				break;
			}
			pos = at + 1;
		}
		fn(buf + start, next - start, source, ++index, arg);
		if (next >= len)
			break;
		start = next;
	}
}

static int read_fd_all(int fd, struct strbuf *sb)
{
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		sb_append(sb, tmp, (size_t)n);
	}
}

static int read_file(const char *path, const char *source, message_fn fn, void *arg, int mbox)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		msg_error("%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		msg_error("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			close(fd);
			madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
			if (mbox)
				split_mbox(p, (size_t)st.st_size, source, fn, arg);
			else
				fn(p, (size_t)st.st_size, source, 1, arg);
			munmap(p, (size_t)st.st_size);
			return 0;
		}
	}
	struct strbuf sb;
	sb_init(&sb);
	int rc = read_fd_all(fd, &sb);
	if (rc < 0)
		msg_error("%s: %s", path, strerror(errno));
	else if (mbox)
		split_mbox(sb.s, sb.len, source, fn, arg);
	else
		fn(sb.s, sb.len, source, 1, arg);
	sb_free(&sb);
	close(fd);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of dir in name order (dot files skipped). */
static char **list_files(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	*count = 0;
	if (!d)
		return NULL;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		struct strbuf p;
		sb_init(&p);
		sb_printf(&p, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(p.s, &st) == 0 && S_ISREG(st.st_mode)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[n++] = sb_steal(&p);
		}
		sb_free(&p);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*count = n;
	return v;
}

struct index_fix {
	message_fn fn;
	void *arg;
	size_t index;
};

static void renumber(const char *buf, size_t len, const char *source, size_t index, void *arg)
{
	struct index_fix *fx = arg;
	(void)index;
	fx->fn(buf, len, source, ++fx->index, fx->arg);
}

static int read_dir(const char *path, message_fn fn, void *arg)
{
	static const char *const subs[] = { "new", "cur" };
	struct index_fix fx = { fn, arg, 0 };
	int rc = 0, maildir = 0;
	for (size_t s = 0; s < 2; s++) {
		struct strbuf sub;
		sb_init(&sub);
		sb_printf(&sub, "%s/%s", path, subs[s]);
		struct stat st;
		if (stat(sub.s, &st) == 0 && S_ISDIR(st.st_mode)) {
			maildir = 1;
			size_t n;
			char **files = list_files(sub.s, &n);
			for (size_t i = 0; i < n; i++) {
				if (read_file(files[i], files[i], renumber, &fx, 0) < 0)
					rc = -1;
				free(files[i]);
			}
			free(files);
		}
		sb_free(&sub);
	}
	if (!maildir) {
		size_t n;
		char **files = list_files(path, &n);
		for (size_t i = 0; i < n; i++) {
			if (read_file(files[i], files[i], fn, arg, 1) < 0)
				rc = -1;
			free(files[i]);
		}
		free(files);
	}
	return rc;
}

int input_read(const char *path, message_fn fn, void *arg)
{
	if (strcmp(path, "-") == 0) {
		struct strbuf sb;
		sb_init(&sb);
		int rc = read_fd_all(0, &sb);
		if (rc < 0)
			msg_error("stdin: %s", strerror(errno));
		else
			split_mbox(sb.s, sb.len, "-", fn, arg);
		sb_free(&sb);
		return rc;
	}
	struct stat st;
	if (stat(path, &st) < 0) {
		msg_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return read_dir(path, fn, arg);
	return read_file(path, path, fn, arg, 1);
}
