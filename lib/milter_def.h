/* milter_def: one mail filter's definition, as sendmail's MAIL_FILTER and
 * INPUT_MAIL_FILTER give it (the .cf's X line):
 *   name, S=inet:port@host | inet6:port@host | unix:/path | local:/path,
 *         F=T|R|4, T=C:5m;S:10s;R:10s;E:5m
 * Parsed by the .mc loader (to name the file and line of a mistake) and by
 * mtad when it starts the filters. */
#ifndef MTA_MILTER_DEF_H
#define MTA_MILTER_DEF_H
#include <stddef.h>

struct milter_def {
	char name[64];
	char socket[512];	/* as given after S= */
	int family;		/* AF_UNIX, AF_INET, AF_INET6 */
	char path[108];		/* unix: */
	char host[256];		/* inet: and inet6: */
	int port;
	char flag;		/* 0 (skip the filter when it fails), 'T', 'R', '4' */
	long to_connect, to_send, to_read, to_eom;	/* seconds */
};

/* Parses "name, S=..., F=..., T=..." (the name may also be given apart, in
 * name, with spec holding only the equates).  Returns 0, or -1 with the
 * reason in err. */
int milter_def_parse(const char *name, const char *spec, struct milter_def *d, char *err, size_t errsize);
/* "S=inet:8891@127.0.0.1, F=T, T=C:5m;S:10s;R:10s;E:5m": the definition in
 * sendmail's words, for -bC and logs. */
void milter_def_format(const struct milter_def *d, char *buf, size_t size);

#endif
