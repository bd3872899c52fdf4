/* milter_nr: a filter in C on Debian's libmilter (libmilter-dev), built by
 * tests/e2e/test_milter.py, for what the Python filter cannot ask for: at
 * negotiation it wants no reply to connect, MAIL, RCPT, DATA, each header,
 * the end of the header and each body chunk (SMFIP_NR_*), skips HELO, and
 * sets its own macro list for MAIL (smfi_setsymlist).  At the end of the
 * message it adds
 *     X-NR-Filter: headers=N body=B client=ADDR from=ADDR
 * with what it counted and the macros it got.
 *
 *     milter_nr unix:/path/to/socket */
#include <libmilter/mfapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct priv {
	int headers;
	long body;
	char client[64];
	char from[256];
};

static struct priv *get(SMFICTX *ctx)
{
	struct priv *p = smfi_getpriv(ctx);
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		smfi_setpriv(ctx, p);
	}
	return p;
}

static sfsistat nr_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
			     unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
			     unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	unsigned long want = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_HDR |
			     SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NOHELO | SMFIP_NOUNKNOWN;
	if ((f1 & want) != want || !(f0 & SMFIF_SETSYMLIST))
		return SMFIS_REJECT;	/* the MTA cannot do it: refuse to run */
	*pf0 = SMFIF_ADDHDRS | SMFIF_SETSYMLIST;
	*pf1 = want;
	*pf2 = 0;
	*pf3 = 0;
	if (smfi_setsymlist(ctx, SMFIM_ENVFROM, "{client_addr} {mail_addr}") != MI_SUCCESS)
		return SMFIS_REJECT;
	return SMFIS_CONTINUE;
}

static sfsistat nr_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)host;
	(void)addr;
	get(ctx);
	return SMFIS_NOREPLY;
}

static sfsistat nr_envfrom(SMFICTX *ctx, char **argv)
{
	(void)argv;
	struct priv *p = get(ctx);
	const char *c = smfi_getsymval(ctx, "{client_addr}");
	const char *f = smfi_getsymval(ctx, "{mail_addr}");
	snprintf(p->client, sizeof(p->client), "%s", c ? c : "none");
	snprintf(p->from, sizeof(p->from), "%s", f ? f : "none");
	p->headers = 0;
	p->body = 0;
	return SMFIS_NOREPLY;
}

static sfsistat nr_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_NOREPLY;
}

static sfsistat nr_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

static sfsistat nr_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	get(ctx)->headers++;
	return SMFIS_NOREPLY;
}

static sfsistat nr_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

static sfsistat nr_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)chunk;
	get(ctx)->body += (long)len;
	return SMFIS_NOREPLY;
}

static sfsistat nr_eom(SMFICTX *ctx)
{
	struct priv *p = get(ctx);
	char v[512];
	snprintf(v, sizeof(v), "headers=%d body=%ld client=%s from=%s", p->headers, p->body, p->client, p->from);
	smfi_addheader(ctx, "X-NR-Filter", v);
	return SMFIS_CONTINUE;
}

static sfsistat nr_close(SMFICTX *ctx)
{
	free(smfi_getpriv(ctx));
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: milter_nr unix:/path\n");
		return 2;
	}
	struct smfiDesc desc = {
		.xxfi_name = "milter_nr",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_SETSYMLIST,
		.xxfi_connect = nr_connect,
		.xxfi_envfrom = nr_envfrom,
		.xxfi_envrcpt = nr_envrcpt,
		.xxfi_header = nr_header,
		.xxfi_eoh = nr_eoh,
		.xxfi_body = nr_body,
		.xxfi_eom = nr_eom,
		.xxfi_close = nr_close,
		.xxfi_data = nr_data,
		.xxfi_negotiate = nr_negotiate,
	};
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS)
		return 1;
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
