/* fuzz_header: hdr_parse_block (header block of a message), unfolding and
 * lookups, and the Received: hop chain built from the result. */
#include "fuzz_common.h"
#include "header.h"
#include "hopchain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	struct header_list hl;
	hdrlist_init(&hl);
	size_t body = hdr_parse_block(&hl, (const char *)data, size);
	if (body > size)
		abort();
	for (size_t i = 0; i < hl.count; i++) {
		char *u = hdr_unfold(hl.h[i].value);
		free(u);
		(void)hdrlist_find(&hl, hl.h[i].name, 0);
	}
	(void)hdrlist_count(&hl, "Received");
	struct hopchain c;
	hopchain_build(&c, &hl, "Received");
	hopchain_free(&c);
	hdrlist_free(&hl);
	(void)hdr_name_len((const char *)data, size);
	(void)hdr_is_continuation((const char *)data, size);
	return 0;
}
