/* virtual: sendmail's domaintable (old domain -> canonical domain) and
 * virtusertable ("user@domain" then "@domain" -> address, with %1 for the
 * user; repeated until nothing applies, at most 10 times).  Only the
 * envelope recipient changes; logs keep the original, as sendmail does. */
#include "mtad.h"
#include "addr.h"
#include "config.h"
#include "diag.h"
#include "map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct map_cache vut, dtab;

static struct map *get_map(struct map_cache *c, enum conf_id id, const char *what)
{
	return map_cache_get(c, conf_str(id), what);
}

/* MAP_FOUND, MAP_NOTFOUND or MAP_TEMPFAIL; *value malloc'd when found */
static int lookup(struct map *m, const char *key, char **value, const char *what)
{
	char err[512];
	int rc = map_lookup(m, key, value, err, sizeof(err));
	if (rc == MAP_TEMPFAIL)
		msg_warn("%s lookup of %s: %s", what, key, err);
	return rc;
}

int conf_is_virtual_domain(const char *domain)
{
	return domain && (localnames_in_virtuser_file(domain) || domaintable_has(domain));
}

int domaintable_has(const char *domain)
{
	struct map *m = get_map(&dtab, C_DOMAINTABLE, "domaintable");
	if (m == NULL || domain == NULL)
		return 0;
	char *v = NULL;
	int rc = lookup(m, domain, &v, "domaintable");
	free(v);
	return rc == MAP_FOUND;
}

/* "error:nouser text", "error:5.1.1:550 text", "error:550 text" ->
 * "D.S.N:CODE text" */
static void error_target(const char *v, char *out, size_t size)
{
	const char *p = v + 6;
	if (strncasecmp(p, "nouser", 6) == 0) {
		p += 6;
		while (*p == ' ')
			p++;
		snprintf(out, size, "5.1.1:550 %s", *p ? p : "User unknown");
		return;
	}
	if (strchr(p, ':') && p[1] == '.')
		snprintf(out, size, "%s", p);
	else
		snprintf(out, size, "5.0.0:%s", p);
}

int virtual_rewrite(const char *addr, char *out, size_t size)
{
	snprintf(out, size, "%s", addr);
	struct map *dt = get_map(&dtab, C_DOMAINTABLE, "domaintable");
	struct map *vt = get_map(&vut, C_VIRTUSERTABLE, "virtusertable");
	if ((*conf_str(C_DOMAINTABLE) && !dt) || (*conf_str(C_VIRTUSERTABLE) && !vt))
		return -1;	/* configured but unreadable (map_cache_get warned): 4xx */
	for (int round = 0; round < 10; round++) {
		char *local, *domain;
		addr_split(out, &local, &domain);
		int changed = 0, rc = 0;
		char *v = NULL;
		if (domain && dt) {
			int r = lookup(dt, domain, &v, "domaintable");
			if (r == MAP_TEMPFAIL)
				rc = -1;
			else if (r == MAP_FOUND) {
				snprintf(out, size, "%s@%s", local, v);
				changed = 1;
			}
			free(v);
			v = NULL;
		}
		if (!changed && rc == 0 && domain && vt &&
		    (conf_is_local_domain(domain) || conf_is_virtual_domain(domain))) {
			char key[600];
			const char *user = local;
			snprintf(key, sizeof(key), "%s@%s", local, domain);
			int r = lookup(vt, key, &v, "virtusertable");
			if (r == MAP_NOTFOUND) {
				snprintf(key, sizeof(key), "@%s", domain);
				r = lookup(vt, key, &v, "virtusertable");
			}
			if (r == MAP_TEMPFAIL) {
				rc = -1;
			} else if (r == MAP_FOUND) {
				if (strncasecmp(v, "error:", 6) == 0) {
					error_target(v, out, size);
					rc = 1;
				} else {
					const char *args[1] = { user };
					char *rw = map_rewrite(v, key, args, 1);
					if (strcasecmp(rw, out) != 0) {
						snprintf(out, size, "%s", rw);
						changed = 1;
					}
					free(rw);
				}
				free(v);
			}
		}
		free(local);
		free(domain);
		if (rc != 0)
			return rc;
		if (!changed)
			return 0;
	}
	return 0;
}
