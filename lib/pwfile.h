/* pwfile: /etc/passwd read once into a hash table, for NSS "files".
 *
 * With NSS "files" every getpwnam() reads /etc/passwd from the top: with a
 * few thousand users, a lookup per RCPT and per delivery costs more CPU
 * than the rest of the message.  When /etc/nsswitch.conf's passwd line
 * names "files" first (and /etc/passwd has no NIS "+"/"-" lines), the
 * file is read into a table and a name found there is answered from it, as
 * glibc's files module would answer it (the first line with that name).  A
 * name not in the file is not answered here: the caller asks NSS, whose
 * next sources (systemd, ldap, sss...) may know it.  The file is looked at
 * again (stat) at most once a second and read again when it changed; so is
 * nsswitch.conf.  Safe to call from several threads. */
#ifndef MTA_PWFILE_H
#define MTA_PWFILE_H
#include "pwcache.h"

/* 1 found in the file (*pw filled); 0 not in the file, or the table is not
 * in use (NSS must be asked). */
int pwfile_byname(const char *name, struct pw_entry *pw);

/* For tests: other files than /etc/passwd and /etc/nsswitch.conf; the
 * table is read again at the next lookup. */
void pwfile_set_paths(const char *passwd, const char *nsswitch);

/* For tests: how often the files are looked at again (1000 ms). */
void pwfile_set_recheck_ms(long ms);

#endif
