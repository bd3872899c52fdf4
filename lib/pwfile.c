/* pwfile: /etc/passwd in a hash table, for NSS "files" (see pwfile.h). */
#include "pwfile.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PWFILE_MAX (64L * 1024 * 1024)	/* a larger passwd file is left to NSS */

struct rec {
	const char *name, *dir;
	uid_t uid;
	gid_t gid;
};

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;	/* ctime: a write that put mtime back (touch -r) */
	int exists;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char passwd_path[1024] = "/etc/passwd", nss_path[1024] = "/etc/nsswitch.conf";
static int usable;		/* the table answers */
static char *text;		/* the file; the records point into it */
static struct rec *recs;
static size_t nrecs;
static size_t *slots;		/* record index + 1, 0 empty */
static size_t nslots;
static long long checked_ms;
static long recheck_ms = 1000;
static int loaded_once;
static struct file_id passwd_id, nss_id;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct file_id id_of(const char *path)
{
	struct file_id id;
	struct stat st;
	memset(&id, 0, sizeof(id));
	if (stat(path, &st) == 0) {
		id.exists = 1;
		id.dev = st.st_dev;
		id.ino = st.st_ino;
		id.size = st.st_size;
		id.mtime = st.st_mtim;
		id.ctime = st.st_ctim;
	}
	return id;
}

static int same_id(const struct file_id *a, const struct file_id *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Reads a whole file (at most PWFILE_MAX bytes) as a string, or NULL. */
static char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PWFILE_MAX) {
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > (size_t)PWFILE_MAX) {
				free(buf);
				close(fd);
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* nsswitch.conf's passwd line names "files" first. */
static int files_first(const char *path)
{
	char *conf = slurp(path);
	if (conf == NULL)
		return 0;
	int yes = 0;
	for (char *line = conf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (strncmp(line, "passwd:", 7) != 0)
			continue;
		char *p = line + 7;
		while (isspace((unsigned char)*p))
			p++;
		size_t n = strcspn(p, " \t[");
		yes = n == 5 && strncmp(p, "files", 5) == 0;
		break;
	}
	free(conf);
	return yes;
}

/* A decimal id; -1 when the field is not one. */
static long long id_field(const char *s)
{
	if (!*s)
		return -1;
	long long v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || v > 0xffffffffLL)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v > 0xfffffffeLL ? -1 : v;
}

/* Splits one line into its seven fields; 0 when it is not a passwd line. */
static int split_line(char *line, char *f[7])
{
	int n = 0;
	f[n++] = line;
	for (char *p = line; *p; p++) {
		if (*p == ':') {
			*p = '\0';
			if (n == 7)
				return 0;
			f[n++] = p + 1;
		}
	}
	return n == 7;
}

static void insert(size_t idx)
{
	size_t mask = nslots - 1;
	for (size_t i = hash(recs[idx].name) & mask;; i = (i + 1) & mask) {
		if (slots[i] == 0) {
			slots[i] = idx + 1;
			return;
		}
		if (strcmp(recs[slots[i] - 1].name, recs[idx].name) == 0)
			return;	/* the first line with a name is the one NSS gives */
	}
}

static void drop_table(void)
{
	free(text);
	free(recs);
	free(slots);
	text = NULL;
	recs = NULL;
	slots = NULL;
	nrecs = nslots = 0;
	usable = 0;
}

/* Reads the file into the table; usable stays 0 when anything in it is
 * not what this parser is sure to read as glibc does (NIS "+"/"-" lines, a
 * line without seven fields or with a non-numeric id): NSS answers then. */
static void load(void)
{
	drop_table();
	if (!files_first(nss_path) || (text = slurp(passwd_path)) == NULL)
		return;
	size_t cap = 64;
	recs = xcalloc(cap, sizeof(*recs));
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		char *f[7];
		long long uid, gid;
		if (*line == '+' || *line == '-' || !split_line(line, f) || !*f[0] || (uid = id_field(f[2])) < 0 ||
		    (gid = id_field(f[3])) < 0) {
			drop_table();
			return;
		}
		if (nrecs == cap) {
			cap *= 2;
			recs = xreallocarray(recs, cap, sizeof(*recs));
		}
		recs[nrecs++] = (struct rec){ f[0], f[5], (uid_t)uid, (gid_t)gid };
	}
	for (nslots = 16; nslots < 2 * nrecs; nslots *= 2)
		;
	slots = xcalloc(nslots, sizeof(*slots));
	for (size_t i = 0; i < nrecs; i++)
		insert(i);
	usable = 1;
}

/* With the lock held: the table as the files are now (looked at again at
 * most once a second, read again when either changed). */
static void refresh(void)
{
	long long now = now_ms();
	if (loaded_once && now >= checked_ms && now - checked_ms < recheck_ms)
		return;
	checked_ms = now;
	struct file_id p = id_of(passwd_path), n = id_of(nss_path);
	if (loaded_once && same_id(&p, &passwd_id) && same_id(&n, &nss_id))
		return;
	passwd_id = p;
	nss_id = n;
	loaded_once = 1;
	load();
}

int pwfile_byname(const char *name, struct pw_entry *pw)
{
	pthread_mutex_lock(&lock);
	refresh();
	int found = 0;
	if (usable && nslots > 0) {
		size_t mask = nslots - 1;
		for (size_t i = hash(name) & mask; slots[i] != 0; i = (i + 1) & mask) {
			const struct rec *r = &recs[slots[i] - 1];
			if (strcmp(r->name, name) != 0)
				continue;
			if (strlen(r->name) < sizeof(pw->name) && strlen(r->dir) < sizeof(pw->dir)) {
				pw->uid = r->uid;
				pw->gid = r->gid;
				snprintf(pw->name, sizeof(pw->name), "%s", r->name);
				snprintf(pw->dir, sizeof(pw->dir), "%s", r->dir);
				found = 1;
			}
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}

void pwfile_set_paths(const char *passwd, const char *nsswitch)
{
	pthread_mutex_lock(&lock);
	snprintf(passwd_path, sizeof(passwd_path), "%s", passwd);
	snprintf(nss_path, sizeof(nss_path), "%s", nsswitch);
	loaded_once = 0;
	memset(&passwd_id, 0, sizeof(passwd_id));
	memset(&nss_id, 0, sizeof(nss_id));
	drop_table();
	pthread_mutex_unlock(&lock);
}

void pwfile_set_recheck_ms(long ms)
{
	pthread_mutex_lock(&lock);
	recheck_ms = ms;
	pthread_mutex_unlock(&lock);
}
