/* smtpprobe STARTTLS: lib/tls's client layer plugged into lib/smtp_client.
 * The server's certificate is checked and the result reported in the
 * transcript, but not enforced: a probe must be able to talk to test
 * servers with self-signed certificates. */
#include "probe.h"
#include "tls.h"

#include <string.h>

static SSL_CTX *tls_ctx;
static SSL *tls;

void probe_tls_close(void)
{
	tls_client_free(tls);
	if (tls_ctx)
		SSL_CTX_free(tls_ctx);
	tls = NULL;
	tls_ctx = NULL;
}

int probe_starttls(const struct opts *o, struct smtp_client *c)
{
	char note[512], err[300];
	struct tls_info info;

	if (smtp_starttls(c) != SMTP_OK)
		return EXIT_PROBE_TLS;
	probe_tls_close();
	tls_ctx = tls_client_ctx(NULL, NULL, err, sizeof(err));
	if (tls_ctx)
		tls = tls_client_start(c, tls_ctx, o->host, &info, err, sizeof(err));
	if (!tls) {
		snprintf(note, sizeof(note), "%s", err);
		out_transcript(NULL, SMTP_DIR_INFO, note, strlen(note));
		sb_reset(&c->err);
		sb_puts(&c->err, note);
		return EXIT_PROBE_TLS;
	}
	snprintf(note, sizeof(note), "TLS established: %s %s, certificate %s%s",
		 info.version, info.cipher,
		 strcmp(info.verify, "OK") == 0 ? "verified" : "not verified: ",
		 strcmp(info.verify, "OK") == 0 ? "" : info.verify_text);
	out_transcript(NULL, SMTP_DIR_INFO, note, strlen(note));
	return 0;
}
