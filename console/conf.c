/* conf: the console reads the same .mc and -O options as mtad and mailq,
 * through lib/mc and lib/config.  It needs the queue directories, the
 * LogFile, the PidFile and the listeners; every other macro is mtad's to
 * give meaning to (and to complain about), so it is passed over here. */
#include "console.h"
#include "config.h"
#include "mc.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct mcctx {
	char *err;
	size_t errsize;
};

static int mc_call(const struct mc_call *c, void *arg)
{
	struct mcctx *x = arg;
	char err[512];
	if (strcmp(c->name, "define") == 0 && c->nargs >= 1) {
		const struct conf_param *p = conf_by_mcname(c->args[0]);
		if (p == NULL || p->id == C_DAEMON_PORT_OPTIONS)
			return 0;
		if (conf_set(p->id, c->nargs > 1 ? c->args[1] : "", err, sizeof(err)) < 0) {
			snprintf(x->err, x->errsize, "%s:%d: %s", c->file, c->line, err);
			return -1;
		}
		return 0;
	}
	if (strcmp(c->name, "DAEMON_OPTIONS") == 0) {
		struct strbuf sb;
		sb_init(&sb);
		for (size_t i = 0; i < c->nargs; i++)
			sb_printf(&sb, "%s%s", i ? ", " : "", c->args[i]);
		int rc = conf_set(C_DAEMON_PORT_OPTIONS, sb.s, err, sizeof(err));
		sb_free(&sb);
		if (rc < 0) {
			snprintf(x->err, x->errsize, "%s:%d: DAEMON_OPTIONS: %s", c->file, c->line, err);
			return -1;
		}
	}
	return 0;
}

static int load_mc(const char *path, char *err, size_t errsize)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errsize, "cannot open configuration %s: %s", path, strerror(errno));
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
		snprintf(err, errsize, "cannot read %s%s", path, bad ? "" : ": larger than 4 MB");
		sb_free(&sb);
		return -1;
	}
	struct mcctx x = { err, errsize };
	char perr[512] = "";
	err[0] = '\0';
	int rc = mc_parse(sb.s, sb.len, path, mc_call, &x, perr, sizeof(perr));
	if (rc < 0 && perr[0] && !err[0])
		snprintf(err, errsize, "%s", perr);
	sb_free(&sb);
	return rc;
}

int con_conf_load(const char *mc_path, char **oopts, size_t noopts, char *err, size_t errsize)
{
	conf_reset();
	if (mc_path && load_mc(mc_path, err, errsize) < 0)
		return -1;
	for (size_t i = 0; i < noopts; i++) {
		const char *eq = strchr(oopts[i], '=');
		char name[128], cerr[512];
		if (!eq || eq == oopts[i] || (size_t)(eq - oopts[i]) >= sizeof(name)) {
			snprintf(err, errsize, "-O %s: expected Option=value", oopts[i]);
			return -1;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - oopts[i]), oopts[i]);
		const struct conf_param *p = conf_by_oname(name);
		if (p == NULL) {
			snprintf(err, errsize, "-O %s: unknown option %s", oopts[i], name);
			return -1;
		}
		if (conf_set(p->id, eq + 1, cerr, sizeof(cerr)) < 0) {
			snprintf(err, errsize, "-O %s: %s", oopts[i], cerr);
			return -1;
		}
	}
	return 0;
}
