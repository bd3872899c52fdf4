/* Unit tests for lib/map: spec parsing, lookups with case folding and NUL
 * probing, optional maps, reopen after a rebuild, precise errors, the
 * atomic writer, dumping and %-rewriting.  Every test works in its own
 * temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <db.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "map.h"

static char *tmpdir_new(void)
{
	char tmpl[] = "/tmp/test_map.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static int setup(void **state)
{
	*state = tmpdir_new();
	return 0;
}

static int teardown(void **state)
{
	rm_rf(*state);
	free(*state);
	return 0;
}

static char *path_in(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

/* Writes pairs (key, value, key, value, ..., NULL) into dbpath through the
 * writer, with or without the trailing NUL as makemap -N does. */
static void build(enum map_type type, const char *dbpath, int nul, const char *const *kv)
{
	char err[256];
	struct map_writer *w = map_writer_open(type, dbpath, 0, 0, err, sizeof(err));
	assert_non_null(w);
	for (size_t i = 0; kv[i]; i += 2) {
		int r = map_writer_put(w, kv[i], strlen(kv[i]) + (size_t)nul,
				       kv[i + 1], strlen(kv[i + 1]) + (size_t)nul, 0,
				       err, sizeof(err));
		assert_int_equal(r, 0);
	}
	assert_int_equal(map_writer_commit(w, err, sizeof(err)), 0);
}

static void test_spec_parse(void **state)
{
	(void)state;
	struct map_spec s;
	char err[256];
	assert_int_equal(map_spec_parse("hash -o /etc/mail/access", &s, err, sizeof(err)), 0);
	assert_int_equal(s.type, MAP_HASH);
	assert_int_equal(s.flags, MAPF_OPTIONAL);
	assert_string_equal(s.path, "/etc/mail/access");
	assert_string_equal(s.dbpath, "/etc/mail/access.db");
	map_spec_free(&s);

	/* the .db is not doubled (seed 003 writes virtusertable.db) */
	assert_int_equal(map_spec_parse("hash -o /etc/mail/virtusertable.db", &s, err, sizeof(err)), 0);
	assert_string_equal(s.dbpath, "/etc/mail/virtusertable.db");
	map_spec_free(&s);

	assert_int_equal(map_spec_parse("  btree -N -f -T<TMPF> -a.FOUND /x/y ", &s, err, sizeof(err)), 0);
	assert_int_equal(s.type, MAP_BTREE);
	assert_int_equal(s.flags, MAPF_INCLNUL | MAPF_NOFOLD);
	assert_string_equal(s.tmpf_tag, "<TMPF>");
	assert_string_equal(s.append, ".FOUND");
	assert_string_equal(s.dbpath, "/x/y.db");
	map_spec_free(&s);

	assert_int_equal(map_spec_parse("hash -oN /x", &s, err, sizeof(err)), 0);
	assert_int_equal(s.flags, MAPF_OPTIONAL | MAPF_INCLNUL);
	map_spec_free(&s);

	assert_int_equal(map_spec_parse("dbm /etc/mail/x", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unsupported map class \"dbm\""));
	assert_int_equal(map_spec_parse("hash -o", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no file name"));
	assert_int_equal(map_spec_parse("", &s, err, sizeof(err)), -1);
	assert_int_equal(map_spec_parse("hash -Q /x", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown flag -Q"));
	assert_int_equal(map_spec_parse("hash /a /b", &s, err, sizeof(err)), -1);
}

static void test_lookup_fold_and_nul(void **state)
{
	const char *dir = *state;
	char *plain = path_in(dir, "plain.db"), *nul = path_in(dir, "nul.db");
	const char *kv[] = { "example.com", "RELAY", "10.1", "REJECT", NULL };
	build(MAP_HASH, plain, 0, kv);
	build(MAP_HASH, nul, 1, kv);
	char err[256], *v;
	char spec[512];

	for (int pass = 0; pass < 2; pass++) {
		snprintf(spec, sizeof(spec), "hash %s/%s", dir, pass ? "nul" : "plain");
		struct map *m = map_open(spec, err, sizeof(err));
		assert_non_null(m);
		/* keys fold to lower case; both NUL forms are tried */
		assert_int_equal(map_lookup(m, "Example.COM", &v, err, sizeof(err)), MAP_FOUND);
		assert_string_equal(v, "RELAY");
		free(v);
		assert_int_equal(map_lookup(m, "10.1", &v, err, sizeof(err)), MAP_FOUND);
		assert_string_equal(v, "REJECT");
		free(v);
		assert_int_equal(map_lookup(m, "10.2", &v, err, sizeof(err)), MAP_NOTFOUND);
		assert_null(v);
		assert_int_equal(map_lookup(m, "example.co", NULL, err, sizeof(err)), MAP_NOTFOUND);
		map_close(m);
	}
	/* -N looks only for keys with the NUL; -O only without */
	snprintf(spec, sizeof(spec), "hash -N %s/plain", dir);
	struct map *m = map_open(spec, err, sizeof(err));
	assert_int_equal(map_lookup(m, "example.com", NULL, err, sizeof(err)), MAP_NOTFOUND);
	map_close(m);
	snprintf(spec, sizeof(spec), "hash -N %s/nul", dir);
	m = map_open(spec, err, sizeof(err));
	assert_int_equal(map_lookup(m, "example.com", NULL, err, sizeof(err)), MAP_FOUND);
	map_close(m);
	snprintf(spec, sizeof(spec), "hash -O %s/nul", dir);
	m = map_open(spec, err, sizeof(err));
	assert_int_equal(map_lookup(m, "example.com", NULL, err, sizeof(err)), MAP_NOTFOUND);
	map_close(m);
	free(plain);
	free(nul);
}

static void test_nofold(void **state)
{
	const char *dir = *state;
	char *p = path_in(dir, "cs.db");
	const char *kv[] = { "MixedKey", "v1", "lower", "v2", NULL };
	build(MAP_BTREE, p, 0, kv);
	char err[256], spec[512], *v;
	snprintf(spec, sizeof(spec), "btree -f %s/cs", dir);
	struct map *m = map_open(spec, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(map_lookup(m, "MixedKey", &v, err, sizeof(err)), MAP_FOUND);
	assert_string_equal(v, "v1");
	free(v);
	assert_int_equal(map_lookup(m, "mixedkey", NULL, err, sizeof(err)), MAP_NOTFOUND);
	map_close(m);
	/* without -f the folded key cannot match the mixed-case one */
	snprintf(spec, sizeof(spec), "btree %s/cs", dir);
	m = map_open(spec, err, sizeof(err));
	assert_int_equal(map_lookup(m, "MixedKey", NULL, err, sizeof(err)), MAP_NOTFOUND);
	assert_int_equal(map_lookup(m, "LOWER", NULL, err, sizeof(err)), MAP_FOUND);
	map_close(m);
	free(p);
}

static void test_optional_and_errors(void **state)
{
	const char *dir = *state;
	char err[512], spec[512];
	snprintf(spec, sizeof(spec), "hash -o %s/missing", dir);
	struct map *m = map_open(spec, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(map_lookup(m, "x", NULL, err, sizeof(err)), MAP_NOTFOUND);
	/* the file appears later: it is picked up without reopening */
	char *p = path_in(dir, "missing.db");
	const char *kv[] = { "x", "found", NULL };
	build(MAP_HASH, p, 0, kv);
	char *v;
	assert_int_equal(map_lookup(m, "x", &v, err, sizeof(err)), MAP_FOUND);
	assert_string_equal(v, "found");
	free(v);
	/* and disappears again: empty again */
	unlink(p);
	assert_int_equal(map_lookup(m, "x", NULL, err, sizeof(err)), MAP_NOTFOUND);
	map_close(m);

	/* not optional: the error names the .db file */
	snprintf(spec, sizeof(spec), "hash %s/access", dir);
	assert_null(map_open(spec, err, sizeof(err)));
	char want[512];
	snprintf(want, sizeof(want), "cannot open map %s/access.db: No such file or directory", dir);
	assert_string_equal(err, want);

	/* a btree opened as hash: a precise message, not a crash */
	char *bt = path_in(dir, "bt.db");
	build(MAP_BTREE, bt, 0, kv);
	snprintf(spec, sizeof(spec), "hash %s/bt", dir);
	assert_null(map_open(spec, err, sizeof(err)));
	assert_non_null(strstr(err, "bt.db: not a hash map"));

	/* garbage is an error too, even for an optional map */
	char *junk = path_in(dir, "junk.db");
	FILE *f = fopen(junk, "w");
	fputs("this is not a database\n", f);
	fclose(f);
	snprintf(spec, sizeof(spec), "hash -o %s/junk", dir);
	assert_null(map_open(spec, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open map "));
	assert_non_null(strstr(err, "junk.db"));

	/* a map that vanishes after opening is a temporary failure */
	snprintf(spec, sizeof(spec), "btree %s/bt", dir);
	m = map_open(spec, err, sizeof(err));
	assert_non_null(m);
	unlink(bt);
	assert_int_equal(map_lookup(m, "x", NULL, err, sizeof(err)), MAP_TEMPFAIL);
	assert_non_null(strstr(err, "bt.db: No such file or directory"));
	map_close(m);
	free(p);
	free(bt);
	free(junk);
}

static void test_reopen_on_rebuild(void **state)
{
	const char *dir = *state;
	char *p = path_in(dir, "access.db");
	const char *kv1[] = { "spammer.example", "REJECT", NULL };
	build(MAP_HASH, p, 0, kv1);
	char err[256], spec[512], *v;
	snprintf(spec, sizeof(spec), "hash -o %s/access", dir);
	struct map *m = map_open(spec, err, sizeof(err));
	assert_non_null(m);
	unsigned g = map_generation(m);
	assert_int_equal(map_lookup(m, "spammer.example", &v, err, sizeof(err)), MAP_FOUND);
	assert_string_equal(v, "REJECT");
	free(v);
	assert_int_equal(map_generation(m), g);	/* unchanged file: no reopen */

	const char *kv2[] = { "spammer.example", "OK", "new.example", "RELAY", NULL };
	build(MAP_HASH, p, 0, kv2);	/* a new inode, renamed into place */
	assert_int_equal(map_lookup(m, "spammer.example", &v, err, sizeof(err)), MAP_FOUND);
	assert_string_equal(v, "OK");
	free(v);
	assert_int_equal(map_lookup(m, "new.example", &v, err, sizeof(err)), MAP_FOUND);
	assert_string_equal(v, "RELAY");
	free(v);
	assert_int_equal(map_generation(m), g + 1);
	map_close(m);
	free(p);
}

static void test_writer_dup_replace_abort(void **state)
{
	const char *dir = *state;
	char *p = path_in(dir, "w.db");
	char err[256];
	struct map_writer *w = map_writer_open(MAP_HASH, p, 0, 0, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(map_writer_put(w, "k", 1, "one", 3, 0, err, sizeof(err)), 0);
	assert_int_equal(map_writer_put(w, "k", 1, "two", 3, 0, err, sizeof(err)), 1);
	assert_int_equal(map_writer_put(w, "j", 1, "x", 1, 0, err, sizeof(err)), 0);
	/* nothing visible before the commit */
	struct stat st;
	assert_int_equal(stat(p, &st), -1);
	assert_int_equal(map_writer_commit(w, err, sizeof(err)), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	char spec[512], *v;
	snprintf(spec, sizeof(spec), "hash %s/w", dir);
	struct map *m = map_open(spec, err, sizeof(err));
	assert_int_equal(map_lookup(m, "k", &v, err, sizeof(err)), MAP_FOUND);
	assert_string_equal(v, "one");	/* the duplicate was not stored */
	free(v);
	map_close(m);

	/* replace */
	w = map_writer_open(MAP_HASH, p, 0, 0, err, sizeof(err));
	assert_int_equal(map_writer_put(w, "k", 1, "one", 3, 1, err, sizeof(err)), 0);
	assert_int_equal(map_writer_put(w, "k", 1, "two", 3, 1, err, sizeof(err)), 0);
	assert_int_equal(map_writer_commit(w, err, sizeof(err)), 0);
	m = map_open(spec, err, sizeof(err));
	assert_int_equal(map_lookup(m, "k", &v, err, sizeof(err)), MAP_FOUND);
	assert_string_equal(v, "two");
	free(v);
	assert_int_equal(map_lookup(m, "j", NULL, err, sizeof(err)), MAP_NOTFOUND);

	/* abort leaves the old map and no temporary file behind */
	w = map_writer_open(MAP_HASH, p, 0, 0, err, sizeof(err));
	assert_int_equal(map_writer_put(w, "k", 1, "three", 5, 1, err, sizeof(err)), 0);
	map_writer_abort(w);
	assert_int_equal(map_lookup(m, "k", &v, err, sizeof(err)), MAP_FOUND);
	assert_string_equal(v, "two");
	free(v);
	map_close(m);
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 1);

	/* append (makemap -o) keeps the old records */
	w = map_writer_open(MAP_HASH, p, MAPW_APPEND, 0, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(map_writer_put(w, "k", 1, "x", 1, 0, err, sizeof(err)), 1);
	assert_int_equal(map_writer_put(w, "n", 1, "new", 3, 0, err, sizeof(err)), 0);
	assert_int_equal(map_writer_commit(w, err, sizeof(err)), 0);
	m = map_open(spec, err, sizeof(err));
	assert_int_equal(map_lookup(m, "k", NULL, err, sizeof(err)), MAP_FOUND);
	assert_int_equal(map_lookup(m, "n", NULL, err, sizeof(err)), MAP_FOUND);
	map_close(m);

	/* a directory we cannot create in: the error names the map */
	w = map_writer_open(MAP_HASH, "/nonexistent-dir/x.db", 0, 0, err, sizeof(err));
	assert_null(w);
	assert_string_equal(err, "cannot create map /nonexistent-dir/x.db: No such file or directory");
	free(p);
}

struct collect {
	char buf[1024];
};

static int collect_fn(void *ctx, const void *k, size_t kl, const void *v, size_t vl)
{
	struct collect *c = ctx;
	size_t n = strlen(c->buf);
	snprintf(c->buf + n, sizeof(c->buf) - n, "%.*s=%.*s(%zu,%zu);", (int)kl, (const char *)k,
		 (int)vl, (const char *)v, kl, vl);
	return 0;
}

static void test_dump_btree_order(void **state)
{
	const char *dir = *state;
	char *p = path_in(dir, "d.db");
	const char *kv[] = { "b", "2", "a", "1", "c", "3", NULL };
	build(MAP_BTREE, p, 1, kv);
	struct collect c = { "" };
	char err[256];
	assert_int_equal(map_dump(MAP_BTREE, p, collect_fn, &c, err, sizeof(err)), 0);
	/* sizes include the NUL (-N style): printed text stops at it */
	assert_string_equal(c.buf, "a=1(2,2);b=2(2,2);c=3(2,2);");
	assert_int_equal(map_dump(MAP_HASH, p, collect_fn, &c, err, sizeof(err)), -1);
	free(p);
}

static void test_matchonly_append_rewrite(void **state)
{
	const char *dir = *state;
	char *p = path_in(dir, "m.db");
	const char *kv[] = { "user@example.com", "%1+%2@other.example", NULL };
	build(MAP_HASH, p, 0, kv);
	char err[256], spec[512], *v;
	snprintf(spec, sizeof(spec), "hash -m -a.MATCH %s/m", dir);
	struct map *m = map_open(spec, err, sizeof(err));
	assert_int_equal(map_lookup(m, "User@Example.com", &v, err, sizeof(err)), MAP_FOUND);
	assert_string_equal(v, "User@Example.com.MATCH");
	free(v);
	map_close(m);

	const char *args[] = { "joe", "list" };
	v = map_rewrite("%1+%2@other.example %% %0 %3", "key", args, 2);
	assert_string_equal(v, "joe+list@other.example % key ");
	free(v);
	free(p);
}

/* map_cache_get: opened once and kept; a map that cannot be opened is not
 * tried again within the minute; a new spec is opened at once. */
static void test_map_cache(void **state)
{
	const char *dir = *state;
	char *base = path_in(dir, "cached");
	char *db = path_in(dir, "cached.db");
	char spec[600];
	snprintf(spec, sizeof(spec), "hash %s", base);
	struct map_cache c;
	memset(&c, 0, sizeof(c));
	assert_null(map_cache_get(&c, "", "test"));
	assert_null(map_cache_get(&c, spec, "test"));		/* missing, not optional */
	static const char *const kv[] = { "k", "v", NULL };
	build(MAP_HASH, db, 1, kv);
	assert_null(map_cache_get(&c, spec, "test"));		/* not retried yet */
	c.failed_at -= 61;					/* a minute later */
	struct map *m = map_cache_get(&c, spec, "test");
	assert_non_null(m);
	assert_ptr_equal(map_cache_get(&c, spec, "test"), m);	/* kept */
	char spec2[600];
	snprintf(spec2, sizeof(spec2), "hash -o %s", base);
	struct map *m2 = map_cache_get(&c, spec2, "test");	/* another spec: reopened */
	assert_non_null(m2);
	char *v = NULL, err[256];
	assert_int_equal(map_lookup(m2, "k", &v, err, sizeof(err)), MAP_FOUND);
	assert_string_equal(v, "v");
	free(v);
	map_close(c.map);
	free(base);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test_setup_teardown(test_lookup_fold_and_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nofold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_optional_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_on_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_dup_replace_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_btree_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_matchonly_append_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_cache, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
