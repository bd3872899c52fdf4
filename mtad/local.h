/* local: what local names mean (users, LocalUserFile names, aliases).
 * The mailers (mailbox, *file*, prog) are the delivery agent's: lda.h. */
#ifndef MTAD_LOCAL_H
#define MTAD_LOCAL_H
#include <stddef.h>
#include "aliases.h"

/* The aliases, opened once and re-read when they change (NULL: none). */
struct aliases *local_aliases(void);
/* 1 when the aliases are configured but cannot be opened now (logged). */
int local_aliases_broken(void);
/* Is this local part a mailbox or an alias?  1 yes, 0 no, -1 cannot tell
 * now (the aliases cannot be read, or an LDAP directory does not answer:
 * answer 451 4.3.0, never 550). */
int local_name_known(const char *local);

#endif
