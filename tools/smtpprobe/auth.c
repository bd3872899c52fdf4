/* auth: SMTP AUTH PLAIN and LOGIN (RFC 4954) for the quick send.  The
 * lines that carry credentials are sent with the transcript off and shown
 * as "AUTH ... [credentials hidden]". */
#include "probe.h"
#include "xalloc.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *b64(const void *data, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	return out;
}

/* Sends a line that must not be shown; reads the reply. */
static enum smtp_result secret(struct smtp_client *c, int want, const char *line, const char *shown)
{
	smtp_transcript_fn fn = c->transcript;
	void *arg = c->transcript_arg;
	if (fn)
		fn(arg, SMTP_DIR_SEND, shown, strlen(shown));
	c->transcript = NULL;
	enum smtp_result r = smtp_write_raw(c, line, strlen(line), c->t.other);
	if (r == SMTP_OK)
		r = smtp_write_raw(c, "\r\n", 2, c->t.other);
	c->transcript = fn;
	if (r != SMTP_OK)
		return r;
	r = smtp_read_reply(c, c->t.other);
	return r == SMTP_OK ? smtp_reply_result(c, want) : r;
}

int probe_auth(const struct opts *o, struct smtp_client *c)
{
	if (!(c->ext.flags & SMTP_EXT_AUTH)) {
		out_transcript(NULL, SMTP_DIR_INFO, "server does not offer AUTH", 26);
		return EXIT_PROBE_AUTH;
	}
	const char *user = o->auth_user ? o->auth_user : "";
	const char *pass = o->auth_password ? o->auth_password : "";
	enum smtp_result r;
	if (strcasecmp(o->auth, "PLAIN") == 0) {
		size_t ul = strlen(user), pl = strlen(pass);
		char *raw = xmalloc(ul + pl + 2);
		raw[0] = '\0';
		memcpy(raw + 1, user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, pass, pl);
		char *enc = b64(raw, ul + pl + 2);
		free(raw);
		char *line = xmalloc(strlen(enc) + 16);
		sprintf(line, "AUTH PLAIN %s", enc);
		r = secret(c, 2, line, "AUTH PLAIN [credentials hidden]\r\n");
		free(line);
		free(enc);
	} else {
		r = smtp_command(c, c->t.other, 3, "AUTH LOGIN");
		if (r == SMTP_OK) {
			char *u = b64(user, strlen(user));
			r = secret(c, 3, u, "[user name hidden]\r\n");
			free(u);
		}
		if (r == SMTP_OK) {
			char *p = b64(pass, strlen(pass));
			r = secret(c, 2, p, "[password hidden]\r\n");
			free(p);
		}
	}
	return r == SMTP_OK ? 0 : EXIT_PROBE_AUTH;
}
