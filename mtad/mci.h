/* mci: what a delivery process knows about the hosts it talks to, after
 * sendmail's "mail connection information":
 *  - host status: a host whose connection failed or timed out is down for
 *    Timeout.hoststatus; the rest of its mail is deferred at once, with the
 *    reason and the time of the failure, without a new connection.  Kept in
 *    the process, and in HostStatusDirectory (lib/hoststat) when that is
 *    set, so that every queue runner shares it.
 *  - the connection cache: after a transaction the connection stays open
 *    (at most ConnectionCacheSize of them, each idle at most
 *    ConnectionCacheTimeout) for the next message to the same host, which
 *    starts with RSET.  Only while mci_begin() .. mci_end() (a queue run).
 * Hosts are keyed by address: "[192.0.2.1]", "[192.0.2.1]:2526". */
#ifndef MTAD_MCI_H
#define MTAD_MCI_H
#include <stddef.h>
#include <time.h>
#include <openssl/ssl.h>
#include "smtp_client.h"

void mci_key(char *buf, size_t size, const char *addr, int port);

/* 1 when key is down: why gets the deferral text (with the time of the
 * failure), dsn its status. */
int mci_host_down(const char *key, const char *name, char *why, size_t whysize, char *dsn, size_t dsnsize);
/* The host failed to connect, greet or answer (eno: errno or 0). */
void mci_host_failed(const char *key, int eno, const char *dsn, const char *reason);
/* The host answered: any down mark is cleared. */
void mci_host_ok(const char *key);
/* Forgets what this process knew (a new queue run). */
void mci_forget(void);
/* Hosts marked down by this process, for the totals of a queue run. */
size_t mci_hosts_down(void);

/* A cached connection. */
struct mci_conn {
	char key[300];
	struct smtp_client c;
	SSL *ssl;
	char tls[160];		/* the to= TLS fields of this connection */
	time_t last_use;
	int in_use;
};
void mci_begin(void);
/* Takes key's cached connection, or NULL.  The caller's transaction
 * probes it with RSET first (struct smtp_msg's rset_first), as sendmail
 * and Postfix probe a cached connection. */
struct mci_conn *mci_take(const char *key);
/* Gives the connection of a finished transaction to the cache (which may
 * QUIT it, or an older one, when full or not caching); c and ssl are owned by
 * the cache afterwards. */
void mci_give(const char *key, struct smtp_client *c, SSL *ssl, const char *tls);
/* QUITs every cached connection; caching stops. */
void mci_end(void);

#endif
