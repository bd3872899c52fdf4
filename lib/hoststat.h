/* hoststat: sendmail's persistent host status (HostStatusDirectory), the
 * one reader and writer shared by mtad's delivery processes, `mtad -bh`
 * (hoststat), `mtad -bH` (purgestat), mailq and the console.
 *
 * Layout: a host a.b.c has the file <dir>/c./b./a (each label but the
 * last is a directory named with a trailing dot); "[127.0.0.1]" has
 * <dir>/1./0./0./127.  A port other than 25 is part of the key (ours, so
 * that two peers on one address stay apart): "[127.0.0.1]:2526" is
 * <dir>/1./0./0./127:2526.
 *
 * File (sendmail's mci_write_persistent):
 *   V0            version
 *   E<errno>      errno of the last failure (0 when it worked)
 *   H<h_errno>    resolver error
 *   S<status>     exit status of the last try (<sysexits.h>; 0 = worked)
 *   D<dsn>        DSN status of the last try ("4.4.1")
 *   R<text>       the reply or reason of the last try
 *   U<secs>       when the host was last tried
 *   .
 * A file is written to a temporary name beside it and renamed into place,
 * so a reader never sees half of one. */
#ifndef MTA_HOSTSTAT_H
#define MTA_HOSTSTAT_H
#include <stddef.h>
#include <stdio.h>
#include <time.h>

struct hoststat {
	char host[300];		/* the key: "mx.example.com", "[1.2.3.4]", "[1.2.3.4]:2526" */
	int err;		/* E */
	int herr;		/* H */
	int status;		/* S: 0 worked, 75 (EX_TEMPFAIL) down, ... */
	char dsn[16];		/* D */
	char reply[512];	/* R */
	time_t updated;		/* U */
};

/* The file of host under dir; -1 when host cannot be a key. */
int hoststat_path(const char *dir, const char *host, char *buf, size_t size);
/* Reads host's status: 0, or -1 when there is none (or it is damaged). */
int hoststat_read(const char *dir, const char *host, struct hoststat *hs);
/* Parses the text of one file (also for the fuzzers and unit tests). */
int hoststat_parse(const char *text, struct hoststat *hs);
/* Writes hs (directories made as needed): 0, or -1 with err. */
int hoststat_write(const char *dir, const struct hoststat *hs, char *err, size_t errsize);
/* Removes host's file; 0 when removed or absent. */
int hoststat_remove(const char *dir, const char *host);
/* Calls fn for every status under dir (in no particular order); returns the
 * number seen, or -1 when dir cannot be read. */
int hoststat_scan(const char *dir, void (*fn)(const struct hoststat *hs, void *arg), void *arg);
/* Removes every status file and the directories under dir (purgestat);
 * returns the number of hosts removed, or -1. */
int hoststat_purge(const char *dir);
/* Is the host down at now: its last try failed less than timeout seconds
 * ago (timeout 0: never from a file). */
int hoststat_down(const struct hoststat *hs, time_t now, long timeout);
/* The hosts down at now, one line each: "<host> down since <date> (<n>
 * ago): <reason>", each line starting with indent; returns how many. */
int hoststat_print_down(FILE *out, const char *dir, time_t now, long timeout, const char *indent);
/* sendmail's `hoststat` listing of dir (sorted by host). */
void hoststat_print(FILE *out, const char *dir, time_t now);

#endif
