/* maillog: sendmail-format log lines to syslog and LogFile. */
#include "maillog.h"
#include "diag.h"
#include "strbuf.h"
#include "timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char log_tag[64] = "mtad";
static char log_host[256] = "localhost";
static int log_fd = -1;
static int log_syslog;

static void maillog_diag_hook(int prio, const char *msg);

void maillog_open(const char *tag, const char *logfile, int use_syslog)
{
	snprintf(log_tag, sizeof(log_tag), "%s", tag);
	if (gethostname(log_host, sizeof(log_host)) == 0) {
		log_host[sizeof(log_host) - 1] = '\0';
		char *dot = strchr(log_host, '.');
		if (dot)
			*dot = '\0';
	}
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	if (logfile && *logfile) {
		log_fd = open(logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (log_fd < 0)
			msg_warn("cannot open log file %s: %s; logging to syslog only", logfile, strerror(errno));
	}
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(log_tag, LOG_PID, LOG_MAIL);
	diag_set_hook(maillog_diag_hook);
}

void maillog_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	if (log_syslog)
		closelog();
}

static void write_file_line(const char *text)
{
	if (log_fd < 0)
		return;
	char stamp[32];
	time_syslog(stamp, sizeof(stamp), time(NULL));
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "%s %s %s[%ld]: %s\n", stamp, log_host, log_tag, (long)getpid(), text);
	/* one write() per line: O_APPEND keeps lines from processes whole */
	if (write(log_fd, sb.s, sb.len) < 0) {
		/* nowhere better to report it */
	}
	sb_free(&sb);
}

/* log lines are one line: neutralise anything a client could inject */
static void put_escaped(struct strbuf *sb, const char *text)
{
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < ' ' || c == 127)
			sb_printf(sb, "\\%03o", c);
		else
			sb_putc(sb, (char)c);
	}
}

static void maillog_diag_hook(int prio, const char *msg)
{
	(void)prio;
	struct strbuf sb;
	sb_init(&sb);
	put_escaped(&sb, msg);
	write_file_line(sb.s);
	sb_free(&sb);
}

/* Whether syslog has a socket to take lines.  Without one (no syslog
 * daemon: containers, a bench) syslog(3) would try socket, connect and
 * close for every line; asked again every 5 s, so a daemon started later
 * is found. */
static int syslog_present(void)
{
	static time_t checked;
	static int present;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (checked == 0 || now.tv_sec - checked >= 5) {
		checked = now.tv_sec ? now.tv_sec : 1;
		present = access(_PATH_LOG, F_OK) == 0;
	}
	return present;
}

static void emit(const char *qid, const char *text)
{
	struct strbuf sb;
	sb_init(&sb);
	if (qid)
		sb_printf(&sb, "%s: ", qid);
	put_escaped(&sb, text);
	if (log_syslog && syslog_present())
		syslog(LOG_INFO, "%s", sb.s);
	write_file_line(sb.s);
	sb_free(&sb);
}

void maillog(const char *qid, const char *fmt, ...)
{
	struct strbuf sb;
	va_list ap;
	sb_init(&sb);
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	emit(qid, sb.s);
	sb_free(&sb);
}

void maillog_from_line(const char *qid, const struct maillog_from *f)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "from=%s, size=%ld, class=%d, nrcpts=%d", f->sender, f->size, f->class, f->nrcpts);
	if (f->msgid)
		sb_printf(&sb, ", msgid=%s", f->msgid);
	if (f->bodytype)
		sb_printf(&sb, ", bodytype=%s", f->bodytype);
	if (f->proto)
		sb_printf(&sb, ", proto=%s", f->proto);
	if (f->daemon)
		sb_printf(&sb, ", daemon=%s", f->daemon);
	if (f->extra && *f->extra)
		sb_printf(&sb, ", %s", f->extra);
	if (f->relay)
		sb_printf(&sb, ", relay=%s", f->relay);
	emit(qid, sb.s);
	sb_free(&sb);
}

void maillog_to_line(const char *qid, const struct maillog_to *t)
{
	char delay[32], xdelay[32];
	struct strbuf sb;
	time_delay(delay, sizeof(delay), t->delay);
	time_delay(xdelay, sizeof(xdelay), t->xdelay);
	sb_init(&sb);
	sb_printf(&sb, "to=%s", t->to);
	if (t->ctladdr)
		sb_printf(&sb, ", ctladdr=%s", t->ctladdr);
	sb_printf(&sb, ", delay=%s, xdelay=%s, mailer=%s, pri=%ld", delay, xdelay, t->mailer, t->pri);
	if (t->relay)
		sb_printf(&sb, ", relay=%s", t->relay);
	if (t->extra && *t->extra)
		sb_printf(&sb, ", %s", t->extra);
	sb_printf(&sb, ", dsn=%s, stat=%s", t->dsn, t->stat);
	emit(qid, sb.s);
	sb_free(&sb);
}
