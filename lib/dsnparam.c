/* dsnparam: DSN (RFC 3461) parameters, parsed, checked and passed on. */
#include "dsnparam.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int dsn_xtext_valid(const char *v)
{
	if (v == NULL || *v == '\0')
		return 0;
	for (const char *p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '+') {
			if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]) ||
			    islower((unsigned char)p[1]) || islower((unsigned char)p[2]))
				return 0;
			p += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return 0;
		}
	}
	return 1;
}

static void add_flag(char *flags, size_t size, char f)
{
	size_t n = strlen(flags);
	if (!strchr(flags, f) && n + 1 < size) {
		flags[n] = f;
		flags[n + 1] = '\0';
	}
}

int dsn_parse_notify(const char *v, char *flags, size_t size)
{
	if (v == NULL || *v == '\0')
		return -1;
	int never = 0, other = 0;
	char got[8] = "";
	const char *p = v;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n == 5 && strncasecmp(p, "NEVER", 5) == 0)
			never = 1;
		else if (n == 7 && strncasecmp(p, "SUCCESS", 7) == 0)
			add_flag(got, sizeof(got), 'S'), other = 1;
		else if (n == 7 && strncasecmp(p, "FAILURE", 7) == 0)
			add_flag(got, sizeof(got), 'F'), other = 1;
		else if (n == 5 && strncasecmp(p, "DELAY", 5) == 0)
			add_flag(got, sizeof(got), 'D'), other = 1;
		else
			return -1;
		p += n;
		if (*p == ',') {
			p++;
			if (*p == '\0')
				return -1;
		}
	}
	if (never && other)
		return -1;
	add_flag(flags, size, 'N');
	for (const char *g = got; *g; g++)
		add_flag(flags, size, *g);
	return 0;
}

int dsn_orcpt_valid(const char *v)
{
	if (v == NULL)
		return -1;
	const char *semi = strchr(v, ';');
	if (semi == NULL || semi == v)
		return -1;
	for (const char *p = v; p < semi; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return -1;
	return dsn_xtext_valid(semi + 1) ? 0 : -1;
}

char dsn_parse_ret(const char *v)
{
	if (v && strcasecmp(v, "FULL") == 0)
		return 'F';
	if (v && strcasecmp(v, "HDRS") == 0)
		return 'H';
	return 0;
}

int dsn_notify_wanted(const char *rflags, char event)
{
	if (rflags == NULL || !strchr(rflags, 'N'))
		return event == 'F' || event == 'D';
	return strchr(rflags, event) != NULL;
}

static void append(char *buf, size_t size, const char *k, const char *v)
{
	size_t n = strlen(buf);
	snprintf(buf + n, size - n, "%s%s=%s", n ? " " : "", k, v);
}

void dsn_mail_params(const struct qf_env *env, char *buf, size_t size)
{
	/* what a qf holds is checked again: a value that is not xtext could
	 * carry a parameter of its own */
	if (env->envid && dsn_xtext_valid(env->envid) && strlen(env->envid) <= 100)
		append(buf, size, "ENVID", env->envid);
	if (qf_has_flag(env, 'd'))
		append(buf, size, "RET", qf_has_flag(env, 'n') ? "HDRS" : "FULL");
}

char *dsn_rcpt_params(const struct qf_rcpt *r)
{
	char buf[1200] = "";
	/* as sendmail's smtprcpt: NOTIFY= for a primary recipient that had one */
	if (r->flags && strchr(r->flags, 'N') && strchr(r->flags, 'P')) {
		char list[40] = "";
		if (strchr(r->flags, 'S'))
			strcat(list, "SUCCESS");
		if (strchr(r->flags, 'F'))
			strcat(list, list[0] ? ",FAILURE" : "FAILURE");
		if (strchr(r->flags, 'D'))
			strcat(list, list[0] ? ",DELAY" : "DELAY");
		append(buf, sizeof(buf), "NOTIFY", list[0] ? list : "NEVER");
	}
	if (r->orcpt && dsn_orcpt_valid(r->orcpt) == 0 && strlen(r->orcpt) <= 500)
		append(buf, sizeof(buf), "ORCPT", r->orcpt);
	return buf[0] ? xstrdup(buf) : NULL;
}
