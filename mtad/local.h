/* local: what local names mean (users, LocalUserFile names, aliases).
 * The mailers (mailbox, *file*, prog) are the delivery agent's: lda.h. */
#ifndef MTAD_LOCAL_H
#define MTAD_LOCAL_H
#include <stddef.h>
#include "aliases.h"

/* The aliases, opened once and re-read when they change (NULL: none). */
struct aliases *local_aliases(void);
/* Is this local part a mailbox or an alias? */
int local_name_known(const char *local);

#endif
