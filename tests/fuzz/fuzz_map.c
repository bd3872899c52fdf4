/* fuzz_map: the text forms of maps and aliases: map specs ("hash -o
 * /path", as FEATURE lines and K lines give them), map_rewrite (%0/%1
 * substitution of a looked-up value) and alias right-hand sides
 * (alias_parse_rhs, also used for :include: lines).  makemap's own line
 * splitting lives in tools/makemap/main.c and is not reachable from lib. */
#include "fuzz_common.h"
#include "aliases.h"
#include "map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	char *s = fuzz_cstr(data, size);
	char err[512];
	struct map_spec spec;
	memset(&spec, 0, sizeof(spec));
	if (map_spec_parse(s, &spec, err, sizeof(err)) == 0)
		map_spec_free(&spec);
	const char *args[] = { "one", "two" };
	char *rw = map_rewrite(s, "key", args, 2);
	free(rw);
	struct alias_list l;
	memset(&l, 0, sizeof(l));
	(void)alias_parse_rhs(s, &l, err, sizeof(err));
	alias_list_free(&l);
	free(s);
	return 0;
}
