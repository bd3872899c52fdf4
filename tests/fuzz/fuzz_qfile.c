/* fuzz_qfile: qf_parse, the one reader of sendmail V8 queue files (the
 * queue is trusted storage, but a damaged or planted file must only ever be
 * refused, never crash the runner). */
#include "fuzz_common.h"
#include "qfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	struct qf_env env;
	char err[512];
	qf_env_init(&env);
	if (qf_parse((const char *)data, size, "fuzz", &env, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < env.nrcpts; i++)
			if (env.rcpts[i].addr == NULL)
				abort();
		(void)qf_env_macro(&env, "_");
	}
	qf_env_free(&env);
	return 0;
}
