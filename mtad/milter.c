/* milter: the filters' configuration and the conversation engine (see
 * milter.h).  Everything here runs in the event loop's thread; sockets are
 * non-blocking; a filter that is slow holds up only its own session. */
#include "milter.h"
#include "config.h"
#include "diag.h"
#include "loop.h"
#include "maillog.h"
#include "smtpd_int.h"
#include "workq.h"
#include "xalloc.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- configuration ---- */

static struct milter_def *defs;		/* every MailFilter definition */
static size_t ndefs;
static struct milter_def **chain;	/* InputMailFilters, in order */
static size_t nchain;
/* Addresses of inet filters, looked up once (the lookup of a name may
 * read /etc/hosts or ask the resolver: not once per session in the loop). */
struct resolved {
	const struct milter_def *def;
	struct sockaddr_storage ss;
	socklen_t sl;
};
static struct resolved *rcache;
static size_t nrcache;

static const struct milter_def *find_def(const char *name)
{
	for (size_t i = 0; i < ndefs; i++)
		if (strcasecmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

int milter_load(void)
{
	free(defs);
	free(chain);
	free(rcache);
	rcache = NULL;
	nrcache = 0;
	defs = NULL;
	chain = NULL;
	ndefs = nchain = 0;
	char err[512];
	for (size_t i = 0; i < conf_list_count(C_MAIL_FILTERS); i++) {
		const char *spec = conf_list_get(C_MAIL_FILTERS, i);
		if (!*spec)
			continue;
		struct milter_def d;
		if (milter_def_parse(NULL, spec, &d, err, sizeof(err)) < 0) {
			msg_error("MailFilter=%s: %s", spec, err);
			return -1;
		}
		defs = xreallocarray(defs, ndefs + 1, sizeof(*defs));
		/* a later definition of the same name replaces the earlier one */
		const struct milter_def *old = find_def(d.name);
		if (old)
			defs[old - defs] = d;
		else
			defs[ndefs++] = d;
	}
	char list[2048];
	snprintf(list, sizeof(list), "%s", conf_str(C_INPUT_MAIL_FILTERS));
	char *save = NULL;
	for (char *w = strtok_r(list, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		const struct milter_def *d = find_def(w);
		if (d == NULL) {
			msg_error("InputMailFilters: filter %s has no definition (MAIL_FILTER or INPUT_MAIL_FILTER)", w);
			return -1;
		}
		int dup = 0;
		for (size_t k = 0; k < nchain; k++)
			dup |= chain[k] == d;
		if (dup)
			continue;
		chain = xreallocarray(chain, nchain + 1, sizeof(*chain));
		chain[nchain++] = (struct milter_def *)d;
	}
	return 0;
}

size_t milter_count(void) { return nchain; }
const struct milter_def *milter_def_at(size_t i) { return i < nchain ? chain[i] : NULL; }

void milter_print(FILE *out)
{
	if (ndefs == 0)
		return;
	for (size_t i = 0; i < ndefs; i++) {
		char buf[700];
		milter_def_format(&defs[i], buf, sizeof(buf));
		int used = 0;
		for (size_t k = 0; k < nchain; k++)
			used |= chain[k] == &defs[i];
		fprintf(out, "mail filter %s: %s%s\n", defs[i].name, buf, used ? "" : " (defined, not in InputMailFilters)");
	}
	fprintf(out, "InputMailFilters: %s\n", nchain ? conf_str(C_INPUT_MAIL_FILTERS) : "(none)");
	static const struct { enum conf_id id; const char *name; } mac[] = {
		{ C_MILTER_MACROS_CONNECT, "connect" }, { C_MILTER_MACROS_HELO, "helo" },
		{ C_MILTER_MACROS_ENVFROM, "envfrom" }, { C_MILTER_MACROS_ENVRCPT, "envrcpt" },
		{ C_MILTER_MACROS_DATA, "data" }, { C_MILTER_MACROS_EOH, "eoh" }, { C_MILTER_MACROS_EOM, "eom" },
	};
	for (size_t i = 0; i < sizeof(mac) / sizeof(mac[0]); i++)
		fprintf(out, "Milter.macros.%s: %s\n", mac[i].name, conf_str(mac[i].id));
}

/* ---- the engine ---- */

static int in_loop(void) { return workq_async(); }

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *sess_qid(const struct milter_sess *m)
{
	return m->s && m->s->eq_open ? m->s->eq.qid : NULL;
}

static void advance(struct milter_sess *m);
static void fd_event(void *arg, uint32_t events);
static void timer_cb(void *arg, uint32_t events);

struct milter_sess *milter_sess_new(struct smtpd_session *s)
{
	struct milter_sess *m = xcalloc(1, sizeof(*m));
	m->s = s;
	m->n = nchain;
	m->f = xcalloc(nchain ? nchain : 1, sizeof(*m->f));
	for (size_t i = 0; i < nchain; i++) {
		struct mfilter *f = &m->f[i];
		f->def = chain[i];
		f->m = m;
		f->fd = -1;
		sb_init(&f->out);
		sb_init(&f->in);
	}
	return m;
}

static void set_watch(struct mfilter *f, uint32_t events)
{
	if (!in_loop() || f->fd < 0 || (f->registered && events == f->watched))
		return;
	loop_watch(f->fd, events, fd_event, f);
	f->registered = 1;
	f->watched = events;
}

static void close_filter(struct mfilter *f)
{
	if (f->fd >= 0) {
		if (f->registered)
			loop_unwatch(f->fd);
		close(f->fd);
	}
	f->registered = 0;
	f->fd = -1;
	f->watched = 0;
	sb_reset(&f->out);
	sb_reset(&f->in);
	f->out_off = 0;
	f->awaiting = 0;
	f->in_msg = 0;
	for (int k = 0; k < MPS_COUNT; k++) {
		free(f->symlist[k]);
		f->symlist[k] = NULL;
	}
}

static void cancel_timer(struct milter_sess *m)
{
	if (m->timer && in_loop())
		loop_timer_cancel(m->timer);
	m->timer = 0;
}

/* Writes what is pending; -1 when the filter is gone. */
static int flush_out(struct mfilter *f)
{
	while (f->out_off < f->out.len) {
		ssize_t w = send(f->fd, f->out.s + f->out_off, f->out.len - f->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		f->out_off += (size_t)w;
	}
	sb_reset(&f->out);
	f->out_off = 0;
	return 0;
}

static void filter_error(struct mfilter *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void filter_error(struct mfilter *f, const char *fmt, ...)
{
	struct milter_sess *m = f->m;
	char why[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	maillog(sess_qid(m), "Milter (%s): %s", f->def->name, why);
	maillog(sess_qid(m), "Milter (%s): to error state", f->def->name);
	close_filter(f);
	f->st = MF_FAILED;
	if (m->busy)
		advance(m);
}

/* What to wait for: writable while connecting or with output pending;
 * readable whenever connected, so that a filter that closes or talks out
 * of turn between steps is noticed at once. */
static uint32_t want_events(const struct mfilter *f)
{
	uint32_t ev = 0;
	if (f->st == MF_CONNECTING || f->out.len > f->out_off)
		ev |= EPOLLOUT;
	if (f->st != MF_CONNECTING)
		ev |= EPOLLIN;
	return ev;
}

/* Where this filter stands, for the event loop and the timer. */
static void arm(struct milter_sess *m, struct mfilter *f)
{
	set_watch(f, want_events(f));
	if (!in_loop())
		return;
	long long until = m->deadline;
	if (m->eom_deadline && m->eom_deadline < until)
		until = m->eom_deadline;
	/* a timer due earlier stays: when it fires it looks at the deadline
	 * and sets itself again (no cancel and add per packet) */
	if (m->timer && m->timer_due <= until)
		return;
	cancel_timer(m);
	long ms = (long)(until - now_ms());
	m->timer = loop_timer(ms > 0 ? ms : 0, timer_cb, m);
	m->timer_due = until;
}

static void set_deadline(struct milter_sess *m, struct mfilter *f)
{
	long secs = f->st == MF_CONNECTING ? f->def->to_connect
		  : f->out.len > f->out_off ? f->def->to_send : f->def->to_read;
	if (secs <= 0)
		secs = 24 * 3600;	/* 0: no timeout (bounded anyway) */
	m->deadline = now_ms() + secs * 1000;
}

static void negotiate(struct mfilter *f)
{
	f->st = MF_NEGOTIATING;
	mp_put_optneg(&f->out, MP_VERSION, MPF_ALL, MPP_OFFER);
	if (flush_out(f) < 0) {
		filter_error(f, "write(O) returned -1: %s", strerror(errno));
		return;
	}
	set_deadline(f->m, f);
	arm(f->m, f);
}


static int resolve_name(const struct milter_def *d, struct sockaddr_storage *ss, socklen_t *sl, char *err,
			size_t errsize);

static int resolve(const struct milter_def *d, struct sockaddr_storage *ss, socklen_t *sl, char *err, size_t errsize)
{
	for (size_t i = 0; i < nrcache; i++) {
		if (rcache[i].def == d) {
			*ss = rcache[i].ss;
			*sl = rcache[i].sl;
			return 0;
		}
	}
	if (resolve_name(d, ss, sl, err, errsize) < 0)
		return -1;		/* not cached: tried again next session */
	rcache = xreallocarray(rcache, nrcache + 1, sizeof(*rcache));
	rcache[nrcache].def = d;
	rcache[nrcache].ss = *ss;
	rcache[nrcache].sl = *sl;
	nrcache++;
	return 0;
}

static int resolve_name(const struct milter_def *d, struct sockaddr_storage *ss, socklen_t *sl, char *err,
			size_t errsize)
{
	memset(ss, 0, sizeof(*ss));
	if (d->family == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", d->path);
		*sl = sizeof(*un);
		return 0;
	}
	struct addrinfo hints = { .ai_family = d->family, .ai_socktype = SOCK_STREAM }, *res = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%d", d->port);
	/* numeric first; a name comes from /etc/hosts or the resolver */
	hints.ai_flags = AI_NUMERICHOST;
	int rc = getaddrinfo(d->host, port, &hints, &res);
	if (rc != 0) {
		hints.ai_flags = 0;
		rc = getaddrinfo(d->host, port, &hints, &res);
	}
	if (rc != 0 || res == NULL) {
		snprintf(err, errsize, "cannot resolve %s: %s", d->host, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void start_connect(struct mfilter *f)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[300];
	if (resolve(f->def, &ss, &sl, err, sizeof(err)) < 0) {
		filter_error(f, "error connecting to filter: %s", err);
		return;
	}
	f->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0) {
		filter_error(f, "error creating socket: %s", strerror(errno));
		return;
	}
	if (ss.ss_family != AF_UNIX) {	/* one small packet, then wait: no Nagle delay */
		int one = 1;
		setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	f->st = MF_CONNECTING;
	if (connect(f->fd, (struct sockaddr *)&ss, sl) == 0) {
		negotiate(f);
		return;
	}
	if (errno == EINPROGRESS) {
		set_deadline(f->m, f);
		arm(f->m, f);
		return;
	}
	filter_error(f, "error connecting to filter: %s", strerror(errno));
}

static int policy_stop(struct milter_sess *m, struct mfilter *f)
{
	char v = f->def->flag == 'T' ? MPR_TEMPFAIL : f->def->flag == 'R' ? MPR_REJECT
	       : f->def->flag == '4' ? MPR_SHUTDOWN : 0;
	if (!v)
		return 0;
	m->verdict = v;
	m->failed_filter = 1;
	snprintf(m->decided_by, sizeof(m->decided_by), "%s", f->def->name);
	return 1;
}

static void op_done(struct work *w);

static void finish(struct milter_sess *m)
{
	m->busy = 0;
	cancel_timer(m);
	for (size_t i = 0; i < m->n; i++)
		if (m->f[i].fd >= 0)
			set_watch(&m->f[i], want_events(&m->f[i]));
	if (in_loop() && m->wk) {
		m->wk_submitted = 1;
		workq_complete(m->wk);
		return;
	}
	struct work *w = m->wk;
	m->wk = NULL;
	if (w) {
		w->session = m->s;
		op_done(w);
	}
}

/* The continuation, in the loop (through the work queue) or at once. */
static void op_done(struct work *w)
{
	struct smtpd_session *s = w->session;
	milter_cont_fn *cont = NULL;
	struct milter_sess *m = NULL;
	if (s) {
		m = s->milter;
		s->waiting = NULL;
		if (m && m->wk == w) {
			m->wk = NULL;
			m->wk_submitted = 0;
		}
		cont = m ? m->cont : NULL;
	}
	free(w);
	if (cont)
		cont(s, m);
}

static void next_filter(struct milter_sess *m)
{
	m->cur++;
	if (m->cur < m->n) {
		struct mfilter *nf = &m->f[m->cur];
		nf->phase = 0;
		nf->idx = 0;
		nf->body_off = 0;
		if (m->op == MO_EOM)	/* each filter's own E= */
			m->eom_deadline = now_ms() + (nf->def->to_eom > 0 ? nf->def->to_eom : 24 * 3600) * 1000;
	}
}

static void advance(struct milter_sess *m)
{
	while (m->busy) {
		if (m->cur >= m->n) {
			finish(m);
			return;
		}
		struct mfilter *f = &m->f[m->cur];
		if (f->st == MF_CONNECTING || f->st == MF_NEGOTIATING || f->awaiting)
			return;		/* an event moves it on */
		if (f->st == MF_DOWN) {
			if (m->op == MO_CONNECT) {
				start_connect(f);
				continue;
			}
			f->st = MF_FAILED;	/* never connected (the session began refused) */
		}
		if (f->st == MF_FAILED) {
			if (policy_stop(m, f)) {
				finish(m);
				return;
			}
			next_filter(m);
			continue;
		}
		if (f->st == MF_OFF || f->conn_accepted || (f->accepted && m->op != MO_CONNECT && m->op != MO_HELO)) {
			next_filter(m);
			continue;
		}
		int r = m->step(m, f, &f->out);
		if (f->out.len > f->out_off && flush_out(f) < 0) {
			filter_error(f, "write returned -1, where=%s: %s", m->where, strerror(errno));
			return;		/* filter_error went on */
		}
		if (r) {
			f->awaiting = 1;
			f->got_bytes = 0;
			set_deadline(m, f);
			arm(m, f);
			return;
		}
		if (m->filter_done)
			m->filter_done(m, f);
		next_filter(m);
	}
}

static void set_reply(struct milter_sess *m, struct mfilter *f, const char *data, size_t len)
{
	size_t n = strnlen(data, len);
	if (mp_replycode_ok(data, n)) {
		snprintf(m->reply, sizeof(m->reply), "%.*s", (int)n, data);
		/* drop a trailing line end */
		size_t rl = strlen(m->reply);
		while (rl > 0 && (m->reply[rl - 1] == '\r' || m->reply[rl - 1] == '\n'))
			m->reply[--rl] = '\0';
		m->verdict = MPR_REPLYCODE;
	} else {
		m->verdict = n > 0 && data[0] == '4' ? MPR_TEMPFAIL : MPR_REJECT;
	}
	snprintf(m->decided_by, sizeof(m->decided_by), "%s", f->def->name);
}

/* One packet from a filter; 0 when it was taken, -1 after an error. */
static int handle_packet(struct mfilter *f, char cmd, const char *data, size_t len)
{
	struct milter_sess *m = f->m;
	if (f->st == MF_NEGOTIATING) {
		struct mp_optneg o;
		char err[256];
		if (cmd != MPC_OPTNEG) {
			filter_error(f, "negotiate: returned %c instead of %c", cmd, MPC_OPTNEG);
			return -1;
		}
		if (mp_parse_optneg(data, len, &o, err, sizeof(err)) < 0) {
			filter_error(f, "negotiate: %s", err);
			return -1;
		}
		if (o.version < 2 || o.version > MP_VERSION) {
			filter_error(f, "negotiate: version %u != MTA milter version %d", o.version, MP_VERSION);
			mp_optneg_free(&o);
			return -1;
		}
		if (o.actions & ~(uint32_t)MPF_ALL) {
			filter_error(f, "negotiate: filter abilities 0x%x != MTA milter abilities 0x%x", o.actions, MPF_ALL);
			mp_optneg_free(&o);
			return -1;
		}
		uint32_t proto = o.protocol & ~(uint32_t)(MPP_MDS_256K | MPP_MDS_1M);
		if (proto & ~(uint32_t)MPP_OFFER) {
			filter_error(f, "negotiate: protocol abilities 0x%x != MTA milter abilities 0x%x", o.protocol,
				     MPP_OFFER);
			mp_optneg_free(&o);
			return -1;
		}
		f->actions = o.actions;
		f->pflags = o.protocol;
		for (int k = 0; k < MPS_COUNT; k++) {
			f->symlist[k] = o.symlist[k];
			o.symlist[k] = NULL;
		}
		f->st = MF_READY;
		if (G.verbose)
			msg_info("Milter (%s): init success to negotiate (actions 0x%x, protocol 0x%x)", f->def->name,
				 f->actions, f->pflags);
		advance(m);
		return 0;
	}
	if (!f->awaiting || !m->busy) {
		filter_error(f, "unexpected reply %c, where=%s", cmd, m->busy ? m->where : "idle");
		return -1;
	}
	switch (cmd) {
	case MPR_CONTINUE:
	case MPR_ACCEPT:
		f->awaiting = 0;
		if (cmd == MPR_ACCEPT) {
			f->accepted = 1;
			if (m->op == MO_CONNECT || m->op == MO_HELO)
				f->conn_accepted = 1;
			if (m->filter_done)
				m->filter_done(m, f);
			next_filter(m);
		}
		advance(m);
		return 0;
	case MPR_PROGRESS:
		set_deadline(m, f);
		arm(m, f);
		return 0;
	case MPR_REJECT:
	case MPR_TEMPFAIL:
	case MPR_DISCARD:
	case MPR_SHUTDOWN:
	case MPR_CONN_FAIL:
		f->awaiting = 0;
		m->verdict = cmd == MPR_CONN_FAIL ? MPR_SHUTDOWN : cmd;
		snprintf(m->decided_by, sizeof(m->decided_by), "%s", f->def->name);
		finish(m);
		return 0;
	case MPR_REPLYCODE:
		f->awaiting = 0;
		set_reply(m, f, data, len);
		finish(m);
		return 0;
	default:
		if (m->action && m->action(m, f, cmd, data, len) == 0) {
			if (cmd == MPR_SKIP) {
				f->awaiting = 0;
				advance(m);
			}
			return 0;
		}
		filter_error(f, "unexpected reply %c, where=%s", cmd, m->where);
		return -1;
	}
}

static void on_readable(struct mfilter *f)
{
	char buf[65536];
	for (;;) {
		ssize_t n = recv(f->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			filter_error(f, "read returned %ld: %s, where=%s", (long)n, n == 0 ? "connection closed"
				     : strerror(errno), f->m->busy ? f->m->where : "idle");
			return;
		}
		sb_append(&f->in, buf, (size_t)n);
		f->got_bytes = 1;
		if ((size_t)n < sizeof(buf))
			break;
	}
	size_t off = 0;
	while (f->fd >= 0) {
		char cmd;
		const char *data;
		size_t dlen, used;
		int r = mp_take(f->in.s + off, f->in.len - off, MP_MAX_DATA, &cmd, &data, &dlen, &used);
		if (r == 0)
			break;
		if (r < 0) {
			filter_error(f, "read size %u out of range, where=%s", mp_get32(f->in.s + off),
				     f->m->busy ? f->m->where : "idle");
			return;
		}
		off += used;
		/* the packet is handled from a copy: the handler may go on to
		 * read and write this filter again */
		char *copy = xmalloc(dlen + 1);
		memcpy(copy, data, dlen);
		copy[dlen] = '\0';
		int fd_before = f->fd;
		int rc = handle_packet(f, cmd, copy, dlen);
		free(copy);
		if (rc < 0 || f->fd != fd_before)
			return;		/* the buffer was reset with the filter */
	}
	if (f->fd >= 0) {
		memmove(f->in.s, f->in.s + off, f->in.len - off);
		sb_truncate(&f->in, f->in.len - off);
	}
}

static void on_writable(struct mfilter *f)
{
	if (f->st == MF_CONNECTING) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (e) {
			filter_error(f, "error connecting to filter: %s", strerror(e));
			return;
		}
		negotiate(f);
		return;
	}
	if (flush_out(f) < 0) {
		filter_error(f, "write returned -1, where=%s: %s", f->m->where, strerror(errno));
		return;
	}
	if (f->m->busy && f == &f->m->f[f->m->cur])
		arm(f->m, f);
	else
		set_watch(f, want_events(f));
}

static void fd_event(void *arg, uint32_t events)
{
	struct mfilter *f = arg;
	if (f->fd < 0)
		return;
	if (events & (EPOLLOUT | EPOLLERR)) {
		if (f->st == MF_CONNECTING || f->out.len > f->out_off) {
			on_writable(f);
			if (f->fd < 0)
				return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (f->st == MF_CONNECTING)
			return;
		on_readable(f);
	}
}

static void timed_out(struct milter_sess *m)
{
	if (!m->busy || m->cur >= m->n)
		return;
	struct mfilter *f = &m->f[m->cur];
	if (f->st == MF_CONNECTING) {
		filter_error(f, "error connecting to filter: %s", "timeout");
		return;
	}
	int eom = m->eom_deadline && now_ms() >= m->eom_deadline;
	if (f->out.len > f->out_off)
		filter_error(f, "timeout %s data write, where=%s", "during", m->where);
	else if (eom)
		filter_error(f, "timeout %s data read in %s (E=%lds)", f->got_bytes ? "during" : "before", m->where,
			     f->def->to_eom);
	else
		filter_error(f, "timeout %s data read in %s", f->got_bytes ? "during" : "before", m->where);
}

static void timer_cb(void *arg, uint32_t events)
{
	(void)events;
	struct milter_sess *m = arg;
	m->timer = 0;
	long long now = now_ms();
	if (now >= m->deadline || (m->eom_deadline && now >= m->eom_deadline)) {
		timed_out(m);
		return;
	}
	if (m->busy && m->cur < m->n)
		arm(m, &m->f[m->cur]);
}

/* -bs: no loop; the same machine on a blocking poll(). */
static void drive_blocking(struct milter_sess *m)
{
	while (m->busy && m->cur < m->n) {
		struct mfilter *f = &m->f[m->cur];
		if (f->fd < 0) {
			advance(m);
			continue;
		}
		struct pollfd p = { .fd = f->fd, .events = 0 };
		if (f->st == MF_CONNECTING || f->out.len > f->out_off)
			p.events |= POLLOUT;
		if (f->awaiting || f->st == MF_NEGOTIATING)
			p.events |= POLLIN;
		long long until = m->deadline;
		if (m->eom_deadline && m->eom_deadline < until)
			until = m->eom_deadline;
		long long left = until - now_ms();
		int rc = poll(&p, 1, left > 0 ? (int)(left > 3600000 ? 3600000 : left) : 0);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			if (now_ms() >= until)
				timed_out(m);
			continue;
		}
		uint32_t ev = 0;
		if (p.revents & POLLIN)
			ev |= EPOLLIN;
		if (p.revents & POLLOUT)
			ev |= EPOLLOUT;
		if (p.revents & POLLHUP)
			ev |= EPOLLHUP;
		if (p.revents & (POLLERR | POLLNVAL))
			ev |= EPOLLERR;
		fd_event(f, ev);
	}
}

int milter_run(struct milter_sess *m, enum milter_op op, const char *where, milter_step_fn *step,
	       milter_action_fn *action, milter_filter_done_fn *filter_done, milter_cont_fn *cont)
{
	m->op = op;
	m->where = where;
	m->step = step;
	m->action = action;
	m->filter_done = filter_done;
	m->cont = cont;
	m->busy = 1;
	m->cur = 0;
	m->verdict = MPR_CONTINUE;
	m->reply[0] = '\0';
	m->decided_by[0] = '\0';
	m->failed_filter = 0;
	m->eom_deadline = 0;
	if (op == MO_EOM && m->n > 0)	/* E= bounds each filter's end of message */
		m->eom_deadline = now_ms() + (m->f[0].def->to_eom > 0 ? m->f[0].def->to_eom : 24 * 3600) * 1000;
	for (size_t i = 0; i < m->n; i++) {
		m->f[i].phase = 0;
		m->f[i].idx = 0;
		m->f[i].body_off = 0;
	}
	m->wk = xcalloc(1, sizeof(*m->wk));
	m->wk->run = NULL;
	m->wk->done = op_done;
	m->wk->session = m->s;
	m->wk_submitted = 0;
	m->s->waiting = m->wk;
	advance(m);
	if (!in_loop())
		drive_blocking(m);
	return 1;
}

int milter_filter_skips(const struct mfilter *f, uint32_t no_flag)
{
	return (f->pflags & no_flag) != 0;
}

int milter_active(const struct milter_sess *m)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct mfilter *f = &m->f[i];
		if (f->st == MF_FAILED && f->def->flag)
			return 1;
		if ((f->st == MF_READY || f->st == MF_DOWN) && !f->conn_accepted)
			return 1;
	}
	return 0;
}

void milter_abort_all(struct milter_sess *m)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mfilter *f = &m->f[i];
		f->accepted = 0;
		if (f->st != MF_READY || !f->in_msg)
			continue;
		f->in_msg = 0;
		mp_put(&f->out, MPC_ABORT, NULL, 0);
		if (flush_out(f) < 0)
			filter_error(f, "write(A) returned -1: %s", strerror(errno));
		else
			set_watch(f, want_events(f));
	}
}

void milter_sess_free(struct milter_sess *m)
{
	if (m == NULL)
		return;
	cancel_timer(m);
	for (size_t i = 0; i < m->n; i++) {
		struct mfilter *f = &m->f[i];
		if (f->st == MF_READY && f->fd >= 0) {
			/* SMFIC_QUIT, best effort: the filter learns the session is over */
			sb_reset(&f->out);
			f->out_off = 0;
			mp_put(&f->out, MPC_QUIT, NULL, 0);
			(void)flush_out(f);
		}
		close_filter(f);
		sb_free(&f->out);
		sb_free(&f->in);
	}
	if (m->wk && !m->wk_submitted) {
		if (m->s && m->s->waiting == m->wk)
			m->s->waiting = NULL;
		free(m->wk);	/* submitted: it comes back with no session and frees itself */
	}
	free(m->f);
	for (size_t i = 0; i < m->nmail_args; i++)
		free(m->mail_args[i]);
	free(m->mail_args);
	for (size_t i = 0; i < m->nrcpt_args; i++)
		free(m->rcpt_args[i]);
	free(m->rcpt_args);
	free(m);
}
