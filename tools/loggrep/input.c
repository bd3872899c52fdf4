/* input: which files to read and in what order, and the fast reader: big
 * buffers, zlib for .gz (by magic, not by name), stdin spooled to a temp
 * file so later passes can read it again, and a memmem prefilter so that
 * only lines holding a needle are ever parsed. */
#include "loggrep.h"
#include "diag.h"
#include "xalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK (4u << 20)

void sources_add(struct sources *s, const char *path)
{
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n].path = xstrdup(path);
	s->v[s->n].fd = -1;
	s->n++;
}

/* Rotation age: "x" 0, "x.1" 2, "x.2.gz" 3, "x-20240101" dated (older than
 * the live file, ordered by date).  *baselen is the family name's length. */
static long rot_age(const char *path, size_t *baselen)
{
	size_t n = strlen(path);
	if (n > 3 && strcmp(path + n - 3, ".gz") == 0)
		n -= 3;
	size_t d = n;
	while (d > 0 && isdigit((unsigned char)path[d - 1]))
		d--;
	if (d < n && d > 0 && path[d - 1] == '.' && n - d <= 4) {
		*baselen = d - 1;
		return 1 + atol(path + d);
	}
	if (n - d == 8 && d > 0 && path[d - 1] == '-') {
		*baselen = d - 1;
		return 200000000L - atol(path + d);
	}
	*baselen = n;
	return 0;
}

struct sortkey {
	size_t family;	/* index of the family's first appearance */
	long age;
	size_t pos;
};

static struct sortkey *sort_keys;

static int cmp_src(const void *a, const void *b)
{
	const struct sortkey *x = &sort_keys[((const struct source *)a)->idx];
	const struct sortkey *y = &sort_keys[((const struct source *)b)->idx];
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->age != y->age)
		return x->age > y->age ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void sources_sort(struct sources *s)
{
	sort_keys = xcalloc(s->n ? s->n : 1, sizeof(*sort_keys));
	for (size_t i = 0; i < s->n; i++) {
		size_t bl, bl2;
		sort_keys[i].age = rot_age(s->v[i].path, &bl);
		sort_keys[i].pos = i;
		sort_keys[i].family = i;
		for (size_t j = 0; j < i; j++) {
			rot_age(s->v[j].path, &bl2);
			if (bl == bl2 && strncmp(s->v[i].path, s->v[j].path, bl) == 0) {
				sort_keys[i].family = sort_keys[j].family;
				break;
			}
		}
		s->v[i].idx = (unsigned)i;
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_src);
	for (size_t i = 0; i < s->n; i++)
		s->v[i].idx = (unsigned)i;
	free(sort_keys);
	sort_keys = NULL;
}

size_t sources_default(struct sources *s)
{
	static const char *families[] = { "mail.log", "maillog", "syslog" };
	const char *dir = getenv("LOGGREP_LOGDIR");
	if (!dir || !*dir)
		dir = "/var/log";
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		DIR *d = opendir(dir);
		if (!d)
			return 0;
		size_t before = s->n, fl = strlen(families[f]);
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, families[f], fl) != 0)
				continue;
			const char *rest = de->d_name + fl;
			if (*rest && *rest != '.' && *rest != '-')
				continue;
			char *p = xmalloc(strlen(dir) + strlen(de->d_name) + 2);
			sprintf(p, "%s/%s", dir, de->d_name);
			sources_add(s, p);
			free(p);
		}
		closedir(d);
		if (s->n > before)
			return s->n - before;
	}
	return 0;
}

static int spool_stdin(void)
{
	struct stat st;
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode))
		return dup(0);
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/loggrep.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		msg_error("cannot create a temporary file for stdin: %s", strerror(errno));
		return -1;
	}
	unlink(path);
	char *buf = xmalloc(1 << 16);
	for (;;) {
		ssize_t r = read(0, buf, 1 << 16);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t o = 0; o < r;) {
			ssize_t w = write(fd, buf + o, (size_t)(r - o));
			if (w < 0) {
				msg_error("spooling stdin: %s", strerror(errno));
				free(buf);
				close(fd);
				return -1;
			}
			o += w;
		}
	}
	free(buf);
	return fd;
}

int sources_open(struct sources *s)
{
	int errors = 0;
	size_t out = 0;
	time_t now = time(NULL);
	for (size_t i = 0; i < s->n; i++) {
		struct source *src = &s->v[i];
		if (strcmp(src->path, "-") == 0) {
			src->fd = spool_stdin();
			src->mtime = now;
		} else {
			src->fd = open(src->path, O_RDONLY | O_CLOEXEC);
			if (src->fd < 0)
				msg_error("%s: %s", src->path, strerror(errno));
			struct stat st;
			if (src->fd >= 0 && fstat(src->fd, &st) == 0) {
				if (S_ISDIR(st.st_mode)) {
					msg_error("%s: is a directory", src->path);
					close(src->fd);
					src->fd = -1;
				}
				src->mtime = st.st_mtime;
			}
		}
		if (src->fd < 0) {
			errors++;
			free(src->path);
			continue;
		}
		s->v[out] = *src;
		s->v[out].idx = (unsigned)out;
		out++;
	}
	s->n = out;
	return errors;
}

void sources_close(struct sources *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].fd >= 0)
			close(s->v[i].fd);
		free(s->v[i].path);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* ---- progress on a terminal ---------------------------------------- */
static int progress_shown;

static void progress(const char *what, const struct source *src, unsigned long long bytes)
{
	if (!lg_opts.progress)
		return;
	fprintf(stderr, "\rloggrep: %s %s %llu MB   ", what, src->path, bytes >> 20);
	progress_shown = 1;
}

void progress_clear(void)
{
	if (progress_shown)
		fprintf(stderr, "\r%*s\r", 70, "");
	progress_shown = 0;
}

/* ---- the scanner ---------------------------------------------------- */
struct reader {
	int fd;
	gzFile gz;
};

static ssize_t rd(struct reader *r, char *buf, size_t n)
{
	if (r->gz) {
		int got = gzread(r->gz, buf, (unsigned)n);
		if (got < 0) {
			int e;
			const char *m = gzerror(r->gz, &e);
			msg_error("gzip: %s", m);
			return -1;
		}
		return got;
	}
	for (;;) {
		ssize_t got = read(r->fd, buf, n);
		if (got < 0 && errno == EINTR)
			continue;
		return got;
	}
}

static unsigned char fold[256];

static void fold_init(void)
{
	if (fold['A'])
		return;
	for (int i = 0; i < 256; i++)
		fold[i] = (unsigned char)tolower(i);
}

/* Case-insensitive Boyer-Moore-Horspool; the needle is already lower case
 * and skip[] comes from skip_init().  Mail logs hold few candidates, so the
 * average step is close to the needle's length. */
static void skip_init(size_t skip[256], const char *nd, size_t nn)
{
	for (int i = 0; i < 256; i++)
		skip[i] = nn;
	for (size_t i = 0; i + 1 < nn; i++) {
		unsigned char c = (unsigned char)nd[i];
		skip[c] = nn - 1 - i;
		skip[(unsigned char)toupper(c)] = nn - 1 - i;
	}
}

static const char *memcasemem(const char *h, size_t hn, const char *nd, size_t nn,
			      const size_t skip[256])
{
	if (nn == 0 || nn > hn)
		return NULL;
	const unsigned char *uh = (const unsigned char *)h;
	unsigned char last = (unsigned char)nd[nn - 1];
	size_t pos = 0;
	while (pos + nn <= hn) {
		unsigned char c = uh[pos + nn - 1];
		if (fold[c] == last) {
			size_t i = 0;
			while (i + 1 < nn && fold[uh[pos + i]] == (unsigned char)nd[i])
				i++;
			if (i + 1 == nn)
				return h + pos;
		}
		pos += skip[c];
	}
	return NULL;
}

struct hit {
	size_t start, end;	/* a record: buf[start..end) */
};

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

#define MAXWRAP 8	/* physical lines a wrapped record may span */

static int blank(const char *p, const char *e)
{
	for (; p < e; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r')
			return 0;
	return 1;
}

/* Can the physical line [ls, le) be continued on the next one?  Wrapped
 * lines are long (a terminal's or a mailer's width) or end where a line
 * breaker would break: after a blank or punctuation. */
static int may_wrap(const char *ls, const char *le)
{
	while (le > ls && le[-1] == '\r')
		le--;
	if (le == ls)
		return 0;
	/* a terminal's or a mailer's width; longer lines were not wrapped */
	if (le - ls >= 60 && le - ls <= 100)
		return 1;
	return le[-1] && strchr(" ,=:;(<[", le[-1]) != NULL;
}

/* Does the line start, after blanks, with a log field ("lay=00:00:00,",
 * "dsn=4.0.0")?  Such a line continues a wrapped one. */
static int starts_with_field(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '>'))
		p++;
	const char *k = p;
	while (p < e && p - k < 24 && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
					 (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
		p++;
	return p > k && p < e && *p == '=';
}

/* The end of the record whose last physical line ends at le (a '\n' or
 * end): continuation lines, those that cannot start a record, are added. */
static const char *record_end(const char *ls, const char *le, const char *end)
{
	if (ls < le && *ls == '{')	/* a journal record is one line */
		return le;
	for (int k = 1; k < MAXWRAP && le < end; k++) {
		const char *ns = le + 1;
		const char *nl = memchr(ns, '\n', (size_t)(end - ns));
		const char *ne = nl ? nl : end;
		if (ns >= end || blank(ns, ne) || logparse_is_start(ns, (size_t)(ne - ns)))
			break;
		if (!may_wrap(ls, le) && !starts_with_field(ns, ne))
			break;
		ls = ns;
		le = ne;
	}
	return le;
}

/* The start of the record holding the physical line at ls: when that line
 * cannot start a record, the nearest line above that can, if the lines in
 * between are all continuations. */
static const char *record_start(const char *buf, const char *ls, const char *end)
{
	const char *cur = ls;
	for (int k = 0; k < MAXWRAP; k++) {
		const char *ce = memchr(cur, '\n', (size_t)(end - cur));
		if (!ce)
			ce = end;
		if (logparse_is_start(cur, (size_t)(ce - cur)))
			return cur;
		if (cur == buf || blank(cur, ce))
			return ls;
		const char *pe = cur - 1;	/* the '\n' ending the line above */
		const char *ps = pe;
		while (ps > buf && ps[-1] != '\n')
			ps--;
		if (blank(ps, pe) || (!may_wrap(ps, pe) && !starts_with_field(cur, ce)))
			return ls;
		cur = ps;
	}
	return ls;
}

/* Calls fn for the complete records in buf[0..n) that hold a needle; a
 * record is a line, or a line and its wrapped continuation lines. */
static void scan_chunk(const char *buf, size_t n, off_t base, const struct source *src,
		       const struct needle *nd, size_t nn, line_fn fn, void *arg,
		       size_t (*skips)[256])
{
	const char *end = buf + n;
	if (nn == 0) {
		const char *p = buf;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *le = nl ? nl : end;
			le = record_end(p, le, end);
			fn(p, (size_t)(le - p), src, base + (p - buf), arg);
			p = le + 1;
		}
		return;
	}
	struct hit *hits = NULL;
	size_t nh = 0, caph = 0;
	for (size_t k = 0; k < nn; k++) {
		const char *p = buf;
		while (p < end) {
			const char *h = nd[k].icase
				? memcasemem(p, (size_t)(end - p), nd[k].s, nd[k].n, skips[k])
				: memmem(p, (size_t)(end - p), nd[k].s, nd[k].n);
			if (!h)
				break;
			const char *ls = h;
			while (ls > buf && ls[-1] != '\n')
				ls--;
			const char *nl = memchr(h, '\n', (size_t)(end - h));
			const char *le = nl ? nl : end;
			const char *rs = record_start(buf, ls, end);
			if (rs < p)	/* the head belongs to a record already given */
				rs = ls;
			le = record_end(ls, le, end);
			if (nn == 1) {
				fn(rs, (size_t)(le - rs), src, base + (rs - buf), arg);
			} else {
				if (nh == caph) {
					caph = caph ? caph * 2 : 64;
					hits = xreallocarray(hits, caph, sizeof(*hits));
				}
				hits[nh].start = (size_t)(rs - buf);
				hits[nh].end = (size_t)(le - buf);
				nh++;
			}
			p = le + 1;
		}
	}
	if (nh) {
		qsort(hits, nh, sizeof(*hits), cmp_hit);
		size_t done = 0;	/* records may overlap: give each byte once */
		for (size_t i = 0; i < nh; i++) {
			if (i && hits[i].start < done)
				continue;
			fn(buf + hits[i].start, hits[i].end - hits[i].start, src,
			   base + (off_t)hits[i].start, arg);
			done = hits[i].end;
		}
	}
	free(hits);
}

/* The end of the last whole record in buf[0..n) (n is just after a '\n'):
 * the last lines are kept for the next block when the next block may
 * continue them (a record wrapped across the two blocks). */
static size_t keep_tail(const char *buf, size_t n)
{
	const char *ls = buf + n - 1;	/* the '\n' ending the last line */
	for (int k = 0; k < MAXWRAP; k++) {
		const char *le = ls;
		while (ls > buf && ls[-1] != '\n')
			ls--;
		if (ls == buf)
			return n;
		if (logparse_is_start(ls, (size_t)(le - ls)) || blank(ls, le))
			return (size_t)(ls - buf);
		ls--;
	}
	return n;
}

int scan_source(const struct source *src, const struct needle *nd, size_t nn,
		line_fn fn, void *arg, const char *what)
{
	struct reader r = { src->fd, NULL };
	unsigned char magic[2];
	fold_init();
	if (lseek(src->fd, 0, SEEK_SET) < 0) {
		msg_error("%s: %s", src->path, strerror(errno));
		return -1;
	}
	if (pread(src->fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		int fd2 = dup(src->fd);
		r.gz = fd2 >= 0 ? gzdopen(fd2, "rb") : NULL;
		if (!r.gz) {
			msg_error("%s: cannot open as gzip", src->path);
			if (fd2 >= 0)
				close(fd2);
			return -1;
		}
		gzbuffer(r.gz, 1u << 18);
	}
	size_t (*skips)[256] = xcalloc(nn ? nn : 1, sizeof(*skips));
	for (size_t k = 0; k < nn; k++)
		if (nd[k].icase)
			skip_init(skips[k], nd[k].s, nd[k].n);
	size_t cap = CHUNK, have = 0;
	char *buf = xmalloc(cap);
	off_t base = 0;		/* file offset of buf[0] */
	int rc = 0;
	unsigned long long total = 0;
	unsigned ticks = 0;
	for (;;) {
		if (have == cap) {	/* a line longer than the buffer */
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t got = rd(&r, buf + have, cap - have);
		if (got < 0) {
			if (!r.gz)
				msg_error("%s: %s", src->path, strerror(errno));
			rc = -1;
			break;
		}
		if (got == 0) {
			if (have)
				scan_chunk(buf, have, base, src, nd, nn, fn, arg, skips);
			break;
		}
		have += (size_t)got;
		total += (unsigned long long)got;
		if ((++ticks & 15) == 0)
			progress(what, src, total);
		char *last = memrchr(buf, '\n', have);
		if (!last)
			continue;
		size_t done = keep_tail(buf, (size_t)(last - buf) + 1);
		scan_chunk(buf, done - 1, base, src, nd, nn, fn, arg, skips);
		memmove(buf, buf + done, have - done);
		have -= done;
		base += (off_t)done;
	}
	free(buf);
	free(skips);
	if (r.gz)
		gzclose(r.gz);
	return rc;
}
