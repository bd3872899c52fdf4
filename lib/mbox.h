/* mbox: appending a message to a Unix mailbox the way mail.local does:
 * dotlock (path.lock) plus an fcntl lock, a "From sender date" line, the
 * message with "From " lines quoted as ">From ", a blank line, fsync.  On any
 * failure the mailbox is truncated back to its old size. */
#ifndef MTA_MBOX_H
#define MTA_MBOX_H
#include <stddef.h>
#include <time.h>

/* headers: the header block, LF line ends, ending in "\n" (no blank line).
 * body_fd: read from its current offset to EOF (LF line ends).  Returns 0,
 * or -1 with err set (always a temporary failure: the caller defers). */
int mbox_deliver(const char *path, const char *envelope_sender, time_t when,
		 const char *headers, size_t hlen, int body_fd, char *err, size_t errsize);

/* The checks mail.local makes before writing (NULL: regular file only). */
#include <sys/types.h>
struct mbox_checks {
	int single_link;	/* st_nlink must be 1 */
	int check_owner;	/* and st_uid must be owner */
	uid_t owner;
	int defer_sync;		/* no fsync: the caller makes the append, and
				 * the name of a mailbox this call created,
				 * durable later (a syncfs of the file system,
				 * then an fsync of the mailbox's directory) */
};
int mbox_deliver_checked(const char *path, const struct mbox_checks *checks, const char *envelope_sender,
			 time_t when, const char *headers, size_t hlen, int body_fd, char *err, size_t errsize);

#endif
