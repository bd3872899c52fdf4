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

/* 0, or -1 with errno set (open or fsync of the directory failed) */
int dirsync(const char *dir);

/* how many fsyncs of DIR were issued through the shared path (for tests
 * and diagnostics) */
unsigned long dirsync_count(const char *dir);

#endif
