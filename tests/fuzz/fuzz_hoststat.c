/* fuzz_hoststat: hoststat_parse, the reader of HostStatusDirectory files
 * (written by any queue runner, possibly by a sendmail beside us), and
 * hoststat_path, which turns a host key into a path and must never make one
 * that leaves the directory. */
#include "fuzz_common.h"
#include "hoststat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *s = fuzz_cstr(data, size);
	struct hoststat hs;
	memset(&hs, 0, sizeof(hs));
	(void)hoststat_parse(s, &hs);
	if (memchr(hs.dsn, '\0', sizeof(hs.dsn)) == NULL || memchr(hs.reply, '\0', sizeof(hs.reply)) == NULL)
		abort();
	char path[4096];
	if (hoststat_path("/d", s, path, sizeof(path)) == 0 && (strstr(path, "/../") || strncmp(path, "/d/", 3) != 0))
		abort();
	free(s);
	return 0;
}
