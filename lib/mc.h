/* mc: a native reader for sendmail .mc files (m4 syntax without m4): m4
 * quoting (`...', nested), dnl, # comments, and macro calls NAME(args).
 * It does not expand macros: it hands each top-level call, with its
 * arguments unquoted one level, to a callback that gives it meaning. */
#ifndef MTA_MC_H
#define MTA_MC_H
#include <stddef.h>

#define MC_MAXARGS 16

struct mc_call {
	const char *name;
	char *args[MC_MAXARGS];
	size_t nargs;
	int line;		/* where the call starts */
	const char *file;
};

/* Returns 0, or -1 when the callback returned -1 or the text is damaged
 * (unterminated quote or argument list: err names the line it started on). */
int mc_parse(const char *text, size_t len, const char *file,
	     int (*fn)(const struct mc_call *call, void *arg), void *arg,
	     char *err, size_t errsize);

#endif
