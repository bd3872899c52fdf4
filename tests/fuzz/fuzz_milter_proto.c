/* fuzz_milter_proto: what a mail filter sends back (the filter is another
 * process, possibly broken or hostile): packets taken off a byte stream,
 * the option negotiation reply with its macro lists, strings in packet
 * data, and reply codes. */
#include "fuzz_common.h"
#include "milter_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	const char *buf = (const char *)data;
	size_t off = 0;
	for (;;) {
		char cmd;
		const char *d;
		size_t dlen, used;
		int r = mp_take(buf + off, size - off, 65535, &cmd, &d, &dlen, &used);
		if (r <= 0)
			break;
		if (used < 5 || used > size - off || dlen != used - 5)
			abort();
		off += used;
		if (cmd == MPC_OPTNEG) {
			struct mp_optneg o;
			char err[256];
			if (mp_parse_optneg(d, dlen, &o, err, sizeof(err)) == 0)
				mp_optneg_free(&o);
		}
		const char *strs[8];
		int n = mp_strings(d, dlen, strs, 8);
		for (int i = 0; i < n; i++)
			if (strs[i] < d || strs[i] >= d + dlen)
				abort();
		(void)mp_replycode_ok(d, dlen);
	}
	return 0;
}
