/* map: sendmail-style keyed maps in Berkeley DB files (hash or btree), as
 * sendmail's makemap writes them and sendmail's K lines / FEATURE() lines
 * name them.
 *
 * Reading: map_open("hash -o /etc/mail/access") opens /etc/mail/access.db.
 * Every map_lookup() stats the file (one syscall) and reopens the database
 * when its inode, size or mtime changed, so a map rebuilt by makemap (which
 * renames a complete new file into place) is seen without a restart.  An
 * optional (-o) map whose file is missing is an empty map.
 *
 * Writing: map_writer builds a new database in a temporary file beside the
 * target and renames it into place on commit, so a reader never sees a
 * half-built map.  makemap and newaliases (aliases.c) both write through it.
 */
#ifndef MTA_MAP_H
#define MTA_MAP_H
#include <stddef.h>

enum map_type {
	MAP_HASH,
	MAP_BTREE,
	MAP_LDAP,	/* "ldap -k filter -v attr ...": lib/map_ldap.c */
};

/* Flags from the map spec, spelled as in sendmail's K line. */
#define MAPF_OPTIONAL	0x01	/* -o: a missing file is an empty map */
#define MAPF_NOFOLD	0x02	/* -f: keys are not lower-cased */
#define MAPF_INCLNUL	0x04	/* -N: keys were stored with their NUL */
#define MAPF_NONUL	0x08	/* -O: keys were stored without a NUL */
#define MAPF_MATCHONLY	0x10	/* -m: a hit returns the key, not the value */

struct map_spec {
	enum map_type type;
	int flags;		/* MAPF_* */
	char *path;		/* as written in the spec */
	char *dbpath;		/* path with ".db" added unless already there */
	char *append;		/* -a: appended to every value found, or NULL */
	char *tmpf_tag;		/* -T: sendmail's temporary-failure tag, or NULL */
	char *ldap_args;	/* MAP_LDAP: the options after "ldap" (map_ldap.h) */
	int ldap_alias;		/* MAP_LDAP: an alias source (values joined with ',') */
};

/* Parses "class [-flags...] path".  Class is "hash", "btree" or "ldap"
 * (then the rest is LDAP options, checked by ldap_spec_parse; path and
 * dbpath name the server for messages); flags
 * sendmail documents but we do not implement (-k, -v, -z, -t, -q, -A, -D,
 * -S, -s) are accepted and ignored.  Returns 0, or -1 with err set. */
int map_spec_parse(const char *spec, struct map_spec *out,
		   char *err, size_t errsize);
void map_spec_free(struct map_spec *spec);
/* "hash" or "btree"; map_type_parse returns -1 for other names. */
const char *map_type_name(enum map_type type);
int map_type_parse(const char *name);
/* NAME with ".db" appended unless it already ends in ".db"; malloc'd. */
char *map_db_path(const char *name);

/* ------------------------------------------------------------------ */
/* Reading */

struct map;

/* Opens a map from a spec.  Returns NULL with err set when the spec is bad
 * or the file cannot be opened ("cannot open map /etc/mail/access.db: No
 * such file or directory"); a missing file of an optional map is not an
 * error. */
struct map *map_open(const char *spec, char *err, size_t errsize);
struct map *map_open_spec(const struct map_spec *spec, char *err, size_t errsize);
void map_close(struct map *map);

enum map_result {
	MAP_TEMPFAIL = -1,	/* the file could not be opened or read: err says why */
	MAP_NOTFOUND = 0,
	MAP_FOUND = 1,
};

/* Looks key up (lower-cased unless -f; tried without and with a trailing
 * NUL unless -N or -O says which).  On MAP_FOUND *value is a malloc'd,
 * NUL-terminated copy without the stored NUL (plus the -a string; the key
 * itself for -m).  value may be NULL to test membership only. */
int map_lookup(struct map *map, const char *key, char **value,
	       char *err, size_t errsize);

const char *map_dbpath(const struct map *map);
const struct map_spec *map_get_spec(const struct map *map);
/* How many times the database has been (re)opened; for tests and -bt. */
unsigned map_generation(const struct map *map);

/* Sendmail's %-substitution in a map value: %0 is the key, %1..%9 the args,
 * %% a literal %.  Missing args expand to nothing.  Returns malloc'd. */
char *map_rewrite(const char *value, const char *key,
		  const char *const *args, size_t nargs);

/* Calls fn for every record of an existing database file (dbpath is the
 * full file name) in the database's order.  fn returning non-zero stops
 * the walk and is returned.  Returns 0, or -1 with err set. */
typedef int map_dump_fn(void *ctx, const void *key, size_t klen,
			const void *val, size_t vlen);
int map_dump(enum map_type type, const char *dbpath, map_dump_fn *fn,
	     void *ctx, char *err, size_t errsize);

/* ------------------------------------------------------------------ */
/* Writing */

#define MAPW_DUP	0x01	/* allow duplicate keys (makemap -d) */
#define MAPW_APPEND	0x02	/* start from the existing map (makemap -o) */

struct map_writer;

/* Starts a new database that will replace dbpath (the full file name).
 * cachesize 0 keeps Berkeley DB's default.  Returns NULL with err set. */
struct map_writer *map_writer_open(enum map_type type, const char *dbpath,
				   int flags, size_t cachesize,
				   char *err, size_t errsize);
/* Returns 0 when stored, 1 when the key exists and replace is 0 (nothing
 * stored), -1 on error with err set. */
int map_writer_put(struct map_writer *w, const void *key, size_t klen,
		   const void *val, size_t vlen, int replace,
		   char *err, size_t errsize);
/* Flushes, fsyncs and renames the new file into place; frees w.
 * Returns 0, or -1 with err set (the old map is then untouched). */
int map_writer_commit(struct map_writer *w, char *err, size_t errsize);
/* Discards the new file; frees w. */
void map_writer_abort(struct map_writer *w);

/* A map a program keeps open by its spec (the spec comes from the
 * configuration and may change on a restart).  A map that cannot be opened
 * is tried again, and warned about, at most once a minute, not on every
 * lookup. */
struct map_cache {
	struct map *map;
	char spec[1100];
	long failed_at;		/* time() of the last failed open, 0 if none */
};
/* The map for spec ("" or NULL: none), opened on first use; what names it
 * in warnings ("access_db").  NULL when there is none or it cannot be
 * opened now. */
struct map *map_cache_get(struct map_cache *c, const char *spec, const char *what);

#endif
