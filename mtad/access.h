/* access: sendmail's access map (FEATURE(`access_db')).  Keys are tagged
 * ("Connect:", "From:", "To:", "Spam:", "GreetPause:"); an untagged key is
 * tried after the tagged one, as sendmail does.  The most specific entry
 * wins: a whole address before its domain, a domain before its parents, an
 * IP before its shorter octet prefixes. */
#ifndef MTAD_ACCESS_H
#define MTAD_ACCESS_H
#include <stddef.h>

enum access_action {
	ACC_NONE,	/* no entry */
	ACC_OK, ACC_RELAY, ACC_REJECT, ACC_DISCARD, ACC_SKIP,
	ACC_ERROR,	/* ERROR:[D.S.N:]CODE text */
	ACC_FRIEND, ACC_HATER,
	ACC_TEMPFAIL,	/* the map could not be read */
	ACC_VALUE,	/* anything else (GreetPause: numbers) */
};

struct access_result {
	enum access_action action;
	char value[512];	/* the map's value */
	int code;		/* ERROR: reply code (default 550) */
	char dsn[16];		/* ERROR: enhanced code (default from the code) */
	char text[400];		/* ERROR: text */
};

int access_enabled(void);
/* Connect:ip (and its octet prefixes), then Connect:hostname (and parents). */
void access_connect(const char *ip, const char *hostname, struct access_result *r);
/* tag is "From", "To" or "Spam": tag:user@domain, tag:domain and parents,
 * tag:user@. */
void access_address(const char *tag, const char *addr, struct access_result *r);
/* GreetPause: milliseconds for this client, or -1 when there is no entry. */
long access_greet_pause(const char *ip, const char *hostname);

/* TLS_Srv: (tag "TLS_Srv", the server we deliver to) and TLS_Clt: (tag
 * "TLS_Clt", a client of ours) entries: host name and its parents, then
 * the IP and its prefixes.  Values "VERIFY", "VERIFY:bits" or "ENCR:bits".
 * Returns 1 with the requirement when there is an entry, 0 when none. */
struct tls_requirement {
	int verify;		/* the peer's certificate must verify */
	int bits;		/* at least this many cipher bits (0: any TLS) */
};
int access_tls_requirement(const char *tag, const char *hostname, const char *ip,
			   struct tls_requirement *req);

/* The reply for a refusal about addr ("<a@b>" as given): REJECT gives
 * "550 5.7.1 addr... Access denied", ERROR its own code and text. */
void access_reply(const struct access_result *r, const char *addr, char *buf, size_t size);

#endif
