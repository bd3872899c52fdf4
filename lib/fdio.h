/* fdio: whole writes to file descriptors, retried on EINTR and short
 * writes.  Returns 0, or -1 with errno set. */
#ifndef MTA_FDIO_H
#define MTA_FDIO_H
#include <stddef.h>

int fd_write_all(int fd, const void *data, size_t n);

#endif
