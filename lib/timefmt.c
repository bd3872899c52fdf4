/* timefmt: formatting and parsing of mail time formats. */
#include "timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

void time_rfc5322(char *buf, size_t size, time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

void time_syslog(char *buf, size_t size, time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, size, "%b %e %H:%M:%S", &tm);
}

void time_ctime(char *buf, size_t size, time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, size, "%a %b %e %H:%M:%S %Y", &tm);
}

void time_queue(char *buf, size_t size, time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, size, "%a %b %e %H:%M", &tm);
}

void time_delay(char *buf, size_t size, long s)
{
	if (s < 0)
		s = 0;
	long days = s / 86400;
	s %= 86400;
	if (days > 0)
		snprintf(buf, size, "%ld+%02ld:%02ld:%02ld", days, s / 3600, (s / 60) % 60, s % 60);
	else
		snprintf(buf, size, "%02ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
}

long time_parse_duration(const char *s, char default_unit)
{
	long total = 0;
	int any = 0;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return -1;
		char *end;
		long v = strtol(s, &end, 10);
		if (v < 0 || v > 100000000L)
			return -1;
		char unit = *end ? *end : default_unit;
		long mult;
		switch (unit) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 604800; break;
		default: return -1;
		}
		total += v * mult;
		any = 1;
		s = *end ? end + 1 : end;
	}
	return any ? total : -1;
}
