/* diag: the one diagnostics API (info, warn, error, fatal, panic) for the
 * daemon and every tool.  Messages go to stderr and/or syslog as set up by
 * diag_init().  Delivery log lines are not diagnostics: see maillog.h. */
#ifndef MTA_DIAG_H
#define MTA_DIAG_H
#include <stdarg.h>
#include <stddef.h>

enum diag_dest {
	DIAG_STDERR = 1,
	DIAG_SYSLOG = 2,
};

void diag_init(const char *progname, int dest);
void diag_set_dest(int dest);
const char *diag_progname(void);
/* Extra hook: the log file writer registers here so warnings also go to
 * confLOG_FILE. */
void diag_set_hook(void (*hook)(int prio, const char *msg));

/* Formats an error for the caller's err buffer (err may be NULL). */
void errf(char *err, size_t errsize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_fatal_code(int exitcode, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void msg_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void msg_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
