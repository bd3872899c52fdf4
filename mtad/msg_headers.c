/* msg_headers: the headers mtad adds to every message it accepts:
 * Received: at the top, and Message-Id:/Date: when missing (as sendmail
 * does), plus From: for local submissions.  Those three carry the
 * conditions of sendmail's .cf (H?D?Date:, H?M?Message-Id:, H?F?From:), so
 * the qf reads as sendmail's.  Return-Path is not stored (sendmail stores
 * H?P?Return-Path: <\201g>): the local mailers add it at delivery, and a qf
 * stays plain text for the tools that read it. */
#include "mtad.h"
#include "timefmt.h"
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char msgid_buf[512];

const char *msg_complete_headers(struct header_list *hl, const char *qid, const struct msg_meta *m)
{
	char date[64];
	time_t now = time(NULL);
	time_rfc5322(date, sizeof(date), now);
	struct strbuf rcv;
	sb_init(&rcv);
	if (m->local_submission) {
		const char *who = m->login ? m->login : m->sender && *m->sender ? m->sender : "MAILER-DAEMON";
		sb_printf(&rcv, " (from %s@localhost)\n\tby %s (mtad " MTAD_VERSION ") id %s", who, G.hostname, qid);
	} else {
		const char *name = m->client_name ? m->client_name : "";
		/* sendmail's: (authenticated) before "by", the TLS comment after the id */
		sb_printf(&rcv, " from %s (%s%s[%s])\n\t%sby %s (mtad " MTAD_VERSION ") with %s id %s",
			  m->helo && *m->helo ? m->helo : "unknown", name, *name ? " " : "",
			  m->client_ip ? m->client_ip : "", m->auth ? "(authenticated bits=0)\n\t" : "",
			  G.hostname, m->proto ? m->proto : "SMTP", qid);
		if (m->tls)
			sb_printf(&rcv, "\n\t(version=%s cipher=%s bits=%d verify=%s)", m->tls->version,
				  m->tls->cipher, m->tls->bits, m->tls->verify);
	}
	if (m->nrcpts == 1 && m->first_rcpt)
		sb_printf(&rcv, "\n\tfor %s", m->first_rcpt);
	sb_printf(&rcv, "; %s", date);
	hdrlist_insert(hl, 0, "Received", rcv.s);
	sb_free(&rcv);

	long idx = hdrlist_find(hl, "Message-Id", 0);
	if (idx < 0) {
		struct tm tm;
		char stamp[32];
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d%H%M", &tm);
		snprintf(msgid_buf, sizeof(msgid_buf), "<%s.%s@%s>", stamp, qid, G.hostname);
		char value[600];
		snprintf(value, sizeof(value), " %s", msgid_buf);
		hdrlist_add_cond(hl, "M", "Message-Id", value);
	} else {
		char *v = hdr_unfold(hl->h[idx].value);
		snprintf(msgid_buf, sizeof(msgid_buf), "%s", v);
		free(v);
	}
	if (hdrlist_find(hl, "Date", 0) < 0) {
		char value[80];
		snprintf(value, sizeof(value), " %s", date);
		hdrlist_add_cond(hl, "D", "Date", value);
	}
	if (m->local_submission && hdrlist_find(hl, "From", 0) < 0) {
		char value[600];
		const char *s = m->sender && *m->sender ? m->sender : "MAILER-DAEMON";
		if (strchr(s, '@'))
			snprintf(value, sizeof(value), " %s", s);
		else
			snprintf(value, sizeof(value), " %s@%s", s, G.hostname);
		hdrlist_add_cond(hl, "F", "From", value);
	}
	return msgid_buf[0] ? msgid_buf : NULL;
}
