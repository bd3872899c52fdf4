/* show: --show ID prints one queued message as postcat -q does for
 * Postfix: the envelope (qf records, read by lib/qfile), the headers as
 * queued, and the body (df).  On a terminal, control characters other than
 * tab are shown as '?'. */
#include "mailq.h"
#include "diag.h"
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static void put_text(const char *s, size_t n, int tty)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (tty && ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f))
			c = '?';
		putchar(c);
	}
}

static void field(const char *name, const char *value, int tty)
{
	if (value == NULL)
		return;
	printf("%-13s ", name);
	put_text(value, strlen(value), tty);
	putchar('\n');
}

static void show_envelope(const struct qf_env *env, const char *qf, int tty)
{
	char t[64];
	printf("*** ENVELOPE RECORDS %s ***\n", qf);
	time_ctime(t, sizeof(t), env->ctime);
	printf("%-13s %s (%lld)\n", "created:", t, (long long)env->ctime);
	if (env->ktime > 0) {
		time_ctime(t, sizeof(t), env->ktime);
		printf("%-13s %s (%lld)\n", "last try:", t, (long long)env->ktime);
	}
	printf("%-13s %d\n", "tries:", env->ntries);
	printf("%-13s %ld\n", "priority:", env->priority);
	field("body type:", env->bodytype, tty);
	field("flags:", env->flags, tty);
	field("envid:", env->envid, tty);
	field("auth:", env->auth, tty);
	field("held:", env->quarantine, tty);
	field("reason:", env->msg, tty);
	field("sender:", env->sender, tty);
	field("ctladdr:", env->ctladdr, tty);
	for (size_t i = 0; i < env->nrcpts; i++) {
		printf("%-13s ", "recipient:");
		put_text(env->rcpts[i].addr, strlen(env->rcpts[i].addr), tty);
		if (env->rcpts[i].flags && *env->rcpts[i].flags)
			printf(" (flags %s)", env->rcpts[i].flags);
		if (env->rcpts[i].orcpt) {
			printf(" ORCPT=");
			put_text(env->rcpts[i].orcpt, strlen(env->rcpts[i].orcpt), tty);
		}
		putchar('\n');
	}
	for (size_t i = 0; i < env->nmacros; i++) {
		printf("%-13s $%s%s%s ", "macro:", strlen(env->macros[i].name) > 1 ? "{" : "",
		       env->macros[i].name, strlen(env->macros[i].name) > 1 ? "}" : "");
		put_text(env->macros[i].value, strlen(env->macros[i].value), tty);
		putchar('\n');
	}
}

int show_message(const char *qid)
{
	if (!qid_valid(qid)) {
		msg_error("--show %s: not a queue ID (see mailq --ids)", qid);
		return EX_USAGE;
	}
	int tty = isatty(STDOUT_FILENO);
	char qf[4096], df[4096], err[1024];
	qf_path(qf, sizeof(qf), mq.qdir, 'q', qid);
	struct qf_env env;
	qf_env_init(&env);
	if (qf_read(qf, &env, err, sizeof(err)) < 0) {
		int gone = access(qf, F_OK) < 0 && errno == ENOENT;
		if (gone) {
			qf_held_path(qf, sizeof(qf), mq.qdir, qid);	/* held by sendmail? */
			qf_env_free(&env);
			if (qf_read(qf, &env, err, sizeof(err)) == 0)
				goto found;
			msg_error("%s: not in %s (delivered, or a wrong ID; see mailq --ids)", qid,
				  mq.qdir);
			qf_env_free(&env);
			return EX_NOINPUT;
		}
		msg_error("%s", err);
		qf_env_free(&env);
		return EX_DATAERR;
	}
found:
	show_envelope(&env, qf, tty);
	printf("*** MESSAGE CONTENTS %s ***\n", qf);
	for (size_t i = 0; i < env.headers.count; i++) {
		const struct header *h = &env.headers.h[i];
		put_text(h->name, strlen(h->name), tty);
		putchar(':');
		put_text(h->value, strlen(h->value), tty);
		putchar('\n');
	}
	putchar('\n');
	qf_path(df, sizeof(df), mq.qdir, 'd', qid);
	FILE *f = fopen(df, "rb");
	int rc = 0;
	if (f == NULL) {
		msg_warn("%s: no body: %s: %s", qid, df, strerror(errno));
		rc = EX_NOINPUT;
	} else {
		char buf[16384];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			put_text(buf, n, tty);
		fclose(f);
	}
	printf("*** END OF MESSAGE %s ***\n", qid);
	qf_env_free(&env);
	return rc;
}
