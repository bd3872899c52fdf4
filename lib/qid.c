/* qid: queue ID generation and validation. */
#include "qid.h"

#include <stdio.h>
#include <string.h>

static const char base60[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx";

static int b60(char c)
{
	const char *p = c ? strchr(base60, c) : NULL;
	return p ? (int)(p - base60) : -1;
}

void qid_new(char *buf, time_t now, pid_t pid)
{
	static time_t last;
	static int seq;
	static pid_t last_pid;

	if (pid != last_pid) {		/* a forked child starts its own sequence */
		last_pid = pid;
		last = 0;
		seq = 0;
	}
	if (now > last) {
		last = now;
		seq = 0;
	} else if (seq >= 3600) {
		last++;
		seq = 0;
	}
	struct tm tm;
	gmtime_r(&last, &tm);
	snprintf(buf, QID_MAXLEN, "%c%c%c%c%c%c%c%c%06d",
		 base60[(tm.tm_year) % 60], base60[tm.tm_mon], base60[tm.tm_mday],
		 base60[tm.tm_hour], base60[tm.tm_min], base60[tm.tm_sec % 60],
		 base60[seq / 60], base60[seq % 60], (int)pid);
	seq++;
}

int qid_valid(const char *s)
{
	size_t len = strlen(s);
	if (len < 12 || len > 20)
		return 0;
	size_t alpha = len >= 14 ? 8 : 7;
	for (size_t i = 0; i < len; i++) {
		if (i < alpha ? b60(s[i]) < 0 : (s[i] < '0' || s[i] > '9'))
			return 0;
	}
	return 1;
}

time_t qid_time(const char *s)
{
	if (!qid_valid(s) || strlen(s) < 14)
		return -1;
	int v[6];
	for (int i = 0; i < 6; i++)
		v[i] = b60(s[i]);
	if (v[1] > 11 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59)
		return -1;
	/* year mod 60: choose the year nearest to now */
	time_t now = time(NULL);
	struct tm nowtm;
	gmtime_r(&now, &nowtm);
	int year = nowtm.tm_year - (nowtm.tm_year % 60) + v[0];
	if (year > nowtm.tm_year + 1)
		year -= 60;
	struct tm tm = { .tm_year = year, .tm_mon = v[1], .tm_mday = v[2],
			 .tm_hour = v[3], .tm_min = v[4], .tm_sec = v[5] };
	return timegm(&tm);
}
