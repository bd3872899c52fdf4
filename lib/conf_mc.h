/* conf_mc: the configuration loader shared by mtad and the tools. */
#ifndef MTA_CONF_MC_H
#define MTA_CONF_MC_H
#include <stddef.h>

/* Reads a .mc file into lib/config (call conf_reset() first).  Returns 0,
 * or -1 after reporting "file:line: reason" through diag. */
int conf_read_mc(const char *path);
/* Applies -O Name=value options; -1 after reporting the bad one. */
int conf_apply_options(char **opts, size_t n);
/* No warnings (unsupported macros, m4's notes): for tools. */
void conf_mc_quiet(int on);

/* One DaemonPortOptions value: Port=, Addr=, Family=, Name=, M=. */
struct listen_opts {
	char addr[64];
	int port;
	int family;
	char name[32];
	char modifiers[32];
};
int listen_opts_parse(const char *text, struct listen_opts *lo, char *err, size_t errsize);

#endif
