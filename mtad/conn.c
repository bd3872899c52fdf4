/* conn: the SMTP sessions of the event loop (one loop serves every
 * session; no fork per connection or message): reading and writing, plain
 * or TLS, back-pressure, GreetPause, timeouts, and the work (commits,
 * lookups) that comes back from the workers. */
#include "mtad.h"
#include "daemon_int.h"
#include "loop.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "workq.h"
#include "tls.h"
#include "xalloc.h"

#include <openssl/err.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 16384
#define OUT_HIGH_WATER 65536

struct conn {
	int fd;
	struct smtpd_session *s;
	size_t out_off;		/* bytes of the output already written */
	time_t deadline;
	int want_out;
	int events;		/* what the loop watches for it now */
	long long greet_at;	/* GreetPause: when to greet (ms), 0 once greeted */
	int lookup_pending;	/* reverse lookup and DNSBLs still in a worker */
	long long accepted_at;
	SSL *ssl;		/* after STARTTLS */
	int tls_state;		/* 0 plain, 1 handshaking, 2 TLS */
	int ssl_want;		/* EPOLLIN/EPOLLOUT an SSL call is waiting for */
	int read_wants_write;	/* SSL_read said WANT_WRITE: retry it when writable */
	struct conn *next, *prev;
};

static struct conn *conns;
static size_t nconns;
static SSL_CTX *server_ctx;	/* NULL: no certificate, no STARTTLS */

static void conn_event(struct conn *c, uint32_t events);

static void conn_ready(void *arg, uint32_t events)
{
	conn_event(arg, events);
}

size_t conn_count(void)
{
	return nconns;
}

static void conn_close(struct conn *c)
{
	loop_unwatch(c->fd);
	if (c->ssl) {
		if (c->tls_state == 2)
			SSL_shutdown(c->ssl);	/* close_notify, best effort */
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	close(c->fd);
	smtpd_free(c->s);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nconns--;
	free(c);
}

/* The connection's I/O, plain or TLS.  Bytes written, 0 when the socket
 * is full (or TLS waits for c->ssl_want), -1 when the peer is gone. */
static ssize_t conn_send(struct conn *c, const char *buf, size_t len)
{
	if (c->tls_state != 2) {
		ssize_t w;
		do
			w = send(c->fd, buf, len, MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		return w >= 0 ? w : errno == EAGAIN ? 0 : -1;
	}
	ERR_clear_error();
	int k = SSL_write(c->ssl, buf, len > 0x7fffffff ? 0x7fffffff : (int)len);
	if (k > 0) {
		c->ssl_want = 0;
		return k;
	}
	int err = SSL_get_error(c->ssl, k);
	if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
		c->ssl_want = err == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN;
		return 0;
	}
	return -1;
}

/* Bytes read, 0 at the end, -1 on error, -2 when nothing is there yet. */
static ssize_t conn_recv(struct conn *c, char *buf, size_t len)
{
	if (c->tls_state != 2) {
		ssize_t n = recv(c->fd, buf, len, 0);
		return n < 0 && (errno == EAGAIN || errno == EINTR) ? -2 : n;
	}
	ERR_clear_error();
	int k = SSL_read(c->ssl, buf, (int)len);
	c->read_wants_write = 0;
	if (k > 0) {
		c->ssl_want = 0;
		return k;
	}
	int err = SSL_get_error(c->ssl, k);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		c->ssl_want = err == SSL_ERROR_WANT_WRITE ? EPOLLOUT : 0;
		c->read_wants_write = err == SSL_ERROR_WANT_WRITE;
		return -2;
	}
	return err == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

/* Drives the server handshake: 0 done or in progress, -1 failed. */
static int tls_step(struct conn *c)
{
	ERR_clear_error();
	int k = SSL_accept(c->ssl);
	if (k == 1) {
		struct tls_info info;
		tls_describe(c->ssl, 1, &info);
		c->tls_state = 2;
		c->ssl_want = 0;
		smtpd_tls_started(c->s, &info);
		c->deadline = time(NULL) + conf_num(C_TO_COMMAND);
		return 0;
	}
	int err = SSL_get_error(c->ssl, k);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		c->ssl_want = err == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN;
		return 0;
	}
	char e[256];
	maillog(NULL, "STARTTLS=server, error: accept failed=%d, reason=%s, relay=%s", k,
		err == SSL_ERROR_SYSCALL && errno == 0 ? "connection closed" : tls_error_text(e, sizeof(e)),
		smtpd_relay(c->s));
	return -1;
}

/* Writes what the session has to say; returns -1 when the peer is gone. */
static int conn_flush(struct conn *c)
{
	struct strbuf *out = smtpd_output(c->s);
	while (c->out_off < out->len && c->tls_state != 1) {
		ssize_t w = conn_send(c, out->s + c->out_off, out->len - c->out_off);
		if (w < 0)
			return -1;
		if (w == 0)
			break;
		c->out_off += (size_t)w;
	}
	if (c->out_off == out->len) {
		sb_reset(out);
		c->out_off = 0;
	}
	c->want_out = out->len > 0;
	if (!c->want_out && c->tls_state == 0 && smtpd_tls_wanted(c->s) && server_ctx) {
		/* the 220 is out: from here on the socket speaks TLS */
		c->ssl = SSL_new(server_ctx);
		if (c->ssl == NULL || !SSL_set_fd(c->ssl, c->fd))
			return -1;
		c->tls_state = 1;
		if (tls_step(c) < 0)
			return -1;
	}
	int events;
	if (c->tls_state == 1)
		events = c->ssl_want;
	else	/* no reading while a commit is in flight: the client waits for its 250 */
		/* (during a GreetPause reading goes on, to catch early talkers) */
		events = (smtpd_committing(c->s) && !c->greet_at ? 0 : EPOLLIN) | (c->want_out ? EPOLLOUT : 0) |
			 c->ssl_want;
	if (events != c->events) {
		loop_watch(c->fd, (uint32_t)events, conn_ready, c);
		c->events = events;
	}
	return 0;
}

static time_t session_deadline(struct conn *c)
{
	return time(NULL) + (smtpd_in_data(c->s) ? conf_num(C_TO_DATABLOCK) : conf_num(C_TO_COMMAND));
}

void conn_new(int fd, const struct sockaddr *ss, socklen_t sl, const char *name, const char *modifiers)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->s = smtpd_new(fd, ss, sl, name, 0);
	smtpd_set_listener(c->s, modifiers, server_ctx != NULL);
	c->accepted_at = loop_now_ms();
	c->lookup_pending = smtpd_lookups_start(c->s);	/* greeted when they are back */
	long pause = smtpd_greet_pause(c->s);
	if (pause > 0)
		c->greet_at = c->accepted_at + pause;
	else if (!c->lookup_pending)
		smtpd_greet(c->s);
	c->deadline = session_deadline(c);
	loop_watch(fd, EPOLLIN, conn_ready, c);
	c->events = EPOLLIN;
	smtpd_set_user(c->s, c);
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	nconns++;
	if (conn_flush(c) < 0)
		conn_close(c);
}

/* Greets the sessions whose GreetPause is over; returns the milliseconds
 * until the next one is due (or max_wait). */
int conn_greet_due(int max_wait)
{
	long long now = loop_now_ms(), next = now + max_wait;
	for (struct conn *c = conns, *n; c; c = n) {
		n = c->next;
		if (!c->greet_at)
			continue;
		if (c->greet_at <= now) {
			c->greet_at = 0;
			if (c->lookup_pending)
				continue;	/* greeted when the lookups are back */
			smtpd_greet(c->s);
			if (conn_flush(c) < 0)
				conn_close(c);
		} else if (c->greet_at < next) {
			next = c->greet_at;
		}
	}
	return (int)(next - now);
}

static void conn_event(struct conn *c, uint32_t events)
{
	if (c->tls_state == 1) {
		if (tls_step(c) < 0 || conn_flush(c) < 0) {
			smtpd_eof(c->s, 0);
			conn_close(c);
		}
		return;
	}
	if ((events & EPOLLOUT) || (c->tls_state == 2 && c->want_out)) {
		if (conn_flush(c) < 0) {
			smtpd_eof(c->s, 0);
			conn_close(c);
			return;
		}
	}
	/* decrypted bytes left in TLS after a pause (a commit, a full output
	 * buffer) are read now: epoll will not announce them again */
	int ssl_more = c->tls_state == 2 && SSL_has_pending(c->ssl);
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->read_wants_write && !ssl_more)
		goto check_done;
	if (smtpd_committing(c->s) && !c->greet_at) {
		conn_flush(c);		/* stops reading until the commit is back */
		return;
	}
	/* back-pressure: a client that does not read its replies is not read */
	if (smtpd_output(c->s)->len > OUT_HIGH_WATER)
		return;
	char buf[READ_CHUNK];
	int rounds = 0;
again:;
	ssize_t n = conn_recv(c, buf, sizeof(buf));
	if (n == -2) {
		conn_flush(c);		/* TLS may now wait for something else */
		return;
	}
	if (n <= 0) {
		smtpd_eof(c->s, 0);
		conn_flush(c);
		conn_close(c);
		return;
	}
	if (c->greet_at) {		/* talked before the greeting */
		c->greet_at = 0;
		smtpd_greet_reject(c->s, (long)(loop_now_ms() - c->accepted_at));
	}
	unsigned long before = smtpd_progress(c->s);
	smtpd_input(c->s, buf, (size_t)n);
	if (smtpd_progress(c->s) != before)
		c->deadline = session_deadline(c);
	if (conn_flush(c) < 0) {
		smtpd_eof(c->s, 0);
		conn_close(c);
		return;
	}
	/* TLS may hold decrypted bytes that epoll cannot see */
	if (c->tls_state == 2 && SSL_has_pending(c->ssl) && !smtpd_committing(c->s) && !smtpd_done(c->s) &&
	    smtpd_output(c->s)->len <= OUT_HIGH_WATER && ++rounds < 64)
		goto again;
check_done:
	if (smtpd_done(c->s) && smtpd_output(c->s)->len == 0)
		conn_close(c);
}

/* Work that came back (commits, lookups): let it answer its client, then
 * read on. */
void conn_work_done(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	for (struct work *w = workq_take_done(), *next; w; w = next) {
		next = w->next;
		struct smtpd_session *s = w->session;
		w->done(w);
		if (s == NULL)
			continue;
		struct conn *c = smtpd_user(s);
		c->deadline = session_deadline(c);
		if (c->lookup_pending && !smtpd_committing(s)) {
			c->lookup_pending = 0;
			if (!c->greet_at && !smtpd_greeted(s))
				smtpd_greet(s);
		}
		if (!c->lookup_pending && smtpd_greeted(s))
			smtpd_resume(s);
		if (c->tls_state == 2 && SSL_has_pending(c->ssl) && !smtpd_committing(s)) {
			conn_event(c, 0);	/* what TLS already decrypted */
			continue;
		}
		if (conn_flush(c) < 0) {
			smtpd_eof(c->s, 0);
			conn_close(c);
		} else if (smtpd_done(c->s) && smtpd_output(c->s)->len == 0) {
			conn_close(c);
		}
	}
}

void conn_check_timeouts(void)
{
	time_t now = time(NULL);
	struct conn *c = conns, *next;
	for (; c; c = next) {
		next = c->next;
		if (now >= c->deadline) {
			smtpd_eof(c->s, 1);
			conn_flush(c);
			conn_close(c);
		}
	}
}

/* The server certificate is read here, before the SMTP server gives up
 * root, so the key can stay readable by root only.  Without a usable one
 * STARTTLS is not offered (as sendmail: logged, and mail still flows). */
void conn_tls_init(void)
{
	const char *cert = conf_str(C_SERVER_CERT);
	if (!*cert)
		return;
	char err[512];
	server_ctx = tls_server_ctx(cert, conf_str(C_SERVER_KEY), conf_str(C_CACERT),
				    conf_str(C_CACERT_PATH), err, sizeof(err));
	if (server_ctx == NULL) {
		msg_error("STARTTLS: %s; STARTTLS is not offered", err);
		maillog(NULL, "STARTTLS=server: %s; STARTTLS is not offered", err);
	}
}

void conn_close_all(void)
{
	while (conns) {
		smtpd_eof(conns->s, 0);
		conn_close(conns);
	}
}
