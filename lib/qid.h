/* qid: sendmail 8.12+ queue IDs: six base-60 characters of UTC time (year
 * mod 60, month, day, hour, minute, second), two base-60 sequence
 * characters, then the pid as six (or more) decimal digits. */
#ifndef MTA_QID_H
#define MTA_QID_H
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define QID_MAXLEN 24

/* Makes a new ID for process pid at time now into buf (>= QID_MAXLEN).
 * Within one second a process gets up to 3600 IDs; past that the time part
 * moves to the next second, so IDs never repeat within a process. */
void qid_new(char *buf, time_t now, pid_t pid);
/* Is s a well-formed queue ID (the 8.12+ form or the older 12-character form)? */
int qid_valid(const char *s);
/* Decodes the time part of an 8.12+ ID; returns -1 when it does not decode. */
time_t qid_time(const char *s);

#endif
