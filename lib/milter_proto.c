/* milter_proto: encoding and decoding of milter packets (see the header). */
#include "milter_proto.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t mp_get32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return ntohl(v);
}

static void put32(struct strbuf *out, uint32_t v)
{
	uint32_t n = htonl(v);
	sb_append(out, &n, 4);
}

void mp_put(struct strbuf *out, char cmd, const void *data, size_t len)
{
	put32(out, (uint32_t)len + 1);
	sb_putc(out, cmd);
	if (len)
		sb_append(out, data, len);
}

/* Starts a packet whose length is filled in by end_packet. */
static size_t begin_packet(struct strbuf *out, char cmd)
{
	size_t at = out->len;
	put32(out, 0);
	sb_putc(out, cmd);
	return at;
}

static void end_packet(struct strbuf *out, size_t at)
{
	uint32_t n = htonl((uint32_t)(out->len - at - 4));
	memcpy(out->s + at, &n, 4);
}

static void put_str(struct strbuf *out, const char *s)
{
	sb_append(out, s ? s : "", strlen(s ? s : "") + 1);
}

void mp_put_strings(struct strbuf *out, char cmd, const char *const *strs, size_t n)
{
	size_t at = begin_packet(out, cmd);
	for (size_t i = 0; i < n; i++)
		put_str(out, strs[i]);
	end_packet(out, at);
}

void mp_put_optneg(struct strbuf *out, uint32_t version, uint32_t actions, uint32_t protocol)
{
	size_t at = begin_packet(out, MPC_OPTNEG);
	put32(out, version);
	put32(out, actions);
	put32(out, protocol);
	end_packet(out, at);
}

void mp_put_connect(struct strbuf *out, const char *host, char family, uint16_t port, const char *addr)
{
	size_t at = begin_packet(out, MPC_CONNECT);
	put_str(out, host);
	sb_putc(out, family);
	if (family != 'U') {
		uint16_t p = htons(port);
		sb_append(out, &p, 2);
		put_str(out, addr);
	}
	end_packet(out, at);
}

void mp_put_macros(struct strbuf *out, char stage, const char *const *names, const char *const *values, size_t n)
{
	size_t at = begin_packet(out, MPC_MACRO);
	sb_putc(out, stage);
	for (size_t i = 0; i < n; i++) {
		put_str(out, names[i]);
		put_str(out, values[i]);
	}
	end_packet(out, at);
}

int mp_take(const char *buf, size_t len, size_t maxdata, char *cmd, const char **data, size_t *dlen,
	    size_t *used)
{
	if (len < 4)
		return 0;
	uint32_t n = mp_get32(buf);
	if (n == 0 || n - 1 > maxdata)
		return -1;
	if (len < 4 + (size_t)n)
		return 0;
	*cmd = buf[4];
	*data = buf + 5;
	*dlen = n - 1;
	*used = 4 + (size_t)n;
	return 1;
}

int mp_strings(const char *data, size_t dlen, const char **out, int max)
{
	if (dlen == 0 || data[dlen - 1] != '\0')
		return -1;
	int n = 0;
	size_t i = 0;
	while (i < dlen && n < max) {
		out[n++] = data + i;
		i += strlen(data + i) + 1;
	}
	return n;
}

int mp_parse_optneg(const char *data, size_t dlen, struct mp_optneg *o, char *err, size_t errsize)
{
	memset(o, 0, sizeof(*o));
	if (dlen < 12) {
		snprintf(err, errsize, "option negotiation reply of %zu bytes (12 expected)", dlen);
		return -1;
	}
	o->version = mp_get32(data);
	o->actions = mp_get32(data + 4);
	o->protocol = mp_get32(data + 8);
	size_t i = 12;
	/* SMFIR_SETSYMLIST lists: a 32-bit stage, then a string of names */
	while (i < dlen) {
		if (dlen - i < 5) {
			snprintf(err, errsize, "truncated macro list in option negotiation");
			mp_optneg_free(o);
			return -1;
		}
		uint32_t stage = mp_get32(data + i);
		i += 4;
		const char *s = data + i;
		const char *nul = memchr(s, '\0', dlen - i);
		if (nul == NULL || stage >= MPS_COUNT) {
			snprintf(err, errsize, "bad macro list in option negotiation");
			mp_optneg_free(o);
			return -1;
		}
		free(o->symlist[stage]);
		o->symlist[stage] = xstrdup(s);
		i += (size_t)(nul - s) + 1;
	}
	return 0;
}

void mp_optneg_free(struct mp_optneg *o)
{
	for (int i = 0; i < MPS_COUNT; i++) {
		free(o->symlist[i]);
		o->symlist[i] = NULL;
	}
}

/* Each line: three digits (the first 4 or 5, the same on every line),
 * then a dash (more lines follow) or a blank or nothing (the last line);
 * lines end in CR LF (a bare LF is taken too); no control characters. */
int mp_replycode_ok(const char *text, size_t len)
{
	if (len < 3 || (text[0] != '4' && text[0] != '5'))
		return 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end;
		if (eol == NULL)
			eol = end;
		if (eol > p && eol[-1] == '\r')
			eol--;
		int last = next >= end;
		if (eol - p < 3 || memcmp(p, text, 3) != 0 || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9')
			return 0;
		if (eol - p > 3 && p[3] != (last ? ' ' : '-'))
			return 0;
		if (!last && eol - p == 3)
			return 0;
		for (const char *q = p; q < eol; q++)
			if ((unsigned char)*q < ' ' && *q != '\t')
				return 0;
		p = next;
	}
	return 1;
}
