/* rfc5322date: reading mail dates into UTC.  One scanner walks the string
 * token by token; the field order decides which form it is:
 *   [Day,] DD Mon YYYY HH:MM[:SS] [zone]      RFC 5322 and obsolete 822
 *   Day Mon DD HH:MM:SS [zone] YYYY           asctime / date(1)
 *   YYYY-MM-DD[T ]HH:MM[:SS] [zone]           ISO 8601 as gateways write it */
#include "rfc5322date.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const month_names[12] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec",
};

static const char *const day_names[7] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun",
};

struct zone_name {
	const char *name;
	int off;	/* minutes east */
};

/* RFC 5322 section 4.3 names plus the ones real MTAs write anyway.
 * Ambiguous abbreviations (IST, CST for China...) take the common reading. */
static const struct zone_name zones[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
	{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
	{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
	{ "AKST", -540 }, { "AKDT", -480 }, { "HST", -600 },
	{ "WET", 0 }, { "WEST", 60 }, { "BST", 60 }, { "CET", 60 }, { "CEST", 120 },
	{ "MET", 60 }, { "MEST", 120 }, { "MEZ", 60 }, { "MESZ", 120 },
	{ "EET", 120 }, { "EEST", 180 }, { "MSK", 180 }, { "IST", 330 },
	{ "JST", 540 }, { "KST", 540 }, { "HKT", 480 }, { "SGT", 480 },
	{ "AEST", 600 }, { "AEDT", 660 }, { "NZST", 720 }, { "NZDT", 780 },
};

long mail_days_from_civil(long y, int m, int d)
{
	/* Howard Hinnant's days_from_civil, written out for this file. */
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long mp = (m + 9) % 12;
	long doy = (153 * mp + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(long y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/* Skips blanks, commas and (nested) comments. */
static const char *skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ',')
			p++;
		if (*p != '(')
			return p;
		int depth = 0;
		while (*p) {
			if (*p == '\\' && p[1]) {
				p += 2;
				continue;
			}
			if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
			p++;
		}
	}
}

/* A sign: ASCII + or -, or the dashes word processors put in (U+2013,
 * U+2014, U+2212), as in the seed's "03:20:15 –0500".  Returns the byte
 * length of the sign (0 if none) and sets *neg. */
static int sign_len(const char *p, int *neg)
{
	const unsigned char *u = (const unsigned char *)p;
	if (*p == '+' || *p == '-') {
		*neg = *p == '-';
		return 1;
	}
	if (u[0] == 0xe2 && ((u[1] == 0x80 && (u[2] == 0x93 || u[2] == 0x94)) ||
			     (u[1] == 0x88 && u[2] == 0x92))) {
		*neg = 1;
		return 3;
	}
	return 0;
}

/* Reads up to max digits; returns the count read (0 if none). */
static int read_num(const char **pp, int max, long *out)
{
	const char *p = *pp;
	long v = 0;
	int n = 0;
	while (n < max && isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		p++;
		n++;
	}
	if (n == 0)
		return 0;
	*out = v;
	*pp = p;
	return n;
}

static int alpha_len(const char *p)
{
	int n = 0;
	while (isalpha((unsigned char)p[n]))
		n++;
	return n;
}

static int match_month(const char *p, int len)
{
	if (len < 3)
		return 0;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(p, month_names[i], 3) == 0)
			return i + 1;
	return 0;
}

static int is_day_name(const char *p, int len)
{
	if (len < 3)
		return 0;
	for (int i = 0; i < 7; i++)
		if (strncasecmp(p, day_names[i], 3) == 0)
			return 1;
	return 0;
}

/* HH:MM[:SS][.frac] */
static int read_time(const char **pp, int *h, int *mi, int *s, int *flags)
{
	const char *p = *pp;
	long a, b, c = 0;
	if (!read_num(&p, 2, &a) || *p != ':')
		return -1;
	p++;
	if (read_num(&p, 2, &b) != 2)
		return -1;
	if (*p == ':') {
		p++;
		if (read_num(&p, 2, &c) != 2)
			return -1;
		if (*p == '.' || *p == ',') {
			p++;
			while (isdigit((unsigned char)*p))
				p++;
		}
	} else {
		*flags |= DATE_OBSOLETE;
	}
	if (a > 23 || b > 59 || c > 60)
		return -1;
	*h = (int)a;
	*mi = (int)b;
	*s = (int)c;
	*pp = p;
	return 0;
}

/* A zone: +HHMM, +HH:MM, +HH, a name, or a military letter (read as
 * unknown, as RFC 5322 says).  Returns 0 and sets *off, or -1. */
static int read_zone(const char **pp, int *off, int *flags)
{
	const char *p = skip_cfws(*pp);
	int neg = 0;
	int sl = sign_len(p, &neg);
	if (sl) {
		const char *q = p + sl;
		long hh, mm = 0;
		int n = read_num(&q, 4, &hh);
		if (n == 4) {
			mm = hh % 100;
			hh /= 100;
		} else if (n == 2 || n == 1) {
			if (*q == ':') {
				q++;
				if (read_num(&q, 2, &mm) != 2)
					return -1;
			}
		} else {
			return -1;
		}
		if (hh > 23 || mm > 59)
			return -1;
		*off = (int)(hh * 60 + mm) * (neg ? -1 : 1);
		*pp = q;
		return 0;
	}
	int al = alpha_len(p);
	if (al == 0)
		return -1;
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if ((int)strlen(zones[i].name) == al && strncasecmp(p, zones[i].name, al) == 0) {
			*off = zones[i].off;
			p += al;
			/* "GMT+0100", "UTC-5": an offset glued to the name */
			int n2 = 0, s2 = sign_len(p, &n2);
			if (s2 && zones[i].off == 0 && isdigit((unsigned char)p[s2])) {
				int o2;
				int f2 = 0;
				const char *q = p;
				if (read_zone(&q, &o2, &f2) == 0) {
					*off = o2;
					p = q;
				}
			}
			if (strcmp(zones[i].name, "UTC") && strcmp(zones[i].name, "UT") &&
			    strcmp(zones[i].name, "Z"))
				*flags |= DATE_OBSOLETE;
			*pp = p;
			return 0;
		}
	}
	if (al == 1) {		/* military zones: meaningless, RFC 5322 4.3 */
		*off = 0;
		*flags |= DATE_OBSOLETE | DATE_NOZONE;
		*pp = p + 1;
		return 0;
	}
	return -1;
}

static long fix_year(long y, int digits, int *flags)
{
	if (digits == 2) {
		*flags |= DATE_OBSOLETE;
		return y < 50 ? 2000 + y : 1900 + y;
	}
	if (digits == 3) {
		*flags |= DATE_OBSOLETE;
		return 1900 + y;
	}
	return y;
}

static int finish(struct mail_date *d, long y, int mo, long day, int h, int mi, int s,
		  int off, int flags)
{
	if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || day < 1 ||
	    day > days_in_month(y, mo))
		return -1;
	long days = mail_days_from_civil(y, mo, (int)day);
	long long t = (long long)days * 86400 + h * 3600 + mi * 60 + s;
	t -= (long long)off * 60;
	d->t = (time_t)t;
	d->tzoff = off;
	d->flags = flags;
	return 0;
}

static int parse_iso(const char *p, struct mail_date *d, const char **end)
{
	long y, mo, day;
	int h, mi, s, off = 0, flags = DATE_ISO;
	if (read_num(&p, 4, &y) != 4 || *p != '-')
		return -1;
	p++;
	if (!read_num(&p, 2, &mo) || *p != '-')
		return -1;
	p++;
	if (!read_num(&p, 2, &day))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	while (*p == ' ')
		p++;
	if (read_time(&p, &h, &mi, &s, &flags) < 0)
		return -1;
	if (read_zone(&p, &off, &flags) < 0) {
		off = 0;
		flags |= DATE_NOZONE;
	}
	flags &= ~DATE_OBSOLETE;
	if (finish(d, y, (int)mo, day, h, mi, s, off, flags) < 0)
		return -1;
	if (end)
		*end = p;
	return 0;
}

int mail_date_parse(const char *s, struct mail_date *d, const char **end)
{
	const char *p = skip_cfws(s);
	int flags = 0, off = 0, h, mi, sec;
	long day, y;
	int mo, n, yd;

	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) && p[4] == '-')
		return parse_iso(p, d, end);

	n = alpha_len(p);
	if (n && is_day_name(p, n)) {
		p = skip_cfws(p + n);
		n = alpha_len(p);
	}
	if (n && (mo = match_month(p, n)) != 0) {
		/* asctime: Mon DD HH:MM:SS [zone] YYYY */
		p = skip_cfws(p + n);
		if (!read_num(&p, 2, &day))
			return -1;
		p = skip_cfws(p);
		if (read_time(&p, &h, &mi, &sec, &flags) < 0)
			return -1;
		const char *q = p;
		if (read_zone(&q, &off, &flags) == 0)
			p = q;
		else
			flags |= DATE_NOZONE;
		p = skip_cfws(p);
		yd = read_num(&p, 4, &y);
		if (yd < 2)
			return -1;
		y = fix_year(y, yd, &flags);
		flags |= DATE_ASCTIME;
		flags &= ~DATE_OBSOLETE;
		if (finish(d, y, mo, day, h, mi, sec, off, flags) < 0)
			return -1;
		if (end)
			*end = p;
		return 0;
	}
	/* DD Mon YYYY HH:MM[:SS] zone (with "-" allowed around the month, as
	 * in "14-Dec-2005") */
	if (!read_num(&p, 2, &day))
		return -1;
	p = skip_cfws(p);
	if (*p == '-')
		p++;
	n = alpha_len(p);
	if (!(mo = match_month(p, n)))
		return -1;
	p += n;
	if (*p == '-')
		p++;
	p = skip_cfws(p);
	yd = read_num(&p, 4, &y);
	if (yd < 2)
		return -1;
	y = fix_year(y, yd, &flags);
	p = skip_cfws(p);
	if (read_time(&p, &h, &mi, &sec, &flags) < 0)
		return -1;
	if (read_zone(&p, &off, &flags) < 0) {
		off = 0;
		flags |= DATE_NOZONE;
	}
	if (finish(d, y, mo, day, h, mi, sec, off, flags) < 0)
		return -1;
	if (end)
		*end = p;
	return 0;
}
