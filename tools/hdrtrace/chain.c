/* chain: one message -> its hop chains.  The Received: fields of the
 * message itself (origin first), its X-Received: fields, and the chain of
 * a returned or attached message (message/rfc822, text/rfc822-headers, or
 * the "original message follows" text of old bounces) are kept apart. */
#include "hdrtrace.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *domain_of_addr(const char *addr)
{
	if (!addr)
		return NULL;
	/* the address inside <...> if any, else the last word with an @ */
	const char *lt = strrchr(addr, '<');
	const char *s = lt ? lt + 1 : addr;
	const char *at = NULL;
	for (const char *p = s; *p && *p != '>'; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return NULL;
	size_t n = 0;
	while (at[1 + n] && at[1 + n] != '>' && at[1 + n] != ' ' && at[1 + n] != ',' &&
	       at[1 + n] != ')' && at[1 + n] != ';')
		n++;
	if (n == 0)
		return NULL;
	char *d = xstrndup(at + 1, n);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static char *header_value(const struct header_list *hl, const char *name)
{
	long i = hdrlist_find(hl, name, 0);
	return i < 0 ? NULL : hdr_unfold(hl->h[i].value);
}

static int line_starts_ci(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(end - p) >= n && strncasecmp(p, word, n) == 0;
}

/* Where the returned message's header block starts in body, or NULL. */
static const char *find_returned(const char *body, size_t len)
{
	static const char *const markers[] = {
		"original message follows",
		"below this line is a copy of the message",
		"this is a copy of the message, including all the headers",
		"unsent message below",
		"returned message follows",
		"original message headers",
	};
	const char *end = body + len;
	const char *p = body;
	int in_rfc822_part = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		size_t ll = (size_t)(le - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (in_rfc822_part) {
			/* skip the part's own MIME headers up to the empty line */
			if (ll == 0) {
				const char *q = next;
				while (q < end && (*q == '\n' || *q == '\r'))
					q++;
				if (q < end && hdr_name_len(q, (size_t)(end - q)) > 0)
					return q;
				in_rfc822_part = 0;
			}
			p = next;
			continue;
		}
		char l[256];
		if (ll > 10 && ll < sizeof(l)) {
			for (size_t i = 0; i < ll; i++)
				l[i] = (char)tolower((unsigned char)p[i]);
			l[ll] = '\0';
		} else {
			l[0] = '\0';
		}
		if (line_starts_ci(p, le, "Content-Type:")) {
			if (strstr(l, "message/rfc822") || strstr(l, "rfc822-headers") ||
			    strstr(l, "message/global"))
				in_rfc822_part = 1;
			p = next;
			continue;
		}
		if (l[0]) {
			int hit = 0;
			for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
				if (strstr(l, markers[i]))
					hit = 1;
			if (hit) {
				const char *q = next;
				while (q < end && (*q == '\n' || *q == '\r' || *q == ' ' || *q == '\t'))
					q++;
				if (q < end && hdr_name_len(q, (size_t)(end - q)) > 0)
					return q;
			}
		}
		p = next;
	}
	return NULL;
}

static int contains_ci(const char *s, const char *needle)
{
	return s && strcasestr(s, needle) != NULL;
}

static void detect_bounce(struct message *m)
{
	char *rp = header_value(&m->hl, "Return-Path");
	char *ct = header_value(&m->hl, "Content-Type");
	const char *why = NULL;
	if (rp && strstr(rp, "<>"))
		why = "empty Return-Path";
	else if (ct && contains_ci(ct, "multipart/report") && contains_ci(ct, "delivery-status"))
		why = "delivery status report";
	else if (m->envelope_from && (!strcasecmp(m->envelope_from, "MAILER-DAEMON") ||
				      !strcmp(m->envelope_from, "<>")))
		why = "null envelope sender";
	else if (contains_ci(m->from, "MAILER-DAEMON") || contains_ci(m->from, "Mail Delivery"))
		why = "From: mailer daemon";
	else if (contains_ci(m->subject, "Returned mail") || contains_ci(m->subject, "Undeliver") ||
		 contains_ci(m->subject, "Delivery Status Notification") ||
		 contains_ci(m->subject, "failure notice") ||
		 contains_ci(m->subject, "Mail delivery failed") ||
		 contains_ci(m->subject, "Delivery failure"))
		why = "bounce subject";
	m->is_bounce = why != NULL;
	m->bounce_why = why;
	free(rp);
	free(ct);
}

void message_load(struct message *m, const char *buf, size_t len)
{
	hdrlist_init(&m->hl);
	hdrlist_init(&m->returned_hl);
	size_t off = 0;
	if (len >= 5 && memcmp(buf, "From ", 5) == 0) {
		const char *nl = memchr(buf, '\n', len);
		off = nl ? (size_t)(nl - buf) + 1 : len;
		const char *s = buf + 5;
		size_t n = strcspn(s, " \t\r\n");
		if (s + n <= buf + off)
			m->envelope_from = xstrndup(s, n);
	}
	size_t body = off + hdr_parse_block(&m->hl, buf + off, len - off);
	m->body = buf + body;
	m->body_len = len - body;
	m->message_id = header_value(&m->hl, "Message-Id");
	m->from = header_value(&m->hl, "From");
	m->subject = header_value(&m->hl, "Subject");
	m->date = header_value(&m->hl, "Date");
	hopchain_build(&m->hops, &m->hl, "Received");
	hopchain_build(&m->xrecv, &m->hl, "X-Received");
	detect_bounce(m);
	char *ct = header_value(&m->hl, "Content-Type");
	int multipart = contains_ci(ct, "multipart/");
	free(ct);
	if (body < len && (m->is_bounce || multipart)) {
		const char *r = find_returned(buf + body, len - body);
		if (r) {
			size_t rl = len - (size_t)(r - buf);
			hdr_parse_block(&m->returned_hl, r, rl);
			if (m->returned_hl.count > 0) {
				m->has_returned = 1;
				hopchain_build(&m->returned, &m->returned_hl, "Received");
			}
		}
	}
}

void message_free(struct message *m)
{
	hdrlist_free(&m->hl);
	hdrlist_free(&m->returned_hl);
	hopchain_free(&m->xrecv);
	hopchain_free(&m->returned);
	free(m->envelope_from);
	free(m->message_id);
	free(m->from);
	free(m->subject);
	free(m->date);
	free(m->untrusted_note);
	if (m->walk)
		for (size_t i = 0; i < m->hops.n; i++)
			free(m->walk[i].why);
	free(m->walk);
	loglink_free_message(m);
	free(m->auth);
	free(m->auth_line);
	free(m->arc_why);
	hopchain_free(&m->hops);
	for (size_t i = 0; i < m->nv; i++)
		free(m->v[i].text);
	free(m->v);
	memset(m, 0, sizeof(*m));
}
