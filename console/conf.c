/* conf: the console reads the same .mc and -O options as mtad and mailq.
 * It needs the queue directories, the LogFile, the PidFile and the
 * listeners; complaints about the rest are mtad -bC's. */
#include "console.h"
#include "conf_mc.h"
#include "config.h"

#include <stdio.h>

/* The .mc and -O options through the one loader in lib/conf_mc, quietly;
 * errors are reported on stderr (before the screen starts) with file:line. */
int con_conf_load(const char *mc_path, char **oopts, size_t noopts, char *err, size_t errsize)
{
	conf_reset();
	conf_mc_quiet(1);
	if ((mc_path && conf_read_mc(mc_path) < 0) || conf_apply_options(oopts, noopts) < 0) {
		snprintf(err, errsize, "configuration not loaded (see the message above)");
		return -1;
	}
	return 0;
}
