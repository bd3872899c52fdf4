/* deliver_sync: local mailbox appends made durable in groups.
 *
 * In a queue run or a delivery batch (deliver_sync_begin .. _end), when
 * QueueSync is syncfs, a mailbox append is not fsynced on its own ('m' to
 * the local delivery agent): a message whose recipients were all
 * delivered keeps its queue files, and their lock, until one syncfs of the
 * mailbox directory's file system and one fsync of that directory have
 * made its appends durable, with those of up to DELIVER_SYNC_MAX messages
 * or of the last second; only then are its qf and df removed.  (The
 * directory fsync writes the names of mailboxes created in the group and,
 * on ext4 without a journal, flushes the inodes that the syncfs wrote
 * after its own flush.)  A message that is not simply done (a recipient
 * deferred or failed, a success DSN wanted) is synced at once, before its
 * queue file changes.  If either sync fails, the messages stay queued (a
 * later run delivers them again: a duplicate, never a loss).  Outside a
 * group, or with QueueSync=fsync, each append is fsynced as before (and
 * a mailbox the append created, with its directory). */
#ifndef MTAD_DELIVER_SYNC_H
#define MTAD_DELIVER_SYNC_H

#define DELIVER_SYNC_MAX 64
#define DELIVER_SYNC_AGE_MS 1000

void deliver_sync_begin(void);
void deliver_sync_end(void);
/* The agent's kind for a mailbox append now: 'm' in a group, else 'M'. */
char deliver_sync_mailbox_kind(void);
/* An 'm' append succeeded for the message being delivered. */
void deliver_sync_mark(void);
/* Whether the message being delivered has 'm' appends; clears it. */
int deliver_sync_take_mark(void);
/* A message done with 'm' appends: its files are removed (and lockfd
 * closed) after the next sync. */
void deliver_sync_hold(const char *qfpath, const char *dfpath, int lockfd);
/* Syncs now if what is held is old enough (at each message). */
void deliver_sync_tick(void);
/* Syncs now if anything is held (at the end of a destination's group,
 * before deliveries that may take long, such as SMTP's timeouts). */
void deliver_sync_flush(void);
/* Syncs the appends so far and removes the held messages' files; 0, or -1
 * (logged) when the syncfs failed and they stay queued. */
int deliver_sync_now(void);

#endif
