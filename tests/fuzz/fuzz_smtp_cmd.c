/* fuzz_smtp_cmd: the server's command parser.  Each input line goes through
 * smtp_split (verb table) and, for MAIL/RCPT, smtp_parse_mailrcpt (path,
 * ESMTP parameters, xtext); results are checked for consistency. */
#include "fuzz_common.h"
#include "smtp_cmd.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *buf = fuzz_cstr(data, size);
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t ll = strlen(line);
		if (ll && line[ll - 1] == '\r')
			line[--ll] = '\0';
		const char *arg = NULL;
		enum smtp_verb v = smtp_split(line, &arg);
		(void)smtp_verb_name(v);
		if (arg && (arg < line || arg > line + ll))
			abort();	/* arg must point into the line */
		const char *kws[] = { "FROM", "TO" };
		for (int k = 0; k < 2; k++) {
			struct smtp_mailrcpt mr;
			int code = 0;
			const char *why = NULL;
			memset(&mr, 0, sizeof(mr));
			const char *a = (v == SMTP_MAIL || v == SMTP_RCPT) && arg ? arg : line;
			if (smtp_parse_mailrcpt(a, kws[k], &mr, &code, &why) == 0) {
				if (mr.nparams > SMTP_MAX_PARAMS)
					abort();
				if (mr.path.addr && strlen(mr.path.addr) > 4096)
					abort();
				for (size_t i = 0; i < mr.nparams; i++)
					(void)smtp_param(&mr, mr.params[i].key);
				smtp_mailrcpt_free(&mr);
			} else {
				if (code < 400 || code > 599 || why == NULL)
					abort();	/* a refusal always has a reply */
			}
		}
		(void)smtp_xtext_ok(line);
	}
	free(buf);
	return 0;
}
