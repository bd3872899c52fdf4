/* strmap: a small open-addressing hash map from strings (which may hold
 * NUL bytes: keys are counted) to pointers, for IDs, Message-IDs and
 * transactions. */
#include "loggrep.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* keys are stored as [size_t len][bytes][NUL] */
static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t keylen(const char *k)
{
	size_t n;
	memcpy(&n, k, sizeof(n));
	return n;
}

void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t slot(const struct strmap *m, const char *key, size_t n)
{
	size_t i = (size_t)hash(key, n) & (m->cap - 1);
	while (m->keys[i]) {
		const char *k = m->keys[i];
		if (keylen(k) == n && memcmp(k + sizeof(size_t), key, n) == 0)
			return i;
		i = (i + 1) & (m->cap - 1);
	}
	return i;
}

void **strmap_get(const struct strmap *m, const char *key, size_t n)
{
	if (!m->cap)
		return NULL;
	size_t i = slot(m, key, n);
	return m->keys[i] ? &m->vals[i] : NULL;
}

static void grow(struct strmap *m)
{
	struct strmap old = *m;
	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = xcalloc(m->cap, sizeof(char *));
	m->vals = xcalloc(m->cap, sizeof(void *));
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.keys[i])
			continue;
		size_t j = slot(m, old.keys[i] + sizeof(size_t), keylen(old.keys[i]));
		m->keys[j] = old.keys[i];
		m->vals[j] = old.vals[i];
	}
	free(old.keys);
	free(old.vals);
}

void **strmap_put(struct strmap *m, const char *key, size_t n, int *created)
{
	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	size_t i = slot(m, key, n);
	if (created)
		*created = !m->keys[i];
	if (!m->keys[i]) {
		char *k = xmalloc(sizeof(size_t) + n + 1);
		memcpy(k, &n, sizeof(n));
		memcpy(k + sizeof(size_t), key, n);
		k[sizeof(size_t) + n] = '\0';
		m->keys[i] = k;
		m->vals[i] = NULL;
		m->n++;
	}
	return &m->vals[i];
}
