/* fuzz_smtp_reply: smtp_reply_feed, the client's reply parser (a remote
 * server is untrusted: OpenSMTPD CVE-2020-8794 was in this place), and the
 * enhanced status code reader. */
#include "fuzz_common.h"
#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 18)
		return 0;
	struct smtp_reply r;
	smtp_reply_init(&r);
	struct strbuf scratch;
	sb_init(&scratch);
	FUZZ_EACH_LINE(data, size, line, len, {
		size_t l = len;
		if (l && line[l - 1] == '\r')
			l--;
		enum smtp_feed f = smtp_reply_feed(&r, line, l);
		if (f == SMTP_FEED_DONE) {
			if (r.code < 100 || r.code > 599)
				abort();
			if (r.nlines > SMTP_REPLY_MAX_LINES)
				abort();
			for (size_t i = 0; i < r.nlines; i++)
				(void)smtp_reply_line(&r, i, &scratch);
			struct smtp_reply copy;
			smtp_reply_init(&copy);
			smtp_reply_copy(&copy, &r);
			smtp_reply_free(&copy);
		}
		if (f != SMTP_FEED_MORE)
			smtp_reply_reset(&r);
	});
	char *s = fuzz_cstr(data, size < 64 ? size : 64);
	char esc[16];
	(void)smtp_esc_parse(s, esc, sizeof(esc));
	free(s);
	sb_free(&scratch);
	smtp_reply_free(&r);
	return 0;
}
