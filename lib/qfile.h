/* qfile: sendmail 8 queue files.  The one reader and the one writer of
 * qf (control: envelope and headers), with the paths of df (body, LF line
 * ends), tf (qf image being written), xf (transcript) and hf (held).
 *
 * qf records written (V8 format, one per line, a line beginning with a blank
 * continues the record above):
 *   V8            version
 *   T<secs>       creation time          K<secs> last processed
 *   N<n>          delivery attempts      P<n>    priority
 *   I<maj>/<min>/<ino> df inode           M<text> last deferral message
 *   F<flags>      message flags           B<type> body type (8BITMIME)
 *   Z<envid>      DSN ENVID               A<auth> AUTH= parameter
 *   $<m><value>   macro (${name}value for long names)
 *   S<sender>     envelope sender as given (brackets kept)
 *   C<ctladdr>    controlling user
 *   r<orcpt>      ORCPT of the next R line
 *   R<flags>:<a>  recipient
 *   H??<header>   header line
 *   q<reason>     quarantine (hold) reason
 *   .             terminator: a file without it is incomplete
 * Every single-line value is written with CR, LF and NUL replaced by blanks
 * (sendmail's denlstring), so input can never forge a record. */
#ifndef MTA_QFILE_H
#define MTA_QFILE_H
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "header.h"
#include "qid.h"

struct qf_rcpt {
	char *addr;	/* as the client gave it, brackets included if any */
	char *flags;	/* R flags: P primary, S/F/D/N notify, ... */
	char *orcpt;	/* "rfc822;addr" or NULL */
};

struct qf_macro {
	char *name;	/* "_", "r", "s", "{daemon_name}" */
	char *value;
};

struct qf_env {
	char qid[QID_MAXLEN];
	int version;
	time_t ctime;
	time_t ktime;
	int ntries;
	long priority;
	char *inode;
	char *msg;
	char *flags;
	char *bodytype;
	char *envid;
	char *auth;
	char *sender;
	char *ctladdr;
	char *quarantine;
	struct qf_macro *macros;
	size_t nmacros;
	struct qf_rcpt *rcpts;
	size_t nrcpts;
	struct header_list headers;
};

void qf_env_init(struct qf_env *env);
void qf_env_free(struct qf_env *env);
void qf_env_add_rcpt(struct qf_env *env, const char *addr, const char *flags, const char *orcpt);
void qf_env_set_macro(struct qf_env *env, const char *name, const char *value);
const char *qf_env_macro(const struct qf_env *env, const char *name);
/* Replaces *field with a copy of value (or NULL). */
void qf_set(char **field, const char *value);

/* Paths.  type is 'q', 'd', 't', 'x' or 'h'.  When the queue directory has
 * qf/, df/ and xf/ subdirectories, files go into them as in sendmail. */
void qf_path(char *buf, size_t size, const char *qdir, char type, const char *qid);

/* Writes env as qf<ID> atomically: tf<ID> created exclusively, locked,
 * written, fsynced, renamed to qf<ID>, then the directory is fsynced.
 * Returns the open, flock()ed descriptor of the new qf when keep_lock is set
 * (the caller closes it to unlock), 0 when not, or -1 with errno set and a
 * message in err.  On failure no tf is left behind and the old qf is intact. */
int qf_write(const char *qdir, const struct qf_env *env, int keep_lock, char *err, size_t errsize);
/* The mode of queue files written (0600; the MSP queue: 0660, for the
 * group that hands it over). */
extern unsigned qf_file_mode;

/* Reads a qf file.  Returns 0, or -1 with "path:line: reason" in err for a
 * file that is unreadable, truncated (no "." terminator) or malformed. */
int qf_read(const char *path, struct qf_env *env, char *err, size_t errsize);
/* Parses qf text already in memory (used by qf_read and the fuzzers). */
int qf_parse(const char *text, size_t len, const char *name, struct qf_env *env,
	     char *err, size_t errsize);

/* fsyncs a directory. */
int fsync_dir(const char *dir);
/* Directory part of path into buf. */
void path_dirname(char *buf, size_t size, const char *path);

/* Calls fn for every qf<ID> in the queue directory (and its qf/ subdirectory);
 * returns the number of IDs or -1 when the directory cannot be read. */
int qf_scan(const char *qdir, void (*fn)(const char *qid, void *arg), void *arg);

#endif
