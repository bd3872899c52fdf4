/* map: sendmail-style Berkeley DB maps.  Owns the map spec grammar, the
 * read side (lookup with case folding, NUL probing and reopen-on-change)
 * and the write side (temporary file + rename) shared by makemap and
 * newaliases.  See map.h. */
#include <ctype.h>
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "map.h"
#include "map_ldap.h"
#include "diag.h"
#include "strbuf.h"
#include "xalloc.h"

/* Berkeley DB reports details (such as "unexpected file type or format")
 * through a callback, not the return code; keep the last one. */
static __thread char bdb_msg[256];

static void bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	snprintf(bdb_msg, sizeof(bdb_msg), "%s", msg ? msg : "");
}


/* The text for a Berkeley DB return code, with its callback detail when
 * that says more than the code (a wrong map type is only EINVAL). */
static void bdb_why(int r, char *buf, size_t n)
{
	const char *base = r > 0 ? strerror(r) : db_strerror(r);
	const char *detail = bdb_msg;
	/* Strip Berkeley DB's "BDB1234 " message number and "path: " prefix. */
	if (strncmp(detail, "BDB", 3) == 0 && isdigit((unsigned char)detail[3])) {
		const char *sp = strchr(detail, ' ');
		if (sp)
			detail = sp + 1;
	}
	const char *colon = strrchr(detail, ':');
	if (colon && colon[1] == ' ')
		detail = colon + 2;
	if (*detail && r != ENOENT && r != EACCES && strcmp(detail, base) != 0)
		snprintf(buf, n, "%s (%s)", base, detail);
	else
		snprintf(buf, n, "%s", base);
}

/* sb_steal leaves sb re-initialised (allocated); we are done with it. */
static char *sb_take(struct strbuf *sb)
{
	char *s = sb_steal(sb);
	sb_free(sb);
	return s;
}

/* ------------------------------------------------------------------ */
/* Specs */

const char *map_type_name(enum map_type type)
{
	return type == MAP_LDAP ? "ldap" : type == MAP_BTREE ? "btree" : "hash";
}

int map_type_parse(const char *name)
{
	if (strcmp(name, "hash") == 0)
		return MAP_HASH;
	if (strcmp(name, "btree") == 0)
		return MAP_BTREE;
	return -1;
}

char *map_db_path(const char *name)
{
	size_t n = strlen(name);
	if (n >= 3 && strcmp(name + n - 3, ".db") == 0)
		return xstrdup(name);
	char *p = xmalloc(n + 4);
	memcpy(p, name, n);
	memcpy(p + n, ".db", 4);
	return p;
}

void map_spec_free(struct map_spec *spec)
{
	if (!spec)
		return;
	free(spec->path);
	free(spec->dbpath);
	free(spec->append);
	free(spec->tmpf_tag);
	free(spec->ldap_args);
	memset(spec, 0, sizeof(*spec));
}

/* Splits the next whitespace-separated word off *pp. */
static char *next_word(const char **pp)
{
	const char *p = *pp;
	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p) {
		*pp = p;
		return NULL;
	}
	const char *s = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	*pp = p;
	return xstrndup(s, (size_t)(p - s));
}

/* "ldap OPTIONS": kept as text for map_ldap, checked now so a bad spec is
 * reported when the configuration is read. */
static int ldap_spec_check(const char *spec, const char *args, struct map_spec *out,
			   char *err, size_t errsize)
{
	while (isspace((unsigned char)*args))
		args++;
	struct ldap_spec ls;
	char why[400];
	if (ldap_spec_parse(args, 0, 1, &ls, why, sizeof(why)) < 0) {
		errf(err, errsize, "map \"%s\": %s", spec, why);
		return -1;
	}
	out->type = MAP_LDAP;
	out->ldap_args = xstrdup(args);
	if (ls.optional)
		out->flags |= MAPF_OPTIONAL;
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "ldap:%s", ls.uri ? ls.uri : "");
	out->path = sb_steal(&sb);
	sb_free(&sb);
	out->dbpath = xstrdup(out->path);
	ldap_spec_free(&ls);
	return 0;
}

int map_spec_parse(const char *spec, struct map_spec *out,
		   char *err, size_t errsize)
{
	memset(out, 0, sizeof(*out));
	const char *p = spec ? spec : "";
	while (isspace((unsigned char)*p))
		p++;
	if (strncmp(p, "ldap:", 5) == 0)	/* AliasFile's spelling: "ldap:OPTIONS" */
		return ldap_spec_check(spec, p + 5, out, err, errsize);
	char *cls = next_word(&p);
	if (!cls) {
		errf(err, errsize, "empty map specification");
		return -1;
	}
	if (strcmp(cls, "ldap") == 0) {
		free(cls);
		return ldap_spec_check(spec, p, out, err, errsize);
	}
	int t = map_type_parse(cls);
	if (t < 0) {
		errf(err, errsize, "map \"%s\": unsupported map class \"%s\" "
		       "(hash, btree and ldap are supported)", spec, cls);
		free(cls);
		return -1;
	}
	free(cls);
	out->type = (enum map_type)t;
	char *w;
	while ((w = next_word(&p)) != NULL) {
		if (w[0] != '-' || w[1] == '\0') {
			if (out->path) {
				errf(err, errsize, "map \"%s\": more than one file name", spec);
				free(w);
				map_spec_free(out);
				return -1;
			}
			out->path = w;
			continue;
		}
		/* A word may bundle flags ("-o -N" or "-oN"); flags taking an
		 * argument (-a, -T, -k, -v, -z, -S, ...) take the rest of it. */
		for (char *f = w + 1; *f; f++) {
			switch (*f) {
			case 'o': out->flags |= MAPF_OPTIONAL; continue;
			case 'f': out->flags |= MAPF_NOFOLD; continue;
			case 'N': out->flags |= MAPF_INCLNUL; continue;
			case 'O': out->flags |= MAPF_NONUL; continue;
			case 'm': out->flags |= MAPF_MATCHONLY; continue;
			case 'q': case 't': case 'A': case 'D': case 's':
				continue;
			case 'a':
				free(out->append);
				out->append = xstrdup(f + 1);
				break;
			case 'T':
				free(out->tmpf_tag);
				out->tmpf_tag = xstrdup(f + 1);
				break;
			case 'k': case 'v': case 'z': case 'S': case 'R':
			case 'r': case 'd': case 'l':
				break;	/* argument ignored */
			default:
				errf(err, errsize, "map \"%s\": unknown flag -%c", spec, *f);
				free(w);
				map_spec_free(out);
				return -1;
			}
			break;
		}
		free(w);
	}
	if (!out->path) {
		errf(err, errsize, "map \"%s\": no file name", spec);
		map_spec_free(out);
		return -1;
	}
	out->dbpath = map_db_path(out->path);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading */

struct map {
	struct map_spec spec;
	struct ldap_map *ldap;	/* MAP_LDAP */
	DB *db;
	int present;		/* the file existed at the last stat */
	struct stat st;		/* of the file db was opened from */
	int nul_hint;		/* 0: try both; 1: keys have NUL; 2: they do not */
	unsigned generation;
};

static DBTYPE dbtype(enum map_type t)
{
	return t == MAP_BTREE ? DB_BTREE : DB_HASH;
}

static int db_open_read(enum map_type type, const char *path, DB **out,
			char *err, size_t errsize)
{
	DB *db;
	int r = db_create(&db, NULL, 0);
	if (r != 0) {
		errf(err, errsize, "cannot open map %s: %s", path, db_strerror(r));
		return -1;
	}
	db->set_errcall(db, bdb_errcall);
	bdb_msg[0] = '\0';
	r = db->open(db, NULL, path, NULL, dbtype(type), DB_RDONLY, 0);
	if (r != 0) {
		char why[384];
		bdb_why(r, why, sizeof(why));
		if (r == EINVAL && strstr(bdb_msg, "unexpected file type"))
			errf(err, errsize, "cannot open map %s: not a %s map "
			       "(unexpected file type or format)", path, map_type_name(type));
		else
			errf(err, errsize, "cannot open map %s: %s", path, why);
		db->close(db, 0);
		return r == ENOENT ? -2 : -1;
	}
	*out = db;
	return 0;
}

static void map_drop(struct map *m)
{
	if (m->db)
		m->db->close(m->db, 0);
	m->db = NULL;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Makes m->db match the file on disk.  Returns 0 (db open, or absent and
 * optional), -1 with err set. */
static int map_refresh(struct map *m, char *err, size_t errsize)
{
	struct stat st;
	if (stat(m->spec.dbpath, &st) != 0) {
		int e = errno;
		map_drop(m);
		m->present = 0;
		if (e == ENOENT && (m->spec.flags & MAPF_OPTIONAL))
			return 0;
		errf(err, errsize, "cannot open map %s: %s", m->spec.dbpath, strerror(e));
		return -1;
	}
	if (m->db && m->present && same_file(&st, &m->st))
		return 0;
	map_drop(m);
	m->present = 1;
	DB *db;
	int r = db_open_read(m->spec.type, m->spec.dbpath, &db, err, errsize);
	if (r == -2 && (m->spec.flags & MAPF_OPTIONAL)) {
		m->present = 0;	/* removed between stat and open */
		return 0;
	}
	if (r != 0) {
		m->present = 0;
		return -1;
	}
	/* The file we opened might have been replaced between stat() and
	 * open(); a stale stat only costs one extra reopen next time. */
	m->db = db;
	m->st = st;
	m->nul_hint = 0;
	m->generation++;
	return 0;
}

struct map *map_open_spec(const struct map_spec *spec, char *err, size_t errsize)
{
	struct map *m = xcalloc(1, sizeof(*m));
	m->spec.type = spec->type;
	m->spec.flags = spec->flags;
	m->spec.path = xstrdup(spec->path);
	m->spec.dbpath = spec->dbpath ? xstrdup(spec->dbpath) : map_db_path(spec->path);
	m->spec.append = spec->append ? xstrdup(spec->append) : NULL;
	m->spec.tmpf_tag = spec->tmpf_tag ? xstrdup(spec->tmpf_tag) : NULL;
	if (spec->type == MAP_LDAP) {
		m->spec.ldap_args = xstrdup(spec->ldap_args ? spec->ldap_args : "");
		m->spec.ldap_alias = spec->ldap_alias;
		m->ldap = ldap_map_open(m->spec.ldap_args, spec->ldap_alias, err, errsize);
		if (m->ldap == NULL) {
			map_close(m);
			return NULL;
		}
		m->generation = 1;
		return m;
	}
	if (map_refresh(m, err, errsize) != 0) {
		map_close(m);
		return NULL;
	}
	return m;
}

struct map *map_open(const char *spec, char *err, size_t errsize)
{
	struct map_spec s;
	if (map_spec_parse(spec, &s, err, errsize) != 0)
		return NULL;
	struct map *m = map_open_spec(&s, err, errsize);
	map_spec_free(&s);
	return m;
}

void map_close(struct map *m)
{
	if (!m)
		return;
	map_drop(m);
	ldap_map_close(m->ldap);
	map_spec_free(&m->spec);
	free(m);
}

const char *map_dbpath(const struct map *m)
{
	return m->spec.dbpath;
}

const struct map_spec *map_get_spec(const struct map *m)
{
	return &m->spec;
}

unsigned map_generation(const struct map *m)
{
	return m->generation;
}

/* One get; returns 1 found, 0 not found, -1 error. */
static int db_get(struct map *m, const char *key, size_t klen,
		  char **value, char *err, size_t errsize)
{
	DBT k, v;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (u_int32_t)klen;
	bdb_msg[0] = '\0';
	int r = m->db->get(m->db, NULL, &k, &v, 0);
	if (r == DB_NOTFOUND || r == DB_KEYEMPTY)
		return 0;
	if (r != 0) {
		char why[384];
		bdb_why(r, why, sizeof(why));
		errf(err, errsize, "cannot read map %s: %s", m->spec.dbpath, why);
		return -1;
	}
	if (value) {
		size_t n = v.size;
		if (n > 0 && ((const char *)v.data)[n - 1] == '\0')
			n--;
		struct strbuf sb;
		sb_init(&sb);
		if (m->spec.flags & MAPF_MATCHONLY) {
			sb_puts(&sb, key);
		} else {
			sb_append(&sb, v.data, n);
			/* A value holding a NUL is cut there, as sendmail does. */
			sb_truncate(&sb, strlen(sb.s));
		}
		if (m->spec.append)
			sb_puts(&sb, m->spec.append);
		*value = sb_take(&sb);
	}
	return 1;
}

int map_lookup(struct map *m, const char *key, char **value,
	       char *err, size_t errsize)
{
	if (value)
		*value = NULL;
	if (m->ldap)
		return ldap_map_lookup(m->ldap, key, value, err, errsize);
	if (map_refresh(m, err, errsize) != 0)
		return MAP_TEMPFAIL;
	if (!m->db)
		return MAP_NOTFOUND;	/* optional and absent */
	size_t n = strlen(key);
	char *k = xmalloc(n + 1);
	for (size_t i = 0; i <= n; i++)
		k[i] = (m->spec.flags & MAPF_NOFOLD) ? key[i]
			: (char)tolower((unsigned char)key[i]);
	int want_nul = (m->spec.flags & MAPF_INCLNUL) != 0;
	int want_plain = (m->spec.flags & MAPF_NONUL) != 0;
	if (!want_nul && !want_plain) {
		/* sendmail tries both and remembers which one hit */
		want_nul = m->nul_hint != 2;
		want_plain = m->nul_hint != 1;
	}
	int r = 0;
	if (want_plain) {
		r = db_get(m, k, n, value, err, errsize);
		if (r == 1 && m->nul_hint == 0 && !(m->spec.flags & MAPF_NONUL))
			m->nul_hint = 2;
	}
	if (r == 0 && want_nul) {
		r = db_get(m, k, n + 1, value, err, errsize);
		if (r == 1 && m->nul_hint == 0 && !(m->spec.flags & MAPF_INCLNUL))
			m->nul_hint = 1;
	}
	if (value && r == 1 && (m->spec.flags & MAPF_MATCHONLY)) {
		/* -m returns the key as given, not folded */
		free(*value);
		struct strbuf sb;
		sb_init(&sb);
		sb_puts(&sb, key);
		if (m->spec.append)
			sb_puts(&sb, m->spec.append);
		*value = sb_take(&sb);
	}
	free(k);
	return r < 0 ? MAP_TEMPFAIL : r ? MAP_FOUND : MAP_NOTFOUND;
}

char *map_rewrite(const char *value, const char *key,
		  const char *const *args, size_t nargs)
{
	struct strbuf sb;
	sb_init(&sb);
	for (const char *p = value; *p; p++) {
		if (*p != '%' || p[1] == '\0') {
			sb_putc(&sb, *p);
			continue;
		}
		p++;
		if (*p == '%') {
			sb_putc(&sb, '%');
		} else if (*p == '0') {
			sb_puts(&sb, key ? key : "");
		} else if (*p >= '1' && *p <= '9') {
			size_t i = (size_t)(*p - '1');
			if (i < nargs && args[i])
				sb_puts(&sb, args[i]);
		} else {
			sb_putc(&sb, '%');
			sb_putc(&sb, *p);
		}
	}
	return sb_take(&sb);
}

int map_dump(enum map_type type, const char *dbpath, map_dump_fn *fn,
	     void *ctx, char *err, size_t errsize)
{
	DB *db;
	if (db_open_read(type, dbpath, &db, err, errsize) != 0)
		return -1;
	DBC *c;
	int r = db->cursor(db, NULL, &c, 0);
	if (r != 0) {
		errf(err, errsize, "cannot read map %s: %s", dbpath, db_strerror(r));
		db->close(db, 0);
		return -1;
	}
	DBT k, v;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	int rc = 0;
	while ((r = c->get(c, &k, &v, DB_NEXT)) == 0) {
		rc = fn(ctx, k.data, k.size, v.data, v.size);
		if (rc != 0)
			break;
	}
	if (rc == 0 && r != DB_NOTFOUND) {
		char why[384];
		bdb_why(r, why, sizeof(why));
		errf(err, errsize, "cannot read map %s: %s", dbpath, why);
		rc = -1;
	}
	c->close(c);
	db->close(db, 0);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Writing */

struct map_writer {
	DB *db;
	char *dbpath;
	char *tmppath;
};

/* Copies the existing map into fd for MAPW_APPEND.  A missing map is an
 * empty start. */
static int copy_old(const char *from, int fd, char *err, size_t errsize)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		if (errno == ENOENT)
			return 0;
		errf(err, errsize, "cannot open map %s: %s", from, strerror(errno));
		return -1;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0) {
			errf(err, errsize, "cannot read map %s: %s", from, strerror(errno));
			close(in);
			return -1;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0) {
				errf(err, errsize, "cannot write temporary map: %s",
				       strerror(errno));
				close(in);
				return -1;
			}
			off += w;
		}
	}
	close(in);
	return 0;
}

struct map_writer *map_writer_open(enum map_type type, const char *dbpath,
				   int flags, size_t cachesize,
				   char *err, size_t errsize)
{
	struct map_writer *w = xcalloc(1, sizeof(*w));
	w->dbpath = xstrdup(dbpath);
	size_t n = strlen(dbpath);
	w->tmppath = xmalloc(n + 8);
	memcpy(w->tmppath, dbpath, n);
	memcpy(w->tmppath + n, ".XXXXXX", 8);
	int fd = mkostemp(w->tmppath, O_CLOEXEC);
	if (fd < 0) {
		errf(err, errsize, "cannot create map %s: %s", dbpath, strerror(errno));
		free(w->tmppath);
		w->tmppath = NULL;
		map_writer_abort(w);
		return NULL;
	}
	/* sendmail's makemap creates maps 0640; keep an existing map's mode
	 * and group so a rebuild does not change who may read it. */
	struct stat old;
	if (stat(dbpath, &old) == 0) {
		if (fchown(fd, (uid_t)-1, old.st_gid) != 0) {
			/* not our group: keep ours */
		}
		(void)fchmod(fd, old.st_mode & 07777);
	} else {
		(void)fchmod(fd, 0640);
	}
	if ((flags & MAPW_APPEND) && copy_old(dbpath, fd, err, errsize) != 0) {
		close(fd);
		map_writer_abort(w);
		return NULL;
	}
	close(fd);
	int r = db_create(&w->db, NULL, 0);
	if (r != 0) {
		w->db = NULL;
		errf(err, errsize, "cannot create map %s: %s", dbpath, db_strerror(r));
		map_writer_abort(w);
		return NULL;
	}
	w->db->set_errcall(w->db, bdb_errcall);
	if (cachesize > 0)
		w->db->set_cachesize(w->db, 0, (u_int32_t)cachesize, 0);
	if (flags & MAPW_DUP)
		w->db->set_flags(w->db, DB_DUP);
	bdb_msg[0] = '\0';
	/* mkostemp left an empty file, which Berkeley DB initialises as new;
	 * with MAPW_APPEND it holds a copy of the old map to add to. */
	r = w->db->open(w->db, NULL, w->tmppath, NULL, dbtype(type), DB_CREATE, 0640);
	if (r != 0) {
		char why[384];
		bdb_why(r, why, sizeof(why));
		errf(err, errsize, "cannot %s map %s: %s",
		       (flags & MAPW_APPEND) ? "open" : "create", dbpath, why);
		map_writer_abort(w);
		return NULL;
	}
	return w;
}

int map_writer_put(struct map_writer *w, const void *key, size_t klen,
		   const void *val, size_t vlen, int replace,
		   char *err, size_t errsize)
{
	DBT k, v;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (u_int32_t)klen;
	v.data = (void *)val;
	v.size = (u_int32_t)vlen;
	u_int32_t dbflags = 0;
	u_int32_t openflags = 0;
	w->db->get_flags(w->db, &openflags);
	if (!replace && !(openflags & DB_DUP))
		dbflags = DB_NOOVERWRITE;
	bdb_msg[0] = '\0';
	int r = w->db->put(w->db, NULL, &k, &v, dbflags);
	if (r == DB_KEYEXIST)
		return 1;
	if (r != 0) {
		char why[384];
		bdb_why(r, why, sizeof(why));
		errf(err, errsize, "cannot write map %s: %s", w->dbpath, why);
		return -1;
	}
	return 0;
}

static int fsync_path(const char *path, int dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int map_writer_commit(struct map_writer *w, char *err, size_t errsize)
{
	bdb_msg[0] = '\0';
	int r = w->db->close(w->db, 0);
	w->db = NULL;
	if (r != 0) {
		char why[384];
		bdb_why(r, why, sizeof(why));
		errf(err, errsize, "cannot write map %s: %s", w->dbpath, why);
		map_writer_abort(w);
		return -1;
	}
	if (fsync_path(w->tmppath, 0) != 0) {
		errf(err, errsize, "cannot write map %s: fsync: %s", w->dbpath,
		       strerror(errno));
		map_writer_abort(w);
		return -1;
	}
	if (rename(w->tmppath, w->dbpath) != 0) {
		errf(err, errsize, "cannot install map %s: %s", w->dbpath, strerror(errno));
		map_writer_abort(w);
		return -1;
	}
	char *d = xstrdup(w->dbpath);
	(void)fsync_path(dirname(d), 1);	/* best effort: the rename is done */
	free(d);
	free(w->tmppath);
	w->tmppath = NULL;
	map_writer_abort(w);
	return 0;
}

void map_writer_abort(struct map_writer *w)
{
	if (!w)
		return;
	if (w->db)
		w->db->close(w->db, DB_NOSYNC);
	if (w->tmppath) {
		unlink(w->tmppath);
		free(w->tmppath);
	}
	free(w->dbpath);
	free(w);
}

struct map *map_cache_get(struct map_cache *c, const char *spec, const char *what)
{
	if (spec == NULL || *spec == '\0')
		return NULL;
	if (strcmp(spec, c->spec) != 0) {	/* another map now: forget the old one */
		if (c->map)
			map_close(c->map);
		c->map = NULL;
		c->failed_at = 0;
		snprintf(c->spec, sizeof(c->spec), "%s", spec);
	}
	if (c->map)
		return c->map;
	long now = (long)time(NULL);
	if (c->failed_at && now - c->failed_at < 60)
		return NULL;
	char err[512];
	c->map = map_open(spec, err, sizeof(err));
	if (c->map == NULL) {
		msg_warn("%s: %s (tried again in a minute)", what, err);
		c->failed_at = now;
	}
	return c->map;
}
