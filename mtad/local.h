/* local: what local names mean (users, LocalUserFile names, aliases) and
 * the two local mailers besides mbox: *file* (append to a file named in
 * an alias) and prog (a |program alias, run without a shell). */
#ifndef MTAD_LOCAL_H
#define MTAD_LOCAL_H
#include <stddef.h>
#include "aliases.h"

/* The aliases, opened once and re-read when they change (NULL: none). */
struct aliases *local_aliases(void);
/* Is this local part a mailbox or an alias?  1 yes, 0 no, -1 the aliases
 * cannot be asked now (warned; RCPT answers 4xx). */
int local_name_known(const char *local);

/* Appends the message to path as an mbox entry.  0, or -1 with err. */
int local_deliver_file(const char *path, const char *sender, const char *headers, size_t hlen,
		       int df_fd, char *err, size_t errsize);
/* Runs command (split on blanks, no shell) with the message on stdin.
 * Returns 0 sent, 1 temporary failure, 2 permanent, with err. */
int local_deliver_prog(const char *command, const char *sender, const char *recipient,
		       const char *headers, size_t hlen, int df_fd, int is_mailer, char *err, size_t errsize);

#endif
