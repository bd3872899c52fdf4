/* hoststat: the HostStatusDirectory files (format and layout in hoststat.h). */
#include "hoststat.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A key is a host name, "[addr]", either with ":port"; no '/', no
 * leading dot, no control characters. */
static int key_ok(const char *host)
{
	if (!host[0] || host[0] == '.' || strlen(host) >= sizeof(((struct hoststat *)0)->host))
		return 0;
	for (const char *p = host; *p; p++)
		if (*p == '/' || (unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/* "[1.2.3.4]:2526" -> name "1.2.3.4", port ":2526" */
static void split_key(const char *host, char *name, size_t size, const char **port)
{
	*port = "";
	const char *h = host;
	size_t len = strlen(h);
	if (h[0] == '[') {
		const char *close = strchr(h, ']');
		if (close) {
			*port = close + 1;
			len = (size_t)(close - h - 1);
			h++;
		}
	} else {
		const char *c = strrchr(h, ':');
		if (c && strchr(h, ':') == c) {
			*port = c;
			len = (size_t)(c - h);
		}
	}
	if (len >= size)
		len = size - 1;
	memcpy(name, h, len);
	name[len] = '\0';
	while (len > 0 && name[len - 1] == '.')
		name[--len] = '\0';
}

int hoststat_path(const char *dir, const char *host, char *buf, size_t size)
{
	char name[300];
	const char *port;
	if (!key_ok(host))
		return -1;
	split_key(host, name, sizeof(name), &port);
	if (!name[0] || strstr(name, ".."))
		return -1;
	size_t used = (size_t)snprintf(buf, size, "%s", dir);
	char *end = name + strlen(name);
	while (end > name) {
		char *dot = end - 1;
		while (dot >= name && *dot != '.')
			dot--;
		int last = dot < name;
		used += (size_t)snprintf(buf + used, used < size ? size - used : 0, "/%.*s%s",
					 (int)(end - dot - 1), dot + 1, last ? port : ".");
		if (used >= size)
			return -1;
		end = last ? name : dot;
	}
	return 0;
}

int hoststat_parse(const char *text, struct hoststat *hs)
{
	int version = 0, ended = 0;
	const char *p = text;
	while (*p && !ended) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[600];
		if (len >= sizeof(line))
			return -1;
		memcpy(line, p, len);
		line[len] = '\0';
		switch (line[0]) {
		case 'V': version = 1; break;
		case 'E': hs->err = atoi(line + 1); break;
		case 'H': hs->herr = atoi(line + 1); break;
		case 'S': hs->status = atoi(line + 1); break;
		case 'D': snprintf(hs->dsn, sizeof(hs->dsn), "%s", line + 1); break;
		case 'R': snprintf(hs->reply, sizeof(hs->reply), "%s", line + 1); break;
		case 'U': hs->updated = (time_t)atol(line + 1); break;
		case '.': ended = 1; break;
		default: return -1;
		}
		p += len + (nl ? 1 : 0);
	}
	return version && ended ? 0 : -1;
}

static int read_file(const char *path, struct hoststat *hs)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -1;
	char text[2048];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	return hoststat_parse(text, hs);
}

int hoststat_read(const char *dir, const char *host, struct hoststat *hs)
{
	char path[4096];
	memset(hs, 0, sizeof(*hs));
	if (hoststat_path(dir, host, path, sizeof(path)) < 0)
		return -1;
	snprintf(hs->host, sizeof(hs->host), "%s", host);
	return read_file(path, hs);
}

/* CR/LF in a value would forge a record: replaced by blanks */
static void clean(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
	for (char *p = dst; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

int hoststat_write(const char *dir, const struct hoststat *hs, char *err, size_t errsize)
{
	char path[4096], tmp[4200];
	if (hoststat_path(dir, hs->host, path, sizeof(path)) < 0) {
		snprintf(err, errsize, "%s: not a host name", hs->host);
		return -1;
	}
	/* the directories on the way, the top one included */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errsize, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		int rc = mkdir(path, 0700);
		*s = '/';
		if (rc < 0 && errno != EEXIST) {
			snprintf(err, errsize, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errsize, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	char dsn[sizeof(hs->dsn)], reply[sizeof(hs->reply)], text[1024];
	clean(dsn, sizeof(dsn), hs->dsn);
	clean(reply, sizeof(reply), hs->reply);
	int n = snprintf(text, sizeof(text), "V0\nE%d\nH%d\nS%d\n%s%s%s%s%s%sU%ld\n.\n", hs->err, hs->herr,
			 hs->status, dsn[0] ? "D" : "", dsn, dsn[0] ? "\n" : "", reply[0] ? "R" : "", reply,
			 reply[0] ? "\n" : "", (long)hs->updated);
	if (write(fd, text, (size_t)n) != n || close(fd) < 0) {
		snprintf(err, errsize, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int hoststat_remove(const char *dir, const char *host)
{
	char path[4096];
	if (hoststat_path(dir, host, path, sizeof(path)) < 0)
		return -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* path components below the top, innermost last: "com.", "example.", "mx"
 * -> "mx.example.com" (with "[...]" for an address and the port kept) */
static void key_from(char **parts, size_t n, char *buf, size_t size)
{
	char name[300] = "";
	size_t used = 0;
	const char *port = "";
	for (size_t i = n; i-- > 0;) {
		char part[300];
		snprintf(part, sizeof(part), "%s", parts[i]);
		size_t l = strlen(part);
		if (l && part[l - 1] == '.')
			part[--l] = '\0';
		if (i == n - 1) {
			char *c = strchr(part, ':');
			if (c) {
				port = parts[i] + (c - part);
				*c = '\0';
			}
		}
		used += (size_t)snprintf(name + used, used < sizeof(name) ? sizeof(name) - used : 0, "%s%s",
					 used ? "." : "", part);
	}
	int digits = name[0] != '\0';
	for (const char *p = name; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			digits = 0;
	if (digits)
		snprintf(buf, size, "[%s]%s", name, port);
	else
		snprintf(buf, size, "%s%s", name, port);
}

struct walk {
	void (*fn)(const struct hoststat *, void *);
	void *arg;
	int count;
	int purge;
	char *parts[64];
	size_t depth;
};

static void walk_dir(const char *path, struct walk *w)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (n[0] == '.' || strstr(n, ".tmp"))
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", path, n);
		struct stat st;
		if (lstat(sub, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && w->depth < 64) {
			w->parts[w->depth++] = xstrdup(n);
			walk_dir(sub, w);
			free(w->parts[--w->depth]);
			if (w->purge)
				rmdir(sub);
		} else if (S_ISREG(st.st_mode)) {
			if (w->purge) {
				if (unlink(sub) == 0)
					w->count++;
				continue;
			}
			struct hoststat hs;
			memset(&hs, 0, sizeof(hs));
			if (read_file(sub, &hs) < 0)
				continue;
			w->parts[w->depth] = (char *)n;
			key_from(w->parts, w->depth + 1, hs.host, sizeof(hs.host));
			w->count++;
			if (w->fn)
				w->fn(&hs, w->arg);
		}
	}
	closedir(d);
}

int hoststat_scan(const char *dir, void (*fn)(const struct hoststat *, void *), void *arg)
{
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return -1;
	struct walk w = { .fn = fn, .arg = arg };
	walk_dir(dir, &w);
	return w.count;
}

int hoststat_purge(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return -1;
	struct walk w = { .purge = 1 };
	walk_dir(dir, &w);
	return w.count;
}

int hoststat_down(const struct hoststat *hs, time_t now, long timeout)
{
	return hs->status != 0 && timeout > 0 && now - hs->updated < timeout && now >= hs->updated - 60;
}

struct list {
	struct hoststat *v;
	size_t n;
};

static void collect(const struct hoststat *hs, void *arg)
{
	struct list *l = arg;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *hs;
}

static int by_host(const void *a, const void *b)
{
	return strcmp(((const struct hoststat *)a)->host, ((const struct hoststat *)b)->host);
}

void hoststat_print(FILE *out, const char *dir, time_t now)
{
	struct list l = { NULL, 0 };
	if (!dir[0] || (hoststat_scan(dir, collect, &l) < 0 && errno != ENOENT)) {
		fprintf(out, "No host status directory%s%s\n", dir[0] ? " " : "", dir);
		return;
	}
	if (l.n == 0) {	/* (made at the first failure: none yet) */
		fprintf(out, "Host status directory %s is empty\n", dir);
		return;
	}
	qsort(l.v, l.n, sizeof(*l.v), by_host);
	fprintf(out, " -------------- Hostname --------------- How long ago ---------Results---------\n");
	for (size_t i = 0; i < l.n; i++) {
		const struct hoststat *hs = &l.v[i];
		long ago = (long)(now - hs->updated);
		if (ago < 0)
			ago = 0;
		char when[32];
		if (ago >= 86400)
			snprintf(when, sizeof(when), "%ld+%02ld:%02ld:%02ld", ago / 86400, ago / 3600 % 24, ago / 60 % 60,
				 ago % 60);
		else
			snprintf(when, sizeof(when), "%02ld:%02ld:%02ld", ago / 3600, ago / 60 % 60, ago % 60);
		const char *res = hs->reply[0] ? hs->reply : hs->status ? "Deferred" : "OK";
		fprintf(out, "%-39.39s %12s ", hs->host, when);
		for (const char *p = res; *p; p++)	/* a file is data: no terminal controls */
			fputc((unsigned char)*p < ' ' || *p == 0x7f ? '?' : *p, out);
		fputc('\n', out);
	}
	free(l.v);
}

int hoststat_print_down(FILE *out, const char *dir, time_t now, long timeout, const char *indent)
{
	struct list l = { NULL, 0 };
	if (!dir[0] || hoststat_scan(dir, collect, &l) <= 0) {
		free(l.v);
		return 0;
	}
	qsort(l.v, l.n, sizeof(*l.v), by_host);
	int n = 0;
	for (size_t i = 0; i < l.n; i++) {
		const struct hoststat *hs = &l.v[i];
		if (!hoststat_down(hs, now, timeout))
			continue;
		char when[32];
		struct tm tm;
		localtime_r(&hs->updated, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(out, "%s%s down since %s: ", indent, hs->host, when);
		for (const char *p = hs->reply[0] ? hs->reply : "Deferred"; *p; p++)
			fputc((unsigned char)*p < ' ' || *p == 0x7f ? '?' : *p, out);
		fputc('\n', out);
		n++;
	}
	free(l.v);
	return n;
}
