/* local: local names and the aliases.  (The mailbox, file and program
 * mailers are the delivery agent's: lda.c.) */
#include "local.h"
#include "config.h"
#include "diag.h"
#include "mtad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct aliases *aliases;
static char aliases_path[1100];

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
	if (aliases == NULL)
		msg_warn("aliases: %s", err);
	snprintf(aliases_path, sizeof(aliases_path), "%s", path);
	return aliases;
}

int local_name_known(const char *local)
{
	if (conf_is_local_user(local))
		return 1;
	struct aliases *a = local_aliases();
	if (a == NULL)
		return 0;
	char *rhs = NULL, err[512];
	int rc = aliases_lookup(a, local, &rhs, err, sizeof(err));
	free(rhs);
	return rc == ALIAS_FOUND || rc == ALIAS_TEMPFAIL;	/* a temporary failure is not "unknown" */
}
