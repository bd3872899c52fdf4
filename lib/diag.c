/* diag: diagnostics to stderr and/or syslog, printf-checked. */
#include "diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>

static const char *diag_name = "mta";
static int diag_dest = DIAG_STDERR;
static void (*diag_hook)(int, const char *);

void diag_init(const char *progname, int dest)
{
	const char *slash = strrchr(progname, '/');
	diag_name = slash ? slash + 1 : progname;
	diag_dest = dest;
}

void diag_set_dest(int dest)
{
	diag_dest = dest;
}

const char *diag_progname(void)
{
	return diag_name;
}

void diag_set_hook(void (*hook)(int prio, const char *msg))
{
	diag_hook = hook;
}

static void diag_emit(int prio, const char *label, const char *fmt, va_list ap)
{
	char buf[2048];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (diag_dest & DIAG_STDERR) {
		if (label)
			fprintf(stderr, "%s: %s: %s\n", diag_name, label, buf);
		else
			fprintf(stderr, "%s: %s\n", diag_name, buf);
	}
	if (diag_dest & DIAG_SYSLOG)
		syslog(prio, "%s%s%s", label ? label : "", label ? ": " : "", buf);
	if (diag_hook) {
		char labelled[2100];
		snprintf(labelled, sizeof(labelled), "%s%s%s", label ? label : "", label ? ": " : "", buf);
		diag_hook(prio, labelled);
	}
}

#define DIAG_BODY(prio, label) \
	va_list ap; va_start(ap, fmt); diag_emit(prio, label, fmt, ap); va_end(ap)

void msg_info(const char *fmt, ...) { DIAG_BODY(LOG_INFO, NULL); }
void msg_warn(const char *fmt, ...) { DIAG_BODY(LOG_WARNING, "warning"); }
void msg_error(const char *fmt, ...) { DIAG_BODY(LOG_ERR, "error"); }

void msg_fatal_code(int exitcode, const char *fmt, ...)
{
	DIAG_BODY(LOG_CRIT, "fatal");
	exit(exitcode);
}

void msg_fatal(const char *fmt, ...)
{
	DIAG_BODY(LOG_CRIT, "fatal");
	exit(EX_SOFTWARE);
}

void msg_panic(const char *fmt, ...)
{
	DIAG_BODY(LOG_CRIT, "panic");
	abort();
}

void errf(char *err, size_t errsize, const char *fmt, ...)
{
	if (!err || errsize == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
}
