/* Unit tests for lib/qfile: qf files written with qf_write and read back
 * with qf_read (every field), the raw V8 text, record injection through
 * CR/LF in values, every parse error with its file:line, qf_path with and
 * without qf/ df/ xf/ subdirectories, qf_scan, and the atomic write (no tf
 * left behind, mode 0600, lock kept on request). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define _XOPEN_SOURCE_EXTENDED 1
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qfile.h"

#define QID "k056SDUq003739"

/* ---- helpers ---------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int setup_dir(void **state)
{
	char *dir = strdup("/tmp/test_qfile.XXXXXX");
	if (dir == NULL || mkdtemp(dir) == NULL)
		return -1;
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	char *dir = *state;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return 0;
}

static char *slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (lenp)
		*lenp = n;
	return buf;
}

static void spew(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Number of lines in text that begin with c. */
static size_t lines_starting(const char *text, char c)
{
	size_t n = 0;
	for (const char *p = text; *p; ) {
		if (*p == c)
			n++;
		const char *nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return n;
}

static void fill_env(struct qf_env *env)
{
	qf_env_init(env);
	snprintf(env->qid, sizeof(env->qid), "%s", QID);
	env->ctime = 1136442493;
	env->ktime = 1136446093;
	env->ntries = 3;
	env->priority = 120345;
	qf_set(&env->inode, "8/1/123456");
	qf_set(&env->msg, "Deferred: Connection refused by mx.example.com.");
	qf_set(&env->flags, "b8");
	qf_set(&env->bodytype, "8BITMIME");
	qf_set(&env->envid, "QQ314159");
	qf_set(&env->auth, "<>");
	qf_set(&env->sender, "<sender@example.org>");
	qf_set(&env->ctladdr, "<root@localhost>");
	qf_set(&env->quarantine, "held for review");
	qf_env_set_macro(env, "_", "client.example [192.0.2.7]");
	qf_env_set_macro(env, "r", "ESMTP");
	qf_env_set_macro(env, "s", "client.example");
	qf_env_set_macro(env, "daemon_name", "MTA");
	qf_env_set_macro(env, "auth_type", "");
	qf_env_add_rcpt(env, "<one@example.com>", "PN", NULL);
	qf_env_add_rcpt(env, "<two@example.com>", "PSF", "rfc822;two@example.com");
	qf_env_add_rcpt(env, "three", "FD", NULL);
	qf_env_add_rcpt(env, "<@r1,@r2:four@example.com>", "PFD", "rfc822;four+x@example.com");
	hdrlist_add(&env->headers, "Received", " from client.example\n\tby mx.example.net; Thu, 5 Jan 2006");
	hdrlist_add(&env->headers, "Subject", " hello");
	hdrlist_add(&env->headers, "X-Folded", " a\n  b\n\tc");
	hdrlist_add(&env->headers, "X-Empty", "");
}

static void assert_env_equal(const struct qf_env *a, const struct qf_env *b)
{
	assert_string_equal(a->qid, b->qid);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->ctime, b->ctime);
	assert_int_equal(a->ktime, b->ktime);
	assert_int_equal(a->ntries, b->ntries);
	assert_int_equal(a->priority, b->priority);
#define SAME(f) do { if (a->f == NULL) assert_null(b->f); else assert_string_equal(a->f, b->f); } while (0)
	SAME(inode); SAME(msg); SAME(flags); SAME(bodytype); SAME(envid); SAME(auth);
	SAME(sender); SAME(ctladdr); SAME(quarantine);
	assert_int_equal(a->nmacros, b->nmacros);
	for (size_t i = 0; i < a->nmacros; i++) {
		SAME(macros[i].name);
		SAME(macros[i].value);
	}
	assert_int_equal(a->nrcpts, b->nrcpts);
	for (size_t i = 0; i < a->nrcpts; i++) {
		SAME(rcpts[i].addr);
		SAME(rcpts[i].flags);
		SAME(rcpts[i].orcpt);
	}
	assert_int_equal(a->headers.count, b->headers.count);
	for (size_t i = 0; i < a->headers.count; i++) {
		SAME(headers.h[i].name);
		SAME(headers.h[i].value);
	}
#undef SAME
}

/* ---- write / read ------------------------------------------------------ */

static void test_roundtrip(void **state)
{
	const char *dir = *state;
	struct qf_env env, back;
	char err[512] = "", path[4096];
	fill_env(&env);
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), 0);

	qf_path(path, sizeof(path), dir, 'q', QID);
	qf_env_init(&back);
	if (qf_read(path, &back, err, sizeof(err)) != 0)
		fail_msg("qf_read: %s", err);
	assert_env_equal(&env, &back);
	assert_string_equal(qf_env_macro(&back, "daemon_name"), "MTA");
	assert_string_equal(qf_env_macro(&back, "_"), "client.example [192.0.2.7]");
	assert_string_equal(qf_env_macro(&back, "auth_type"), "");
	assert_null(qf_env_macro(&back, "j"));
	qf_env_free(&back);
	qf_env_free(&env);
}

/* The exact text: sendmail's record letters, in the order the writer uses. */
static void test_raw_text(void **state)
{
	const char *dir = *state;
	struct qf_env env;
	char err[512], path[4096];
	fill_env(&env);
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), 0);
	qf_path(path, sizeof(path), dir, 'q', QID);
	char *text = slurp(path, NULL);
	assert_non_null(text);
	assert_string_equal(text,
		"V8\n"
		"T1136442493\n"
		"K1136446093\n"
		"N3\n"
		"P120345\n"
		"I8/1/123456\n"
		"B8BITMIME\n"
		"qheld for review\n"
		"MDeferred: Connection refused by mx.example.com.\n"
		"Fb8\n"
		"$_client.example [192.0.2.7]\n"
		"$rESMTP\n"
		"$sclient.example\n"
		"${daemon_name}MTA\n"
		"${auth_type}\n"
		"S<sender@example.org>\n"
		"ZQQ314159\n"
		"A<>\n"
		"C<root@localhost>\n"
		"RPN:<one@example.com>\n"
		"Qrfc822;two@example.com\n"
		"RPSF:<two@example.com>\n"
		"RFD:three\n"
		"Qrfc822;four+x@example.com\n"
		"RPFD:<@r1,@r2:four@example.com>\n"
		"H??Received: from client.example\n"
		"\tby mx.example.net; Thu, 5 Jan 2006\n"
		"H??Subject: hello\n"
		"H??X-Folded: a\n"
		"  b\n"
		"\tc\n"
		"H??X-Empty:\n"
		".\n");
	free(text);
	qf_env_free(&env);
}

/* Values with CR/LF must never start a record of their own. */
static void test_injection(void **state)
{
	const char *dir = *state;
	struct qf_env env, back;
	char err[512], path[4096];
	qf_env_init(&env);
	snprintf(env.qid, sizeof(env.qid), "%s", QID);
	qf_set(&env.sender, "a\nRevil@x");
	qf_set(&env.msg, "Deferred\r\nRroot@x\r\n.\r\n");
	qf_set(&env.envid, "id\nSforged@x");
	qf_set(&env.ctladdr, "\nH??X-Injected: 1");
	qf_env_set_macro(&env, "s", "helo\nRmacro@x");
	qf_env_add_rcpt(&env, "<ok@x>\nRextra@x", "P\nRflag@x", "rfc822;o\nRorcpt@x");
	hdrlist_add(&env.headers, "Subject", " x\nRhdr@x\n.\nS<forged@x>");
	hdrlist_add(&env.headers, "X-Name\nRname@x", " v");
	hdrlist_add(&env.headers, "X-CR", " a\rRcr@x");
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), 0);

	qf_path(path, sizeof(path), dir, 'q', QID);
	char *text = slurp(path, NULL);
	assert_non_null(text);
	assert_int_equal(lines_starting(text, 'R'), 1);
	assert_int_equal(lines_starting(text, 'Q'), 1);
	assert_int_equal(lines_starting(text, 'S'), 1);
	assert_int_equal(lines_starting(text, '.'), 1);
	assert_int_equal(lines_starting(text, 'H'), 3);
	assert_non_null(strstr(text, "\nSa Revil@x\n"));
	assert_non_null(strstr(text, "\nRPFD Rflag@x:<ok@x> Rextra@x\n"));
	assert_non_null(strstr(text, "\nH??Subject: x\n\tRhdr@x\n\t.\n\tS<forged@x>\n"));
	assert_non_null(strstr(text, "\nH??X-Name Rname@x: v\n"));
	assert_non_null(strstr(text, "\nH??X-CR: aRcr@x\n"));
	assert_non_null(strstr(text, "\nC H??X-Injected: 1\n"));
	assert_non_null(strstr(text, "\n$shelo Rmacro@x\n"));
	free(text);

	qf_env_init(&back);
	if (qf_read(path, &back, err, sizeof(err)) != 0)
		fail_msg("qf_read: %s", err);
	assert_string_equal(back.sender, "a Revil@x");
	assert_string_equal(back.msg, "Deferred  Rroot@x  .  ");
	assert_string_equal(back.envid, "id Sforged@x");
	assert_string_equal(back.ctladdr, " H??X-Injected: 1");
	assert_int_equal(back.nrcpts, 1);
	assert_string_equal(back.rcpts[0].addr, "<ok@x> Rextra@x");
	assert_string_equal(back.rcpts[0].flags, "PFD Rflag@x");
	assert_string_equal(back.rcpts[0].orcpt, "rfc822;o Rorcpt@x");
	assert_int_equal(back.nmacros, 1);
	assert_string_equal(qf_env_macro(&back, "s"), "helo Rmacro@x");
	assert_int_equal(back.headers.count, 3);
	assert_string_equal(back.headers.h[0].value, " x\n\tRhdr@x\n\t.\n\tS<forged@x>");
	assert_string_equal(back.headers.h[1].name, "X-Name Rname@x");
	qf_env_free(&back);
	qf_env_free(&env);
}


/* A qf Debian's sendmail 8.17.1.9 wrote (tests/data/sendmail-8.17/qf-smtp-dsn,
 * see its README): read, every record lands where it belongs, and written
 * back byte for byte. */
static const char sendmail_qf[] =
		"V8\n"
		"T1796360940\n"
		"K0\n"
		"N0\n"
		"P90048\n"
		"B8BITMIME\n"
		"Malias database unavailable\n"
		"F8dns\n"
		"$_localhost [127.0.0.1]\n"
		"$rESMTP\n"
		"$sclient.example\n"
		"${daemon_flags}\n"
		"S<carol@remote.example>\n"
		"Zabc+2Bdef\n"
		"Malias database unavailable\n"
		"rRFC822; nosuchuser@mx.example.org\n"
		"RPFD:<nosuchuser@mx.example.org>\n"
		"Qrfc822;Bob@Far.example\n"
		"rRFC822; bob@far.example\n"
		"RPNSF:<bob@far.example>\n"
		"rRFC822; dave@far.example\n"
		"RPN:<dave@far.example>\n"
		"H?P?Return-Path: <\201g>\n"
		"H??Received: from client.example (localhost [127.0.0.1])\n"
		"\tby mx.example.org (8.17.1.9/8.17.1.9) with ESMTP id 6B4590RK010481;\n"
		"\tFri, 4 Dec 2026 05:09:00 GMT\n"
		"H?D?Date: Fri, 4 Dec 2026 05:09:00 GMT\n"
		"H?M?Message-Id: <202612040509.6B4590RK010481@mx.example.org>\n"
		"H??Subject: dsn\n"
		"H??From: carol@remote.example\n"
		".\n";

static void test_sendmail_817_qf_both_ways(void **state)
{
	const char *dir = *state;
	struct qf_env env;
	char err[512] = "", path[4096];
	qf_env_init(&env);
	if (qf_parse(sendmail_qf, sizeof(sendmail_qf) - 1, "qf6B4590RK010481", &env, err, sizeof(err)) != 0)
		fail_msg("qf_parse: %s", err);
	assert_string_equal(env.bodytype, "8BITMIME");
	assert_string_equal(env.flags, "8dns");
	assert_true(qf_has_flag(&env, 'n'));
	assert_string_equal(env.envid, "abc+2Bdef");
	assert_string_equal(env.msg, "alias database unavailable");
	assert_int_equal(env.nrcpts, 3);
	assert_string_equal(env.rcpts[0].msg, "alias database unavailable");
	assert_string_equal(env.rcpts[0].final, "RFC822; nosuchuser@mx.example.org");
	assert_null(env.rcpts[0].orcpt);
	assert_string_equal(env.rcpts[1].flags, "PNSF");
	assert_string_equal(env.rcpts[1].orcpt, "rfc822;Bob@Far.example");
	assert_string_equal(env.rcpts[2].flags, "PN");
	assert_string_equal(env.headers.h[0].cond, "P");
	assert_string_equal(env.headers.h[0].value, " <\201g>");
	assert_string_equal(env.headers.h[2].cond, "D");
	assert_string_equal(env.headers.h[3].cond, "M");
	assert_null(env.headers.h[4].cond);
	snprintf(env.qid, sizeof(env.qid), "6B4590RK010481");
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), 0);
	qf_path(path, sizeof(path), dir, 'q', env.qid);
	char *text = slurp(path, NULL);
	assert_string_equal(text, sendmail_qf);
	free(text);
	qf_env_free(&env);
}

/* C records as sendmail's printctladdr writes them, one per change. */
static void test_ctladdr_records(void **state)
{
	const char *dir = *state;
	char buf[256], err[512], path[4096];
	qf_ctladdr_make(buf, sizeof(buf), "alice", 1000, 1000, "alice");
	assert_string_equal(buf, "alice:1000:1000:alice");
	qf_ctladdr_make(buf, sizeof(buf), "root", 0, 0, "root");
	assert_string_equal(buf, ":root");
	qf_ctladdr_show(buf, sizeof(buf), "alice:1000:1000:alice");
	assert_string_equal(buf, "alice (1000/1000)");
	qf_ctladdr_show(buf, sizeof(buf), ":root");
	assert_string_equal(buf, "root (0/0)");
	qf_ctladdr_show(buf, sizeof(buf), "bob (1001/1001)");	/* mtad 0.1's form */
	assert_string_equal(buf, "bob (1001/1001)");

	struct qf_env env, back;
	qf_env_init(&env);
	snprintf(env.qid, sizeof(env.qid), "%s", QID);
	qf_set(&env.sender, "<alice@h.example>");
	qf_env_add_rcpt(&env, "a@x", "P", NULL);
	qf_env_add_rcpt(&env, "b@x", "P", NULL);
	qf_env_add_rcpt(&env, "|/bin/prog", "PA", NULL);
	qf_env_add_rcpt(&env, "c@x", "P", NULL);
	env.rcpts[0].ctladdr = strdup("alice:1000:1000:alice");
	env.rcpts[1].ctladdr = strdup("alice:1000:1000:alice");
	env.rcpts[2].ctladdr = strdup("bob:1001:1001:bob");
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), 0);
	qf_path(path, sizeof(path), dir, 'q', QID);
	char *text = slurp(path, NULL);
	assert_non_null(strstr(text, "S<alice@h.example>\n"
				     "Calice:1000:1000:alice\nRPFD:a@x\nRPFD:b@x\n"
				     "Cbob:1001:1001:bob\nRPFDA:|/bin/prog\nC\nRPFD:c@x\n.\n"));
	free(text);
	qf_env_init(&back);
	if (qf_read(path, &back, err, sizeof(err)) != 0)
		fail_msg("qf_read: %s", err);
	assert_string_equal(back.ctladdr, "alice:1000:1000:alice");
	assert_string_equal(back.rcpts[1].ctladdr, "alice:1000:1000:alice");
	assert_string_equal(back.rcpts[2].ctladdr, "bob:1001:1001:bob");
	assert_null(back.rcpts[3].ctladdr);
	qf_env_free(&back);
	qf_env_free(&env);
}

/* The message's own octets that are internal characters in a qf (0x80-0x9f,
 * 0xff) are quoted with \377 as sendmail 8.17 quotes them: the Subject below
 * is what it wrote for "Subject: \xd0\x81\xd0\xb6 \xff\x81j" (UTF-8, then
 * octets that look like a macro).  Read back, they are the octets again. */
static void test_internal_chars_quoted(void **state)
{
	const char *dir = *state;
	struct qf_env env, back;
	char err[512], path[4096];
	qf_env_init(&env);
	snprintf(env.qid, sizeof(env.qid), "%s", QID);
	qf_set(&env.sender, "<a@b>");
	qf_env_add_rcpt(&env, "c@d", "P", NULL);
	hdrlist_add(&env.headers, "Subject", " \320\201\320\266 \377\201j");
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), 0);
	qf_path(path, sizeof(path), dir, 'q', QID);
	char *text = slurp(path, NULL);
	assert_non_null(strstr(text, "\nH??Subject: \320\377\201\320\266 \377\377\377\201j\n"));
	free(text);
	assert_int_equal(qf_msgsize(&env, 10), 10 + 8 + 12);	/* as readqf: the quoted octets */
	qf_env_init(&back);
	if (qf_read(path, &back, err, sizeof(err)) != 0)
		fail_msg("qf_read: %s", err);
	assert_string_equal(back.headers.h[0].value, " \320\201\320\266 \377\201j");
	assert_int_equal(back.headers.h[0].macros, 0);
	qf_env_free(&back);
	qf_env_free(&env);
	/* an unquoted \201 is a macro: the value stays in the internal form */
	static const char qf[] = "V8\nS<a@b>\nRP:c@d\nH?P?Return-Path: <\201g> \377\201\n.\n";
	qf_env_init(&back);
	assert_int_equal(qf_parse(qf, sizeof(qf) - 1, "qfX", &back, err, sizeof(err)), 0);
	assert_int_equal(back.headers.h[0].macros, 1);
	assert_string_equal(back.headers.h[0].value, " <\201g> \377\201");
	qf_env_free(&back);
	/* mtad 0.1 wrote UTF-8 unquoted: a \201 after a UTF-8 octet is text */
	static const char old[] = "V8\nS<a@b>\nRP:c@d\nH??Subject: \320\201j \320\201\320\266\n.\n";
	qf_env_init(&back);
	assert_int_equal(qf_parse(old, sizeof(old) - 1, "qfX", &back, err, sizeof(err)), 0);
	assert_int_equal(back.headers.h[0].macros, 0);
	assert_string_equal(back.headers.h[0].value, " \320\201j \320\201\320\266");
	qf_env_free(&back);
}

/* Flags and conditional, macro-bearing headers written as read. */
static void test_flags_and_conditions(void **state)
{
	(void)state;
	struct qf_env env;
	qf_env_init(&env);
	assert_false(qf_has_flag(&env, '8'));
	qf_add_flag(&env, 'b');
	qf_add_flag(&env, '8');
	qf_add_flag(&env, '8');
	assert_string_equal(env.flags, "8b");	/* sendmail's order: w r 8 b d n s */
	qf_add_flag(&env, 'X');
	qf_add_flag(&env, 'w');
	assert_string_equal(env.flags, "w8bX");
	assert_true(qf_has_flag(&env, 'b'));
	qf_env_free(&env);
	static const char text[] = "V8\nS<a@b>\nRP:c@d\nH?${daemon_flags}?X-Flagged: $j\nXbad\n.\n";
	char err[256] = "";
	qf_env_init(&env);
	assert_int_equal(qf_parse(text, sizeof(text) - 1, "qfX", &env, err, sizeof(err)), -1);
	assert_string_equal(err, "qfX:5: unknown record type");
	qf_env_free(&env);
}

static void test_write_atomic_mode(void **state)
{
	const char *dir = *state;
	struct qf_env env;
	char err[512], qf[4096], tf[4096];
	mode_t old = umask(0);	/* the 0600 must come from qf_write, not the umask */
	fill_env(&env);
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), 0);
	umask(old);
	qf_path(qf, sizeof(qf), dir, 'q', QID);
	qf_path(tf, sizeof(tf), dir, 't', QID);
	struct stat st;
	assert_int_equal(stat(qf, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_false(exists(tf));

	/* rewriting replaces the old file in place */
	env.ntries = 9;
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), 0);
	assert_false(exists(tf));
	struct qf_env back;
	qf_env_init(&back);
	assert_int_equal(qf_read(qf, &back, err, sizeof(err)), 0);
	assert_int_equal(back.ntries, 9);
	qf_env_free(&back);
	qf_env_free(&env);
}

/* A tf left by someone else makes the write fail; the qf stays as it was. */
static void test_write_existing_tf(void **state)
{
	const char *dir = *state;
	struct qf_env env;
	char err[512] = "", qf[4096], tf[4096], expect[4200];
	fill_env(&env);
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), 0);
	qf_path(qf, sizeof(qf), dir, 'q', QID);
	qf_path(tf, sizeof(tf), dir, 't', QID);
	size_t before_len;
	char *before = slurp(qf, &before_len);
	spew(tf, "partial", 7);
	env.ntries = 42;
	errno = 0;
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), -1);
	assert_int_equal(errno, EEXIST);
	snprintf(expect, sizeof(expect), "cannot create %s: %s", tf, strerror(EEXIST));
	assert_string_equal(err, expect);
	size_t after_len;
	char *after = slurp(qf, &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	char *tftext = slurp(tf, NULL);
	assert_string_equal(tftext, "partial");	/* not ours: not removed */
	free(before);
	free(after);
	free(tftext);
	qf_env_free(&env);
}

static void test_write_keep_lock(void **state)
{
	const char *dir = *state;
	struct qf_env env;
	char err[512], qf[4096];
	fill_env(&env);
	int fd = qf_write(dir, &env, 1, err, sizeof(err));
	assert_true(fd > 0);
	qf_path(qf, sizeof(qf), dir, 'q', QID);
	int other = open(qf, O_RDONLY);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	close(fd);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	qf_env_free(&env);
}

static void test_write_bad_dir(void **state)
{
	const char *dir = *state;
	struct qf_env env;
	char err[512], missing[4096], expect[4200];
	fill_env(&env);
	snprintf(missing, sizeof(missing), "%s/nonexistent", dir);
	assert_int_equal(qf_write(missing, &env, 0, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(expect, sizeof(expect), "cannot create %s/tf%s: %s", missing, QID, strerror(ENOENT));
	assert_string_equal(err, expect);
	qf_env_free(&env);
}

/* ---- reading ------------------------------------------------------------ */

/* A qf as sendmail writes it, with records we accept and ignore, ?flags?
 * headers and H lines without flags. */
static void test_parse_sendmail_qf(void **state)
{
	(void)state;
	static const char text[] =
		"V8\n"
		"T1136442493\n"
		"K0\n"
		"N0\n"
		"P30437\n"
		"I253/2/1187453\n"
		"MDeferred: 451 4.3.0 Temporary\n"
		"  failure\n"
		"Fbs\n"
		"$_localhost\n"
		"${daemon_flags}\n"
		"Sroot\n"
		"Eroot\n"
		"d/var/spool/mqueue\n"
		"!quarantined\n"
		"Qrfc822;x@y\n"
		"jj\n"
		"MDeferred: again\n"
		"rrfc822;user@example.com\n"
		"RPFD:user@example.com\n"
		"RPFD:other@example.com\n"
		"H?P?Return-Path: <g>\n"
		"H??Received: (from root@localhost)\n"
		"\tby host (8.13.8/8.13.8/Submit) id k056SDUq003739;\n"
		"\tThu, 5 Jan 2006 06:28:13 GMT\n"
		"HSubject: plain\n"
		".\n"
		"junk after the terminator is not read\n";
	struct qf_env env;
	char err[256] = "";
	qf_env_init(&env);
	if (qf_parse(text, sizeof(text) - 1, "qf" QID, &env, err, sizeof(err)) != 0)
		fail_msg("qf_parse: %s", err);
	assert_int_equal(env.version, 8);
	assert_int_equal(env.ctime, 1136442493);
	assert_int_equal(env.priority, 30437);
	/* an M before S is the message's; one after S belongs to the next R */
	assert_string_equal(env.msg, "Deferred: 451 4.3.0 Temporary\n  failure");
	assert_string_equal(env.sender, "root");
	assert_int_equal(env.nmacros, 2);
	assert_string_equal(qf_env_macro(&env, "_"), "localhost");
	assert_string_equal(qf_env_macro(&env, "daemon_flags"), "");
	assert_int_equal(env.nrcpts, 2);
	assert_string_equal(env.rcpts[0].addr, "user@example.com");
	assert_string_equal(env.rcpts[0].flags, "PFD");
	assert_string_equal(env.rcpts[0].orcpt, "rfc822;x@y");		/* Q: ORCPT */
	assert_string_equal(env.rcpts[0].final, "rfc822;user@example.com");	/* r: final */
	assert_string_equal(env.rcpts[0].msg, "Deferred: again");
	assert_null(env.rcpts[1].orcpt);	/* Q and r lines belong to one R line */
	assert_null(env.rcpts[1].final);
	assert_null(env.rcpts[1].msg);
	assert_int_equal(env.nextra, 4);	/* E, d, !, j: kept in order */
	assert_string_equal(env.extra[0], "Eroot");
	assert_string_equal(env.extra[3], "jj");
	assert_int_equal(env.headers.count, 3);
	assert_string_equal(env.headers.h[0].cond, "P");
	assert_null(env.headers.h[1].cond);
	assert_string_equal(env.headers.h[0].name, "Return-Path");
	assert_string_equal(env.headers.h[0].value, " <g>");
	assert_string_equal(env.headers.h[1].value,
		" (from root@localhost)\n\tby host (8.13.8/8.13.8/Submit) id k056SDUq003739;\n"
		"\tThu, 5 Jan 2006 06:28:13 GMT");
	assert_string_equal(env.headers.h[2].name, "Subject");
	assert_string_equal(env.headers.h[2].value, " plain");
	qf_env_free(&env);
}

struct ecase {
	const char *what;
	const char *text;
	size_t len;		/* 0: strlen(text) */
	const char *err;	/* exact, after "qfTEST:" */
};

static const struct ecase ecases[] = {
	{ "no_terminator", "V8\nT1\nSa@b\n", 0, "3: truncated queue file (no \".\" terminator)" },
	{ "no_newline", "V8\nSa@b\n.", 0, "3: truncated line (no newline)" },
	{ "no_newline_mid", "V8\nSa@", 0, "2: truncated line (no newline)" },
	{ "empty_file", "", 0, "0: truncated queue file (no \".\" terminator)" },
	{ "unknown_record", "V8\nSa@b\nXwhat\n.\n", 0, "3: unknown record type" },
	{ "unknown_record_before_cont", "V8\nYwhat\n more\nSa@b\n.\n", 0, "2: unknown record type" },
	{ "empty_line", "V8\nSa@b\n\nRP:x\n.\n", 0, "3: empty line" },
	{ "continuation_first", " cont\nV8\nSa@b\n.\n", 0, "1: continuation line with no record" },
	{ "continuation_after_empty", "V8\n\n\tcont\n.\n", 0, "2: empty line" },
	{ "nul_byte", "V8\nSa\0b\n.\n", 11, "2: NUL byte in queue file" },
	{ "nul_in_continuation", "V8\nSa@b\nHX: y\n \0\n.\n", 18, "4: NUL byte in queue file" },
	{ "bad_version", "V9\nSa@b\n.\n", 0, "1: unsupported version" },
	{ "bad_version_text", "Vx\nSa@b\n.\n", 0, "1: unsupported version" },
	{ "bad_T", "V8\nT12x\nSa@b\n.\n", 0, "2: bad T (creation time) record" },
	{ "bad_K", "V8\nK\nSa@b\n.\n", 0, "2: bad K (last run) record" },
	{ "bad_N", "V8\nN-1\nSa@b\n.\n", 0, "2: bad N (tries) record" },
	{ "bad_P", "V8\nP1.5\nSa@b\n.\n", 0, "2: bad P (priority) record" },
	{ "T_overflow", "V8\nT99999999999999999999999\nSa@b\n.\n", 0, "2: bad T (creation time) record" },
	{ "empty_rcpt", "V8\nSa@b\nRPF:\n.\n", 0, "3: empty recipient" },
	{ "empty_rcpt_noflags", "V8\nSa@b\nR\n.\n", 0, "3: empty recipient" },
	{ "bad_macro_empty", "V8\n$\nSa@b\n.\n", 0, "2: bad macro record" },
	{ "bad_macro_braces", "V8\n${}x\nSa@b\n.\n", 0, "2: bad macro record" },
	{ "bad_macro_open", "V8\n${name\nSa@b\n.\n", 0, "2: bad macro record" },
	{ "bad_header_nocolon", "V8\nSa@b\nH??NoColon\n.\n", 0, "3: bad header record" },
	{ "bad_header_flags", "V8\nSa@b\nH?P\n.\n", 0, "3: bad header record" },
	{ "bad_header_noname", "V8\nSa@b\nH??: x\n.\n", 0, "3: bad header record" },
	/* a bad record that spans lines is named by its first line */
	{ "bad_multiline", "V8\nSa@b\nH??bad\n cont\n more\n.\n", 0, "3: bad header record" },
	{ "no_sender", "V8\nT1\nRP:a@b\n.\n", 0, "4: no sender (S) record" },
};

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
		const struct ecase *c = &ecases[i];
		struct qf_env env;
		char err[256] = "", expect[300];
		size_t len = c->len ? c->len : strlen(c->text);
		qf_env_init(&env);
		int rc = qf_parse(c->text, len, "qfTEST", &env, err, sizeof(err));
		if (rc != -1)
			fail_msg("%s: accepted", c->what);
		snprintf(expect, sizeof(expect), "qfTEST:%s", c->err);
		if (strcmp(err, expect) != 0)
			fail_msg("%s: err \"%s\", want \"%s\"", c->what, err, expect);
		qf_env_free(&env);
	}
}

/* qf_read names the whole path in its errors and takes the ID from the name. */
static void test_read_file_errors(void **state)
{
	const char *dir = *state;
	char path[4096], err[4300], expect[4300];
	struct qf_env env;

	snprintf(path, sizeof(path), "%s/qf%s", dir, QID);
	spew(path, "V8\nT1\nSa@b\nRP:c@d\n", 18);
	qf_env_init(&env);
	assert_int_equal(qf_read(path, &env, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "%s:4: truncated queue file (no \".\" terminator)", path);
	assert_string_equal(err, expect);
	qf_env_free(&env);

	spew(path, "V8\nSa@b\nRP:c@d\n.\n", 17);
	qf_env_init(&env);
	assert_int_equal(qf_read(path, &env, err, sizeof(err)), 0);
	assert_string_equal(env.qid, QID);
	assert_int_equal(env.nrcpts, 1);
	qf_env_free(&env);

	snprintf(path, sizeof(path), "%s/qfmissing", dir);
	qf_env_init(&env);
	assert_int_equal(qf_read(path, &env, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(err, expect);
	qf_env_free(&env);
}

/* ---- paths and scanning ------------------------------------------------- */

static void test_path_flat(void **state)
{
	const char *dir = *state;
	char buf[4096], expect[4096];
	const char types[] = { 'q', 'd', 't', 'x', 'h' };
	for (size_t i = 0; i < sizeof(types); i++) {
		qf_path(buf, sizeof(buf), dir, types[i], QID);
		snprintf(expect, sizeof(expect), "%s/%cf%s", dir, types[i], QID);
		assert_string_equal(buf, expect);
	}
}

static void test_path_subdirs(void **state)
{
	const char *dir = *state;
	char buf[4096], expect[4096], sub[4096];
	/* only qf/ and df/ exist: xf stays at the top */
	snprintf(sub, sizeof(sub), "%s/qf", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/df", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	struct { char type; const char *fmt; } rows[] = {
		{ 'q', "%s/qf/qf%s" }, { 't', "%s/qf/tf%s" }, { 'd', "%s/df/df%s" },
		{ 'x', "%s/xf%s" }, { 'h', "%s/hf%s" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		qf_path(buf, sizeof(buf), dir, rows[i].type, QID);
		snprintf(expect, sizeof(expect), rows[i].fmt, dir, QID);
		assert_string_equal(buf, expect);
	}
	snprintf(sub, sizeof(sub), "%s/xf", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	qf_path_forget();	/* looked up at most once a second otherwise */
	qf_path(buf, sizeof(buf), dir, 'x', QID);
	snprintf(expect, sizeof(expect), "%s/xf/xf%s", dir, QID);
	assert_string_equal(buf, expect);

	/* a file named qf is not a subdirectory */
	snprintf(sub, sizeof(sub), "%s/plain", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	char qfname[4200];
	snprintf(qfname, sizeof(qfname), "%s/qf", sub);
	spew(qfname, "", 0);
	qf_path(buf, sizeof(buf), sub, 'q', QID);
	snprintf(expect, sizeof(expect), "%s/qf%s", sub, QID);
	assert_string_equal(buf, expect);

	/* qf_write follows the layout: the file lands in qf/, no tf anywhere */
	struct qf_env env;
	char err[512];
	fill_env(&env);
	assert_int_equal(qf_write(dir, &env, 0, err, sizeof(err)), 0);
	snprintf(expect, sizeof(expect), "%s/qf/qf%s", dir, QID);
	assert_true(exists(expect));
	snprintf(expect, sizeof(expect), "%s/qf%s", dir, QID);
	assert_false(exists(expect));
	snprintf(expect, sizeof(expect), "%s/qf/tf%s", dir, QID);
	assert_false(exists(expect));
	qf_env_free(&env);
}

struct scan_result {
	char ids[16][QID_MAXLEN];
	int n;
};

static void collect(const char *qid, void *arg)
{
	struct scan_result *r = arg;
	if (r->n < 16)
		snprintf(r->ids[r->n], QID_MAXLEN, "%s", qid);
	r->n++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_scan(void **state)
{
	const char *dir = *state;
	static const char *const names[] = {
		"qfk056SDUq003739", "qfk056SDUr003740", "qff5MNkVx28394",	/* valid */
		"dfk056SDUq003739", "tfk056SDUs003741", "xfk056SDUq003739",
		"qf", "qfgarbage", "qfk056SDUq00373", "Qfk056SDUq003739", "qfk056SDyq003739",
		"hfk056SDUq003739", "qfk056SDUq003739.bak",
	};
	char path[4096];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		spew(path, "", 0);
	}
	struct scan_result r = { .n = 0 };
	assert_int_equal(qf_scan(dir, collect, &r), 3);
	assert_int_equal(r.n, 3);
	qsort(r.ids, (size_t)r.n, QID_MAXLEN, cmp_str);
	assert_string_equal(r.ids[0], "f5MNkVx28394");
	assert_string_equal(r.ids[1], "k056SDUq003739");
	assert_string_equal(r.ids[2], "k056SDUr003740");

	/* with a qf/ subdirectory only that is scanned */
	snprintf(path, sizeof(path), "%s/qf", dir);
	remove(path);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/qf/qfk056SDUt003742", dir);
	spew(path, "", 0);
	snprintf(path, sizeof(path), "%s/qf/tfk056SDUu003743", dir);
	spew(path, "", 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(qf_scan(dir, collect, &r), 1);
	assert_string_equal(r.ids[0], "k056SDUt003742");

	snprintf(path, sizeof(path), "%s/none", dir);
	memset(&r, 0, sizeof(r));
	assert_int_equal(qf_scan(path, collect, &r), -1);
	assert_int_equal(r.n, 0);
}

/* ---- envelope helpers --------------------------------------------------- */

static void test_env_helpers(void **state)
{
	(void)state;
	struct qf_env env;
	qf_env_init(&env);
	assert_int_equal(env.version, 8);
	qf_env_set_macro(&env, "r", "SMTP");
	qf_env_set_macro(&env, "r", "ESMTP");	/* replaces, does not add */
	assert_int_equal(env.nmacros, 1);
	assert_string_equal(qf_env_macro(&env, "r"), "ESMTP");
	qf_env_add_rcpt(&env, "a@b", NULL, NULL);
	assert_string_equal(env.rcpts[0].flags, "");
	assert_null(env.rcpts[0].orcpt);
	qf_set(&env.sender, "x");
	qf_set(&env.sender, NULL);
	assert_null(env.sender);
	qf_env_free(&env);
	assert_int_equal(env.nrcpts, 0);
	assert_int_equal(env.nmacros, 0);
	assert_int_equal(env.version, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_raw_text, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_injection, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_atomic_mode, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_existing_tf, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_keep_lock, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_bad_dir, setup_dir, teardown_dir),
		cmocka_unit_test(test_parse_sendmail_qf),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test_setup_teardown(test_read_file_errors, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_path_flat, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_path_subdirs, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_scan, setup_dir, teardown_dir),
		cmocka_unit_test(test_env_helpers),
		cmocka_unit_test_setup_teardown(test_sendmail_817_qf_both_ways, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_ctladdr_records, setup_dir, teardown_dir),
		cmocka_unit_test(test_flags_and_conditions),
		cmocka_unit_test_setup_teardown(test_internal_chars_quoted, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
