/* rfc5322date: the dates mail headers carry (RFC 5322, its obsolete forms,
 * asctime, ISO 8601 as some gateways write it), read into UTC time_t.
 * Lenient on purpose: trailing comments and junk after the zone are
 * ignored, because Received: dates are followed by all sorts of things. */
#ifndef MTA_RFC5322DATE_H
#define MTA_RFC5322DATE_H
#include <time.h>

enum {
	DATE_NOZONE = 1,	/* no zone written (or an unknown one): read as UTC */
	DATE_OBSOLETE = 2,	/* 2-digit year, named zone, missing seconds... */
	DATE_ISO = 4,		/* 2005-12-14 17:50:09 UTC form */
	DATE_ASCTIME = 8,	/* Wed Dec 21 18:24:46 2005 form */
};

struct mail_date {
	time_t t;	/* the instant, UTC */
	int tzoff;	/* zone as written, minutes east of UTC (0 if none) */
	int flags;	/* DATE_* */
};

/* Parses a date at the start of s (leading blanks, comments and a day name
 * are skipped).  Returns 0 and fills d, or -1 when no valid date is there.
 * If end is not NULL it is set past the last character used. */
int mail_date_parse(const char *s, struct mail_date *d, const char **end);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
long mail_days_from_civil(long y, int m, int d);

#endif
