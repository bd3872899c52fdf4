/* timearg: the TIME values of --since and --until.
 *   2006-01-04, 2006-01-04 22:29[:53], 2006-01-04T22:29:53
 *   "Jan  4", "Jan 4 22:29[:53]" (year inferred as for log lines)
 *   22:29[:53] (today), -90m / -2h / -3d (ago), @1136413793 (epoch)
 * A date alone for --until means the end of that day. */
#include "loggrep.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hms(const char *s, int *h, int *m, int *sec)
{
	int n = 0;
	*sec = 0;
	if (sscanf(s, "%2d:%2d:%2d%n", h, m, sec, &n) == 3 && s[n] == '\0')
		return 0;
	n = 0;
	if (sscanf(s, "%2d:%2d%n", h, m, &n) == 2 && s[n] == '\0')
		return 0;
	return -1;
}

static time_t local(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

int lg_parse_time(const char *s, int is_until, time_t now, time_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	char *end;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '@') {
		long long v = strtoll(s + 1, &end, 10);
		if (end == s + 1 || *end)
			return -1;
		*out = (time_t)v;
		return 0;
	}
	if (*s == '-' && isdigit((unsigned char)s[1])) {
		long v = strtol(s + 1, &end, 10);
		long unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 :
			    *end == 'd' ? 86400 : 0;
		if (!unit || end[1])
			return -1;
		*out = now - v * unit;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3) {
		const char *rest = s + n;
		int whole_day = 0;
		if (*rest == '\0') {
			whole_day = 1;
		} else if ((*rest == 'T' || *rest == ' ') && hms(rest + 1, &h, &mi, &sec) == 0) {
			;
		} else {
			return -1;
		}
		if (mo < 1 || mo > 12 || d < 1 || d > 31)
			return -1;
		if (whole_day && is_until) {
			h = 23;
			mi = 59;
			sec = 59;
		}
		*out = local(y, mo, d, h, mi, sec);
		return 0;
	}
	if (strlen(s) >= 5 && isalpha((unsigned char)s[0]) && (mo = logparse_month(s)) != 0 &&
	    s[3] == ' ') {
		const char *p = s + 3;
		while (*p == ' ')
			p++;
		d = (int)strtol(p, &end, 10);
		if (end == p || d < 1 || d > 31)
			return -1;
		if (*end == '\0') {
			if (is_until) {
				h = 23;
				mi = 59;
				sec = 59;
			}
		} else if (*end != ' ' || hms(end + 1, &h, &mi, &sec) < 0) {
			return -1;
		}
		*out = logtime_infer(mo, d, h, mi, sec, now, lg_opts.year);
		return 0;
	}
	if (hms(s, &h, &mi, &sec) == 0) {
		struct tm tm;
		localtime_r(&now, &tm);
		*out = local(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, h, mi, sec);
		return 0;
	}
	return -1;
}
