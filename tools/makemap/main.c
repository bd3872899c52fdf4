/* makemap: sendmail's makemap.  Reads "key value" lines on stdin and writes
 * a Berkeley DB hash or btree map (through lib/map's writer: a temporary
 * file renamed into place), or dumps one with -u.  Messages and exit codes
 * follow sendmail 8.17's makemap, with stdin:LINE naming the input line. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "version.h"
#include "map.h"
#include "strbuf.h"

static const char *progname = "makemap";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: makemap [-C cffile] [-N] [-c cachesize] [-D commentchar]\n"
		"               [-d] [-e] [-f] [-i type] [-l] [-o] [-r] [-s] [-t delimiter]\n"
		"               [-u] [-v] type mapname\n"
		"  type is hash or btree; mapname gets \".db\" appended.\n"
		"  -N  store keys and values with their terminating NUL\n"
		"  -f  do not fold keys to lower case\n"
		"  -r  replace duplicate keys (otherwise a duplicate is an error)\n"
		"  -d  allow duplicate keys          -e  allow empty values\n"
		"  -o  add to the existing map       -u  dump the map to stdout\n"
		"  -t  key/value delimiter instead of white space\n"
		"  --help, --version  print this help, the version\n"
		"  -D  comment character (default #) -c  cache size in bytes\n"
		"  -v  print each key and value      -l  list map types\n"
		"  -C, -s and -i are accepted for compatibility and ignored.\n");
}

struct dump_ctx {
	int nul;
	char sep;
};

static int dump_one(void *vctx, const void *key, size_t klen,
		    const void *val, size_t vlen)
{
	struct dump_ctx *ctx = vctx;
	if (ctx->nul) {
		/* -N: the stored NUL is not part of the text */
		if (klen > 0 && ((const char *)key)[klen - 1] == '\0')
			klen--;
		if (vlen > 0 && ((const char *)val)[vlen - 1] == '\0')
			vlen--;
	}
	fwrite(key, 1, klen, stdout);
	putchar(ctx->sep);
	fwrite(val, 1, vlen, stdout);
	putchar('\n');
	return ferror(stdout) ? -1 : 0;
}

int main(int argc, char **argv)
{
	int nul = 0, fold = 1, replace = 0, dup = 0, allowempty = 0;
	int append = 0, unmake = 0, verbose = 0;
	size_t cachesize = 1024 * 1024;
	char sep = '\0', comment = '#';
	int c;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		version_print(stdout, "makemap");
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	opterr = 0;
	while ((c = getopt(argc, argv, "C:Nc:D:defi:lorst:uv")) != -1) {
		switch (c) {
		case 'C': case 'i': case 's':
			break;
		case 'N': nul = 1; break;
		case 'c': {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg) {
				fprintf(stderr, "%s: bad cache size %s\n", progname, optarg);
				return EX_USAGE;
			}
			cachesize = v;
			break;
		}
		case 'D': comment = optarg[0]; break;
		case 'd': dup = 1; break;
		case 'e': allowempty = 1; break;
		case 'f': fold = 0; break;
		case 'l': puts("hash\nbtree"); return EX_OK;
		case 'o': append = 1; break;
		case 'r': replace = 1; break;
		case 't':
			if (optarg[0] == '\0' || optarg[1] != '\0') {
				fprintf(stderr, "%s: -t needs a single character\n", progname);
				return EX_USAGE;
			}
			sep = optarg[0];
			break;
		case 'u': unmake = 1; break;
		case 'v': verbose = 1; break;
		default:
			if (optopt && strchr("CcDit", optopt))
				fprintf(stderr, "%s: option -%c needs an argument\n", progname, optopt);
			else
				fprintf(stderr, "%s: unknown option -%c\n", progname, optopt);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return EX_USAGE;
	}
	const char *typename = argv[optind];
	const char *mapname = argv[optind + 1];
	int type = map_type_parse(typename);
	if (type < 0) {
		fprintf(stderr, "%s: Unknown database type %s\n", progname, typename);
		return EX_USAGE;
	}
	char *dbpath = map_db_path(mapname);
	char err[512];

	if (unmake) {
		struct dump_ctx ctx = { nul, sep ? sep : '\t' };
		int r = map_dump((enum map_type)type, dbpath, dump_one, &ctx, err, sizeof(err));
		free(dbpath);
		if (r != 0) {
			fprintf(stderr, "%s: %s\n", progname, r < 0 ? err : "write error");
			return r < 0 ? EX_CANTCREAT : EX_IOERR;
		}
		return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
	}

	struct map_writer *w = map_writer_open((enum map_type)type, dbpath,
					       (dup ? MAPW_DUP : 0) | (append ? MAPW_APPEND : 0),
					       cachesize, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "%s: %s\n", progname, err);
		free(dbpath);
		return EX_CANTCREAT;
	}

	int exitstat = EX_OK;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if ((size_t)len != strlen(line)) {
			fprintf(stderr, "%s: stdin:%u: line contains a NUL byte\n",
				progname, lineno);
			exitstat = EX_DATAERR;
			continue;
		}
		if (line[0] == '\0' || line[0] == comment)
			continue;
		if (sep == '\0' && isascii((unsigned char)line[0]) &&
		    isspace((unsigned char)line[0])) {
			fprintf(stderr, "%s: stdin:%u: syntax error (leading space)\n",
				progname, lineno);
			exitstat = EX_DATAERR;
			continue;
		}
		char *p = line;
		for (; *p; p++) {
			if (sep == '\0' && isascii((unsigned char)*p) && isspace((unsigned char)*p))
				break;
			if (sep != '\0' && *p == sep)
				break;
			if (fold && isascii((unsigned char)*p) && isupper((unsigned char)*p))
				*p = (char)tolower((unsigned char)*p);
		}
		size_t klen = (size_t)(p - line);
		if (*p)
			*p++ = '\0';
		if (sep == '\0')
			while (*p && isascii((unsigned char)*p) && isspace((unsigned char)*p))
				p++;
		if (!allowempty && *p == '\0') {
			fprintf(stderr, "%s: stdin:%u: no RHS for LHS %s\n",
				progname, lineno, line);
			exitstat = EX_DATAERR;
			continue;
		}
		size_t vlen = strlen(p);
		if (verbose)
			printf("key=`%s', val=`%s'\n", line, p);
		int r = map_writer_put(w, line, klen + (size_t)nul, p, vlen + (size_t)nul,
				       replace, err, sizeof(err));
		if (r == 1) {
			fprintf(stderr, "%s: stdin:%u: key %s: duplicate key\n",
				progname, lineno, line);
			exitstat = EX_DATAERR;
		} else if (r < 0) {
			fprintf(stderr, "%s: stdin:%u: key %s: put error: %s\n",
				progname, lineno, line, err);
			exitstat = EX_IOERR;
			break;
		}
	}
	free(line);
	if (ferror(stdin)) {
		fprintf(stderr, "%s: stdin: read error: %s\n", progname, strerror(errno));
		map_writer_abort(w);
		free(dbpath);
		return EX_IOERR;
	}
	if (exitstat == EX_IOERR) {
		map_writer_abort(w);
		free(dbpath);
		return exitstat;
	}
	if (map_writer_commit(w, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		free(dbpath);
		return EX_IOERR;
	}
	free(dbpath);
	return exitstat;
}
