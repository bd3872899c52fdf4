/* conf: mailq reads the same .mc and -O options as mtad, through lib/mc and
 * lib/config.  Only the queue directories matter here, so the macros that
 * mtad gives meaning to besides define() are passed over in silence; mtad
 * itself reports them. */
#include "mailq.h"
#include "config.h"
#include "diag.h"
#include "mc.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int mc_define(const struct mc_call *c, void *arg)
{
	(void)arg;
	if (strcmp(c->name, "define") != 0 || c->nargs < 1)
		return 0;
	const struct conf_param *p = conf_by_mcname(c->args[0]);
	if (p == NULL)
		return 0;
	char err[512];
	if (conf_set(p->id, c->nargs > 1 ? c->args[1] : "", err, sizeof(err)) < 0) {
		msg_error("%s:%d: %s", c->file, c->line, err);
		return -1;
	}
	return 0;
}

static int load_mc(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		msg_error("cannot open configuration %s: %s", path, strerror(errno));
		return -1;
	}
	struct strbuf sb;
	sb_init(&sb);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && sb.len <= 4 * 1024 * 1024)
		sb_append(&sb, buf, n);
	int bad = ferror(f);
	fclose(f);
	if (bad || sb.len > 4 * 1024 * 1024) {
		msg_error("cannot read %s%s", path, bad ? "" : ": larger than 4 MB");
		sb_free(&sb);
		return -1;
	}
	char err[512] = "";
	int rc = mc_parse(sb.s, sb.len, path, mc_define, NULL, err, sizeof(err));
	if (rc < 0 && err[0])
		msg_error("%s", err);
	sb_free(&sb);
	return rc;
}

int mq_conf_load(const char *mc_path, char **oopts, size_t noopts)
{
	conf_reset();
	if (mc_path && load_mc(mc_path) < 0)
		return -1;
	for (size_t i = 0; i < noopts; i++) {
		const char *eq = strchr(oopts[i], '=');
		char name[128], err[512];
		if (!eq || eq == oopts[i] || (size_t)(eq - oopts[i]) >= sizeof(name)) {
			msg_error("-O %s: expected Option=value", oopts[i]);
			return -1;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - oopts[i]), oopts[i]);
		const struct conf_param *p = conf_by_oname(name);
		if (p == NULL) {
			msg_error("-O %s: unknown option %s (see mtad.mc(5))", oopts[i], name);
			return -1;
		}
		if (conf_set(p->id, eq + 1, err, sizeof(err)) < 0) {
			msg_error("-O %s", err);
			return -1;
		}
	}
	return 0;
}
