/* fuzz_addr: addr_parse_path (RFC 5321 paths, source routes, quoting),
 * addr_split and addr_chars_ok. */
#include "fuzz_common.h"
#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *s = fuzz_cstr(data, size);
	struct smtp_path path;
	const char *end = NULL, *why = NULL;
	memset(&path, 0, sizeof(path));
	if (addr_parse_path(s, &path, &end, &why) == 0) {
		if (end == NULL || end < s || end > s + strlen(s))
			abort();
		if (path.addr == NULL)
			abort();
		if (strlen(path.addr) > ADDR_MAXLEN)
			abort();	/* the RFC 5321 bound is enforced */
		char *local = NULL, *domain = NULL;
		addr_split(path.addr, &local, &domain);
		free(local);
		free(domain);
		addr_path_free(&path);
	} else if (why == NULL) {
		abort();
	}
	(void)addr_chars_ok(s);
	char *local = NULL, *domain = NULL;
	addr_split(s, &local, &domain);
	free(local);
	free(domain);
	addr_lower(s);
	free(s);
	return 0;
}
