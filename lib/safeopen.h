/* safeopen: the one way a queue file (qf, df, tf, xf) is opened, by mtad
 * and every tool.  The queue directory is written by the unprivileged SMTP
 * server, so what is found there may be anything: a symbolic link is never
 * followed (O_NOFOLLOW), a FIFO or a device is never waited on (O_NONBLOCK,
 * then fstat: regular files only).  The descriptor returned is close-on-
 * exec and blocking again. */
#ifndef MTA_SAFEOPEN_H
#define MTA_SAFEOPEN_H
#include <stddef.h>
#include <sys/types.h>

/* open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode), then
 * regular files only.  Returns the descriptor, or -1 with errno (ELOOP for
 * a symbolic link, EFTYPE-like EINVAL for anything not a regular file)
 * and err naming the file and what it is. */
int safe_open(const char *path, int flags, mode_t mode, char *err, size_t errsize);

/* 1 when errno after a failed safe_open means "something that is not a
 * regular file is there" (to be logged and skipped, never retried). */
int safe_open_refused(int err_no);

#endif
