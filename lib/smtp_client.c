/* smtp_client: the blocking SMTP client (connect, replies, EHLO, the
 * mail transaction, dot-stuffing).  See smtp_client.h for the contract. */
#include "smtp_client.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IBUF_SIZE (2 * SMTP_LINE_MAX)

const char *smtp_result_str(enum smtp_result r)
{
	switch (r) {
	case SMTP_OK: return "ok";
	case SMTP_TEMP: return "temporary";
	case SMTP_PERM: return "permanent";
	case SMTP_IOERR: return "io-error";
	case SMTP_PROTO: return "protocol-error";
	}
	return "unknown";
}

void smtp_timeouts_rfc5321(struct smtp_timeouts *t)
{
	t->connect = 5 * 60 * 1000;
	t->greeting = 5 * 60 * 1000;
	t->helo = 5 * 60 * 1000;
	t->mail = 5 * 60 * 1000;
	t->rcpt = 5 * 60 * 1000;
	t->data_init = 2 * 60 * 1000;
	t->data_block = 3 * 60 * 1000;
	t->data_term = 10 * 60 * 1000;
	t->other = 5 * 60 * 1000;
}

void smtp_timeouts_all(struct smtp_timeouts *t, int ms)
{
	t->connect = t->greeting = t->helo = t->mail = t->rcpt = ms;
	t->data_init = t->data_block = t->data_term = t->other = ms;
}

/* ---- EHLO keywords ------------------------------------------------ */

static int keyword_is(const char *p, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(p, kw, n) == 0;
}

size_t smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ext *ext)
{
	const char *p = r->text.s;
	const char *end = r->text.s + r->text.len;
	size_t nkw = 0;

	memset(ext, 0, sizeof(*ext));
	/* The first line is the server's name and greeting, not a keyword. */
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		return 0;
	p = nl + 1;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *q = p;
		while (q < eol && *q != ' ' && *q != '=')
			q++;
		size_t kwlen = (size_t)(q - p);
		const char *arg = q < eol ? q + 1 : eol;
		size_t arglen = (size_t)(eol - arg);
		nkw++;
		if (keyword_is(p, kwlen, "PIPELINING"))
			ext->flags |= SMTP_EXT_PIPELINING;
		else if (keyword_is(p, kwlen, "SIZE")) {
			ext->flags |= SMTP_EXT_SIZE;
			char num[32];
			size_t k = arglen < sizeof(num) - 1 ? arglen : sizeof(num) - 1;
			memcpy(num, arg, k);
			num[k] = '\0';
			ext->size = isdigit((unsigned char)num[0]) ? strtoull(num, NULL, 10) : 0;
		} else if (keyword_is(p, kwlen, "8BITMIME"))
			ext->flags |= SMTP_EXT_8BITMIME;
		else if (keyword_is(p, kwlen, "STARTTLS"))
			ext->flags |= SMTP_EXT_STARTTLS;
		else if (keyword_is(p, kwlen, "DSN"))
			ext->flags |= SMTP_EXT_DSN;
		else if (keyword_is(p, kwlen, "ENHANCEDSTATUSCODES"))
			ext->flags |= SMTP_EXT_ENHANCEDSTATUSCODES;
		else if (keyword_is(p, kwlen, "SMTPUTF8"))
			ext->flags |= SMTP_EXT_SMTPUTF8;
		else if (keyword_is(p, kwlen, "CHUNKING"))
			ext->flags |= SMTP_EXT_CHUNKING;
		else if (keyword_is(p, kwlen, "AUTH")) {
			ext->flags |= SMTP_EXT_AUTH;
			if (!ext->auth[0]) {
				size_t k = arglen < sizeof(ext->auth) - 1 ? arglen
									   : sizeof(ext->auth) - 1;
				memcpy(ext->auth, arg, k);
				ext->auth[k] = '\0';
			}
		}
		p = nl ? nl + 1 : end;
	}
	return nkw;
}

/* ---- dot-stuffing --------------------------------------------------- */

void smtp_dotstuff_init(struct smtp_dotstuff *d)
{
	d->bol = 1;
	d->cr = 0;
}

static void newline(struct smtp_dotstuff *d, struct strbuf *out)
{
	sb_append(out, "\r\n", 2);
	d->bol = 1;
}

void smtp_dotstuff(struct smtp_dotstuff *d, const char *in, size_t n, struct strbuf *out)
{
	sb_reserve(out, n + n / 16 + 4);
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		if (d->cr) {
			d->cr = 0;
			newline(d, out);	/* CRLF or bare CR: one line ending */
			if (ch == '\n')
				continue;
		}
		if (ch == '\r') {
			d->cr = 1;
			continue;
		}
		if (ch == '\n') {
			newline(d, out);
			continue;
		}
		if (d->bol && ch == '.')
			sb_putc(out, '.');
		d->bol = 0;
		sb_putc(out, ch);
	}
}

void smtp_dotstuff_end(struct smtp_dotstuff *d, struct strbuf *out)
{
	if (d->cr) {
		d->cr = 0;
		newline(d, out);
	}
	if (!d->bol)
		newline(d, out);
	sb_append(out, ".\r\n", 3);
}

/* ---- connection ----------------------------------------------------- */

void smtp_client_init(struct smtp_client *c, const struct smtp_timeouts *t)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (t)
		c->t = *t;
	else
		smtp_timeouts_rfc5321(&c->t);
	smtp_reply_init(&c->reply);
	sb_init(&c->err);
	c->ibuf = xmalloc(IBUF_SIZE);
}

void smtp_client_close(struct smtp_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->ilen = c->ioff = 0;
	c->eof = 0;
}

void smtp_client_free(struct smtp_client *c)
{
	smtp_client_close(c);
	smtp_reply_free(&c->reply);
	sb_free(&c->err);
	free(c->ibuf);
	c->ibuf = NULL;
}

void smtp_client_set_transcript(struct smtp_client *c, smtp_transcript_fn fn, void *arg)
{
	c->transcript = fn;
	c->transcript_arg = arg;
}

static void note(struct smtp_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct smtp_client *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (c->transcript)
		c->transcript(c->transcript_arg, SMTP_DIR_INFO, buf, (size_t)n);
}

static enum smtp_result fail(struct smtp_client *c, enum smtp_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum smtp_result fail(struct smtp_client *c, enum smtp_result r, const char *fmt, ...)
{
	va_list ap;
	sb_reset(&c->err);
	va_start(ap, fmt);
	sb_vprintf(&c->err, fmt, ap);
	va_end(ap);
	note(c, "%s", c->err.s);
	return r;
}

/* Like fail() but without the transcript note (the caller adds one). */
static enum smtp_result set_err(struct smtp_client *c, enum smtp_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum smtp_result set_err(struct smtp_client *c, enum smtp_result r, const char *fmt, ...)
{
	va_list ap;
	sb_reset(&c->err);
	va_start(ap, fmt);
	sb_vprintf(&c->err, fmt, ap);
	va_end(ap);
	return r;
}

void smtp_client_attach_fd(struct smtp_client *c, int fd)
{
	smtp_client_close(c);
	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "fd %d", fd);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(long long deadline)
{
	long long r = deadline - now_ms();
	if (r < 0)
		return 0;
	return r > 0x7fffffff ? 0x7fffffff : (int)r;
}

static enum smtp_result connect_one(struct smtp_client *c, const struct addrinfo *ai,
				    const char *source)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return set_err(c, SMTP_IOERR, "socket: %s", strerror(errno));
	if (source) {
		struct addrinfo hints, *src = NULL;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = ai->ai_family;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		int e = getaddrinfo(source, NULL, &hints, &src);
		if (e != 0) {
			close(fd);
			return set_err(c, SMTP_IOERR, "source address %s: %s", source, gai_strerror(e));
		}
		if (bind(fd, src->ai_addr, src->ai_addrlen) < 0) {
			int err = errno;
			freeaddrinfo(src);
			close(fd);
			return set_err(c, SMTP_IOERR, "bind %s: %s", source, strerror(err));
		}
		freeaddrinfo(src);
	}
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			int err = errno;
			close(fd);
			return set_err(c, SMTP_IOERR, "connect: %s", strerror(err));
		}
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int n;
		do
			n = poll(&p, 1, c->t.connect);
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			close(fd);
			return set_err(c, SMTP_IOERR, "connect: timed out");
		}
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			int err = soerr ? soerr : errno;
			close(fd);
			return set_err(c, SMTP_IOERR, "connect: %s", strerror(err));
		}
	}
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	c->fd = fd;
	return SMTP_OK;
}

enum smtp_result smtp_connect(struct smtp_client *c, const char *host, const char *port,
			      const char *source, int family)
{
	char name[256];
	size_t hl = strlen(host);
	struct addrinfo hints, *res = NULL;
	enum smtp_result r = SMTP_IOERR;

	smtp_client_close(c);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host++;
		hl -= 2;
	}
	if (hl >= sizeof(name))
		return fail(c, SMTP_IOERR, "host name too long");
	memcpy(name, host, hl);
	name[hl] = '\0';
	if (strncasecmp(name, "IPv6:", 5) == 0)
		memmove(name, name + 5, strlen(name + 5) + 1);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	int e = getaddrinfo(name, port, &hints, &res);
	if (e == EAI_NONAME || e == EAI_ADDRFAMILY) {
		hints.ai_flags = 0;
		e = getaddrinfo(name, port, &hints, &res);
	}
	if (e != 0)
		return fail(c, SMTP_IOERR, "%s port %s: %s", name, port, gai_strerror(e));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		char addr[64];
		char serv[32];
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), serv,
				sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			snprintf(addr, sizeof(addr), "?");
		r = connect_one(c, ai, source);
		if (r == SMTP_OK) {
			snprintf(c->peer, sizeof(c->peer), "%s port %s", addr, serv);
			note(c, "connected to %s", c->peer);
			break;
		}
		note(c, "%s port %s: %s", addr, serv, c->err.s);
	}
	freeaddrinfo(res);
	if (r == SMTP_OK)
		sb_reset(&c->err);
	return r;
}

/* ---- reading -------------------------------------------------------- */

/* Waits until fd is ready for events; -1 with errno (ETIMEDOUT) if not. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int k;
	do
		k = poll(&p, 1, timeout_ms);
	while (k < 0 && errno == EINTR);
	if (k == 0)
		errno = ETIMEDOUT;
	return k > 0 ? 0 : -1;
}

static ssize_t io_read(struct smtp_client *c, void *buf, size_t n, int timeout_ms)
{
	if (c->io.read)
		return c->io.read(c->io.ctx, c->fd, buf, n, timeout_ms);
	if (wait_fd(c->fd, POLLIN, timeout_ms) < 0)
		return -1;
	ssize_t got;
	do
		got = read(c->fd, buf, n);
	while (got < 0 && errno == EINTR);
	return got;
}

static ssize_t io_write(struct smtp_client *c, const void *buf, size_t n, int timeout_ms)
{
	if (c->io.write)
		return c->io.write(c->io.ctx, c->fd, buf, n, timeout_ms);
	if (wait_fd(c->fd, POLLOUT, timeout_ms) < 0)
		return -1;
	ssize_t put;
	do {
		put = send(c->fd, buf, n, MSG_NOSIGNAL);
		if (put < 0 && errno == ENOTSOCK)
			put = write(c->fd, buf, n);
	} while (put < 0 && errno == EINTR);
	return put;
}

/* Reads one line (without CR LF) into line and len, pointing into ibuf and
 * valid until the next read. */
static enum smtp_result read_line(struct smtp_client *c, long long deadline,
				  const char **line, size_t *len)
{
	for (;;) {
		char *start = c->ibuf + c->ioff;
		size_t avail = c->ilen - c->ioff;
		char *nl = memchr(start, '\n', avail);
		if (nl) {
			size_t l = (size_t)(nl - start);
			c->ioff += l + 1;
			if (l > 0 && start[l - 1] == '\r')
				l--;
			if (l > SMTP_LINE_MAX)
				return fail(c, SMTP_PROTO, "reply line longer than %d octets",
					    SMTP_LINE_MAX);
			*line = start;
			*len = l;
			return SMTP_OK;
		}
		if (avail > SMTP_LINE_MAX + 1)
			return fail(c, SMTP_PROTO, "reply line longer than %d octets",
				    SMTP_LINE_MAX);
		if (c->eof)
			return fail(c, SMTP_IOERR, "connection closed by server%s",
				    avail ? " in the middle of a line" : "");
		if (c->ioff > 0) {
			memmove(c->ibuf, start, avail);
			c->ioff = 0;
			c->ilen = avail;
		}
		ssize_t got = io_read(c, c->ibuf + c->ilen, IBUF_SIZE - c->ilen,
				      remaining(deadline));
		if (got < 0) {
			if (errno == ETIMEDOUT)
				return fail(c, SMTP_IOERR, "timed out waiting for a reply");
			return fail(c, SMTP_IOERR, "read: %s", strerror(errno));
		}
		if (got == 0)
			c->eof = 1;
		c->ilen += (size_t)got;
	}
}

enum smtp_result smtp_read_reply(struct smtp_client *c, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	smtp_reply_reset(&c->reply);
	if (c->fd < 0)
		return fail(c, SMTP_IOERR, "not connected");
	for (;;) {
		const char *line = NULL;
		size_t len = 0;
		enum smtp_result r = read_line(c, deadline, &line, &len);
		if (r != SMTP_OK)
			return r;
		if (c->transcript)
			c->transcript(c->transcript_arg, SMTP_DIR_RECV, line, len);
		switch (smtp_reply_feed(&c->reply, line, len)) {
		case SMTP_FEED_MORE:
			continue;
		case SMTP_FEED_DONE:
			sb_reset(&c->err);
			return SMTP_OK;
		case SMTP_FEED_BAD:
			return fail(c, SMTP_PROTO, "malformed reply line: %.*s",
				    (int)(len < 80 ? len : 80), line);
		}
	}
}

enum smtp_result smtp_reply_result(const struct smtp_client *c, int want)
{
	int cls = smtp_reply_class(&c->reply);
	if (cls == want)
		return SMTP_OK;
	if (cls == 4)
		return SMTP_TEMP;
	if (cls == 5)
		return SMTP_PERM;
	return SMTP_PROTO;
}

/* ---- writing -------------------------------------------------------- */

static void transcript_sent(struct smtp_client *c, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t l = nl ? (size_t)(nl - p) + 1 : n;
		c->transcript(c->transcript_arg, SMTP_DIR_SEND, p, l);
		p += l;
		n -= l;
	}
}

enum smtp_result smtp_write_raw(struct smtp_client *c, const void *data, size_t n,
				int timeout_ms)
{
	const char *p = data;
	long long deadline = now_ms() + timeout_ms;

	if (c->fd < 0)
		return fail(c, SMTP_IOERR, "not connected");
	if (c->transcript)
		transcript_sent(c, p, n);
	while (n > 0) {
		ssize_t put = io_write(c, p, n, remaining(deadline));
		if (put < 0) {
			if (errno == ETIMEDOUT)
				return fail(c, SMTP_IOERR, "timed out sending");
			return fail(c, SMTP_IOERR, "write: %s", strerror(errno));
		}
		p += put;
		n -= (size_t)put;
	}
	return SMTP_OK;
}

static enum smtp_result send_line(struct smtp_client *c, const char *line, int timeout_ms)
{
	struct strbuf sb;
	enum smtp_result r;

	if (strpbrk(line, "\r\n"))
		return fail(c, SMTP_PROTO, "refusing to send a command with CR or LF");
	sb_init(&sb);
	sb_puts(&sb, line);
	sb_append(&sb, "\r\n", 2);
	r = smtp_write_raw(c, sb.s, sb.len, timeout_ms);
	sb_free(&sb);
	return r;
}

enum smtp_result smtp_command(struct smtp_client *c, int timeout_ms, int want,
			      const char *line)
{
	enum smtp_result r = send_line(c, line, timeout_ms);
	if (r != SMTP_OK)
		return r;
	r = smtp_read_reply(c, timeout_ms);
	if (r != SMTP_OK)
		return r;
	return smtp_reply_result(c, want);
}

/* ---- the SMTP steps --------------------------------------------------- */

enum smtp_result smtp_greeting(struct smtp_client *c)
{
	enum smtp_result r = smtp_read_reply(c, c->t.greeting);
	if (r != SMTP_OK)
		return r;
	return smtp_reply_result(c, 2);
}

enum smtp_result smtp_helo(struct smtp_client *c, const char *name)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "HELO %s", name);
	enum smtp_result r = smtp_command(c, c->t.helo, 2, sb.s);
	sb_free(&sb);
	c->esmtp = 0;
	memset(&c->ext, 0, sizeof(c->ext));
	return r;
}

enum smtp_result smtp_ehlo(struct smtp_client *c, const char *name)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "EHLO %s", name);
	enum smtp_result r = smtp_command(c, c->t.helo, 2, sb.s);
	sb_free(&sb);
	if (r == SMTP_OK) {
		c->esmtp = 1;
		smtp_ehlo_parse(&c->reply, &c->ext);
		return r;
	}
	if (r == SMTP_PERM)
		return smtp_helo(c, name);
	return r;
}

static void path_cmd(struct strbuf *sb, const char *verb, const char *addr, const char *params)
{
	sb_printf(sb, "%s:<%s>", verb, addr ? addr : "");
	if (params && *params)
		sb_printf(sb, " %s", params);
}

enum smtp_result smtp_mail(struct smtp_client *c, const char *sender, const char *params)
{
	struct strbuf sb;
	sb_init(&sb);
	path_cmd(&sb, c->sendmail_verbs ? "MAIL From" : "MAIL FROM", sender, params);
	enum smtp_result r = smtp_command(c, c->t.mail, 2, sb.s);
	sb_free(&sb);
	return r;
}

enum smtp_result smtp_rcpt(struct smtp_client *c, const char *rcpt, const char *params)
{
	struct strbuf sb;
	sb_init(&sb);
	path_cmd(&sb, c->sendmail_verbs ? "RCPT To" : "RCPT TO", rcpt, params);
	enum smtp_result r = smtp_command(c, c->t.rcpt, 2, sb.s);
	sb_free(&sb);
	return r;
}

enum smtp_result smtp_data_begin(struct smtp_client *c)
{
	return smtp_command(c, c->t.data_init, 3, "DATA");
}

enum smtp_result smtp_data_body(struct smtp_client *c, const char *body, size_t len)
{
	struct smtp_dotstuff d;
	struct strbuf out;
	enum smtp_result r;

	sb_init(&out);
	smtp_dotstuff_init(&d);
	smtp_dotstuff(&d, body, len, &out);
	smtp_dotstuff_end(&d, &out);
	r = smtp_write_raw(c, out.s, out.len, c->t.data_block);
	sb_free(&out);
	if (r != SMTP_OK)
		return r;
	r = smtp_read_reply(c, c->t.data_term);
	if (r != SMTP_OK)
		return r;
	return smtp_reply_result(c, 2);
}

enum smtp_result smtp_rset(struct smtp_client *c)
{
	return smtp_command(c, c->t.other, 2, "RSET");
}

enum smtp_result smtp_starttls(struct smtp_client *c)
{
	enum smtp_result r = smtp_command(c, c->t.other, 2, "STARTTLS");
	if (r != SMTP_OK)
		return r;
	if (c->reply.code != 220)
		return fail(c, SMTP_PROTO, "STARTTLS answered %d, not 220", c->reply.code);
	if (c->ilen > c->ioff)
		return fail(c, SMTP_PROTO, "server sent data after its STARTTLS reply "
			    "(plaintext injection)");
	c->esmtp = 0;
	memset(&c->ext, 0, sizeof(c->ext));
	return SMTP_OK;
}

void smtp_client_set_io(struct smtp_client *c, const struct smtp_io *io)
{
	c->io = *io;
	c->ilen = c->ioff = 0;
}

enum smtp_result smtp_quit(struct smtp_client *c)
{
	enum smtp_result r = smtp_command(c, c->t.other, 2, "QUIT");
	smtp_client_close(c);
	return r;
}

/* The combined result when no recipient was accepted: temporary if any
 * recipient failed temporarily (the queue will retry those). */
static enum smtp_result rcpt_summary(const enum smtp_result *res, size_t n)
{
	enum smtp_result worst = SMTP_PERM;
	for (size_t i = 0; i < n; i++)
		if (smtp_result_is_temp(res[i]))
			return res[i];
	return worst;
}

enum smtp_result smtp_send_message(struct smtp_client *c, const struct smtp_msg *m,
				   enum smtp_result *rcpt_res, struct smtp_reply *rcpt_reply,
				   const char **phase)
{
	enum smtp_result r;
	size_t ok = 0;
	int pipelined = m->pipeline && (c->ext.flags & SMTP_EXT_PIPELINING);
	const char *dummy;

	if (!phase)
		phase = &dummy;
	for (size_t i = 0; i < m->nrcpts; i++)
		rcpt_res[i] = SMTP_IOERR;

	if (pipelined) {
		struct strbuf sb;
		sb_init(&sb);
		if (m->rset_first)
			sb_puts(&sb, "RSET\r\n");
		path_cmd(&sb, c->sendmail_verbs ? "MAIL From" : "MAIL FROM", m->sender, m->mail_params);
		sb_append(&sb, "\r\n", 2);
		for (size_t i = 0; i < m->nrcpts; i++) {
			path_cmd(&sb, c->sendmail_verbs ? "RCPT To" : "RCPT TO", m->rcpts[i],
				 m->rcpt_params ? m->rcpt_params[i] : NULL);
			sb_append(&sb, "\r\n", 2);
		}
		sb_puts(&sb, "DATA\r\n");
		if (strpbrk(m->sender ? m->sender : "", "\r\n")) {
			sb_free(&sb);
			*phase = "mail";
			return fail(c, SMTP_PROTO, "CR or LF in an address");
		}
		r = smtp_write_raw(c, sb.s, sb.len, c->t.mail);
		sb_free(&sb);
		*phase = "mail";
		if (r != SMTP_OK)
			return r;
		if (m->rset_first) {
			r = smtp_read_reply(c, c->t.other);
			if (r != SMTP_OK)
				return r;
			if (c->reply.code / 100 != 2)	/* closing, or confused: not this connection */
				return fail(c, SMTP_IOERR, "RSET answered %d", c->reply.code);
		}
		r = smtp_read_reply(c, c->t.mail);
		if (r != SMTP_OK)
			return r;
		enum smtp_result mail_r = smtp_reply_result(c, 2);
		struct smtp_reply mail_reply;
		smtp_reply_init(&mail_reply);
		smtp_reply_copy(&mail_reply, &c->reply);
		if (m->mail_reply)
			smtp_reply_copy(m->mail_reply, &c->reply);
		for (size_t i = 0; i < m->nrcpts; i++) {
			r = smtp_read_reply(c, c->t.rcpt);
			if (r != SMTP_OK) {
				*phase = "rcpt";
				smtp_reply_free(&mail_reply);
				return r;
			}
			rcpt_res[i] = smtp_reply_result(c, 2);
			if (rcpt_reply)
				smtp_reply_copy(&rcpt_reply[i], &c->reply);
			if (rcpt_res[i] == SMTP_OK)
				ok++;
		}
		*phase = "data";
		r = smtp_read_reply(c, c->t.data_init);
		if (r != SMTP_OK) {
			smtp_reply_free(&mail_reply);
			return r;
		}
		enum smtp_result data_r = smtp_reply_result(c, 3);
		if (m->data_reply)
			smtp_reply_copy(m->data_reply, &c->reply);
		if (data_r == SMTP_OK && (mail_r != SMTP_OK || ok == 0)) {
			/* RFC 2920 3.1: DATA was accepted although the transaction
			 * has failed; end it with an empty message we ignore. */
			smtp_write_raw(c, ".\r\n", 3, c->t.data_block);
			smtp_read_reply(c, c->t.data_term);
		}
		if (mail_r != SMTP_OK) {
			*phase = "mail";
			smtp_reply_copy(&c->reply, &mail_reply);
			smtp_reply_free(&mail_reply);
			return mail_r;
		}
		smtp_reply_free(&mail_reply);
		if (ok == 0) {
			*phase = "rcpt";
			return rcpt_summary(rcpt_res, m->nrcpts);
		}
		if (data_r != SMTP_OK)
			return data_r;
	} else {
		*phase = "mail";
		if (m->rset_first && (r = smtp_rset(c)) != SMTP_OK)	/* the probe, on its own */
			return r == SMTP_IOERR ? r : fail(c, SMTP_IOERR, "RSET answered %d", c->reply.code);
		r = smtp_mail(c, m->sender, m->mail_params);
		if (m->mail_reply && c->reply.code)
			smtp_reply_copy(m->mail_reply, &c->reply);
		if (r != SMTP_OK)
			return r;
		*phase = "rcpt";
		for (size_t i = 0; i < m->nrcpts; i++) {
			rcpt_res[i] = smtp_rcpt(c, m->rcpts[i], m->rcpt_params ? m->rcpt_params[i] : NULL);
			if (rcpt_reply)
				smtp_reply_copy(&rcpt_reply[i], &c->reply);
			if (rcpt_res[i] == SMTP_OK)
				ok++;
			else if (rcpt_res[i] == SMTP_IOERR)
				return SMTP_IOERR;
		}
		if (ok == 0)
			return rcpt_summary(rcpt_res, m->nrcpts);
		*phase = "data";
		r = smtp_data_begin(c);
		if (m->data_reply && c->reply.code)
			smtp_reply_copy(m->data_reply, &c->reply);
		if (r != SMTP_OK)
			return r;
	}
	*phase = "dot";
	return smtp_data_body(c, m->body, m->len);
}
