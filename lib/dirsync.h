/* dirsync: making a directory entry durable, with one fsync of a directory
 * shared by every thread that needs it at the same moment (group commit).
 *
 * A caller that renamed or created a file in DIR calls dirsync(DIR); it
 * returns once an fsync of DIR that began after the call has succeeded.
 * While one thread's fsync runs, the threads that arrive wait for the next
 * one, which a single thread then issues for all of them: under N
 * concurrent commits the directory is fsynced about twice, not N times.
 * A failed fsync is reported to every thread that waited for it.
 *
 * In a child forked from a threaded process the shared state is never
 * touched (its locks may have been held by a thread that is not there):
 * the child fsyncs on its own. */
#ifndef MTA_DIRSYNC_H
#define MTA_DIRSYNC_H

#include <stddef.h>

/* 0, or -1 with errno set (open or fsync of the directory failed) */
int dirsync(const char *dir);
/* dirsync of the directory holding PATH: makes a name just created or
 * renamed there durable. */
int dirsync_parent(const char *path);
/* Directory part of path into buf ("." for a bare name, "/" for /name). */
void path_dirname(char *buf, size_t size, const char *path);

/* The same for a whole file system (syncfs): returns once a syncfs of the
 * file system holding DIR, begun after the call, has succeeded.  Callers
 * on one file system share it, whatever directory they name.  What it
 * makes durable is the file system's business: the data and inodes of
 * files everywhere, but not always directory entries (ext4 without a
 * journal writes those after the syncfs's cache flush): a new name still
 * needs dirsync. */
int fssync(const char *dir);

/* how many fsyncs of DIR were issued through the shared path (for tests
 * and diagnostics) */
unsigned long dirsync_count(const char *dir);
/* how many syncfs of the file system holding DIR were issued through it */
unsigned long fssync_count(const char *dir);
/* how many callers wait now for a syncfs of that file system that another
 * caller issues (for tests) */
unsigned long fssync_waiting(const char *dir);

#endif
