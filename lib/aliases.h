/* aliases: the aliases(5) file, its aliases.db, and alias expansion.
 *
 * Text format (sendmail's): "name: target, target, ..."; a line starting
 * with a space or tab continues the previous entry, as does a line ending
 * in a backslash; "#" lines and blank lines are skipped.  Targets are
 * addresses, "/file", "|program" (quote it when it has commas or spaces),
 * ":include:/path" (read at expansion time) and "\user" (the local mailbox,
 * never expanded again).
 *
 * The database is what sendmail's newaliases writes: a hash file
 * ALIASFILE.db whose keys are lower-cased names and whose keys and values
 * carry their terminating NUL, plus the "@" -> "@" sentinel that tells
 * sendmail the rebuild finished.
 *
 * Flow: newaliases / mtad -bi call aliases_rebuild(); delivery opens the
 * aliases once (aliases_open: the .db when it exists, else the text file,
 * both re-read when they change) and calls alias_expand() per local
 * recipient; the callback receives every final target.
 */
#ifndef MTA_ALIASES_H
#define MTA_ALIASES_H
#include <stddef.h>
#include <stdio.h>

enum alias_kind {
	ALIAS_ADDRESS,	/* an address to route: "user@host" or a local name
			 * that is not an alias (deliver to that mailbox) */
	ALIAS_LOCAL,	/* "\user", or an alias naming itself: the mailbox,
			 * no further alias expansion */
	ALIAS_FILE,	/* "/path": append the message to this file */
	ALIAS_PROGRAM,	/* "|command": pipe the message to it (text is the
			 * command without the "|") */
	ALIAS_INCLUDE,	/* ":include:/path": only seen by alias_parse_rhs;
			 * alias_expand reads the file */
	ALIAS_ERROR,	/* "error:code text": text is "code text" */
};

const char *alias_kind_name(enum alias_kind kind);

struct alias_target {
	enum alias_kind kind;
	const char *text;	/* address, path, command or include path */
	const char *alias;	/* the alias whose list held it */
	const char *owner;	/* "owner-LIST" of the innermost list on the
				 * way that has such an alias, or NULL: the
				 * caller makes it the envelope sender */
	const char *include;	/* the :include: file it came from, or NULL:
				 * callers restrict /file and |program from
				 * files not owned by a trusted user */
	int depth;		/* 1 for the top alias's own list */
};

/* ------------------------------------------------------------------ */
/* Parsing */

struct alias_entry {
	char *name;	/* lower-cased, as stored in the database */
	char *rhs;	/* the text after the colon, continuation lines joined */
	unsigned line;	/* where the entry starts */
};

struct alias_file {
	char *path;
	struct alias_entry *v;	/* in file order; later duplicates replace */
	size_t n;
	unsigned nerrors;	/* errors reported through the report function */
	/* newaliases' statistics, counted as sendmail does (a duplicate
	 * name counts each time it is stored) */
	unsigned long nstored, longest, bytes;
	struct alias_entry **index;	/* v sorted by name, for lookups */
};

/* Called once per problem with "FILE:LINE: message" text; warning is 1 for
 * things sendmail only warns about (duplicate names).  NULL: print to
 * stderr. */
typedef void alias_report_fn(void *ctx, int warning, const char *msg);

/* Reads and checks an aliases file.  Bad lines are reported and skipped.
 * Returns 0, or -1 with err set when the file cannot be read. */
int alias_file_read(const char *path, struct alias_file *out,
		    alias_report_fn *report, void *ctx,
		    char *err, size_t errsize);
void alias_file_free(struct alias_file *af);
/* The entry for name (case-insensitive), or NULL. */
const struct alias_entry *alias_file_find(const struct alias_file *af,
					  const char *name);

/* One parsed target of a right-hand side. */
struct alias_item {
	enum alias_kind kind;
	char *text;
};

struct alias_list {
	struct alias_item *v;
	size_t n;
};

/* Splits a right-hand side (or a :include: line) into targets: commas
 * separate them outside quotes, <> and comments; "Name <addr>" gives addr;
 * quotes around a whole target are removed.  Returns 0, or -1 with err
 * naming the bad part (the list then holds the targets before it). */
int alias_parse_rhs(const char *rhs, struct alias_list *out,
		    char *err, size_t errsize);
void alias_list_free(struct alias_list *l);

/* ------------------------------------------------------------------ */
/* newaliases */

struct aliases_stats {
	unsigned long naliases;
	unsigned long longest;	/* longest right-hand side, in bytes */
	unsigned long bytes;	/* names plus right-hand sides */
	unsigned nerrors;
	int have_postmaster;
};

/* Rebuilds ALIASFILE.db from ALIASFILE as sendmail's newaliases does,
 * atomically.  Problems go to report (NULL: stderr); with a summary
 * stream, prints "ALIASFILE: N aliases, longest N bytes, N bytes total"
 * and a warning when there is no postmaster alias.  Returns 0 when built
 * cleanly, 1 when built but some lines were bad (err holds the first), -1
 * when nothing was written (err says why). */
int aliases_rebuild_ex(const char *aliasfile, FILE *summary,
		       alias_report_fn *report, void *ctx,
		       struct aliases_stats *stats, char *err, size_t errsize);
/* The same, with the summary on stdout and problems on stderr. */
int aliases_rebuild(const char *aliasfile, char *err, size_t errsize);

/* ------------------------------------------------------------------ */
/* Lookup and expansion */

struct aliases;

/* Opens the aliases for lookups: ALIASFILE.db when it exists (re-opened
 * when rebuilt), otherwise the text file itself (re-read when it changes).
 * A missing text file with no database is an empty set of aliases.
 * Returns NULL with err set on a database that cannot be opened. */
struct aliases *aliases_open(const char *aliasfile, char *err, size_t errsize);
void aliases_close(struct aliases *a);
/* "ldap:OPTIONS" (sendmail's AliasFile=ldap:) reads the aliases from a
 * directory through an ldap map: with no options, sendmail's default
 * schema (sendmailMTAAliasObject, sendmailMTAKey -> sendmailMTAAliasValue,
 * this host's sendmailMTAHost or confLDAP_CLUSTER's sendmailMTACluster);
 * several values are one list.  A directory that cannot be asked is
 * ALIAS_TEMPFAIL. */
/* Which one is in use now: "db", "text" or "ldap". */
const char *aliases_source(struct aliases *a);

enum alias_result {
	ALIAS_TEMPFAIL = -2,	/* try again later (unreadable db or include) */
	ALIAS_PERMFAIL = -1,	/* loop, too deep, bad syntax, missing include */
	ALIAS_NOTFOUND = 0,
	ALIAS_FOUND = 1,
	ALIAS_STOPPED = 2,	/* the callback asked to stop */
};

/* The raw right-hand side of name (case-insensitive); *rhs malloc'd. */
int aliases_lookup(struct aliases *a, const char *name, char **rhs,
		   char *err, size_t errsize);

/* Return non-zero to stop the expansion (alias_expand then returns
 * ALIAS_STOPPED). */
typedef int alias_target_fn(void *ctx, const struct alias_target *t);

struct alias_expand_opts {
	int maxdepth;		/* nesting limit; 0 means 10 */
	/* Called for "user@domain" targets: return 1 when domain is ours so
	 * that user is expanded as a local alias too.  NULL: never. */
	int (*is_local_domain)(void *ctx, const char *domain);
	void *ctx;
};

/* Expands the local name through the aliases recursively, calling fn once
 * per distinct final target (duplicates are suppressed, so everyone gets
 * one copy).  An alias listing itself ("bob: bob, alice" or "\bob") yields
 * an ALIAS_LOCAL target for the mailbox.  A name met again on its own
 * expansion path (a: b, b: a) is a loop; nesting deeper than maxdepth is
 * an error; both are ALIAS_PERMFAIL with err naming the chain.
 * :include: files are read now; a missing one is ALIAS_PERMFAIL, other
 * read errors ALIAS_TEMPFAIL.  Returns ALIAS_NOTFOUND when name is not an
 * alias (fn is not called), ALIAS_FOUND after calling fn for the targets,
 * or ALIAS_STOPPED.  On an error fn may already have been called for some
 * targets: the caller discards them and fails (or defers) the recipient. */
int alias_expand(struct aliases *a, const char *name,
		 const struct alias_expand_opts *opts,
		 alias_target_fn *fn, void *fnctx,
		 char *err, size_t errsize);

#endif
