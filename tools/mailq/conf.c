/* conf: mailq reads the same .mc and -O options as mtad, through the one
 * loader in lib/conf_mc (quietly: mtad -bC reports what it does not
 * support). */
#include "mailq.h"
#include "conf_mc.h"
#include "config.h"

int mq_conf_load(const char *mc_path, char **oopts, size_t noopts)
{
	conf_reset();
	conf_mc_quiet(1);
	if (mc_path && conf_read_mc(mc_path) < 0)
		return -1;
	return conf_apply_options(oopts, noopts);
}
