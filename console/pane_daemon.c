/* pane_daemon: the daemon's state as the console can see it without
 * talking to it: the pid file and whether that process lives, its children
 * (sessions and deliveries in progress), the configured listeners, the load
 * average, the queue size, and per-minute counts from the LogFile with a
 * sparkline of the last half hour. */
#include "console.h"
#include "config.h"
#include "hoststat.h"

#include <ctype.h>
#include <curses.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long read_pid(const char *path)
{
	FILE *f = path && *path ? fopen(path, "r") : NULL;
	if (f == NULL)
		return -1;
	long pid = -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return pid;
}

/* Children of pid, from /proc/<n>/stat's 4th field. */
static int count_children(long pid)
{
	DIR *d = opendir("/proc");
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t k = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[k] = '\0';
		const char *rp = strrchr(buf, ')');
		long ppid;
		char state;
		if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == pid)
			n++;
	}
	closedir(d);
	return n;
}

static void sparkline(char *buf, size_t size, const long *v, int n)
{
	static const char levels[] = " .:-=+*#";
	long max = 0;
	for (int i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	size_t k = 0;
	for (int i = n - 1; i >= 0 && k + 1 < size; i--)	/* oldest on the left */
		buf[k++] = max == 0 ? '_' : v[i] == 0 ? '_' : levels[1 + (v[i] * 6) / max];
	buf[k] = '\0';
}

/* Hosts the queue runners found down (HostStatusDirectory), one a line. */
struct down_rows {
	int y, end;
	time_t now;
	long timeout;
};

static void down_row(const struct hoststat *hs, void *arg)
{
	struct down_rows *d = arg;
	if (d->y >= d->end || !hoststat_down(hs, d->now, d->timeout))
		return;
	char when[32], line[900];
	struct tm tm;
	localtime_r(&hs->updated, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	snprintf(line, sizeof(line), "Host down  %s since %s: %s", hs->host, when, hs->reply[0] ? hs->reply : "Deferred");
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	pen_on(CP_WARN, 0);
	put_text(d->y++, 0, COLS, line, 1);
	pen_off(CP_WARN, 0);
}

void pane_daemon_draw(struct console *c, int y0, int rows)
{
	int y = y0, end = y0 + rows;
	char line[512];
	long pid = read_pid(c->pidfile);
	int alive = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
	if (pid <= 0)
		snprintf(line, sizeof(line), "Daemon     not running (no pid in %s)", c->pidfile);
	else
		snprintf(line, sizeof(line), "Daemon     pid %ld %s (%s)", pid,
			 alive ? "running" : "NOT running: stale pid file", c->pidfile);
	pen_on(alive ? CP_OK : CP_ERR, 0);
	put_text(y++, 0, COLS, line, 1);
	pen_off(alive ? CP_OK : CP_ERR, 0);
	if (alive && y < end) {
		int ch = count_children(pid);
		snprintf(line, sizeof(line), "Children   %d (SMTP sessions and deliveries in progress)", ch);
		put_text(y++, 0, COLS, line, 1);
	}
	for (size_t i = 0; i < conf_list_count(C_DAEMON_PORT_OPTIONS) && y < end; i++) {
		snprintf(line, sizeof(line), "Listener   %s", conf_list_get(C_DAEMON_PORT_OPTIONS, i));
		put_text(y++, 0, COLS, line, 1);
	}
	double la[3];
	if (y < end && getloadavg(la, 3) == 3) {
		snprintf(line, sizeof(line), "Load       %.2f %.2f %.2f", la[0], la[1], la[2]);
		put_text(y++, 0, COLS, line, 1);
	}
	if (y < end) {
		snprintf(line, sizeof(line), "Queue      %zu messages in %s (%s)", c->q.ql.scanned, c->qdir,
			 c->q.ino_fd >= 0 ? "watched by inotify" : "polled every second");
		put_text(y++, 0, COLS, line, 1);
	}
	if (y < end) {
		snprintf(line, sizeof(line), "Log        %s", c->log.path ? c->log.path : "(no LogFile)");
		put_text(y++, 0, COLS, line, 1);
	}
	if (*conf_str(C_HOST_STATUS_DIR) && y < end) {
		struct down_rows d = { y, end, time(NULL), conf_num(C_TO_HOSTSTATUS) };
		hoststat_scan(conf_str(C_HOST_STATUS_DIR), down_row, &d);
		y = d.y;
	}
	y++;
	static const char *const names[RATE_KINDS] = { "received", "delivered", "deferred", "bounced" };
	static const int colours[RATE_KINDS] = { 0, CP_OK, CP_WARN, CP_ERR };
	if (y < end) {
		pen_on(CP_DIM, 1);
		snprintf(line, sizeof(line), "%-10s %6s %6s %6s  last %d minutes", "per minute", "now",
			 "total", "", RATE_MINUTES);
		put_text(y++, 0, COLS, line, 1);
		pen_off(CP_DIM, 1);
	}
	for (int k = 0; k < RATE_KINDS && y < end; k++) {
		char spark[RATE_MINUTES + 1];
		sparkline(spark, sizeof(spark), c->log.rate[k], RATE_MINUTES);
		snprintf(line, sizeof(line), "%-10s %6ld %6ld %6s  %s", names[k], c->log.rate[k][0],
			 c->log.total[k], "", spark);
		pen_on(colours[k], 0);
		put_text(y++, 0, COLS, line, 1);
		pen_off(colours[k], 0);
	}
}
