/* dkim: offline verification of DKIM-Signature (RFC 6376) and of the ARC
 * headers (RFC 8617: ARC-Message-Signature, ARC-Seal) of a stored message.
 * Algorithms rsa-sha256, rsa-sha1 (reported as weak) and ed25519-sha256
 * (RFC 8463); header and body canonicalization simple and relaxed; l=.
 * Keys come from the caller (a file, or DNS TXT through lib/dns): this
 * module makes no lookups itself.  Headers are a header_list as lib/header
 * parsed them (values keep their folding); the body is the raw bytes after
 * the empty line, LF or CRLF line ends. */
#ifndef MTA_DKIM_H
#define MTA_DKIM_H
#include "header.h"

#include <stddef.h>

enum dkim_status {
	DKIM_PASS,
	DKIM_FAIL,		/* body hash or signature does not match */
	DKIM_NEUTRAL,		/* no key to check it with */
	DKIM_TEMPERROR,		/* key lookup failed for now */
	DKIM_PERMERROR,		/* malformed signature or key, expired, revoked */
};
const char *dkim_status_str(enum dkim_status s);	/* "pass", "fail" ... */

enum dkim_kind { DKIM_SIG, ARC_MS, ARC_SEAL };

/* Key lookup: the TXT record of name ("sel._domainkey.example.com") into
 * out.  Returns 0 found, 1 no such record (permanent), -1 temporary. */
typedef int (*dkim_key_fn)(const char *name, char *out, size_t size, void *arg);

struct dkim_result {
	enum dkim_kind kind;
	size_t header;		/* index in the header_list */
	int instance;		/* ARC i=, 0 for DKIM */
	enum dkim_status status;
	char d[256], s[128], a[32], c[40], i_tag[256];
	char cv[16];		/* ARC-Seal cv= */
	int body_ok;		/* body hash matched (-1: not checked) */
	size_t body_unsigned;	/* l=: canonicalized body bytes after the signed part */
	char why[300];		/* what decided, in words */
};

/* Verifies every DKIM-Signature, ARC-Message-Signature and ARC-Seal of the
 * message; fills up to max results in header order (newest first).
 * Returns the number found (may exceed max). */
size_t dkim_verify_all(const struct header_list *hl, const char *body, size_t blen,
		       dkim_key_fn key, void *arg, struct dkim_result *out, size_t max);

/* The parts, for the unit tests: canonicalized body (caller frees). */
char *dkim_canon_body(const char *body, size_t len, int relaxed, size_t *outlen);
/* One canonicalized header "name:value\r\n" (caller frees). */
char *dkim_canon_header(const char *name, const char *value, int relaxed);

#endif
