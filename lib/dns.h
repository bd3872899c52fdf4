/* dns: the lookups mail routing needs, through libresolv, against the
 * system's resolver or a server named in the configuration (Resolver=
 * addr:port, so tests can run a real DNS server on loopback): MX lists in
 * preference order (equal preferences shuffled), A/AAAA addresses, and A/TXT
 * for DNSBLs.  Temporary and permanent failures stay apart. */
#ifndef MTA_DNS_H
#define MTA_DNS_H
#include <stddef.h>
#include <sys/socket.h>

enum dns_status {
	DNS_OK,
	DNS_NXDOMAIN,	/* the name does not exist: permanent */
	DNS_NODATA,	/* the name exists, no record of that type */
	DNS_TEMPFAIL,	/* server failure or timeout: try later */
	DNS_ERROR,	/* malformed answer or local error: try later */
};
const char *dns_status_str(enum dns_status s);

#define DNS_NAME_MAX 256

struct dns_mx {
	char host[DNS_NAME_MAX];
	int pref;
};

/* Sets the server to ask: "" or NULL for /etc/resolv.conf, else "ip" or
 * "ip:port" (IPv4).  Returns 0, or -1 when the text is not an address. */
int dns_set_server(const char *server);

/* MX records of domain, sorted by preference, equal preferences in random
 * order.  A null MX (RFC 7505: one record "." with preference 0) gives
 * DNS_OK with *n == 0 and *null_mx = 1. */
enum dns_status dns_mx(const char *domain, struct dns_mx *out, size_t max, size_t *n, int *null_mx);

/* A and AAAA addresses of host (IPv4 first). */
enum dns_status dns_addrs(const char *host, struct sockaddr_storage *out, size_t max, size_t *n);

/* A records as dotted quads (for DNSBL answers such as 127.0.0.2). */
enum dns_status dns_a_text(const char *name, char out[][16], size_t max, size_t *n);
/* The first TXT record of name, joined, into out. */
enum dns_status dns_txt(const char *name, char *out, size_t size);

#endif
