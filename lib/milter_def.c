/* milter_def: parsing one filter's definition (see the header). */
#include "milter_def.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	size_t k = 0;
	while (s[k] && isspace((unsigned char)s[k]))
		k++;
	memmove(s, s + k, n - k + 1);
}

/* "10s", "5m", "1h", "30" (seconds) */
static int parse_secs(const char *s, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || v < 0)
		return -1;
	long mult = 1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mult = 60, end++;
	else if (*end == 'h')
		mult = 3600, end++;
	if (*end)
		return -1;
	*out = v * mult;
	return 0;
}

static int parse_socket(struct milter_def *d, const char *s, char *err, size_t errsize)
{
	snprintf(d->socket, sizeof(d->socket), "%s", s);
	const char *colon = strchr(s, ':');
	if (colon == NULL) {	/* sendmail takes a bare path as unix: */
		if (s[0] != '/') {
			snprintf(err, errsize, "S=%s: no socket type (inet:, inet6:, unix:)", s);
			return -1;
		}
		colon = s - 1;
	}
	size_t tlen = colon >= s ? (size_t)(colon - s) : 0;
	const char *rest = colon + 1;
	if (tlen == 0 || (tlen == 4 && strncasecmp(s, "unix", 4) == 0) || (tlen == 5 && strncasecmp(s, "local", 5) == 0)) {
		if (rest[0] != '/' || strlen(rest) >= sizeof(d->path)) {
			snprintf(err, errsize, "S=%s: a unix socket needs an absolute path (at most %zu bytes)", s,
				 sizeof(d->path) - 1);
			return -1;
		}
		d->family = AF_UNIX;
		snprintf(d->path, sizeof(d->path), "%s", rest);
		return 0;
	}
	if ((tlen == 4 && strncasecmp(s, "inet", 4) == 0) || (tlen == 5 && strncasecmp(s, "inet6", 5) == 0)) {
		d->family = tlen == 4 ? AF_INET : AF_INET6;
		char *end;
		long port = strtol(rest, &end, 10);
		if (end == rest || port <= 0 || port > 65535 || (*end && *end != '@')) {
			snprintf(err, errsize, "S=%s: the port must be a number from 1 to 65535 (inet:port@host)", s);
			return -1;
		}
		d->port = (int)port;
		const char *host = *end == '@' ? end + 1 : "";
		if (!*host)
			host = d->family == AF_INET ? "127.0.0.1" : "::1";
		if (strlen(host) >= sizeof(d->host)) {
			snprintf(err, errsize, "S=%s: host name too long", s);
			return -1;
		}
		snprintf(d->host, sizeof(d->host), "%s", host);
		return 0;
	}
	snprintf(err, errsize, "S=%s: unknown socket type %.*s (inet:, inet6:, unix:, local:)", s, (int)tlen, s);
	return -1;
}

static int parse_timeouts(struct milter_def *d, const char *s, char *err, size_t errsize)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	char *save = NULL;
	for (char *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		trim(t);
		if (!*t)
			continue;
		long v;
		if (strlen(t) < 3 || t[1] != ':' || parse_secs(t + 2, &v) < 0) {
			snprintf(err, errsize, "T=%s: \"%s\" is not letter:duration (C:5m;S:10s;R:10s;E:5m)", s, t);
			return -1;
		}
		switch (toupper((unsigned char)t[0])) {
		case 'C': d->to_connect = v; break;
		case 'S': d->to_send = v; break;
		case 'R': d->to_read = v; break;
		case 'E': d->to_eom = v; break;
		case 'A': break;	/* overall: the E timeout bounds the message already */
		default:
			snprintf(err, errsize, "T=%s: unknown timeout %c (C, S, R, E)", s, t[0]);
			return -1;
		}
	}
	return 0;
}

int milter_def_parse(const char *name, const char *spec, struct milter_def *d, char *err, size_t errsize)
{
	memset(d, 0, sizeof(*d));
	d->to_connect = 300;
	d->to_send = 10;
	d->to_read = 10;
	d->to_eom = 300;
	char buf[1024];
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errsize, "filter definition too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	char *save = NULL;
	int have_name = name && *name, have_sock = 0;
	if (have_name)
		snprintf(d->name, sizeof(d->name), "%s", name);
	/* equates are separated by commas; a T= value uses ';' inside */
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		trim(t);
		if (!*t)
			continue;
		if (!have_name && !strchr(t, '=')) {
			snprintf(d->name, sizeof(d->name), "%s", t);
			have_name = 1;
			continue;
		}
		if (strlen(t) < 2 || t[1] != '=') {
			snprintf(err, errsize, "\"%s\": expected S=, F= or T=", t);
			return -1;
		}
		const char *v = t + 2;
		switch (toupper((unsigned char)t[0])) {
		case 'S':
			if (parse_socket(d, v, err, errsize) < 0)
				return -1;
			have_sock = 1;
			break;
		case 'F':
			for (const char *f = v; *f; f++) {
				if (*f != 'T' && *f != 'R' && *f != '4') {
					snprintf(err, errsize, "F=%s: unknown flag %c (T tempfail, R reject, 4 421)", v, *f);
					return -1;
				}
				d->flag = *f;
			}
			break;
		case 'T':
			if (parse_timeouts(d, v, err, errsize) < 0)
				return -1;
			break;
		default:
			snprintf(err, errsize, "\"%s\": unknown equate %c= (S=, F=, T=)", t, t[0]);
			return -1;
		}
	}
	if (!have_name || !d->name[0]) {
		snprintf(err, errsize, "mail filter without a name");
		return -1;
	}
	for (const char *p = d->name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
			snprintf(err, errsize, "filter name \"%s\": letters, digits, '-', '_' and '.' only", d->name);
			return -1;
		}
	}
	if (!have_sock) {
		snprintf(err, errsize, "mail filter %s has no S= (socket)", d->name);
		return -1;
	}
	return 0;
}

static void fmt_secs(char *buf, size_t size, long s)
{
	if (s > 0 && s % 3600 == 0)
		snprintf(buf, size, "%ldh", s / 3600);
	else if (s > 0 && s % 60 == 0)
		snprintf(buf, size, "%ldm", s / 60);
	else
		snprintf(buf, size, "%lds", s);
}

void milter_def_format(const struct milter_def *d, char *buf, size_t size)
{
	char c[16], s[16], r[16], e[16];
	fmt_secs(c, sizeof(c), d->to_connect);
	fmt_secs(s, sizeof(s), d->to_send);
	fmt_secs(r, sizeof(r), d->to_read);
	fmt_secs(e, sizeof(e), d->to_eom);
	snprintf(buf, size, "S=%s, F=%s, T=C:%s;S:%s;R:%s;E:%s", d->socket,
		 d->flag == 'T' ? "T" : d->flag == 'R' ? "R" : d->flag == '4' ? "4" : "", c, s, r, e);
}
