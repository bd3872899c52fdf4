/* safeopen: see safeopen.h. */
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISLNK(m) ? "a symbolic link" : S_ISDIR(m) ? "a directory" :
	       S_ISCHR(m) || S_ISBLK(m) ? "a device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

int safe_open(const char *path, int flags, mode_t mode, char *err, size_t errsize)
{
	int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
	if (fd < 0) {
		int e = errno;
		if (err)
			snprintf(err, errsize, "%s: %s", path, e == ELOOP ? "is a symbolic link" : strerror(e));
		errno = e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		if (err)
			snprintf(err, errsize, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		if (err)
			snprintf(err, errsize, "%s: is %s, not a regular file", path, kind_of(st.st_mode));
		close(fd);
		errno = EINVAL;
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int safe_open_refused(int err_no)
{
	return err_no == ELOOP || err_no == EINVAL || err_no == ENXIO;
}
