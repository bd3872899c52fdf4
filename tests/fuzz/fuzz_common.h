/* fuzz_common.h: helpers shared by the libFuzzer harnesses (tests/fuzz). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A NUL-terminated copy of the input (the parsers take C strings). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Calls fn for each line of the input (split at '\n', line end removed). */
#define FUZZ_EACH_LINE(data, size, line, len, ...) do { \
	const char *p_ = (const char *)(data), *e_ = p_ + (size); \
	while (p_ < e_) { \
		const char *nl_ = memchr(p_, '\n', (size_t)(e_ - p_)); \
		const char *line = p_; \
		size_t len = (size_t)((nl_ ? nl_ : e_) - p_); \
		__VA_ARGS__; \
		p_ = nl_ ? nl_ + 1 : e_; \
	} \
} while (0)
#endif
