/* tail: -f, following a growing log (the newest file given, reopened when
 * it is rotated or truncated) or stdin, printing each matching line as it
 * arrives. */
#include "loggrep.h"
#include "diag.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int printed;
static const char *live_name;	/* the file followed, for the line's prefix */

static void emit(struct collector *c, const char *line, size_t len)
{
	int r = collect_live_line(c, line, len);
	if (r) {
		printed++;
		if (!lg_opts.no_filename)
			printf("%s%s ", live_name ? live_name : "(standard input)",
			       r == 2 ? ":?" : r == 3 ? ":~" : ":");
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
}

/* Processes the complete lines of buf; returns the bytes consumed. */
static size_t lines(struct collector *c, const char *buf, size_t n)
{
	size_t done = 0;
	for (;;) {
		const char *nl = memchr(buf + done, '\n', n - done);
		if (!nl)
			return done;
		emit(c, buf + done, (size_t)(nl - (buf + done)));
		done = (size_t)(nl - buf) + 1;
	}
}

static int tail_fd(struct collector *c, int fd, const char *path)
{
	live_name = path;
	size_t cap = 1 << 16, have = 0;
	char *buf = xmalloc(cap);
	struct stat st;
	for (;;) {
		if (have == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			msg_error("%s: %s", path ? path : "stdin", strerror(errno));
			free(buf);
			return -1;
		}
		if (r > 0) {
			have += (size_t)r;
			size_t used = lines(c, buf, have);
			memmove(buf, buf + used, have - used);
			have -= used;
			continue;
		}
		if (!path) {	/* end of stdin */
			if (have)
				emit(c, buf, have);
			free(buf);
			return printed;
		}
		/* rotated (new inode) or truncated: start over on the new file */
		off_t pos = lseek(fd, 0, SEEK_CUR);
		if (stat(path, &st) == 0) {
			struct stat cur;
			if (fstat(fd, &cur) == 0 && (cur.st_ino != st.st_ino || st.st_size < pos)) {
				int nfd = open(path, O_RDONLY | O_CLOEXEC);
				if (nfd >= 0) {
					close(fd);
					fd = nfd;
					have = 0;
					continue;
				}
			}
		}
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int tail_run(struct collector *c, struct sources *s, int from_start)
{
	(void)from_start;
	if (s->n == 0 || strcmp(s->v[s->n - 1].path, "-") == 0)
		return tail_fd(c, 0, NULL);
	/* continue where the last pass stopped reading (a dup shares the offset) */
	const struct source *src = &s->v[s->n - 1];
	int fd = dup(src->fd);
	if (fd < 0) {
		msg_error("%s: %s", src->path, strerror(errno));
		return -1;
	}
	return tail_fd(c, fd, src->path);
}
