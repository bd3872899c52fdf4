/* smtpprobe STARTTLS: an OpenSSL layer plugged into lib/smtp_client
 * through struct smtp_io.  The server's certificate is checked and the
 * result reported in the transcript, but not enforced: a probe must be
 * able to talk to test servers with self-signed certificates. */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static SSL_CTX *tls_ctx;
static SSL *tls;

/* Waits for what OpenSSL asked for; -1 on timeout (errno ETIMEDOUT). */
static int tls_wait(int fd, int err, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN };
	long long left = deadline - mono_ms();
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

static ssize_t tls_read(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	(void)ctx;
	for (;;) {
		int k = SSL_read(tls, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
		if (k > 0)
			return k;
		int err = SSL_get_error(tls, k);
		if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0))
			return 0;
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			errno = EPROTO;
			return -1;
		}
		if (tls_wait(fd, err, deadline) < 0)
			return -1;
	}
}

static ssize_t tls_write(void *ctx, int fd, const void *buf, size_t n, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	(void)ctx;
	for (;;) {
		int k = SSL_write(tls, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
		if (k > 0)
			return k;
		int err = SSL_get_error(tls, k);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			errno = EPIPE;
			return -1;
		}
		if (tls_wait(fd, err, deadline) < 0)
			return -1;
	}
}

void probe_tls_close(void)
{
	if (tls)
		SSL_free(tls);
	if (tls_ctx)
		SSL_CTX_free(tls_ctx);
	tls = NULL;
	tls_ctx = NULL;
}

int probe_starttls(const struct opts *o, struct smtp_client *c)
{
	char note[512];
	unsigned char addr[16];

	if (smtp_starttls(c) != SMTP_OK)
		return EXIT_PROBE_TLS;
	probe_tls_close();
	tls_ctx = SSL_CTX_new(TLS_client_method());
	if (!tls_ctx)
		return EXIT_PROBE_TLS;
	SSL_CTX_set_default_verify_paths(tls_ctx);
	SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
	tls = SSL_new(tls_ctx);
	if (!tls || !SSL_set_fd(tls, c->fd))
		return EXIT_PROBE_TLS;
	if (inet_pton(AF_INET, o->host, addr) != 1 && inet_pton(AF_INET6, o->host, addr) != 1) {
		SSL_set_tlsext_host_name(tls, o->host);
		SSL_set1_host(tls, o->host);
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	long long deadline = mono_ms() + c->t.other;
	for (;;) {
		int k = SSL_connect(tls);
		if (k == 1)
			break;
		int err = SSL_get_error(tls, k);
		if ((err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
		    || tls_wait(c->fd, err, deadline) < 0) {
			unsigned long e = ERR_get_error();
			snprintf(note, sizeof(note), "TLS handshake failed: %s",
				 e ? ERR_reason_error_string(e) : strerror(errno));
			out_transcript(NULL, SMTP_DIR_INFO, note, strlen(note));
			sb_reset(&c->err);
			sb_puts(&c->err, note);
			return EXIT_PROBE_TLS;
		}
	}
	long v = SSL_get_verify_result(tls);
	snprintf(note, sizeof(note), "TLS established: %s %s, certificate %s%s",
		 SSL_get_version(tls), SSL_get_cipher_name(tls),
		 v == X509_V_OK ? "verified" : "not verified: ",
		 v == X509_V_OK ? "" : X509_verify_cert_error_string(v));
	out_transcript(NULL, SMTP_DIR_INFO, note, strlen(note));
	struct smtp_io io = { tls_read, tls_write, NULL };
	smtp_client_set_io(c, &io);
	return 0;
}
