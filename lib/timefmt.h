/* timefmt: the time formats mail uses (RFC 5322 dates, syslog stamps,
 * mbox From_ lines, sendmail's delay=HH:MM:SS, -bp queue times). */
#ifndef MTA_TIMEFMT_H
#define MTA_TIMEFMT_H
#include <stddef.h>
#include <time.h>

/* "Sat, 21 Nov 2026 23:58:36 +0000" in local time with numeric zone. */
void time_rfc5322(char *buf, size_t size, time_t t);
/* "Nov 21 23:58:36" (syslog, local time). */
void time_syslog(char *buf, size_t size, time_t t);
/* "Sat Nov 21 23:58:36 2026" (asctime form, for mbox From_ lines). */
void time_ctime(char *buf, size_t size, time_t t);
/* "00:01:15", or "2+03:04:05" past a day, as sendmail's delay=. */
void time_delay(char *buf, size_t size, long seconds);
/* "Sat Nov 21 23:58" as sendmail -bp prints queue times. */
void time_queue(char *buf, size_t size, time_t t);
/* Parses sendmail durations: "30m", "4h", "5d", "1h30m", "90" (seconds when
 * default_unit is 's').  Returns seconds, or -1 when malformed. */
long time_parse_duration(const char *s, char default_unit);

#endif
