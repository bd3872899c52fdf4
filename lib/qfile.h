/* qfile: sendmail 8 queue files.  The one reader and the one writer of
 * qf (control: envelope and headers), with the paths of df (body, LF line
 * ends), tf (qf image being written), xf (transcript) and hf (held).
 *
 * qf records, as sendmail 8.17's queue.c writes them and in its order (one
 * per line; a line beginning with a blank continues the record above):
 *   V8            version
 *   T<secs>       creation time          K<secs> last processed
 *   N<n>          delivery attempts      P<n>    priority
 *   I<maj>/<min>/<ino> df inode           B<type> body type (8BITMIME, 7BIT)
 *   q<reason>     quarantine (hold) reason
 *   M<text>       last deferral message (before S; after S: of the next R)
 *   F<flags>      message flags: w warned, r response, 8 8-bit body,
 *                 b Bcc deleted, d RET= given, n RET=HDRS, s split
 *   $<m><value>   macro (${name}value for long names)
 *   S<sender>     envelope sender as given (brackets kept)
 *   Z<envid>      DSN ENVID (xtext as given)
 *   A<auth>       AUTH= parameter of MAIL
 *   C<ctl>        controlling user of the R records that follow:
 *                 "user:uid:gid:addr", ":addr" (uid 0 or none), "" (none)
 *   Q<orcpt>      ORCPT of the next R ("rfc822;addr")
 *   r<final>      final recipient of the next R ("RFC822; addr")
 *   R<flags>:<a>  recipient; flags P primary, N notify given, S/F/D
 *                 NOTIFY=SUCCESS/FAILURE/DELAY, B, A expanded alias, ...
 *                 written in sendmail's order (PNSFDBAM), with F and D
 *                 added when none of N, S, F, D is there (no NOTIFY)
 *   H?cond?<header> header line; cond: mailer flags or a \201 macro;
 *                 values may hold macros as \201x or \201{name}
 *   .             terminator: a file without it is incomplete
 * Records of other types (sendmail's !, d, E, j, ...) are kept in order and
 * written back.  Every single-line value is written with CR, LF and NUL
 * replaced by blanks (sendmail's denlstring), so input can never forge a
 * record. */
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
	char *orcpt;	/* Q: "rfc822;addr" or NULL */
	char *final;	/* r: "RFC822; addr" or NULL */
	char *ctladdr;	/* C value in force ("user:uid:gid:addr", ":addr"), NULL: none */
	char *msg;	/* M record of this recipient, or NULL */
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
	char **extra;	/* records of other types, kept as read ("!x 12") */
	size_t nextra;
};

void qf_env_init(struct qf_env *env);
void qf_env_free(struct qf_env *env);
void qf_env_add_rcpt(struct qf_env *env, const char *addr, const char *flags, const char *orcpt);
void qf_env_set_macro(struct qf_env *env, const char *name, const char *value);
const char *qf_env_macro(const struct qf_env *env, const char *name);
/* The message size sendmail's queue run reports (MAIL SIZE=): the df size
 * plus, for each H record, its length less the 3 octets of "H??". */
long qf_msgsize(const struct qf_env *env, long dfsize);
/* Frees what a recipient holds (not the struct). */
void qf_rcpt_clear(struct qf_rcpt *r);
/* F flags. */
int qf_has_flag(const struct qf_env *env, char f);
void qf_add_flag(struct qf_env *env, char f);
/* The controlling user of a C value as logs show it ("alice (1000/1000)",
 * "root (0/0)" for ":root"); also reads mtad's old "alice (1000/1000)". */
void qf_ctladdr_show(char *buf, size_t size, const char *ctl);
/* The C value for a local user: "user:uid:gid:addr", or ":addr" for uid 0. */
void qf_ctladdr_make(char *buf, size_t size, const char *user, long uid, long gid, const char *addr);
/* Replaces *field with a copy of value (or NULL). */
void qf_set(char **field, const char *value);

/* Paths.  type is 'q', 'd', 't', 'x' or 'h'.  When the queue directory has
 * qf/, df/ and xf/ subdirectories, files go into them as in sendmail. */
void qf_path(char *buf, size_t size, const char *qdir, char type, const char *qid);
/* qf_path looks each qf/ df/ xf/ subdirectory up at most once a second;
 * this forgets what it saw (for a caller that has just made or removed one). */
void qf_path_forget(void);

/* Writes env as qf<ID> atomically: tf<ID> created exclusively, locked,
 * written, fsynced, renamed to qf<ID>, then the directory is fsynced.
 * Returns the open, flock()ed descriptor of the new qf when keep_lock is set
 * (the caller closes it to unlock), 0 when not, or -1 with errno set and a
 * message in err.  On failure no tf is left behind and the old qf is intact. */
int qf_write(const char *qdir, const struct qf_env *env, int keep_lock, char *err, size_t errsize);
/* qf_write in steps, for a caller that commits several messages at once:
 * qf_stage_write creates tf<ID> exclusively (flock()ed when keep_lock) and
 * writes it; qf_stage_start_sync starts its writeback (a hint, so that one
 * journal commit can carry a whole batch); qf_stage_sync fsyncs it;
 * qf_stage_publish renames it to qf<ID> (the caller then fsyncs the
 * directory).  A failing step closes the file, removes it (tf, or qf once
 * renamed) and returns -1 with errno and a message in err; qf_stage_abort
 * does the same for a staged file the caller gives up. */
struct qf_stage {
	int fd;
	int renamed;
	char tf[4096], qf[4096];
};
int qf_stage_write(const char *qdir, const struct qf_env *env, int keep_lock, struct qf_stage *st,
		   char *err, size_t errsize);
void qf_stage_start_sync(const struct qf_stage *st);
int qf_stage_sync(struct qf_stage *st, char *err, size_t errsize);
int qf_stage_publish(struct qf_stage *st, char *err, size_t errsize);
int qf_stage_fail(struct qf_stage *st, const char *step, char *err, size_t errsize);
void qf_stage_abort(struct qf_stage *st);
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

/* Calls fn for every qf<ID> in the queue directory (and its qf/ subdirectory);
 * returns the number of IDs or -1 when the directory cannot be read. */
int qf_scan(const char *qdir, void (*fn)(const char *qid, void *arg), void *arg);
/* The same for sendmail's held (quarantined) hf<ID> files, and the path of
 * one (beside the qf files: in qf/ when there is one). */
int qf_scan_held(const char *qdir, void (*fn)(const char *qid, void *arg), void *arg);
void qf_held_path(char *buf, size_t size, const char *qdir, const char *qid);

#endif
