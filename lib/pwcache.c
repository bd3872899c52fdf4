/* pwcache: getpwnam() answers kept for a few seconds (see pwcache.h). */
#include "pwcache.h"
#include "pwfile.h"

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct slot {
	int used;
	int found;
	long long when;		/* ms, CLOCK_MONOTONIC_COARSE */
	char key[64];		/* the name asked for */
	struct pw_entry pw;	/* when found */
};

static struct slot slots[PWCACHE_SLOTS];
static long ttl_ms = PWCACHE_TTL_MS;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* A vDSO clock: no system call. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asks /etc/passwd's table (NSS "files" first), then NSS: 1 found, 0 not
 * found, -1 failed. */
static int lookup(const char *name, struct pw_entry *pw)
{
	if (pwfile_byname(name, pw) == 1)
		return 1;
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	if (size < 1024)
		size = 16384;
	for (;;) {
		char *buf = malloc((size_t)size);
		if (buf == NULL)
			return -1;
		struct passwd pwd, *res = NULL;
		int rc = getpwnam_r(name, &pwd, buf, (size_t)size, &res);
		if (rc == ERANGE && size < 1024 * 1024) {
			free(buf);
			size *= 4;
			continue;
		}
		int ret;
		if (rc == 0 && res != NULL) {
			const char *dir = res->pw_dir ? res->pw_dir : "";
			if (strlen(res->pw_name) >= sizeof(pw->name) || strlen(dir) >= sizeof(pw->dir)) {
				errno = ENAMETOOLONG;
				ret = -1;
			} else {
				pw->uid = res->pw_uid;
				pw->gid = res->pw_gid;
				snprintf(pw->name, sizeof(pw->name), "%s", res->pw_name);
				snprintf(pw->dir, sizeof(pw->dir), "%s", dir);
				ret = 1;
			}
		} else if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM) {
			ret = 0;	/* getpwnam_r(3): all mean "not found" */
		} else {
			errno = rc;
			ret = -1;
		}
		free(buf);
		return ret;
	}
}

int pwcache_byname(const char *name, struct pw_entry *pw)
{
	size_t len = strlen(name);
	if (len == 0 || len >= sizeof(pw->name))
		return len == 0 ? 0 : lookup(name, pw);
	long long now = now_ms();
	pthread_mutex_lock(&lock);
	for (int i = 0; i < PWCACHE_SLOTS; i++) {
		struct slot *s = &slots[i];
		if (s->used && now - s->when < ttl_ms && now >= s->when && strcmp(s->key, name) == 0) {
			int found = s->found;
			if (found)
				*pw = s->pw;
			pthread_mutex_unlock(&lock);
			return found;
		}
	}
	pthread_mutex_unlock(&lock);
	struct pw_entry got;
	memset(&got, 0, sizeof(got));
	int rc = lookup(name, &got);
	if (rc < 0 || ttl_ms <= 0)
		goto out;
	pthread_mutex_lock(&lock);
	struct slot *victim = &slots[0];
	for (int i = 0; i < PWCACHE_SLOTS; i++) {
		struct slot *s = &slots[i];
		if (!s->used || strcmp(s->key, name) == 0) {
			victim = s;
			break;
		}
		if (s->when < victim->when)
			victim = s;
	}
	victim->used = 1;
	victim->found = rc;
	victim->when = now;
	snprintf(victim->key, sizeof(victim->key), "%s", name);
	victim->pw = got;
	pthread_mutex_unlock(&lock);
out:
	if (rc == 1)
		*pw = got;
	return rc;
}

void pwcache_clear(void)
{
	pthread_mutex_lock(&lock);
	memset(slots, 0, sizeof(slots));
	pthread_mutex_unlock(&lock);
}

void pwcache_set_ttl(long ms)
{
	pthread_mutex_lock(&lock);
	ttl_ms = ms;
	memset(slots, 0, sizeof(slots));
	pthread_mutex_unlock(&lock);
}
