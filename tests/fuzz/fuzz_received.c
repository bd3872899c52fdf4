/* fuzz_received: received_parse (Received: fields as many MTAs write them)
 * and the RFC 5322 date parser it uses. */
#include "fuzz_common.h"
#include "received.h"
#include "rfc5322date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	char *s = fuzz_cstr(data, size);
	struct received r;
	memset(&r, 0, sizeof(r));
	(void)received_parse(s, &r);
	if (r.raw == NULL)
		abort();
	(void)received_mta_name(r.mta);
	if (r.from_ip)
		(void)received_ip_family(r.from_ip);
	received_free(&r);
	struct mail_date d;
	const char *end = NULL;
	(void)mail_date_parse(s, &d, &end);
	free(s);
	return 0;
}
