/* tls: the OpenSSL layer shared by mtad (server and client side) and
 * smtpprobe.  Contexts are TLS 1.2 or newer with the library's secure
 * cipher defaults minus the weak suites.  The client half plugs into
 * lib/smtp_client through struct smtp_io (blocking, with a deadline); the
 * server half is driven by mtad's event loop and only needs the context
 * and tls_describe() from here. */
#ifndef MTA_TLS_H
#define MTA_TLS_H
#include <stddef.h>

#include <openssl/ssl.h>

struct smtp_client;

/* What a session's logs and Received: say about its TLS. */
struct tls_info {
	char version[16];	/* "TLSv1.3" */
	char cipher[64];	/* "TLS_AES_256_GCM_SHA384" */
	int bits;		/* the cipher's secret bits */
	int alg_bits;		/* the algorithm's bits */
	char verify[16];	/* sendmail's ${verify}: OK, FAIL, NO, NONE */
	char verify_text[128];	/* why FAIL: OpenSSL's text, "" otherwise */
};

/* Server context from a certificate and key file (PEM); cafile/capath
 * (may be "" or NULL) are the CAs client certificates are checked against.
 * NULL with err on failure. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, const char *cafile,
			const char *capath, char *err, size_t errsize);
/* Client context: the system's CAs plus cafile/capath when given.  The
 * peer is never refused for its certificate here: the caller looks at
 * the verify result (opportunistic TLS). */
SSL_CTX *tls_client_ctx(const char *cafile, const char *capath, char *err, size_t errsize);

/* The last OpenSSL error as text (and clears the queue). */
const char *tls_error_text(char *buf, size_t size);

/* After a completed handshake.  is_server: verify says NO when the client
 * sent no certificate (we do not ask for one), as sendmail does. */
void tls_describe(SSL *ssl, int is_server, struct tls_info *info);

/* Client side of STARTTLS on a connected smtp_client, after the 220 to
 * STARTTLS (smtp_starttls): handshake within the client's t.other timeout,
 * then the client reads and writes through TLS.  host, when a name (not an
 * address literal), is sent as SNI and checked against the certificate.
 * Returns the SSL (owned by the caller: tls_client_free after the client
 * is closed) or NULL with err. */
SSL *tls_client_start(struct smtp_client *c, SSL_CTX *ctx, const char *host,
		      struct tls_info *info, char *err, size_t errsize);
void tls_client_free(SSL *ssl);

#endif
