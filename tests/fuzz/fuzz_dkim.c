/* fuzz_dkim: DKIM-Signature / ARC header tag lists, canonicalization and
 * verification (lib/dkim) on whole messages: the first bytes up to an empty
 * line are the header block, the rest the body.  Keys: RFC 8463's two
 * (ed25519 and rsa) for every selector, so the signature path runs too. */
#include "fuzz_common.h"
#include "dkim.h"
#include "header.h"

#include <stdio.h>

static int keys(const char *name, char *out, size_t size, void *arg)
{
	(void)arg;
	if (strstr(name, "brisbane") || strstr(name, "ed")) {
		snprintf(out, size, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
		return 0;
	}
	if (strlen(name) % 3 == 0)
		return -1;
	snprintf(out, size, "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *s = fuzz_cstr(data, size);
	struct header_list hl;
	hdrlist_init(&hl);
	size_t body = hdr_parse_block(&hl, s, size);
	struct dkim_result r[8];
	(void)dkim_verify_all(&hl, s + body, size - body, keys, NULL, r, 8);
	size_t n;
	free(dkim_canon_body(s, size, (int)(size & 1), &n));
	if (hl.count)
		free(dkim_canon_header(hl.h[0].name, hl.h[0].value, (int)(size & 2)));
	hdrlist_free(&hl);
	free(s);
	return 0;
}
