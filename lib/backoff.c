/* backoff: the retry schedule (see backoff.h). */
#include "backoff.h"

long backoff_wait(int ntries, long min_age, long max_backoff)
{
	if (min_age <= 0)
		return 0;
	long cap = max_backoff > min_age ? max_backoff : min_age;
	long wait = min_age;
	for (int i = 1; i < ntries && wait < cap; i++)
		wait = wait > cap / 2 ? cap : wait * 2;
	return wait < cap ? wait : cap;
}

time_t backoff_next_retry(time_t ktime, int ntries, long min_age, long max_backoff)
{
	if (ktime <= 0 || min_age <= 0)
		return 0;
	return ktime + (time_t)backoff_wait(ntries, min_age, max_backoff);
}
