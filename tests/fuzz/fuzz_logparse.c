/* fuzz_logparse: logparse (sendmail/Postfix syslog lines) and the helpers
 * that loggrep and the console use on its fields. */
#include "fuzz_common.h"
#include "logparse.h"

static int each_addr(struct logspan a, void *arg)
{
	(void)arg;
	char *s = logspan_dup(a);
	free(s);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	FUZZ_EACH_LINE(data, size, line, len, {
		struct logline ll;
		if (logparse(&ll, line, len) == 0) {
			if (ll.nfields > LOGPARSE_MAXFIELDS)
				abort();
			(void)logline_time(&ll, 1700000000, 0);
			const char *keys[] = { "to", "from", "relay", "stat", "ctladdr", "msgid" };
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
				const struct logspan *sp = logline_get(&ll, keys[k]);
				if (sp == NULL)
					continue;
				struct logspan name, ip, id;
				(void)logparse_relay(*sp, &name, &ip);
				(void)logparse_addrs(*sp, each_addr, NULL);
				(void)logparse_sent_id(*sp, &id);
				(void)logparse_stat_word(*sp);
				char *d = logspan_dup(*sp);
				free(d);
			}
		}
		/* the same line as a posted one, and the whole input as one
		 * wrapped record */
		unsigned how;
		struct logrepair rb = { NULL, 0 };
		if (logparse_lenient(&ll, line, len, &rb, &how) == 0) {
			const struct logspan *st = logline_get(&ll, "stat");
			const struct logspan *ds = logline_get(&ll, "dsn");
			struct logspan none = { NULL, 0 };
			if (st)
				(void)logparse_defer_class(*st, ds ? *ds : none);
			(void)logline_time(&ll, 1700000000, 0);
		}
		(void)logparse_is_start(line, len);
		logrepair_free(&rb);
	});
	struct logline rec;
	unsigned how2;
	struct logrepair rb2 = { NULL, 0 };
	(void)logparse_lenient(&rec, (const char *)data, size, &rb2, &how2);
	logrepair_free(&rb2);
	return 0;
}
