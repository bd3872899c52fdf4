/* milter_eom: the end of the message through the filters: the header,
 * the body in chunks from df, the end of message, then the changes each
 * filter asks for (header fields, body, recipients, sender, quarantine),
 * applied when it has answered, so the next filter sees them; then the
 * commit, or the refusal. */
#include "milter.h"
#include "milter_int.h"
#include "addr.h"
#include "config.h"
#include "maillog.h"
#include "smtpd_int.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* One change a filter asked for at end of message. */
struct mod {
	char cmd;
	uint32_t idx;
	char *a, *b;
};

struct eom_ctx {
	struct qf_env env;
	char *msgid;
	int dfd;			/* df, read for the body */
	struct mod *mods;		/* the current filter's, applied when it is done */
	size_t nmods;
	struct strbuf newbody;		/* SMFIR_REPLBODY chunks of the current filter */
	int body_replaced;
	int rcpts_changed;
};

enum { PH_HDR, PH_EOH, PH_BODY, PH_EOM, PH_DONE };

static int hdr_name_ok(const char *n);

/* ---- end of message ---- */

void milter_eom_free(struct eom_ctx *e)
{
	if (e == NULL)
		return;
	qf_env_free(&e->env);
	free(e->msgid);
	if (e->dfd >= 0)
		close(e->dfd);
	for (size_t i = 0; i < e->nmods; i++) {
		free(e->mods[i].a);
		free(e->mods[i].b);
	}
	free(e->mods);
	sb_free(&e->newbody);
	free(e);
}

/* The next body chunk, LF line ends made CR LF again: 0 at the end. */
static size_t body_chunk(struct eom_ctx *e, long *off, struct strbuf *chunk)
{
	char raw[MP_CHUNK / 2];
	ssize_t n;
	do
		n = pread(e->dfd, raw, sizeof(raw), *off);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	*off += n;
	sb_reset(chunk);
	for (ssize_t i = 0; i < n; i++) {
		if (raw[i] == '\n')
			sb_putc(chunk, '\r');
		sb_putc(chunk, raw[i]);
	}
	return chunk->len;
}

static int step_eom(struct milter_sess *m, struct mfilter *f, struct strbuf *out)
{
	struct eom_ctx *e = m->eom;
	for (;;) {
		switch (f->phase) {
		case PH_HDR:
			if (milter_filter_skips(f, MPP_NOHDRS) || f->idx >= e->env.headers.count) {
				f->phase = PH_EOH;
				continue;
			}
			{
				const struct header *h = &e->env.headers.h[f->idx++];
				const char *v = h->value;
				if (!(f->pflags & MPP_HDR_LEADSPC) && (*v == ' ' || *v == '\t'))
					v++;
				const char *pair[2] = { h->name, v };
				mp_put_strings(out, MPC_HEADER, pair, 2);
			}
			if (!milter_filter_skips(f, MPP_NR_HDR))
				return 1;
			continue;
		case PH_EOH:
			f->phase = PH_BODY;
			if (milter_filter_skips(f, MPP_NOEOH))
				continue;
			milter_put_macros(m, f, MPS_EOH, C_MILTER_MACROS_EOH, MPC_EOH, out);
			mp_put(out, MPC_EOH, NULL, 0);
			if (!milter_filter_skips(f, MPP_NR_EOH))
				return 1;
			continue;
		case PH_BODY: {
			if (milter_filter_skips(f, MPP_NOBODY)) {
				f->phase = PH_EOM;
				continue;
			}
			struct strbuf chunk;
			sb_init(&chunk);
			size_t n = body_chunk(e, &f->body_off, &chunk);
			if (n == 0) {
				sb_free(&chunk);
				f->phase = PH_EOM;
				continue;
			}
			mp_put(out, MPC_BODY, chunk.s, chunk.len);
			sb_free(&chunk);
			if (!milter_filter_skips(f, MPP_NR_BODY))
				return 1;
			continue;
		}
		case PH_EOM:
			f->phase = PH_DONE;
			milter_put_macros(m, f, MPS_EOM, C_MILTER_MACROS_EOM, MPC_BODYEOB, out);
			mp_put(out, MPC_BODYEOB, NULL, 0);
			return 1;
		default:
			return 0;
		}
	}
}

static uint32_t action_needs(char cmd)
{
	switch (cmd) {
	case MPR_ADDHEADER: case MPR_INSHEADER: return MPF_ADDHDRS;
	case MPR_CHGHEADER: return MPF_CHGHDRS;
	case MPR_REPLBODY: return MPF_CHGBODY;
	case MPR_ADDRCPT: return MPF_ADDRCPT;
	case MPR_ADDRCPT_PAR: return MPF_ADDRCPT_PAR;
	case MPR_DELRCPT: return MPF_DELRCPT;
	case MPR_CHGFROM: return MPF_CHGFROM;
	case MPR_QUARANTINE: return MPF_QUARANTINE;
	default: return 0;
	}
}

static int eom_action(struct milter_sess *m, struct mfilter *f, char cmd, const char *data, size_t len)
{
	struct eom_ctx *e = m->eom;
	if (cmd == MPR_SKIP) {
		if (f->phase != PH_BODY)
			return -1;
		f->phase = PH_EOM;
		return 0;
	}
	uint32_t need = action_needs(cmd);
	if (need == 0 || f->phase != PH_DONE)
		return -1;	/* modifications come only after the end of message */
	if (!(f->actions & need))
		return -1;	/* not negotiated */
	if (cmd == MPR_REPLBODY) {
		/* bounded: the message size limit, plus room for what a filter adds */
		long max = conf_num(C_MAX_MESSAGE_SIZE);
		size_t cap = (size_t)64 * 1024 * 1024 + (max > 0 ? (size_t)max : 0);
		if (e->newbody.len + len > cap)
			return -1;
		/* CR LF back to the queue's LF */
		for (size_t i = 0; i < len; i++)
			if (!(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n'))
				sb_putc(&e->newbody, data[i]);
		e->body_replaced = 1;
		return 0;
	}
	struct mod md = { .cmd = cmd };
	const char *strs[3];
	const char *p = data;
	size_t plen = len;
	if (cmd == MPR_INSHEADER || cmd == MPR_CHGHEADER) {
		if (len < 4)
			return -1;
		md.idx = mp_get32(data);
		p += 4;
		plen -= 4;
	}
	int ns = mp_strings(p, plen, strs, 3);
	int want = cmd == MPR_ADDHEADER || cmd == MPR_INSHEADER || cmd == MPR_CHGHEADER ? 2 : 1;
	if (ns < want)
		return -1;
	if (want == 2 && !hdr_name_ok(strs[0]))
		return -1;	/* a field name that would corrupt the header */
	if ((cmd == MPR_ADDRCPT || cmd == MPR_ADDRCPT_PAR || cmd == MPR_DELRCPT || cmd == MPR_CHGFROM) &&
	    (!*strs[0] || !addr_chars_ok(strs[0])))
		return -1;
	md.a = xstrdup(strs[0]);
	md.b = ns > 1 ? xstrdup(strs[1]) : NULL;
	e->mods = xreallocarray(e->mods, e->nmods + 1, sizeof(*e->mods));
	e->mods[e->nmods++] = md;
	return 0;
}

static void strip_brackets(char *buf, size_t size, const char *a)
{
	snprintf(buf, size, "%s", a[0] == '<' ? a + 1 : a);
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '>')
		buf[n - 1] = '\0';
}

/* A header value from a filter as the queue keeps it: CR dropped, a line
 * break always followed by a blank (a filter cannot start a new field or
 * queue record that way), and a leading blank unless the filter sends its
 * own (SMFIP_HDR_LEADSPC). */
static char *hdr_value(const struct mfilter *f, const char *v)
{
	struct strbuf b;
	sb_init(&b);
	if (!(f->pflags & MPP_HDR_LEADSPC) && *v && *v != ' ' && *v != '\t')
		sb_putc(&b, ' ');
	for (const char *p = v; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n') {
			while (p[1] == '\r' || p[1] == '\n')
				p++;
			if (!p[1])
				break;		/* no trailing line end */
			sb_putc(&b, '\n');
			if (p[1] != ' ' && p[1] != '\t')
				sb_putc(&b, '\t');
			continue;
		}
		sb_putc(&b, *p);
	}
	return sb_steal(&b);
}

/* A field name: printable ASCII without blanks or colon (RFC 5322 2.2). */
static int hdr_name_ok(const char *n)
{
	if (!*n || strlen(n) > 200)
		return 0;
	for (const unsigned char *p = (const unsigned char *)n; *p; p++)
		if (*p <= ' ' || *p >= 127 || *p == ':')
			return 0;
	return 1;
}

static long nth_header(const struct header_list *hl, const char *name, uint32_t n)
{
	long at = -1;
	for (uint32_t k = 0; k < (n ? n : 1); k++) {
		at = hdrlist_find(hl, name, (size_t)(at + 1));
		if (at < 0)
			return -1;
	}
	return at;
}

static void header_delete(struct header_list *hl, size_t at)
{
	free(hl->h[at].name);
	free(hl->h[at].value);
	memmove(&hl->h[at], &hl->h[at + 1], (hl->count - at - 1) * sizeof(hl->h[0]));
	hl->count--;
}

static const char *skip_blank(const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

static void apply_mod(struct smtpd_session *s, struct mfilter *f, struct eom_ctx *e, const struct mod *md)
{
	const char *qid = s->eq.qid;
	struct header_list *hl = &e->env.headers;
	char addr[1100], br[1110];
	switch (md->cmd) {
	case MPR_ADDHEADER: {
		char *v = hdr_value(f, md->b);
		hdrlist_add(hl, md->a, v);
		maillog(qid, "Milter add: header: %s:%s", md->a, v);
		free(v);
		break;
	}
	case MPR_INSHEADER: {
		char *v = hdr_value(f, md->b);
		size_t at = md->idx > hl->count ? hl->count : md->idx;
		hdrlist_insert(hl, at, md->a, v);
		maillog(qid, "Milter insert (%u): header: %s:%s", md->idx, md->a, v);
		free(v);
		break;
	}
	case MPR_CHGHEADER: {
		long at = nth_header(hl, md->a, md->idx);
		if (!*md->b) {
			if (at >= 0) {
				maillog(qid, "Milter delete: header: %s: %s", md->a, skip_blank(hl->h[at].value));
				header_delete(hl, (size_t)at);
			}
			break;
		}
		char *v = hdr_value(f, md->b);
		if (at < 0) {
			hdrlist_add(hl, md->a, v);
			maillog(qid, "Milter add: header: %s:%s", md->a, v);
		} else {
			maillog(qid, "Milter change: header: %s: from %s to %s", md->a, skip_blank(hl->h[at].value),
				skip_blank(v));
			free(hl->h[at].value);
			hl->h[at].value = v;
			v = NULL;
		}
		free(v);
		break;
	}
	case MPR_ADDRCPT:
	case MPR_ADDRCPT_PAR: {
		strip_brackets(addr, sizeof(addr), md->a);
		snprintf(br, sizeof(br), "<%s>", addr);
		char flags[8] = "P";
		char *orcpt = NULL;
		if (md->cmd == MPR_ADDRCPT_PAR && md->b) {
			char args[1024];
			snprintf(args, sizeof(args), "%s", md->b);
			char *save = NULL;
			for (char *w = strtok_r(args, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
				if (strncasecmp(w, "NOTIFY=", 7) == 0) {
					size_t k = 1;
					if (strcasestr(w, "SUCCESS")) flags[k++] = 'S';
					if (strcasestr(w, "FAILURE")) flags[k++] = 'F';
					if (strcasestr(w, "DELAY")) flags[k++] = 'D';
					if (strcasestr(w, "NEVER")) flags[k++] = 'N';
					flags[k] = '\0';
				} else if (strncasecmp(w, "ORCPT=", 6) == 0) {
					free(orcpt);
					orcpt = xstrdup(w + 6);
				}
			}
		}
		qf_env_add_rcpt(&e->env, br, flags, orcpt);
		free(orcpt);
		e->rcpts_changed = 1;
		maillog(qid, "Milter add: rcpt: %s%s%s", br, md->b ? " " : "", md->b ? md->b : "");
		break;
	}
	case MPR_DELRCPT: {
		strip_brackets(addr, sizeof(addr), md->a);
		for (size_t i = 0; i < e->env.nrcpts; i++) {
			char have[1100];
			strip_brackets(have, sizeof(have), e->env.rcpts[i].addr);
			if (strcasecmp(have, addr) != 0)
				continue;
			free(e->env.rcpts[i].addr);
			free(e->env.rcpts[i].flags);
			free(e->env.rcpts[i].orcpt);
			memmove(&e->env.rcpts[i], &e->env.rcpts[i + 1], (e->env.nrcpts - i - 1) * sizeof(e->env.rcpts[0]));
			e->env.nrcpts--;
			i--;
		}
		e->rcpts_changed = 1;
		maillog(qid, "Milter delete: rcpt %s", md->a);
		break;
	}
	case MPR_CHGFROM:
		strip_brackets(addr, sizeof(addr), md->a);
		snprintf(br, sizeof(br), "<%s>", addr);
		maillog(qid, "Milter change: from %s to %s%s%s", e->env.sender ? e->env.sender : "<>", br,
			md->b ? " " : "", md->b ? md->b : "");
		qf_set(&e->env.sender, br);
		break;
	case MPR_QUARANTINE:
		qf_set(&e->env.quarantine, md->a);
		maillog(qid, "quarantine=%s", md->a);
		break;
	default:
		break;
	}
}

static void eom_filter_done(struct milter_sess *m, struct mfilter *f)
{
	struct eom_ctx *e = m->eom;
	struct smtpd_session *s = m->s;
	f->in_msg = 0;
	for (size_t i = 0; i < e->nmods; i++) {
		apply_mod(s, f, e, &e->mods[i]);
		free(e->mods[i].a);
		free(e->mods[i].b);
	}
	e->nmods = 0;
	if (e->body_replaced) {
		char err[300];
		if (enqueue_replace_body(&s->eq, e->newbody.s, e->newbody.len, err, sizeof(err)) < 0)
			maillog(s->eq.qid, "SYSERR: Milter (%s): replace body: %s", f->def->name, err);
		else
			maillog(s->eq.qid, "Milter (%s): message body replaced (%zu bytes)", f->def->name, e->newbody.len);
		s->msg_bytes = (long)(e->env.headers.bytes + e->newbody.len);
		sb_reset(&e->newbody);
		e->body_replaced = 0;
	}
}

static void cont_eom(struct smtpd_session *s, struct milter_sess *m)
{
	struct eom_ctx *e = m->eom;
	m->eom = NULL;
	milter_abort_all(m);	/* the filters the message did not reach the end of */
	for (size_t i = 0; i < e->nmods; i++) {
		free(e->mods[i].a);
		free(e->mods[i].b);
	}
	e->nmods = 0;
	if (milter_verdict_reply(m, 1)) {
		milter_refuse(s, m, "data", NULL, 1);
		smtpd_data_abort(s);
		smtpd_reset_transaction(s);
		milter_eom_free(e);
		return;
	}
	int discard = m->verdict == MPR_DISCARD || e->env.nrcpts == 0;
	if (m->verdict == MPR_DISCARD) {
		milter_log_decision(s, m, NULL);
		maillog(s->eq.qid, "Milter: data, discard");
	}
	else if (e->env.nrcpts == 0)
		maillog(s->eq.qid, "Milter: data, no recipients left: discarded");
	int was = s->discard;
	if (discard)
		s->discard = 1;
	smtpd_data_commit(s, &e->env, e->msgid);
	s->discard = was;
	milter_eom_free(e);
}

int milter_eom(struct smtpd_session *s, struct qf_env *env, const char *msgid)
{
	if (!milter_usable(s) || s->milter->conn_verdict || s->eq.failed)
		return 0;
	char err[300];
	if (enqueue_flush(&s->eq, err, sizeof(err)) < 0)
		return 0;	/* the commit reports it */
	char path[2048];
	qf_path(path, sizeof(path), s->eq.qdir, 'd', s->eq.qid);
	int dfd = open(path, O_RDONLY | O_CLOEXEC);
	if (dfd < 0) {
		maillog(s->eq.qid, "SYSERR: Milter: cannot read %s: %s", path, strerror(errno));
		smtpd_reply(s, "451 4.3.0 Cannot read the message for the mail filters; try again later");
		qf_env_free(env);
		smtpd_data_abort(s);
		smtpd_reset_transaction(s);
		return 1;
	}
	struct eom_ctx *e = xcalloc(1, sizeof(*e));
	e->env = *env;
	qf_env_init(env);
	e->msgid = msgid ? xstrdup(msgid) : NULL;
	e->dfd = dfd;
	sb_init(&e->newbody);
	s->milter->eom = e;
	return milter_run(s->milter, MO_EOM, "eom", step_eom, eom_action, eom_filter_done, cont_eom);
}

const char *milter_eom_msgid(const struct eom_ctx *e)
{
	return e->msgid;
}
