/* Unit tests for lib/backoff: the retry schedule from K/N, MinQueueAge and
 * MaxQueueBackoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"

static void test_wait_table(void **state)
{
	(void)state;
	static const struct { int ntries; long min, max, want; } t[] = {
		{ 0, 0, 4000, 0 },		/* no MinQueueAge: no backoff */
		{ 5, 0, 4000, 0 },
		{ 0, 300, 4000, 300 },
		{ 1, 300, 4000, 300 },
		{ 2, 300, 4000, 600 },
		{ 3, 300, 4000, 1200 },
		{ 4, 300, 4000, 2400 },
		{ 5, 300, 4000, 4000 },		/* capped */
		{ 1000, 300, 4000, 4000 },	/* no overflow */
		{ 3, 600, 100, 600 },		/* a maximum below the minimum: the minimum */
		{ 40, 30 * 86400L, 30 * 86400L, 30 * 86400L },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(backoff_wait(t[i].ntries, t[i].min, t[i].max), t[i].want);
}

static void test_next_retry(void **state)
{
	(void)state;
	assert_int_equal(backoff_next_retry(0, 0, 300, 4000), 0);	/* never tried */
	assert_int_equal(backoff_next_retry(1000, 1, 0, 4000), 0);	/* no backoff */
	assert_int_equal(backoff_next_retry(1000, 1, 300, 4000), 1300);
	assert_int_equal(backoff_next_retry(1000, 3, 300, 4000), 2200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_table),
		cmocka_unit_test(test_next_retry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
