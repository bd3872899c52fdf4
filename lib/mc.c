/* mc: .mc tokenizer and macro-call splitter. */
#include "mc.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mc_scan {
	const char *p, *end;
	int line;
};

static int scan_char(struct mc_scan *s)
{
	if (s->p >= s->end)
		return -1;
	char c = *s->p++;
	if (c == '\n')
		s->line++;
	return (unsigned char)c;
}

static void skip_to_eol(struct mc_scan *s)
{
	int c;
	while ((c = scan_char(s)) != -1 && c != '\n')
		;
}

/* Reads a quoted string after its opening `; appends its contents (inner
 * quotes kept) to out when out is not NULL.  Returns -1 if unterminated. */
static int read_quoted(struct mc_scan *s, struct strbuf *out)
{
	int depth = 1, c;
	while ((c = scan_char(s)) != -1) {
		if (c == '`')
			depth++;
		else if (c == '\'' && --depth == 0)
			return 0;
		if (out)
			sb_putc(out, (char)c);
	}
	return -1;
}

/* Bare words that act without an argument list. */
static int is_bare_macro(const char *name)
{
	static const char *const bare[] = { "LOCAL_CONFIG", "LOCAL_RULESETS", "LOCAL_RULE_0",
		"LOCAL_RULE_1", "LOCAL_RULE_2", "LOCAL_RULE_3", "LOCAL_NET_CONFIG",
		"MAILER_DEFINITIONS", NULL };
	for (int i = 0; bare[i]; i++)
		if (strcmp(bare[i], name) == 0)
			return 1;
	return 0;
}

static void call_free(struct mc_call *call)
{
	for (size_t i = 0; i < call->nargs; i++)
		free(call->args[i]);
	call->nargs = 0;
}

/* Reads an argument list after "(".  Returns 0, or -1 (unterminated). */
static int read_args(struct mc_scan *s, struct mc_call *call, char *err, size_t errsize)
{
	struct strbuf arg;
	int depth = 0, c, leading = 1;
	sb_init(&arg);
	for (;;) {
		c = scan_char(s);
		if (c == -1) {
			snprintf(err, errsize, "%s:%d: unterminated argument list of %s()",
				 call->file, call->line, call->name);
			goto fail;
		}
		if (leading && (c == ' ' || c == '\t' || c == '\n'))
			continue;
		leading = 0;
		if (c == '`') {
			int qline = s->line;
			if (read_quoted(s, &arg) < 0) {
				snprintf(err, errsize, "%s:%d: unterminated quote in %s() (opened on line %d)",
					 call->file, call->line, call->name, qline);
				goto fail;
			}
			continue;
		}
		if (c == '(')
			depth++;
		if (depth == 0 && (c == ',' || c == ')')) {
			if (call->nargs == MC_MAXARGS) {
				snprintf(err, errsize, "%s:%d: too many arguments to %s()",
					 call->file, call->line, call->name);
				goto fail;
			}
			call->args[call->nargs++] = sb_steal(&arg);
			if (c == ')')
				break;
			leading = 1;
			continue;
		}
		if (c == ')')
			depth--;
		sb_putc(&arg, (char)c);
	}
	sb_free(&arg);
	return 0;
fail:
	sb_free(&arg);
	call_free(call);
	return -1;
}

int mc_parse(const char *text, size_t len, const char *file,
	     int (*fn)(const struct mc_call *call, void *arg), void *arg,
	     char *err, size_t errsize)
{
	struct mc_scan s = { text, text + len, 1 };
	char name[128];
	int c;
	while ((c = scan_char(&s)) != -1) {
		if (c == '`') {
			int qline = s.line;
			if (read_quoted(&s, NULL) < 0) {
				snprintf(err, errsize, "%s:%d: unterminated quote", file, qline);
				return -1;
			}
			continue;
		}
		if (c == '#') {
			skip_to_eol(&s);
			continue;
		}
		if (!(isalpha(c) || c == '_'))
			continue;
		size_t n = 0;
		int line = s.line;
		name[n++] = (char)c;
		while (s.p < s.end && (isalnum((unsigned char)*s.p) || *s.p == '_')) {
			if (n + 1 < sizeof(name))
				name[n++] = *s.p;
			s.p++;
		}
		name[n] = '\0';
		if (strcmp(name, "dnl") == 0) {
			skip_to_eol(&s);
			continue;
		}
		struct mc_call call = { .name = name, .line = line, .file = file };
		if (s.p < s.end && *s.p == '(') {
			s.p++;
			if (read_args(&s, &call, err, errsize) < 0)
				return -1;
		} else if (!is_bare_macro(name)) {
			continue;
		}
		int rc = fn(&call, arg);
		call_free(&call);
		if (rc < 0)
			return -1;
	}
	return 0;
}
