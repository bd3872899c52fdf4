/* backoff: when a deferred message is tried again, from sendmail's own qf
 * records (K: last processed, N: tries) and two options, after Postfix's
 * minimal_backoff_time / maximal_backoff_time: the wait after try n is
 * MinQueueAge * 2^(n-1), at most MaxQueueBackoff (never less than
 * MinQueueAge).  MinQueueAge 0 (sendmail's default): every run tries every
 * message.  Shared by the queue runner and mailq. */
#ifndef MTA_BACKOFF_H
#define MTA_BACKOFF_H
#include <time.h>

/* Seconds to wait after a message's ntries-th try. */
long backoff_wait(int ntries, long min_age, long max_backoff);
/* When the message is due: 0 when it is due at once (never tried, or no
 * backoff configured), else ktime + backoff_wait(). */
time_t backoff_next_retry(time_t ktime, int ntries, long min_age, long max_backoff);

#endif
