/* local: local names and the aliases.  (The mailbox, file and program
 * mailers are the delivery agent's: lda.c.) */
#include "local.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "mtad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct aliases *aliases;
static char aliases_path[1100];
static int aliases_broken;	/* configured, but cannot be opened now */

struct aliases *local_aliases(void)
{
	const char *path = conf_str(C_ALIAS_FILE);
	if (!*path)
		return NULL;
	if (aliases && strcmp(path, aliases_path) == 0)
		return aliases;
	if (aliases)
		aliases_close(aliases);
	char err[512];
	aliases = aliases_open(path, err, sizeof(err));
	aliases_broken = aliases == NULL;
	if (aliases == NULL) {
		/* never "User unknown" for this: 451 4.3.0 and a log line (once a
		 * minute), and tried again on the next lookup */
		static time_t logged;
		if (time(NULL) - logged >= 60) {
			logged = time(NULL);
			msg_warn("aliases: %s", err);
			maillog(NULL, "SYSERR: aliases: %s; local names answered 451 4.3.0 until it can be read", err);
		}
	}
	snprintf(aliases_path, sizeof(aliases_path), "%s", path);
	return aliases;
}

int local_aliases_broken(void)
{
	return *conf_str(C_ALIAS_FILE) && aliases == NULL && aliases_broken;
}

int local_name_known(const char *local)
{
	if (conf_is_local_user(local))
		return 1;
	struct aliases *a = local_aliases();
	if (a == NULL)
		return local_aliases_broken() ? -1 : 0;
	char *rhs = NULL, err[512];
	int rc = aliases_lookup(a, local, &rhs, err, sizeof(err));
	free(rhs);
	if (rc == ALIAS_TEMPFAIL) {	/* a temporary failure is not "unknown" */
		maillog(NULL, "SYSERR: aliases: lookup of %s: %s", local, err);
		return -1;
	}
	return rc == ALIAS_FOUND;
}
