/* mtapasswd: the password map for mtad's SMTP AUTH (confAUTH_PASSWD_DB).
 * A Berkeley DB map (through lib/map's writer: a new file renamed into
 * place) of user name -> crypt(3) SHA-512 hash ("$6$salt$..."), so no
 * plain-text password is ever on disk.  Keys are lower-cased, as mtad
 * looks them up. */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "version.h"
#include "map.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mtapasswd [-t hash|btree] MAP USER       set USER's password\n"
		"       mtapasswd [-t hash|btree] -d MAP USER    remove USER\n"
		"       mtapasswd [-t hash|btree] -l MAP         list the users\n"
		"  MAP is the map's name as in confAUTH_PASSWD_DB (\".db\" is added).\n"
		"  The password is read from standard input (its first line), or\n"
		"  asked for twice when standard input is a terminal.\n"
		"  --version prints the version.\n"
		"Exit: 0 done, 64 usage, 65 bad input, 67 no such user, 73 cannot write.\n");
}

struct copy_ctx {
	struct map_writer *w;
	const char *skip;
	int skipped, list;
	char err[512];
};

static int copy_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct copy_ctx *c = arg;
	if (c->list) {
		printf("%.*s\n", (int)klen, (const char *)key);
		return 0;
	}
	if (c->skip && klen == strlen(c->skip) && memcmp(key, c->skip, klen) == 0) {
		c->skipped = 1;
		return 0;
	}
	return map_writer_put(c->w, key, klen, val, vlen, 1, c->err, sizeof(c->err)) < 0 ? -1 : 0;
}

static int read_password(char *buf, size_t size)
{
	if (isatty(0)) {
		char *p = getpass("New password: ");
		if (p == NULL)
			return -1;
		snprintf(buf, size, "%s", p);
		explicit_bzero(p, strlen(p));
		p = getpass("Again: ");
		if (p == NULL || strcmp(p, buf) != 0) {
			fprintf(stderr, "mtapasswd: the passwords differ\n");
			return -1;
		}
		explicit_bzero(p, strlen(p));
		return 0;
	}
	if (fgets(buf, (int)size, stdin) == NULL)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	int del = 0, list = 0, opt;
	enum map_type type = MAP_HASH;
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
						  { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 } };
	while ((opt = getopt_long(argc, argv, "dlt:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': del = 1; break;
		case 'l': list = 1; break;
		case 't':
			if (map_type_parse(optarg) < 0) {
				fprintf(stderr, "mtapasswd: unknown map type %s\n", optarg);
				return EX_USAGE;
			}
			type = (enum map_type)map_type_parse(optarg);
			break;
		case 'h': usage(stdout); return 0;
		case 'V': version_print(stdout, "mtapasswd"); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (argc - optind != (list ? 1 : 2) || (del && list)) {
		usage(stderr);
		return EX_USAGE;
	}
	char *dbpath = map_db_path(argv[optind]);
	char err[512];
	struct copy_ctx c = { 0 };
	if (list) {
		c.list = 1;
		int rc = map_dump(type, dbpath, copy_one, &c, err, sizeof(err));
		free(dbpath);
		if (rc < 0) {
			fprintf(stderr, "mtapasswd: %s\n", err);
			return EX_NOINPUT;
		}
		return 0;
	}
	char user[256];
	snprintf(user, sizeof(user), "%s", argv[optind + 1]);
	for (char *p = user; *p; p++) {
		if (*p <= ' ' || *p == 127) {
			fprintf(stderr, "mtapasswd: a user name has no blanks or control characters\n");
			return EX_DATAERR;
		}
		*p = (char)tolower((unsigned char)*p);
	}
	char hash[CRYPT_OUTPUT_SIZE] = "";
	if (!del) {
		char pw[512], setting[CRYPT_GENSALT_OUTPUT_SIZE];
		if (read_password(pw, sizeof(pw)) < 0 || !pw[0]) {
			fprintf(stderr, "mtapasswd: no password given\n");
			return EX_DATAERR;
		}
		struct crypt_data cd;
		memset(&cd, 0, sizeof(cd));
		const char *h = NULL;
		if (crypt_gensalt_rn("$6$", 0, NULL, 0, setting, sizeof(setting)) != NULL)
			h = crypt_r(pw, setting, &cd);
		explicit_bzero(pw, sizeof(pw));
		if (h == NULL || h[0] == '*') {
			fprintf(stderr, "mtapasswd: crypt: %s\n", strerror(errno));
			return EX_SOFTWARE;
		}
		snprintf(hash, sizeof(hash), "%s", h);
		explicit_bzero(&cd, sizeof(cd));
	}
	/* a new map: the old records but this user's, then the user's new one */
	c.w = map_writer_open(type, dbpath, 0, 0, err, sizeof(err));
	if (c.w == NULL) {
		fprintf(stderr, "mtapasswd: %s\n", err);
		free(dbpath);
		return EX_CANTCREAT;
	}
	c.skip = user;
	if (access(dbpath, F_OK) == 0 && map_dump(type, dbpath, copy_one, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtapasswd: %s\n", c.err[0] ? c.err : err);
		map_writer_abort(c.w);
		free(dbpath);
		return EX_CANTCREAT;
	}
	if (del && !c.skipped) {
		fprintf(stderr, "mtapasswd: no user %s in %s\n", user, dbpath);
		map_writer_abort(c.w);
		free(dbpath);
		return EX_NOUSER;
	}
	if (!del && map_writer_put(c.w, user, strlen(user), hash, strlen(hash), 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtapasswd: %s\n", err);
		map_writer_abort(c.w);
		free(dbpath);
		return EX_CANTCREAT;
	}
	if (map_writer_commit(c.w, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtapasswd: %s\n", err);
		free(dbpath);
		return EX_CANTCREAT;
	}
	free(dbpath);
	return 0;
}
