/* smtp_cmd: SMTP command line and MAIL/RCPT argument parsing. */
#include "smtp_cmd.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{ "HELO", SMTP_HELO }, { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
	{ "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
	{ "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT }, { "HELP", SMTP_HELP },
	{ "VRFY", SMTP_VRFY }, { "EXPN", SMTP_EXPN }, { "VERB", SMTP_VERB },
	{ "ETRN", SMTP_ETRN }, { "STARTTLS", SMTP_STARTTLS }, { "AUTH", SMTP_AUTH },
	{ "BDAT", SMTP_BDAT },
};

enum smtp_verb smtp_verb_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == len && strncasecmp(verbs[i].name, name, len) == 0)
			return verbs[i].verb;
	return SMTP_UNKNOWN;
}

const char *smtp_verb_name(enum smtp_verb v)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "UNKNOWN";
}

enum smtp_verb smtp_split(const char *line, const char **arg)
{
	const char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	const char *v = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	enum smtp_verb verb = smtp_verb_lookup(v, (size_t)(p - v));
	while (*p == ' ' || *p == '\t')
		p++;
	*arg = p;
	return verb;
}

int smtp_xtext_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 33 || *p > 126 || *p == '=')
			return 0;
		if (*p == '+') {
			if (!isxdigit(p[1]) || !isxdigit(p[2]))
				return 0;
			p += 2;
		}
	}
	return 1;
}

static int parse_params(const char *p, struct smtp_mailrcpt *mr, int *code, const char **why)
{
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		const char *start = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (mr->nparams == SMTP_MAX_PARAMS) {
			*code = 501;
			*why = "5.5.4 Too many parameters";
			return -1;
		}
		const char *eq = memchr(start, '=', (size_t)(p - start));
		struct esmtp_param *ep = &mr->params[mr->nparams];
		size_t klen = eq ? (size_t)(eq - start) : (size_t)(p - start);
		if (klen == 0) {
			*code = 501;
			*why = "5.5.4 Syntax error in parameters";
			return -1;
		}
		ep->key = xstrndup(start, klen);
		for (char *k = ep->key; *k; k++) {
			if (!isalnum((unsigned char)*k) && *k != '-') {
				free(ep->key);
				*code = 501;
				*why = "5.5.4 Syntax error in parameters";
				return -1;
			}
			*k = (char)toupper((unsigned char)*k);
		}
		ep->value = eq ? xstrndup(eq + 1, (size_t)(p - eq - 1)) : NULL;
		mr->nparams++;
		if (ep->value) {
			for (const unsigned char *c = (const unsigned char *)ep->value; *c; c++) {
				if (*c < 33 || *c > 126) {
					*code = 501;
					*why = "5.5.4 Invalid character in parameter value";
					return -1;
				}
			}
		}
	}
}

int smtp_parse_mailrcpt(const char *arg, const char *keyword, struct smtp_mailrcpt *mr,
			int *code, const char **why)
{
	memset(mr, 0, sizeof(*mr));
	size_t klen = strlen(keyword);
	if (strncasecmp(arg, keyword, klen) != 0) {
		*code = 501;
		*why = strcasecmp(keyword, "FROM") == 0
			? "5.5.2 Syntax error in parameters scanning \"from\""
			: "5.5.2 Syntax error in parameters scanning \"to\"";
		return -1;
	}
	const char *p = arg + klen;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ':') {
		*code = 501;
		*why = strcasecmp(keyword, "FROM") == 0
			? "5.5.2 Syntax error in parameters scanning \"from\""
			: "5.5.2 Syntax error in parameters scanning \"to\"";
		return -1;
	}
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*code = 501;
		*why = strcasecmp(keyword, "FROM") == 0
			? "5.5.2 Syntax error in parameters scanning \"from\""
			: "5.0.0 Missing recipient";
		return -1;
	}
	const char *end;
	if (addr_parse_path(p, &mr->path, &end, why) < 0) {
		*code = 553;
		return -1;
	}
	if (parse_params(end, mr, code, why) < 0) {
		smtp_mailrcpt_free(mr);
		return -1;
	}
	return 0;
}

void smtp_mailrcpt_free(struct smtp_mailrcpt *mr)
{
	addr_path_free(&mr->path);
	for (size_t i = 0; i < mr->nparams; i++) {
		free(mr->params[i].key);
		free(mr->params[i].value);
	}
	mr->nparams = 0;
}

const struct esmtp_param *smtp_param(const struct smtp_mailrcpt *mr, const char *key)
{
	for (size_t i = 0; i < mr->nparams; i++)
		if (strcasecmp(mr->params[i].key, key) == 0)
			return &mr->params[i];
	return NULL;
}
