/* pwcache: getpwnam() answers kept for a few seconds.
 *
 * A local delivery asks about one user four or five times (is it local,
 * its .forward, its mailbox, whom to become), in the delivery process and
 * again in the root agent; with NSS "files" each question reads
 * /etc/passwd from the top.  The cache keeps each answer, found or not
 * found, for PWCACHE_TTL_MS (2 s) from the moment it was looked up, then
 * asks NSS again: a user removed from passwd (or from LDAP, sss, ...)
 * stops receiving mail within that time, whatever the NSS source; a user
 * just added may be unknown for as long.  A failed lookup (NSS error) is
 * never kept.  Small (PWCACHE_SLOTS entries, the oldest replaced), one per
 * process, safe to call from several threads.  Before NSS, lib/pwfile's
 * table of /etc/passwd answers names found there (NSS "files" first). */
#ifndef MTA_PWCACHE_H
#define MTA_PWCACHE_H
#include <sys/types.h>

#define PWCACHE_TTL_MS 2000
#define PWCACHE_SLOTS 64

struct pw_entry {
	uid_t uid;
	gid_t gid;
	char name[64];
	char dir[1024];
};

/* 1 found (*pw filled), 0 no such user, -1 the lookup failed (errno set:
 * NSS could not be asked, or the entry does not fit). */
int pwcache_byname(const char *name, struct pw_entry *pw);

/* Forgets every answer. */
void pwcache_clear(void);

/* For tests: the life of an answer, in milliseconds (0: no caching). */
void pwcache_set_ttl(long ms);

#endif
