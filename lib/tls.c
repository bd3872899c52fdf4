/* tls: OpenSSL contexts, the session description for logs and headers, and
 * the blocking client layer for lib/smtp_client. */
#include "tls.h"
#include "smtp_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

/* No export, NULL, anonymous, RC4, 3DES or MD5 suites for TLS 1.2; TLS 1.3
 * suites are all fine. */
#define TLS12_CIPHERS "HIGH:!aNULL:!eNULL:!EXPORT:!RC4:!3DES:!MD5:!PSK:!SRP:!CAMELLIA"

const char *tls_error_text(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		snprintf(buf, size, "%s", errno ? strerror(errno) : "unknown error");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

static int ctx_common(SSL_CTX *ctx, const char *cafile, const char *capath, char *err, size_t errsize)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (!SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		char e[256];
		snprintf(err, errsize, "cipher list: %s", tls_error_text(e, sizeof(e)));
		return -1;
	}
	if ((cafile && *cafile) || (capath && *capath)) {
		if (!SSL_CTX_load_verify_locations(ctx, cafile && *cafile ? cafile : NULL,
						   capath && *capath ? capath : NULL)) {
			char e[256];
			snprintf(err, errsize, "CA certificates %s%s%s: %s", cafile ? cafile : "",
				 cafile && *cafile && capath && *capath ? ", " : "", capath ? capath : "",
				 tls_error_text(e, sizeof(e)));
			return -1;
		}
	}
	return 0;
}

SSL_CTX *tls_server_ctx(const char *cert, const char *key, const char *cafile,
			const char *capath, char *err, size_t errsize)
{
	char e[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(err, errsize, "SSL_CTX_new: %s", tls_error_text(e, sizeof(e)));
		return NULL;
	}
	if (ctx_common(ctx, cafile, capath, err, errsize) < 0)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errsize, "certificate %s: %s", cert, tls_error_text(e, sizeof(e)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key && *key ? key : cert, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errsize, "key %s: %s", key && *key ? key : cert, tls_error_text(e, sizeof(e)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errsize, "key %s does not match certificate %s", key, cert);
		goto fail;
	}
	/* client certificates are not asked for: verify=NO, as sendmail logs
	 * for a client without one */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx(const char *cafile, const char *capath, char *err, size_t errsize)
{
	char e[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		snprintf(err, errsize, "SSL_CTX_new: %s", tls_error_text(e, sizeof(e)));
		return NULL;
	}
	if (ctx_common(ctx, cafile, capath, err, errsize) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_default_verify_paths(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

void tls_describe(SSL *ssl, int is_server, struct tls_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->version, sizeof(info->version), "%s", SSL_get_version(ssl));
	const SSL_CIPHER *ci = SSL_get_current_cipher(ssl);
	snprintf(info->cipher, sizeof(info->cipher), "%s", ci ? SSL_CIPHER_get_name(ci) : "NONE");
	info->bits = ci ? SSL_CIPHER_get_bits(ci, &info->alg_bits) : 0;
	X509 *peer = SSL_get1_peer_certificate(ssl);
	long v = SSL_get_verify_result(ssl);
	if (peer == NULL) {
		snprintf(info->verify, sizeof(info->verify), "%s", is_server ? "NO" : "NONE");
	} else if (v == X509_V_OK) {
		snprintf(info->verify, sizeof(info->verify), "OK");
	} else {
		snprintf(info->verify, sizeof(info->verify), "FAIL");
		snprintf(info->verify_text, sizeof(info->verify_text), "%s", X509_verify_cert_error_string(v));
	}
	X509_free(peer);
}

/* ---- the blocking client layer ---- */

static long long mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for what OpenSSL asked for; -1 on timeout (errno ETIMEDOUT). */
static int tls_wait(int fd, int err, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN };
	long long left = deadline - mono_now();
	if (left <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	int k;
	do
		k = poll(&p, 1, (int)left);
	while (k < 0 && errno == EINTR);
	if (k == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return k < 0 ? -1 : 0;
}

static ssize_t io_read(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
	SSL *ssl = ctx;
	long long deadline = mono_now() + timeout_ms;
	for (;;) {
		int k = SSL_read(ssl, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
		if (k > 0)
			return k;
		int err = SSL_get_error(ssl, k);
		if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0))
			return 0;
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			errno = EPROTO;
			return -1;
		}
		if (tls_wait(fd, err, deadline) < 0)
			return -1;
	}
}

static ssize_t io_write(void *ctx, int fd, const void *buf, size_t n, int timeout_ms)
{
	SSL *ssl = ctx;
	long long deadline = mono_now() + timeout_ms;
	for (;;) {
		int k = SSL_write(ssl, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
		if (k > 0)
			return k;
		int err = SSL_get_error(ssl, k);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			errno = EPIPE;
			return -1;
		}
		if (tls_wait(fd, err, deadline) < 0)
			return -1;
	}
}

SSL *tls_client_start(struct smtp_client *c, SSL_CTX *ctx, const char *host,
		      struct tls_info *info, char *err, size_t errsize)
{
	unsigned char addr[16];
	char e[256];
	SSL *ssl = SSL_new(ctx);
	if (ssl == NULL || !SSL_set_fd(ssl, c->fd)) {
		snprintf(err, errsize, "SSL_new: %s", tls_error_text(e, sizeof(e)));
		SSL_free(ssl);
		return NULL;
	}
	if (host && *host && inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1) {
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set1_host(ssl, host);
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	long long deadline = mono_now() + c->t.other;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int k = SSL_connect(ssl);
		if (k == 1)
			break;
		int serr = SSL_get_error(ssl, k);
		if ((serr != SSL_ERROR_WANT_READ && serr != SSL_ERROR_WANT_WRITE) ||
		    tls_wait(c->fd, serr, deadline) < 0) {
			if (errno == ETIMEDOUT)
				snprintf(err, errsize, "TLS handshake failed: timeout");
			else
				snprintf(err, errsize, "TLS handshake failed: %s", tls_error_text(e, sizeof(e)));
			SSL_free(ssl);
			return NULL;
		}
	}
	if (info)
		tls_describe(ssl, 0, info);
	struct smtp_io io = { io_read, io_write, ssl };
	smtp_client_set_io(c, &io);
	return ssl;
}

void tls_client_free(SSL *ssl)
{
	if (ssl)
		SSL_free(ssl);
}
