/* Unit tests for lib/aliases: the file grammar (continuations, comments,
 * quoting, errors with file:line), right-hand-side parsing, the database
 * newaliases writes (NUL-terminated keys and the "@" sentinel), and
 * expansion (lists, :include:, owner-, self reference, loops, depth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "map.h"
#include "strbuf.h"

static int setup(void **state)
{
	char tmpl[] = "/tmp/test_aliases.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	*state = strdup(d);
	return 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(*state);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (e->d_name[1] == 0 || e->d_name[1] == '.'))
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", (char *)*state, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(*state);
	free(*state);
	return 0;
}

static char *write_file(const char *dir, const char *name, const char *text)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* Collects reports and targets into strings for exact comparison. */
struct rec {
	struct strbuf s;
};

static void rec_report(void *ctx, int warning, const char *msg)
{
	struct rec *r = ctx;
	sb_printf(&r->s, "%s%s\n", warning ? "W " : "E ", msg);
}

static int rec_target(void *ctx, const struct alias_target *t)
{
	struct rec *r = ctx;
	sb_printf(&r->s, "%s:%s", alias_kind_name(t->kind), t->text);
	if (t->owner)
		sb_printf(&r->s, "[%s]", t->owner);
	if (t->include)
		sb_puts(&r->s, "{inc}");
	sb_puts(&r->s, " ");
	return 0;
}

static const char *strip_dir(struct strbuf *sb, const char *dir)
{
	/* "DIR/aliases:3: ..." -> "aliases:3: ..." for stable comparisons */
	size_t n = strlen(dir);
	char *p;
	while ((p = strstr(sb->s, dir)) != NULL) {
		memmove(p, p + n + 1, strlen(p + n + 1) + 1);
		sb->len -= n + 1;
	}
	return sb->s;
}

static void test_parse_rhs(void **state)
{
	(void)state;
	struct {
		const char *in;
		const char *want;	/* kind:text ... or "ERR" */
	} cases[] = {
		{ "hal@deer-run.com", "address:hal@deer-run.com " },
		{ "hal,laura,jim,staff-archive", "address:hal address:laura address:jim address:staff-archive " },
		{ " a ,\tb, ,c, ", "address:a address:b address:c " },
		{ "/var/archives/staff", "file:/var/archives/staff " },
		{ "|/etc/mail/infobot", "program:/etc/mail/infobot " },
		{ "\"|/etc/mail/majordomo/wrapper resend -l rock-pushers rock-pushers-outgoing\"",
		  "program:/etc/mail/majordomo/wrapper resend -l rock-pushers rock-pushers-outgoing " },
		{ "\"|/bin/prog a,b\", x", "program:/bin/prog a,b address:x " },
		{ ":include: /lists/customer-list", "include:/lists/customer-list " },
		{ ":include:/etc/mail/majordomo/lists/rock-pushers", "include:/etc/mail/majordomo/lists/rock-pushers " },
		/* seed 003 quotes the include with single quotes */
		{ "':include:/home/mailings/admin-list'", "include:/home/mailings/admin-list " },
		{ "\\root, admin", "local:root address:admin " },
		{ "Hal Pomeranz <hal@deer-run.com>, jim (Jim B)", "address:hal@deer-run.com address:jim " },
		{ "\"john doe\"@example.com", "address:\"john doe\"@example.com " },
		{ "error:5.1.1:550 User unknown", "error:5.1.1:550 User unknown " },
		{ "marc,", "address:marc " },
		{ "\xc2\xa0 postmaster", "address:postmaster " },
		{ "hal laura", "ERR" },
		{ "\"unterminated", "ERR" },
		{ "a (comment", "ERR" },
		{ "<a@b", "ERR" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct alias_list l;
		char err[256] = "";
		int r = alias_parse_rhs(cases[i].in, &l, err, sizeof(err));
		struct strbuf sb;
		sb_init(&sb);
		if (r != 0) {
			sb_puts(&sb, "ERR");
			assert_true(err[0] != '\0');
		} else {
			for (size_t k = 0; k < l.n; k++)
				sb_printf(&sb, "%s:%s ", alias_kind_name(l.v[k].kind), l.v[k].text);
		}
		if (strcmp(sb.s, cases[i].want) != 0)
			fail_msg("case %zu \"%s\": got \"%s\", want \"%s\"", i, cases[i].in, sb.s,
				 cases[i].want);
		sb_free(&sb);
		alias_list_free(&l);
	}
}

static const char seed_aliases[] =
	"# Sample aliases (seed 002 module 8)\n"
	"hal: hal@deer-run.com\n"
	"pomeranz: hal@deer-run.com\n"
	"\n"
	"staff: hal,laura,jim,\n"
	"\tstaff-archive\n"
	"staff-archive: /var/archives/staff\n"
	"PostMaster: staff\n"
	"abuse: staff\n"
	"info: |/etc/mail/infobot\n"
	"majordomo: \\\n"
	"   \"|/etc/mail/majordomo/wrapper majordomo\"\n"
	"owner-majordomo: hal\n";

static void test_file_read(void **state)
{
	const char *dir = *state;
	char *p = write_file(dir, "aliases", seed_aliases);
	struct alias_file af;
	struct rec r;
	sb_init(&r.s);
	char err[256];
	assert_int_equal(alias_file_read(p, &af, rec_report, &r, err, sizeof(err)), 0);
	assert_string_equal(r.s.s, "");
	assert_int_equal(af.n, 9);
	assert_int_equal(af.nerrors, 0);
	const struct alias_entry *e = alias_file_find(&af, "STAFF");
	assert_non_null(e);
	/* continuation lines are joined with their leading white space, as
	 * sendmail stores them */
	assert_string_equal(e->rhs, "hal,laura,jim,\tstaff-archive");
	assert_int_equal(e->line, 5);
	e = alias_file_find(&af, "postmaster");
	assert_non_null(e);
	assert_string_equal(e->name, "postmaster");
	e = alias_file_find(&af, "majordomo");
	/* "\" joins the next line; the white space after the colon is skipped */
	assert_string_equal(e->rhs, "\"|/etc/mail/majordomo/wrapper majordomo\"");
	assert_int_equal(e->line, 11);
	assert_non_null(alias_file_find(&af, "owner-majordomo"));
	assert_null(alias_file_find(&af, "laura"));
	alias_file_free(&af);
	sb_free(&r.s);
	free(p);
}

static void test_file_errors(void **state)
{
	const char *dir = *state;
	char *p = write_file(dir, "aliases",
			     "  leading: space\n"		/* 1 */
			     "ok: a\n"				/* 2 */
			     "nocolon\n"			/* 3 */
			     "\tcontinues nocolon? no: skipped\n"	/* 4: after an error */
			     "empty:   \n"			/* 5 */
			     "user@host: x\n"			/* 6 */
			     "bad: hal laura\n"			/* 7 */
			     "ok: b\n"				/* 8 */
			     "good: c\n");			/* 9 */
	struct alias_file af;
	struct rec r;
	sb_init(&r.s);
	char err[256];
	assert_int_equal(alias_file_read(p, &af, rec_report, &r, err, sizeof(err)), 0);
	assert_string_equal(strip_dir(&r.s, dir),
		"E aliases:1: non-continuation line starts with space\n"
		"E aliases:3: nocolon\tcontinues nocolon? no: skipped... illegal alias name\n"
		"E aliases:5: empty:   ... missing value for alias\n"
		"E aliases:6: user@host: x... illegal alias name\n"
		"E aliases:7: hal laura... bad address\n"
		"W aliases:8: warning: duplicate alias name ok (first at line 2); the later one is used\n");
	/* the bad-address line is kept (sendmail stores it too); ok is b */
	assert_int_equal(af.n, 3);
	assert_string_equal(alias_file_find(&af, "ok")->rhs, "b");
	assert_non_null(alias_file_find(&af, "bad"));
	assert_non_null(alias_file_find(&af, "good"));
	alias_file_free(&af);
	sb_free(&r.s);

	assert_int_equal(alias_file_read("/nonexistent/aliases", &af, NULL, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot open aliases file /nonexistent/aliases: No such file or directory");
	free(p);
}

struct dumped {
	struct strbuf s;
};

static int dump_fn(void *ctx, const void *k, size_t kl, const void *v, size_t vl)
{
	struct dumped *d = ctx;
	/* escape NULs so the test sees them */
	for (size_t i = 0; i < kl; i++)
		sb_puts(&d->s, ((const char *)k)[i] ? (char[]){ ((const char *)k)[i], 0 } : "\\0");
	sb_puts(&d->s, "=");
	for (size_t i = 0; i < vl; i++)
		sb_puts(&d->s, ((const char *)v)[i] ? (char[]){ ((const char *)v)[i], 0 } : "\\0");
	sb_puts(&d->s, "\n");
	return 0;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_rebuild_db(void **state)
{
	const char *dir = *state;
	char *p = write_file(dir, "aliases", seed_aliases);
	FILE *out = tmpfile();
	struct rec r;
	sb_init(&r.s);
	struct aliases_stats st;
	char err[256];
	assert_int_equal(aliases_rebuild_ex(p, out, rec_report, &r, &st, err, sizeof(err)), 0);
	assert_string_equal(r.s.s, "");
	rewind(out);
	char line[512];
	assert_non_null(fgets(line, sizeof(line), out));
	fclose(out);
	/* sendmail's counting (name + rhs bytes; longest rhs): sendmail
	 * 8.17.1's own newaliases prints these numbers for this file */
	char want[512];
	snprintf(want, sizeof(want), "%s: 9 aliases, longest 40 bytes, 222 bytes total\n", p);
	assert_string_equal(line, want);
	assert_int_equal(st.naliases, 9);
	assert_true(st.have_postmaster);

	char *dbp = malloc(strlen(p) + 4);
	sprintf(dbp, "%s.db", p);
	struct dumped d;
	sb_init(&d.s);
	assert_int_equal(map_dump(MAP_HASH, dbp, dump_fn, &d, err, sizeof(err)), 0);
	/* sort the hash order away */
	char *lines[32];
	size_t n = 0;
	for (char *s = strtok(d.s.s, "\n"); s && n < 32; s = strtok(NULL, "\n"))
		lines[n++] = s;
	qsort(lines, n, sizeof(lines[0]), line_cmp);
	struct strbuf all;
	sb_init(&all);
	for (size_t i = 0; i < n; i++)
		sb_printf(&all, "%s\n", lines[i]);
	assert_string_equal(all.s,
		"@\\0=@\\0\n"
		"abuse\\0=staff\\0\n"
		"hal\\0=hal@deer-run.com\\0\n"
		"info\\0=|/etc/mail/infobot\\0\n"
		"majordomo\\0=\"|/etc/mail/majordomo/wrapper majordomo\"\\0\n"
		"owner-majordomo\\0=hal\\0\n"
		"pomeranz\\0=hal@deer-run.com\\0\n"
		"postmaster\\0=staff\\0\n"
		"staff-archive\\0=/var/archives/staff\\0\n"
		"staff\\0=hal,laura,jim,\tstaff-archive\\0\n");
	sb_free(&all);
	sb_free(&d.s);
	sb_free(&r.s);

	/* no postmaster: a warning, still built; a bad line: rc 1 */
	char *p2 = write_file(dir, "aliases2", "a: b\nbroken line\n");
	sb_init(&r.s);
	assert_int_equal(aliases_rebuild_ex(p2, NULL, rec_report, &r, &st, err, sizeof(err)), 1);
	assert_false(st.have_postmaster);
	assert_int_equal(st.nerrors, 1);
	assert_non_null(strstr(r.s.s, "aliases2:2: broken line... "));
	assert_non_null(strstr(r.s.s, "W "));
	assert_non_null(strstr(r.s.s, "no postmaster alias"));
	sb_free(&r.s);

	/* an unreadable file: nothing written, error names it */
	assert_int_equal(aliases_rebuild_ex("/nonexistent/aliases", NULL, rec_report, &r, NULL,
					    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/aliases"));
	free(p);
	free(p2);
	free(dbp);
}

static char *expand(struct aliases *a, const char *name, const struct alias_expand_opts *o,
		    int *rc, char *err, size_t errsize)
{
	struct rec r;
	sb_init(&r.s);
	*rc = alias_expand(a, name, o, rec_target, &r, err, errsize);
	char *s = sb_steal(&r.s);
	sb_free(&r.s);
	return s;
}

static int is_ours(void *ctx, const char *domain)
{
	(void)ctx;
	return strcasecmp(domain, "mx.test.example") == 0;
}

/* The same expectations through the text file and through the .db. */
static void check_expansions(const char *dir, struct aliases *a)
{
	char err[512];
	int rc;
	char *got;
	struct alias_expand_opts o = { 0, is_ours, NULL };

	got = expand(a, "Staff", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_FOUND);
	assert_string_equal(got, "address:hal@deer-run.com[owner-staff] address:laura[owner-staff] "
			    "address:jim[owner-staff] file:/var/archives/staff[owner-staff] ");
	free(got);

	/* one copy each: hal through two lists */
	got = expand(a, "all", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_FOUND);
	assert_string_equal(got, "address:hal@deer-run.com[owner-staff] address:laura[owner-staff] "
			    "address:jim[owner-staff] file:/var/archives/staff[owner-staff] ");
	free(got);

	got = expand(a, "customers", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_FOUND);
	assert_string_equal(got, "address:c1@example.net{inc} address:c2@example.net{inc} "
			    "program:/bin/cat{inc} local:self address:other ");
	free(got);

	/* self reference: the mailbox, and the rest of the list */
	got = expand(a, "self", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_FOUND);
	assert_string_equal(got, "local:self address:other ");
	free(got);
	got = expand(a, "root", &o, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_FOUND);
	assert_string_equal(got, "local:root address:admin@elsewhere.example ");
	free(got);

	/* user@ourdomain expands when the caller says the domain is ours */
	got = expand(a, "viadomain", &o, &rc, err, sizeof(err));
	assert_string_equal(got, "address:hal@deer-run.com[owner-staff] address:laura[owner-staff] "
			    "address:jim[owner-staff] file:/var/archives/staff[owner-staff] ");
	free(got);
	got = expand(a, "viadomain", NULL, &rc, err, sizeof(err));
	assert_string_equal(got, "address:staff@mx.test.example ");
	free(got);

	got = expand(a, "loop1", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_PERMFAIL);
	assert_string_equal(err, "aliasing loop: loop1 -> loop2 -> loop3 -> loop1");
	free(got);

	got = expand(a, "d1", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_PERMFAIL);
	assert_string_equal(err, "alias nesting too deep (more than 10 levels): d1 -> d2 -> d3 -> d4 -> "
			    "d5 -> d6 -> d7 -> d8 -> d9 -> d10 -> d11");
	free(got);
	/* ten levels are fine */
	got = expand(a, "d2", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_FOUND);
	assert_string_equal(got, "address:end ");
	free(got);
	struct alias_expand_opts shallow = { 3, NULL, NULL };
	got = expand(a, "d8", &shallow, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_PERMFAIL);
	free(got);

	/* an include including itself */
	got = expand(a, "incloop", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_PERMFAIL);
	char want2[512];
	snprintf(want2, sizeof(want2), "aliasing loop: incloop -> :include:%s/loop-list -> "
		 ":include:%s/loop-list", dir, dir);
	assert_string_equal(err, want2);
	free(got);

	got = expand(a, "badinc", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_PERMFAIL);
	assert_string_equal(err, "badinc: cannot open :include: file /nonexistent/list: "
			    "No such file or directory");
	free(got);

	/* a directory (or FIFO) is refused, never read */
	char want[512];
	snprintf(want, sizeof(want), "dirinc: cannot open :include: file %s: not a regular file", dir);
	got = expand(a, "dirinc", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_PERMFAIL);
	assert_string_equal(err, want);
	free(got);

	got = expand(a, "nobody", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_NOTFOUND);
	assert_string_equal(got, "");
	free(got);

	char *rhs;
	assert_int_equal(aliases_lookup(a, "INFO", &rhs, err, sizeof(err)), ALIAS_FOUND);
	assert_string_equal(rhs, "\"|/usr/bin/vacation joe\"");
	free(rhs);
	got = expand(a, "info", NULL, &rc, err, sizeof(err));
	assert_string_equal(got, "program:/usr/bin/vacation joe ");
	free(got);
}

static int stop_after_one(void *ctx, const struct alias_target *t)
{
	(void)t;
	(*(int *)ctx)++;
	return 1;
}

static void test_expand_text_and_db(void **state)
{
	const char *dir = *state;
	char *inc = write_file(dir, "customer-list",
			       "# customers\n"
			       "c1@example.net, c2@example.net\n"
			       "\n"
			       "|/bin/cat\n"
			       "self\n");
	char *incloop_path = malloc(strlen(dir) + 16);
	sprintf(incloop_path, "%s/loop-list", dir);
	struct strbuf text;
	sb_init(&text);
	sb_printf(&text,
		  "hal: hal@deer-run.com\n"
		  "staff: laura, jim, hal, staff-archive\n"
		  "owner-staff: hal\n"
		  "staff-archive: /var/archives/staff\n"
		  "all: staff, hal, laura\n"
		  "postmaster: staff\n"
		  "customers: :include:%s\n"
		  "self: self, other\n"
		  "root: \\root, admin@elsewhere.example\n"
		  "viadomain: staff@mx.test.example\n"
		  "loop1: loop2\nloop2: loop3\nloop3: loop1\n"
		  "d1: d2\nd2: d3\nd3: d4\nd4: d5\nd5: d6\nd6: d7\nd7: d8\nd8: d9\n"
		  "d9: d10\nd10: d11\nd11: end\n"
		  "incloop: :include:%s\n"
		  "badinc: :include:/nonexistent/list\n"
		  "dirinc: :include:%s\n"
		  "info: \"|/usr/bin/vacation joe\"\n",
		  inc, incloop_path, dir);
	/* fix the staff order used by check_expansions: laura, jim, hal, archive */
	char *p = write_file(dir, "aliases", text.s);
	free(write_file(dir, "loop-list", "incloop\n"));
	char err[512];

	struct aliases *a = aliases_open(p, err, sizeof(err));
	assert_non_null(a);
	assert_string_equal(aliases_source(a), "text");
	/* staff lists laura first here; adapt the first expectation */
	int rc;
	char *got = expand(a, "staff", NULL, &rc, err, sizeof(err));
	assert_string_equal(got, "address:laura[owner-staff] address:jim[owner-staff] "
			    "address:hal@deer-run.com[owner-staff] file:/var/archives/staff[owner-staff] ");
	free(got);

	/* the callback can stop the expansion */
	int calls = 0;
	assert_int_equal(alias_expand(a, "staff", NULL, stop_after_one, &calls, err, sizeof(err)),
			 ALIAS_STOPPED);
	assert_int_equal(calls, 1);

	/* the text source is re-read when the file changes */
	struct stat st0;
	stat(p, &st0);
	sb_puts(&text, "newalias: fresh\n");
	free(write_file(dir, "aliases", text.s));
	got = expand(a, "newalias", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_FOUND);
	assert_string_equal(got, "address:fresh ");
	free(got);

	/* after newaliases the db is used (and the text is not consulted) */
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(aliases_rebuild_ex(p, devnull, NULL, NULL, NULL, err, sizeof(err)), 0);
	fclose(devnull);
	got = expand(a, "newalias", NULL, &rc, err, sizeof(err));
	assert_string_equal(aliases_source(a), "db");
	assert_string_equal(got, "address:fresh ");
	free(got);
	free(write_file(dir, "aliases", "other: x\n"));
	got = expand(a, "newalias", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_FOUND);
	free(got);
	aliases_close(a);

	sb_free(&text);
	free(inc);
	free(incloop_path);
	free(p);
}

/* The full set of expectations, once through the text and once through
 * the database built from it. */
static void test_expand_both_sources(void **state)
{
	const char *dir = *state;
	char *inc = write_file(dir, "customer-list",
			       "# customers\n"
			       "c1@example.net, c2@example.net\n"
			       "\n"
			       "|/bin/cat\n"
			       "self\n");
	char *incloop_path = malloc(strlen(dir) + 16);
	sprintf(incloop_path, "%s/loop-list", dir);
	{
		/* a list file that includes itself */
		struct strbuf ll;
		sb_init(&ll);
		sb_printf(&ll, "someone\n:include:%s\n", incloop_path);
		free(write_file(dir, "loop-list", ll.s));
		sb_free(&ll);
	}
	struct strbuf text;
	sb_init(&text);
	sb_printf(&text,
		  "hal: hal@deer-run.com\n"
		  "staff: hal, laura, jim, staff-archive\n"
		  "owner-staff: hal\n"
		  "staff-archive: /var/archives/staff\n"
		  "all: staff, hal, laura\n"
		  "postmaster: staff\n"
		  "customers: :include:%s\n"
		  "self: self, other\n"
		  "root: \\root, admin@elsewhere.example\n"
		  "viadomain: staff@mx.test.example\n"
		  "loop1: loop2\nloop2: loop3\nloop3: loop1\n"
		  "d1: d2\nd2: d3\nd3: d4\nd4: d5\nd5: d6\nd6: d7\nd7: d8\nd8: d9\n"
		  "d9: d10\nd10: d11\nd11: end\n"
		  "incloop: :include:%s\n"
		  "badinc: :include:/nonexistent/list\n"
		  "dirinc: :include:%s\n"
		  "info: \"|/usr/bin/vacation joe\"\n",
		  inc, incloop_path, dir);
	char *p = write_file(dir, "aliases", text.s);
	char err[512];
	struct aliases *a = aliases_open(p, err, sizeof(err));
	assert_non_null(a);
	assert_string_equal(aliases_source(a), "text");
	check_expansions(dir, a);
	aliases_close(a);

	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(aliases_rebuild_ex(p, devnull, NULL, NULL, NULL, err, sizeof(err)), 0);
	fclose(devnull);
	a = aliases_open(p, err, sizeof(err));
	assert_non_null(a);
	assert_string_equal(aliases_source(a), "db");
	check_expansions(dir, a);
	aliases_close(a);

	/* no file at all: an empty set, not an error */
	a = aliases_open("/nonexistent/aliases", err, sizeof(err));
	assert_non_null(a);
	int rc;
	char *got = expand(a, "root", NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, ALIAS_NOTFOUND);
	free(got);
	aliases_close(a);
	sb_free(&text);
	free(inc);
	free(incloop_path);
	free(p);
}

/* Seed 003's aliases, copied from a web page, separate with U+00A0 and
 * single-quote the include: both are read as the seed intends. */
static void test_seed003_nbsp(void **state)
{
	const char *dir = *state;
	char *p = write_file(dir, "aliases",
			     "mailer-daemon:\xc2\xa0  postmaster\n"
			     "postmaster:\xc2\xa0  root\n"
			     "root:\xc2\xa0  marc,\n"
			     "admin-list:\xc2\xa0  ':include:/home/mailings/admin-list'\n");
	struct alias_file af;
	struct rec r;
	sb_init(&r.s);
	char err[256];
	assert_int_equal(alias_file_read(p, &af, rec_report, &r, err, sizeof(err)), 0);
	assert_string_equal(r.s.s, "");
	assert_int_equal(af.n, 4);
	assert_string_equal(alias_file_find(&af, "mailer-daemon")->rhs, "postmaster");
	assert_string_equal(alias_file_find(&af, "root")->rhs, "marc,");
	struct alias_list l;
	assert_int_equal(alias_parse_rhs(alias_file_find(&af, "admin-list")->rhs, &l, err,
					 sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].kind, ALIAS_INCLUDE);
	assert_string_equal(l.v[0].text, "/home/mailings/admin-list");
	alias_list_free(&l);
	alias_file_free(&af);
	sb_free(&r.s);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rhs),
		cmocka_unit_test_setup_teardown(test_file_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seed003_nbsp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expand_text_and_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expand_both_sources, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
