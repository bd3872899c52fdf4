/* fuzz_mc: mc_parse, the native .mc reader (m4 quoting, dnl, calls). */
#include "fuzz_common.h"
#include "mc.h"

static int count_call(const struct mc_call *call, void *arg)
{
	size_t *n = arg;
	if (call->nargs > MC_MAXARGS)
		abort();
	for (size_t i = 0; i < call->nargs; i++)
		if (call->args[i] == NULL)
			abort();
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	size_t n = 0;
	char err[512];
	(void)mc_parse((const char *)data, size, "fuzz.mc", count_call, &n, err, sizeof(err));
	return 0;
}
