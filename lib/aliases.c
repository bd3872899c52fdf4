/* aliases: reading aliases(5), building aliases.db as sendmail's
 * newaliases does, and expanding a local name into its final targets with
 * loop and depth checks.  See aliases.h for the flow. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "map.h"
#include "strbuf.h"
#include "diag.h"
#include "xalloc.h"


const char *alias_kind_name(enum alias_kind kind)
{
	switch (kind) {
	case ALIAS_ADDRESS: return "address";
	case ALIAS_LOCAL: return "local";
	case ALIAS_FILE: return "file";
	case ALIAS_PROGRAM: return "program";
	case ALIAS_INCLUDE: return "include";
	case ALIAS_ERROR: return "error";
	}
	return "?";
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* White space, counting the UTF-8 no-break space that text copied from web
 * pages puts in aliases files (seed 003 does); returns its length. */
static size_t wsp(const char *p)
{
	if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		return 1;
	if ((unsigned char)p[0] == 0xc2 && (unsigned char)p[1] == 0xa0)
		return 2;
	return 0;
}

static const char *skip_wsp(const char *p)
{
	size_t n;
	while ((n = wsp(p)) > 0)
		p += n;
	return p;
}

/* Trims white space (as wsp) from both ends of s[0..n). */
static void trim(const char **s, size_t *n)
{
	const char *p = *s, *e = *s + *n;
	size_t k;
	while (p < e && (k = wsp(p)) > 0 && p + k <= e)
		p += k;
	for (;;) {
		if (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
			e--;
		else if (e - p >= 2 && (unsigned char)e[-2] == 0xc2 && (unsigned char)e[-1] == 0xa0)
			e -= 2;
		else
			break;
	}
	*s = p;
	*n = (size_t)(e - p);
}

/* ------------------------------------------------------------------ */
/* Right-hand sides */

void alias_list_free(struct alias_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void list_add(struct alias_list *l, enum alias_kind kind, char *text)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].kind = kind;
	l->v[l->n].text = text;
	l->n++;
}

static int has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Classifies text that was quoted as a whole, or bare text with a special
 * first character.  Returns 1 and adds it when special, 0 otherwise. */
static int add_special(struct alias_list *l, const char *t, size_t n)
{
	trim(&t, &n);
	if (n > 0 && t[0] == '|') {
		const char *c = t + 1;
		size_t cn = n - 1;
		trim(&c, &cn);
		list_add(l, ALIAS_PROGRAM, xstrndup(c, cn));
		return 1;
	}
	if (n > 0 && t[0] == '/') {
		list_add(l, ALIAS_FILE, xstrndup(t, n));
		return 1;
	}
	if (n >= 9 && has_prefix_ci(t, ":include:")) {
		const char *c = t + 9;
		size_t cn = n - 9;
		trim(&c, &cn);
		list_add(l, ALIAS_INCLUDE, xstrndup(c, cn));
		return 1;
	}
	if (n > 0 && t[0] == '\\') {
		const char *c = t + 1;
		size_t cn = n - 1;
		trim(&c, &cn);
		list_add(l, ALIAS_LOCAL, xstrndup(c, cn));
		return 1;
	}
	if (n >= 6 && has_prefix_ci(t, "error:")) {
		const char *c = t + 6;
		size_t cn = n - 6;
		trim(&c, &cn);
		list_add(l, ALIAS_ERROR, xstrndup(c, cn));
		return 1;
	}
	return 0;
}

/* One comma-separated piece: s[0..n), already known to be balanced. */
static int parse_piece(struct alias_list *l, const char *s, size_t n,
		       char *err, size_t errsize)
{
	trim(&s, &n);
	if (n == 0)
		return 0;
	/* A piece quoted as a whole: "|prog args", "/file", ":include:..."
	 * (single quotes too, as seed 003 writes ':include:/path'). */
	if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\''))) {
		struct strbuf sb;
		sb_init(&sb);
		for (size_t i = 1; i + 1 < n; i++) {
			if (s[0] == '"' && s[i] == '\\' && i + 2 < n)
				i++;
			sb_putc(&sb, s[i]);
		}
		int special = add_special(l, sb.s, sb.len);
		sb_free(&sb);
		if (special)
			return 0;
		if (s[0] == '\'') {
			/* not ours to unquote: an address with quotes is an error */
			errf(err, errsize, "%.*s... bad address", (int)n, s);
			return -1;
		}
		list_add(l, ALIAS_ADDRESS, xstrndup(s, n));	/* "quoted local" */
		return 0;
	}
	if (s[0] != '"' && add_special(l, s, n))
		return 0;
	/* An address: drop (comments), take <addr> when there is one. */
	struct strbuf addr, outside;
	sb_init(&addr);
	sb_init(&outside);
	int depth = 0, inq = 0, inangle = 0, sawangle = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (inq) {
			sb_putc(inangle ? &addr : &outside, c);
			if (c == '\\' && i + 1 < n)
				sb_putc(inangle ? &addr : &outside, s[++i]);
			else if (c == '"')
				inq = 0;
			continue;
		}
		if (depth > 0) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (c == '(') {
			depth++;
		} else if (c == '"') {
			inq = 1;
			sb_putc(inangle ? &addr : &outside, c);
		} else if (c == '<' && !inangle) {
			if (sawangle)
				goto bad;
			inangle = sawangle = 1;
		} else if (c == '>' && inangle) {
			inangle = 0;
		} else {
			sb_putc(inangle ? &addr : &outside, c);
		}
	}
	const char *t = sawangle ? addr.s : outside.s;
	size_t tn = sawangle ? addr.len : outside.len;
	trim(&t, &tn);
	if (tn == 0)
		goto bad;
	/* White space outside quotes inside an address: a missing comma. */
	for (size_t i = 0, q = 0; i < tn; i++) {
		if (t[i] == '"')
			q = !q;
		else if (!q && wsp(t + i))
			goto bad;
	}
	if (sawangle && add_special(l, t, tn)) {
		sb_free(&addr);
		sb_free(&outside);
		return 0;
	}
	list_add(l, ALIAS_ADDRESS, xstrndup(t, tn));
	sb_free(&addr);
	sb_free(&outside);
	return 0;
bad:
	errf(err, errsize, "%.*s... bad address", (int)n, s);
	sb_free(&addr);
	sb_free(&outside);
	return -1;
}

int alias_parse_rhs(const char *rhs, struct alias_list *out,
		    char *err, size_t errsize)
{
	out->v = NULL;
	out->n = 0;
	const char *p = rhs, *start = rhs;
	int inq = 0, depth = 0, angle = 0, rc = 0;
	for (;; p++) {
		char c = *p;
		if (c == '\0' || (c == ',' && !inq && depth == 0 && angle == 0)) {
			if (c == '\0' && (inq || depth || angle)) {
				errf(err, errsize, "%s... unbalanced %s", start,
				       inq ? "quote" : depth ? "parenthesis" : "'<'");
				return -1;
			}
			if (parse_piece(out, start, (size_t)(p - start), err, errsize) != 0)
				rc = -1;
			if (c == '\0' || rc != 0)
				break;
			start = p + 1;
			continue;
		}
		if (inq) {
			if (c == '\\' && p[1])
				p++;
			else if (c == '"')
				inq = 0;
		} else if (depth > 0) {
			if (c == '\\' && p[1])
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '"') {
			inq = 1;
		} else if (c == '(') {
			depth++;
		} else if (c == '<') {
			angle++;
		} else if (c == '>' && angle > 0) {
			angle--;
		}
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* The text file */

void alias_file_free(struct alias_file *af)
{
	if (!af)
		return;
	for (size_t i = 0; i < af->n; i++) {
		free(af->v[i].name);
		free(af->v[i].rhs);
	}
	free(af->v);
	free(af->index);
	free(af->path);
	memset(af, 0, sizeof(*af));
}

static void report_to(alias_report_fn *report, void *ctx, struct alias_file *af,
		      int warning, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static void report_to(alias_report_fn *report, void *ctx, struct alias_file *af,
		      int warning, unsigned line, const char *fmt, ...)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "%s:%u: %s", af->path, line, warning ? "warning: " : "");
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	if (!warning)
		af->nerrors++;
	if (report)
		report(ctx, warning, sb.s);
	else
		fprintf(stderr, "%s\n", sb.s);
	sb_free(&sb);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct alias_entry *x = *(const struct alias_entry *const *)a;
	const struct alias_entry *y = *(const struct alias_entry *const *)b;
	return strcmp(x->name, y->name);
}

static void build_index(struct alias_file *af)
{
	free(af->index);
	af->index = xreallocarray(NULL, af->n ? af->n : 1, sizeof(*af->index));
	for (size_t i = 0; i < af->n; i++)
		af->index[i] = &af->v[i];
	if (af->n > 1)
		qsort(af->index, af->n, sizeof(*af->index), entry_cmp);
}

const struct alias_entry *alias_file_find(const struct alias_file *af,
					  const char *name)
{
	if (!af->index)
		return NULL;
	char *key = xstrdup(name);
	lower(key);
	struct alias_entry k = { .name = key };
	struct alias_entry *kp = &k;
	struct alias_entry **hit = bsearch(&kp, af->index, af->n, sizeof(*af->index), entry_cmp);
	free(key);
	return hit ? *hit : NULL;
}

/* Checks an entry's name; returns the stored (lower-cased) form or NULL. */
static char *parse_name(const char *s, size_t n)
{
	trim(&s, &n);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	if (n == 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == '@' || c == '<' || c == '>' || c == ',' ||
		    c == '"' || c == '(' || c == ')' || c == 0x7f)
			return NULL;
	}
	char *name = xstrndup(s, n);
	lower(name);
	return name;
}

static void store_entry(struct alias_file *af, alias_report_fn *report, void *ctx,
			unsigned line, const char *text)
{
	const char *colon = strchr(text, ':');
	if (!colon) {
		report_to(report, ctx, af, 0, line, "%.40s... missing colon", text);
		return;
	}
	char *name = parse_name(text, (size_t)(colon - text));
	if (!name) {
		report_to(report, ctx, af, 0, line, "%.40s... illegal alias name", text);
		return;
	}
	const char *rhs = skip_wsp(colon + 1);
	size_t rn = strlen(rhs);
	while (rn > 0 && (rhs[rn - 1] == '\r' || rhs[rn - 1] == '\n'))
		rn--;
	const char *t = rhs;
	size_t tn = rn;
	trim(&t, &tn);
	if (tn == 0) {
		report_to(report, ctx, af, 0, line, "%.40s... missing value for alias", text);
		free(name);
		return;
	}
	char *value = xstrndup(rhs, rn);
	struct alias_list l;
	char perr[256];
	if (alias_parse_rhs(value, &l, perr, sizeof(perr)) != 0)
		report_to(report, ctx, af, 0, line, "%s", perr);	/* stored anyway, as sendmail does */
	alias_list_free(&l);
	af->nstored++;
	af->bytes += strlen(name) + rn;
	if (rn > af->longest)
		af->longest = rn;
	for (size_t i = 0; i < af->n; i++) {
		if (strcmp(af->v[i].name, name) == 0) {
			report_to(report, ctx, af, 1, line,
				  "duplicate alias name %s (first at line %u); the later one is used",
				  name, af->v[i].line);
			free(af->v[i].rhs);
			af->v[i].rhs = value;
			af->v[i].line = line;
			free(name);
			return;
		}
	}
	af->v = xreallocarray(af->v, af->n + 1, sizeof(*af->v));
	af->v[af->n].name = name;
	af->v[af->n].rhs = value;
	af->v[af->n].line = line;
	af->n++;
}

int alias_file_read(const char *path, struct alias_file *out,
		    alias_report_fn *report, void *ctx,
		    char *err, size_t errsize)
{
	memset(out, 0, sizeof(*out));
	out->path = xstrdup(path);
	FILE *f = fopen(path, "re");
	if (!f) {
		errf(err, errsize, "cannot open aliases file %s: %s", path, strerror(errno));
		alias_file_free(out);
		return -1;
	}
	struct strbuf entry;
	sb_init(&entry);
	unsigned entry_line = 0, lineno = 0;
	int have = 0, skipping = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	/* The duplicate check is linear per entry; keep it cheap with a
	 * sorted index rebuilt only at the end: duplicates are rare, and
	 * store_entry's scan is over entries seen so far. */
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		unsigned first = lineno;
		/* sendmail joins "...\" with the next line */
		while (len > 0 && line[len - 1] == '\\') {
			line[--len] = '\0';
			char *more = NULL;
			size_t mcap = 0;
			ssize_t mlen = getline(&more, &mcap, f);
			if (mlen < 0) {
				free(more);
				break;
			}
			lineno++;
			if (mlen > 0 && more[mlen - 1] == '\n')
				more[--mlen] = '\0';
			struct strbuf j;
			sb_init(&j);
			sb_append(&j, line, (size_t)len);
			sb_append(&j, more, (size_t)mlen);
			free(more);
			free(line);
			len = (ssize_t)j.len;
			cap = j.cap;
			line = sb_steal(&j);
			sb_free(&j);
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (have) {
				sb_puts(&entry, line);	/* sendmail keeps the leading space */
			} else if (!skipping && *skip_wsp(line) != '\0') {
				report_to(report, ctx, out, 0, first,
					  "non-continuation line starts with space");
				skipping = 1;
			}
			continue;
		}
		if (have) {
			store_entry(out, report, ctx, entry_line, entry.s);
			have = 0;
		}
		skipping = 0;
		if (line[0] == '#' || *skip_wsp(line) == '\0')
			continue;
		sb_reset(&entry);
		sb_puts(&entry, line);
		entry_line = first;
		have = 1;
	}
	if (have)
		store_entry(out, report, ctx, entry_line, entry.s);
	int rerr = ferror(f);
	free(line);
	sb_free(&entry);
	fclose(f);
	if (rerr) {
		errf(err, errsize, "cannot read aliases file %s: read error", path);
		alias_file_free(out);
		return -1;
	}
	build_index(out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* newaliases */

int aliases_rebuild_ex(const char *aliasfile, FILE *summary,
		       alias_report_fn *report, void *ctx,
		       struct aliases_stats *stats, char *err, size_t errsize)
{
	struct alias_file af;
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (strncmp(aliasfile, "ldap:", 5) == 0) {	/* the directory is the database */
		if (summary) {
			fprintf(summary, "%s: aliases are read from the directory; nothing to rebuild\n",
				aliasfile);
			fflush(summary);
		}
		if (stats)
			stats->have_postmaster = 1;
		return 0;
	}
	if (alias_file_read(aliasfile, &af, report, ctx, err, errsize) != 0)
		return -1;
	char *dbpath = map_db_path(aliasfile);
	struct map_writer *w = map_writer_open(MAP_HASH, dbpath, 0, 0, err, errsize);
	if (!w)
		goto fail;
	for (size_t i = 0; i < af.n; i++) {
		if (map_writer_put(w, af.v[i].name, strlen(af.v[i].name) + 1,
				   af.v[i].rhs, strlen(af.v[i].rhs) + 1, 1, err, errsize) < 0) {
			map_writer_abort(w);
			goto fail;
		}
	}
	/* sendmail's sentinel: the database is complete */
	if (map_writer_put(w, "@", 2, "@", 2, 1, err, errsize) < 0) {
		map_writer_abort(w);
		goto fail;
	}
	if (map_writer_commit(w, err, errsize) != 0)
		goto fail;
	int have_pm = alias_file_find(&af, "postmaster") != NULL;
	if (summary) {
		fprintf(summary, "%s: %lu aliases, longest %lu bytes, %lu bytes total\n",
			aliasfile, af.nstored, af.longest, af.bytes);
		fflush(summary);
	}
	if (!have_pm) {
		struct strbuf sb;
		sb_init(&sb);
		sb_printf(&sb, "%s: warning: no postmaster alias (RFC 5321 requires "
			  "postmaster to reach a person)", aliasfile);
		if (report)
			report(ctx, 1, sb.s);
		else
			fprintf(stderr, "%s\n", sb.s);
		sb_free(&sb);
	}
	if (stats) {
		stats->naliases = af.nstored;
		stats->longest = af.longest;
		stats->bytes = af.bytes;
		stats->nerrors = af.nerrors;
		stats->have_postmaster = have_pm;
	}
	int rc = 0;
	if (af.nerrors > 0) {
		rc = 1;
		errf(err, errsize, "%s: %u bad line%s skipped", aliasfile, af.nerrors,
		       af.nerrors == 1 ? "" : "s");
	}
	free(dbpath);
	alias_file_free(&af);
	return rc;
fail:
	free(dbpath);
	alias_file_free(&af);
	return -1;
}

struct first_err {
	char *buf;
	size_t size;
	int set;
};

static void report_stderr_first(void *vctx, int warning, const char *msg)
{
	struct first_err *fe = vctx;
	fprintf(stderr, "%s\n", msg);
	if (!warning && !fe->set && fe->buf && fe->size) {
		snprintf(fe->buf, fe->size, "%s", msg);
		fe->set = 1;
	}
}

int aliases_rebuild(const char *aliasfile, char *err, size_t errsize)
{
	struct first_err fe = { err, errsize, 0 };
	char e2[512] = "";
	int r = aliases_rebuild_ex(aliasfile, stdout, report_stderr_first, &fe,
				   NULL, e2, sizeof(e2));
	if (r < 0 || (r == 1 && !fe.set))
		errf(err, errsize, "%s", e2);
	return r;
}

/* ------------------------------------------------------------------ */
/* Lookup */

struct aliases {
	char *path;
	char *dbpath;
	int ldap;		/* "ldap:OPTIONS": db is an LDAP map (map_ldap.h) */
	struct map *db;		/* when the .db exists */
	struct alias_file text;	/* otherwise */
	int have_text;
	struct stat text_st;
};

static int same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void report_quiet(void *ctx, int warning, const char *msg)
{
	(void)ctx;
	(void)warning;
	(void)msg;
}

/* Picks the source: the database when it exists, else the text. */
static int aliases_refresh(struct aliases *a, char *err, size_t errsize)
{
	if (a->ldap)
		return 0;	/* one map, connected on first use */
	struct stat st;
	if (stat(a->dbpath, &st) == 0) {
		if (a->have_text) {
			alias_file_free(&a->text);
			a->have_text = 0;
		}
		if (!a->db) {
			struct map_spec spec = { .type = MAP_HASH, .flags = MAPF_OPTIONAL,
						 .path = a->path, .dbpath = a->dbpath };
			a->db = map_open_spec(&spec, err, errsize);
			if (!a->db)
				return -1;
		}
		return 0;	/* map_lookup itself notices a rebuilt file */
	}
	if (a->db) {
		map_close(a->db);
		a->db = NULL;
	}
	if (stat(a->path, &st) != 0) {
		if (errno != ENOENT) {
			errf(err, errsize, "cannot open aliases file %s: %s", a->path,
			       strerror(errno));
			return -1;
		}
		if (a->have_text)
			alias_file_free(&a->text);
		a->have_text = 0;
		return 0;
	}
	if (a->have_text && same_stat(&st, &a->text_st))
		return 0;
	if (a->have_text)
		alias_file_free(&a->text);
	a->have_text = 0;
	/* Problems in the file were reported by newaliases; lookups use what
	 * parses. */
	if (alias_file_read(a->path, &a->text, report_quiet, NULL, err, errsize) != 0)
		return -1;
	a->have_text = 1;
	a->text_st = st;
	return 0;
}

struct aliases *aliases_open(const char *aliasfile, char *err, size_t errsize)
{
	struct aliases *a = xcalloc(1, sizeof(*a));
	a->path = xstrdup(aliasfile);
	a->dbpath = map_db_path(aliasfile);
	if (strncmp(aliasfile, "ldap:", 5) == 0) {
		struct map_spec spec = { .type = MAP_LDAP, .path = a->path, .dbpath = a->path,
					 .ldap_args = a->path + 5, .ldap_alias = 1 };
		a->ldap = 1;
		a->db = map_open_spec(&spec, err, errsize);
		if (!a->db) {
			aliases_close(a);
			return NULL;
		}
		return a;
	}
	if (aliases_refresh(a, err, errsize) != 0) {
		aliases_close(a);
		return NULL;
	}
	return a;
}

void aliases_close(struct aliases *a)
{
	if (!a)
		return;
	map_close(a->db);
	if (a->have_text)
		alias_file_free(&a->text);
	free(a->path);
	free(a->dbpath);
	free(a);
}

const char *aliases_source(struct aliases *a)
{
	return a->ldap ? "ldap" : a->db ? "db" : "text";
}

static int lookup_now(struct aliases *a, const char *name, char **rhs,
		      char *err, size_t errsize)
{
	if (rhs)
		*rhs = NULL;
	if (a->db) {
		int r = map_lookup(a->db, name, rhs, err, errsize);
		return r == MAP_TEMPFAIL ? ALIAS_TEMPFAIL
			: r == MAP_FOUND ? ALIAS_FOUND : ALIAS_NOTFOUND;
	}
	if (!a->have_text)
		return ALIAS_NOTFOUND;
	const struct alias_entry *e = alias_file_find(&a->text, name);
	if (!e)
		return ALIAS_NOTFOUND;
	if (rhs)
		*rhs = xstrdup(e->rhs);
	return ALIAS_FOUND;
}

int aliases_lookup(struct aliases *a, const char *name, char **rhs,
		   char *err, size_t errsize)
{
	if (aliases_refresh(a, err, errsize) != 0) {
		if (rhs)
			*rhs = NULL;
		return ALIAS_TEMPFAIL;
	}
	return lookup_now(a, name, rhs, err, errsize);
}

/* ------------------------------------------------------------------ */
/* Expansion */

/* A small set of strings (open addressing), for duplicate suppression. */
struct strset {
	char **slot;
	size_t cap, n;
};

static size_t str_hash(const char *s)
{
	size_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

/* Adds s; returns 1 when it was new, 0 when already there. */
static int strset_add(struct strset *set, const char *s)
{
	if ((set->n + 1) * 2 > set->cap) {
		size_t ncap = set->cap ? set->cap * 2 : 32;
		char **ns = xcalloc(ncap, sizeof(*ns));
		for (size_t i = 0; i < set->cap; i++) {
			if (!set->slot[i])
				continue;
			size_t j = str_hash(set->slot[i]) & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = set->slot[i];
		}
		free(set->slot);
		set->slot = ns;
		set->cap = ncap;
	}
	size_t j = str_hash(s) & (set->cap - 1);
	while (set->slot[j]) {
		if (strcmp(set->slot[j], s) == 0)
			return 0;
		j = (j + 1) & (set->cap - 1);
	}
	set->slot[j] = xstrdup(s);
	set->n++;
	return 1;
}

static void strset_free(struct strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
}

struct expander {
	struct aliases *a;
	const struct alias_expand_opts *opts;
	int maxdepth;
	alias_target_fn *fn;
	void *fnctx;
	char *err;
	size_t errsize;
	const char *chain[128];	/* names and "include:" paths being expanded */
	int nchain;
	struct strset expanded;	/* aliases already expanded */
	struct strset emitted;	/* final targets already handed out */
	int stopped;
};

static void chain_text(struct expander *x, const char *last, struct strbuf *sb)
{
	for (int i = 0; i < x->nchain; i++) {
		sb_puts(sb, x->chain[i]);
		sb_puts(sb, " -> ");
	}
	sb_puts(sb, last);
}

static int emit(struct expander *x, enum alias_kind kind, const char *text,
		const char *alias, const char *owner, const char *include, int depth)
{
	struct strbuf key;
	sb_init(&key);
	sb_printf(&key, "%d:%s", (int)kind, text);
	if (kind == ALIAS_ADDRESS || kind == ALIAS_LOCAL)
		lower(key.s);
	int fresh = strset_add(&x->emitted, key.s);
	sb_free(&key);
	if (!fresh)
		return 0;
	struct alias_target t = {
		.kind = kind, .text = text, .alias = alias, .owner = owner,
		.include = include, .depth = depth,
	};
	if (x->fn(x->fnctx, &t) != 0) {
		x->stopped = 1;
		return ALIAS_STOPPED;
	}
	return 0;
}

static int expand_list(struct expander *x, const char *alias, const char *rhs,
		       const char *owner, const char *include, int depth);

/* The local part of an address we may expand further, or NULL. */
static char *local_part(struct expander *x, const char *addr)
{
	if (addr[0] == '"')
		return NULL;
	const char *at = strrchr(addr, '@');
	if (!at)
		return xstrdup(addr);
	if (at == addr || !x->opts || !x->opts->is_local_domain ||
	    !x->opts->is_local_domain(x->opts->ctx, at + 1))
		return NULL;
	return xstrndup(addr, (size_t)(at - addr));
}

static int in_chain(struct expander *x, const char *s)
{
	for (int i = 0; i < x->nchain; i++)
		if (strcmp(x->chain[i], s) == 0)
			return 1;
	return 0;
}

static int read_include(struct expander *x, const char *alias, const char *path,
			const char *owner, int depth)
{
	struct strbuf tag;
	sb_init(&tag);
	sb_printf(&tag, ":include:%s", path);
	if (depth > x->maxdepth || x->nchain >= (int)(sizeof(x->chain) / sizeof(x->chain[0])) - 1) {
		struct strbuf sb;
		sb_init(&sb);
		chain_text(x, tag.s, &sb);
		errf(x->err, x->errsize, "alias nesting too deep (more than %d levels): %s",
		       x->maxdepth, sb.s);
		sb_free(&sb);
		sb_free(&tag);
		return ALIAS_PERMFAIL;
	}
	if (in_chain(x, tag.s)) {
		struct strbuf sb;
		sb_init(&sb);
		chain_text(x, tag.s, &sb);
		errf(x->err, x->errsize, "aliasing loop: %s", sb.s);
		sb_free(&sb);
		sb_free(&tag);
		return ALIAS_PERMFAIL;
	}
	if (path[0] != '/') {
		errf(x->err, x->errsize, "%s: :include:%s: not an absolute path", alias, path);
		sb_free(&tag);
		return ALIAS_PERMFAIL;
	}
	/* O_NONBLOCK so that a FIFO cannot hang delivery; only regular files
	 * are read. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		int perm = e == 0 || e == ENOENT || e == EACCES || e == ENOTDIR ||
			   e == ELOOP || e == EISDIR;
		errf(x->err, x->errsize, "%s: cannot open :include: file %s: %s", alias,
		       path, e ? strerror(e) : "not a regular file");
		sb_free(&tag);
		return perm ? ALIAS_PERMFAIL : ALIAS_TEMPFAIL;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		errf(x->err, x->errsize, "%s: cannot read :include: file %s: %s", alias,
		       path, strerror(errno));
		sb_free(&tag);
		return ALIAS_TEMPFAIL;
	}
	x->chain[x->nchain++] = tag.s;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int rc = ALIAS_FOUND;
	while (rc == ALIAS_FOUND && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		const char *p = skip_wsp(line);
		if (*p == '\0' || *p == '#')
			continue;
		char perr[256];
		struct alias_list l;
		if (alias_parse_rhs(p, &l, perr, sizeof(perr)) != 0) {
			alias_list_free(&l);
			errf(x->err, x->errsize, "%s:%u: %s", path, lineno, perr);
			rc = ALIAS_PERMFAIL;
			break;
		}
		alias_list_free(&l);
		int r = expand_list(x, alias, p, owner, path, depth);
		if (r != ALIAS_FOUND)
			rc = r;
	}
	if (rc == ALIAS_FOUND && ferror(f)) {
		errf(x->err, x->errsize, "%s: cannot read :include: file %s", alias, path);
		rc = ALIAS_TEMPFAIL;
	}
	free(line);
	fclose(f);
	x->nchain--;
	sb_free(&tag);
	return rc;
}

/* Expands the alias name (known to exist, rhs its value) at depth. */
static int expand_alias(struct expander *x, const char *name, const char *rhs,
			const char *owner, int depth)
{
	if (depth > x->maxdepth || x->nchain >= (int)(sizeof(x->chain) / sizeof(x->chain[0])) - 1) {
		struct strbuf sb;
		sb_init(&sb);
		chain_text(x, name, &sb);
		errf(x->err, x->errsize, "alias nesting too deep (more than %d levels): %s",
		       x->maxdepth, sb.s);
		sb_free(&sb);
		return ALIAS_PERMFAIL;
	}
	/* owner-NAME becomes the envelope sender for this list's targets */
	char *ownername = xmalloc(strlen(name) + 7);
	sprintf(ownername, "owner-%s", name);
	char lerr[256];
	int r = lookup_now(x->a, ownername, NULL, lerr, sizeof(lerr));
	if (r == ALIAS_TEMPFAIL) {
		errf(x->err, x->errsize, "%s", lerr);
		free(ownername);
		return ALIAS_TEMPFAIL;
	}
	const char *use_owner = r == ALIAS_FOUND ? ownername : owner;
	x->chain[x->nchain++] = name;
	r = expand_list(x, name, rhs, use_owner, NULL, depth);
	x->nchain--;
	free(ownername);
	return r;
}

static int expand_list(struct expander *x, const char *alias, const char *rhs,
		       const char *owner, const char *include, int depth)
{
	struct alias_list l;
	char perr[256];
	if (alias_parse_rhs(rhs, &l, perr, sizeof(perr)) != 0) {
		errf(x->err, x->errsize, "alias %s: %s", alias, perr);
		alias_list_free(&l);
		return ALIAS_PERMFAIL;
	}
	int rc = ALIAS_FOUND;
	for (size_t i = 0; i < l.n && rc == ALIAS_FOUND; i++) {
		struct alias_item *it = &l.v[i];
		switch (it->kind) {
		case ALIAS_FILE:
		case ALIAS_PROGRAM:
		case ALIAS_ERROR:
		case ALIAS_LOCAL:
			if (emit(x, it->kind, it->text, alias, owner, include, depth))
				rc = ALIAS_STOPPED;
			break;
		case ALIAS_INCLUDE:
			rc = read_include(x, alias, it->text, owner, depth + 1);
			break;
		case ALIAS_ADDRESS: {
			char *lp = local_part(x, it->text);
			if (!lp) {
				if (emit(x, ALIAS_ADDRESS, it->text, alias, owner, include, depth))
					rc = ALIAS_STOPPED;
				break;
			}
			lower(lp);
			if (strcmp(lp, alias) == 0) {
				/* "bob: bob, ..." means bob's own mailbox */
				if (emit(x, ALIAS_LOCAL, lp, alias, owner, include, depth))
					rc = ALIAS_STOPPED;
				free(lp);
				break;
			}
			if (in_chain(x, lp)) {
				struct strbuf sb;
				sb_init(&sb);
				chain_text(x, lp, &sb);
				errf(x->err, x->errsize, "aliasing loop: %s", sb.s);
				sb_free(&sb);
				free(lp);
				rc = ALIAS_PERMFAIL;
				break;
			}
			char *sub = NULL;
			char lerr[256];
			int r = lookup_now(x->a, lp, &sub, lerr, sizeof(lerr));
			if (r == ALIAS_TEMPFAIL) {
				errf(x->err, x->errsize, "%s", lerr);
				rc = ALIAS_TEMPFAIL;
			} else if (r == ALIAS_NOTFOUND) {
				if (emit(x, ALIAS_ADDRESS, it->text, alias, owner, include, depth))
					rc = ALIAS_STOPPED;
			} else if (strset_add(&x->expanded, lp)) {
				rc = expand_alias(x, lp, sub, owner, depth + 1);
			}
			/* else: expanded already through another list */
			free(sub);
			free(lp);
			break;
		}
		}
	}
	alias_list_free(&l);
	return rc;
}

int alias_expand(struct aliases *a, const char *name,
		 const struct alias_expand_opts *opts,
		 alias_target_fn *fn, void *fnctx,
		 char *err, size_t errsize)
{
	if (aliases_refresh(a, err, errsize) != 0)
		return ALIAS_TEMPFAIL;
	char *key = xstrdup(name);
	lower(key);
	char *rhs = NULL;
	int r = lookup_now(a, key, &rhs, err, errsize);
	if (r != ALIAS_FOUND) {
		free(key);
		return r;
	}
	struct expander x;
	memset(&x, 0, sizeof(x));
	x.a = a;
	x.opts = opts;
	x.maxdepth = opts && opts->maxdepth > 0 ? opts->maxdepth : 10;
	if (x.maxdepth > 60)
		x.maxdepth = 60;
	x.fn = fn;
	x.fnctx = fnctx;
	x.err = err;
	x.errsize = errsize;
	strset_add(&x.expanded, key);
	r = expand_alias(&x, key, rhs, NULL, 1);
	strset_free(&x.expanded);
	strset_free(&x.emitted);
	free(rhs);
	free(key);
	return r;
}
