/* logtail: the LogFile read as it grows (tail -F: a rotated or truncated
 * file is reopened from its start), the last LOG_RING lines kept for the
 * log pane, and per-minute counts of received, delivered, deferred and
 * bounced messages for the daemon pane.  Every line is read through
 * lib/logparse, the parser loggrep uses. */
#include "console.h"
#include "logparse.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIRST_READ (256 * 1024)

void logtail_init(struct logtail *lt, const char *path)
{
	memset(lt, 0, sizeof(*lt));
	lt->path = path && *path ? path : NULL;
	lt->fd = -1;
}

void logtail_free(struct logtail *lt)
{
	if (lt->fd >= 0)
		close(lt->fd);
	for (size_t i = 0; i < LOG_RING; i++)
		free(lt->lines[i]);
	free(lt->partial);
	memset(lt, 0, sizeof(*lt));
	lt->fd = -1;
}

const char *logtail_line(const struct logtail *lt, size_t i)
{
	if (i >= lt->count)
		return NULL;
	size_t first = (lt->head + LOG_RING - lt->count) % LOG_RING;
	return lt->lines[(first + i) % LOG_RING];
}

/* 0 none, else RATE_* + 1 */
static int line_kind(const struct logline *ll)
{
	if (ll->event == LOGEV_FROM)
		return RATE_RECEIVED + 1;
	if (ll->event == LOGEV_REJECT)
		return RATE_BOUNCED + 1;
	if (ll->event != LOGEV_TO)
		return 0;
	const struct logspan *st = logline_get(ll, "stat");
	if (st == NULL)
		st = logline_get(ll, "status");
	if (st == NULL)
		return 0;
	struct logspan w = logparse_stat_word(*st);
	if (logspan_caseeq(w, "Sent"))
		return RATE_DELIVERED + 1;
	if (logspan_caseeq(w, "Deferred"))
		return RATE_DEFERRED + 1;
	return RATE_BOUNCED + 1;
}

int logline_class(const char *line)
{
	struct logline ll;
	if (logparse(&ll, line, strlen(line)) < 0)
		return 0;
	switch (line_kind(&ll)) {
	case RATE_DELIVERED + 1: return CP_OK;
	case RATE_DEFERRED + 1: return CP_WARN;
	case RATE_BOUNCED + 1: return CP_ERR;
	default: return 0;
	}
}

int logline_has_qid(const char *line, const char *qid)
{
	struct logline ll;
	if (!qid || !*qid || logparse(&ll, line, strlen(line)) < 0)
		return 0;
	return (ll.qid.p && logspan_eq(ll.qid, qid)) || (ll.child.p && logspan_eq(ll.child, qid));
}

static void advance_minute(struct logtail *lt, time_t now)
{
	time_t m = now / 60;
	if (lt->rate_minute == 0)
		lt->rate_minute = m;
	if (m <= lt->rate_minute)
		return;
	long shift = (long)(m - lt->rate_minute);
	for (int k = 0; k < RATE_KINDS; k++) {
		if (shift >= RATE_MINUTES) {
			memset(lt->rate[k], 0, sizeof(lt->rate[k]));
			continue;
		}
		memmove(&lt->rate[k][shift], &lt->rate[k][0],
			sizeof(long) * (size_t)(RATE_MINUTES - shift));
		memset(&lt->rate[k][0], 0, sizeof(long) * (size_t)shift);
	}
	lt->rate_minute = m;
}

static void add_line(struct logtail *lt, const char *s, size_t n, time_t now)
{
	if (n && s[n - 1] == '\r')
		n--;
	free(lt->lines[lt->head]);
	lt->lines[lt->head] = xstrndup(s, n);
	lt->head = (lt->head + 1) % LOG_RING;
	if (lt->count < LOG_RING)
		lt->count++;
	struct logline ll;
	if (logparse(&ll, s, n) < 0)
		return;
	int k = line_kind(&ll);
	if (k == 0)
		return;
	lt->total[k - 1]++;
	time_t t = logline_time(&ll, now, 0);
	long idx = t == (time_t)-1 ? 0 : (long)(lt->rate_minute - t / 60);
	if (idx < 0)
		idx = 0;
	if (idx < RATE_MINUTES)
		lt->rate[k - 1][idx]++;
}

static int reopen(struct logtail *lt, int first)
{
	if (lt->fd >= 0)
		close(lt->fd);
	lt->npartial = 0;
	lt->fd = open(lt->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (lt->fd < 0) {
		snprintf(lt->err, sizeof(lt->err), "%s: %s", lt->path, strerror(errno));
		return -1;
	}
	struct stat st;
	fstat(lt->fd, &st);
	lt->ino = st.st_ino;
	lt->off = 0;
	if (first && st.st_size > FIRST_READ) {
		lt->off = st.st_size - FIRST_READ;
		/* skip the partial first line */
		char c;
		while (pread(lt->fd, &c, 1, lt->off) == 1 && c != '\n')
			lt->off++;
		lt->off++;
	}
	lt->err[0] = '\0';
	return 0;
}

int logtail_poll(struct logtail *lt, time_t now)
{
	if (lt->path == NULL)
		return 0;
	advance_minute(lt, now);
	struct stat st;
	if (lt->fd < 0) {
		if (reopen(lt, lt->ino == 0) < 0)
			return 0;
	} else if (stat(lt->path, &st) == 0 && (st.st_ino != lt->ino || st.st_size < lt->off)) {
		/* rotated or truncated: the new file from its start (what was
		 * appended to the old one after our last read is left unread) */
		if (reopen(lt, 0) < 0)
			return 0;
	}
	int added = 0;
	char buf[65536];
	for (;;) {
		ssize_t r = pread(lt->fd, buf, sizeof(buf), lt->off);
		if (r <= 0)
			break;
		lt->off += r;
		size_t start = 0;
		for (size_t i = 0; i < (size_t)r; i++) {
			if (buf[i] != '\n')
				continue;
			if (lt->npartial) {
				lt->partial = xrealloc(lt->partial, lt->npartial + (i - start) + 1);
				memcpy(lt->partial + lt->npartial, buf + start, i - start);
				add_line(lt, lt->partial, lt->npartial + (i - start), now);
				lt->npartial = 0;
			} else {
				add_line(lt, buf + start, i - start, now);
			}
			added++;
			start = i + 1;
		}
		if (start < (size_t)r && lt->npartial + ((size_t)r - start) < 1024 * 1024) {
			lt->partial = xrealloc(lt->partial, lt->npartial + ((size_t)r - start) + 1);
			memcpy(lt->partial + lt->npartial, buf + start, (size_t)r - start);
			lt->npartial += (size_t)r - start;
		}
	}
	return added;
}
