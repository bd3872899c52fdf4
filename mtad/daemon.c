/* daemon: listeners, the event loop (one epoll loop serves every session;
 * no fork per connection or message), timeouts, signals, and the delivery
 * processes: newly queued IDs are batched to a forked runner (at most
 * MaxQueueChildren at once), and -q<interval> forks full queue runs. */
#include "mtad.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "commit.h"
#include "workq.h"
#include "qid.h"
#include "tls.h"
#include "xalloc.h"

#include <openssl/err.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS 16
#define READ_CHUNK 16384
#define OUT_HIGH_WATER 65536
#define BATCH_MAX 256

struct listener {
	int fd;
	char name[32];
	char modifiers[32];
};

struct conn {
	int fd;
	struct smtpd_session *s;
	size_t out_off;		/* bytes of the output already written */
	time_t deadline;
	int want_out;
	int events;		/* what epoll watches for it now */
	long long greet_at;	/* GreetPause: when to greet (ms), 0 once greeted */
	int lookup_pending;	/* reverse lookup and DNSBLs still in a worker */
	long long accepted_at;
	SSL *ssl;		/* after STARTTLS */
	int tls_state;		/* 0 plain, 1 handshaking, 2 TLS */
	int ssl_want;		/* EPOLLIN/EPOLLOUT an SSL call is waiting for */
	int read_wants_write;	/* SSL_read said WANT_WRITE: retry it when writable */
	struct conn *next, *prev;
};

static struct listener listeners[MAX_LISTENERS];
static int nlisteners;
static int epfd = -1, sigfd = -1;
static struct conn *conns;
static size_t nconns;
static char **pending;		/* queued IDs waiting for a runner */
static size_t npending;
static int nrunners;
static int stopping;
static int restarting;
static SSL_CTX *server_ctx;	/* NULL: no certificate, no STARTTLS */

/* Privilege separation.  Started as root, mtad binds its listeners, then
 * forks: the SMTP server (every byte from the network) runs as RunAsUser
 * (default "mail"); the parent stays root only to start delivery processes
 * (mailboxes belong to their users) and learns of queued messages through
 * a pipe, one ID a line.  Not root, or RunAsUser=root: one process. */
static int idpipe[2] = { -1, -1 };
static pid_t smtp_child;		/* in the parent: the SMTP server */
static int is_smtp_child;
static struct strbuf idbuf;

static void queued(const char *qid);

static void queued_to_parent(const char *qid)
{
	char line[QID_MAXLEN + 3];
	int n = snprintf(line, sizeof(line), "%s%s\n", smtpd_hook_flush ? "!" : "", qid);	/* !: ETRN */
	/* a pipe write this small is atomic; if the parent is gone the message
	 * simply waits in the queue for the next run */
	if (write(idpipe[1], line, (size_t)n) != n)
		msg_warn("%s: cannot tell the queue manager (%s); it stays queued", qid, strerror(errno));
}

static void read_ids(void)
{
	char buf[4096];
	ssize_t n = read(idpipe[0], buf, sizeof(buf));
	if (n <= 0)
		return;
	sb_append(&idbuf, buf, (size_t)n);
	char *start = idbuf.s, *nl;
	while ((nl = memchr(start, '\n', idbuf.len - (size_t)(start - idbuf.s))) != NULL) {
		*nl = '\0';
		int flush = start[0] == '!';
		if (qid_valid(start + flush)) {
			smtpd_hook_flush = flush;
			queued(start + flush);
			smtpd_hook_flush = 0;
		}
		start = nl + 1;
	}
	size_t rest = idbuf.len - (size_t)(start - idbuf.s);
	memmove(idbuf.s, start, rest);
	sb_truncate(&idbuf, rest);
}

/* RunAsUser: "user" or "user:group"; "" means "mail".  Returns 0 with the
 * ids, 1 when no change is wanted (root), -1 when the user is unknown. */
static int run_as_ids(uid_t *uid, gid_t *gid)
{
	char spec[256];
	snprintf(spec, sizeof(spec), "%s", *conf_str(C_RUN_AS_USER) ? conf_str(C_RUN_AS_USER) : "mail");
	char *group = strchr(spec, ':');
	if (group)
		*group++ = '\0';
	struct passwd *pw = getpwnam(spec);
	if (pw == NULL) {
		msg_error("RunAsUser: no user %s (create it, or set RunAsUser)", spec);
		return -1;
	}
	if (pw->pw_uid == 0)
		return 1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group) {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			msg_error("RunAsUser: no group %s", group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* The queue must be writable by the SMTP server: give it the directories. */
static void give_queue(uid_t uid, gid_t gid)
{
	const char *qdir = conf_str(C_QUEUE_DIR);
	static const char *const subs[] = { "", "/qf", "/df", "/xf", NULL };
	for (int i = 0; subs[i]; i++) {
		char path[2048];
		struct stat st;
		snprintf(path, sizeof(path), "%s%s", qdir, subs[i]);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid != uid &&
		    chown(path, uid, gid) < 0)
			msg_warn("cannot give queue directory %s to uid %ld: %s", path, (long)uid, strerror(errno));
	}
}

/* Forks the unprivileged SMTP server.  Returns 0 in both processes (the
 * roles are set), -1 on failure. */
static int split_privileges(void)
{
	uid_t uid;
	gid_t gid;
	if (geteuid() != 0)
		return 0;
	int rc = run_as_ids(&uid, &gid);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return 0;		/* RunAsUser=root: as sendmail, one process */
	give_queue(uid, gid);
	if (pipe2(idpipe, O_CLOEXEC) < 0) {
		msg_error("pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		msg_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(idpipe[0]);
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || getuid() == 0) {
			msg_error("cannot drop privileges to uid %ld: %s", (long)uid, strerror(errno));
			_exit(EX_OSERR);
		}
		is_smtp_child = 1;
		smtpd_queued_hook = queued_to_parent;
		return 0;
	}
	smtp_child = pid;
	close(idpipe[1]);
	for (int i = 0; i < nlisteners; i++)
		close(listeners[i].fd);
	nlisteners = 0;
	sb_init(&idbuf);
	return 0;
}

static void queued(const char *qid)
{
	char mode = conf_str(C_DELIVERY_MODE)[0];
	if ((mode == 'q' || mode == 'd') && !smtpd_hook_flush)
		return;
	pending = xreallocarray(pending, npending + 1, sizeof(char *));
	pending[npending++] = xstrdup(qid);
}

static int open_listener(const char *spec)
{
	struct listen_opts lo;
	char err[256];
	if (listen_opts_parse(spec, &lo, err, sizeof(err)) < 0) {
		msg_error("DaemonPortOptions %s: %s", spec, err);
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (lo.family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)lo.port);
		if (lo.addr[0] && inet_pton(AF_INET6, lo.addr, &s6->sin6_addr) != 1) {
			msg_error("DaemonPortOptions: Addr=%s is not an IPv6 address", lo.addr);
			return -1;
		}
		if (!lo.addr[0])
			s6->sin6_addr = in6addr_any;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)lo.port);
		if (lo.addr[0] && inet_pton(AF_INET, lo.addr, &s4->sin_addr) != 1) {
			msg_error("DaemonPortOptions: Addr=%s is not an IPv4 address", lo.addr);
			return -1;
		}
		if (!lo.addr[0])
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		sl = sizeof(*s4);
	}
	int fd = socket(lo.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		msg_error("socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lo.family == AF_INET6)	/* so an inet and an inet6 listener can share a port */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 512) < 0) {
		msg_error("cannot listen on %s port %d: %s%s", lo.addr[0] ? lo.addr : "*", lo.port,
			  strerror(errno), errno == EACCES ? " (ports below 1024 need root; set Port=)" :
			  errno == EADDRINUSE ? " (another mail server is running there?)" : "");
		close(fd);
		return -1;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	int port = ntohs(lo.family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
				  : ((struct sockaddr_in *)&ss)->sin_port);
	if (nlisteners == MAX_LISTENERS) {
		msg_error("too many listeners (at most %d)", MAX_LISTENERS);
		close(fd);
		return -1;
	}
	listeners[nlisteners].fd = fd;
	snprintf(listeners[nlisteners].name, sizeof(listeners[nlisteners].name), "%s", lo.name);
	snprintf(listeners[nlisteners].modifiers, sizeof(listeners[nlisteners].modifiers), "%s", lo.modifiers);
	nlisteners++;
	fprintf(stderr, "mtad: listening on %s port %d (%s)\n", lo.addr[0] ? lo.addr : "*", port, lo.name);
	return 0;
}

static void conn_close(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
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
		struct epoll_event ev = { .events = (uint32_t)events, .data.ptr = c };
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->events = events;
	}
	return 0;
}

static time_t session_deadline(struct conn *c)
{
	return time(NULL) + (smtpd_in_data(c->s) ? conf_num(C_TO_DATABLOCK) : conf_num(C_TO_COMMAND));
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Greets the sessions whose GreetPause is over; returns the milliseconds
 * until the next one is due (or max_wait). */
static int greet_due(int max_wait)
{
	long long now = now_ms(), next = now + max_wait;
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

/* The 1-minute load average.  MTAD_TEST_LOADAVG (a number) stands in for
 * it in the test suite, which cannot set the machine's load. */
static double load_average(void)
{
	const char *fake = getenv("MTAD_TEST_LOADAVG");
	if (fake && *fake)
		return atof(fake);
	double la[1];
	return getloadavg(la, 1) == 1 ? la[0] : 0.0;
}

/* ConnectionRateThrottle: at most N connections accepted in any second,
 * kept as the times of the last N accepts (a ring). */
static long long *rate_ring;
static long rate_n, rate_next;


static int throttled(void)
{
	long max = conf_num(C_CONNECTION_RATE);
	if (max <= 0)
		return 0;
	if (rate_n != max) {
		free(rate_ring);
		rate_ring = xcalloc((size_t)max, sizeof(*rate_ring));
		rate_n = max;
		rate_next = 0;
	}
	/* the oldest of the last N accepts must be a second old */
	return rate_ring[rate_next] != 0 && now_ms() - rate_ring[rate_next] < 1000;
}

static void rate_note(void)
{
	if (rate_n > 0) {
		rate_ring[rate_next] = now_ms();
		rate_next = (rate_next + 1) % rate_n;
	}
}

static int listeners_paused;
static int commit_fd = -1;

/* While throttled the listeners leave the epoll set, so the loop sleeps
 * instead of spinning on a readable socket; they come back next second. */
static void pause_listeners(int pause)
{
	if (pause == listeners_paused)
		return;
	for (int i = 0; i < nlisteners; i++) {
		struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.ptr = &listeners[i] };
		epoll_ctl(epfd, EPOLL_CTL_MOD, listeners[i].fd, &ev);
	}
	listeners_paused = pause;
}

static void accept_on(struct listener *l)
{
	long refuse = conf_num(C_REFUSE_LA);
	for (;;) {
		if (throttled()) {
			pause_listeners(1);	/* the rest wait in the backlog */
			return;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				msg_warn("accept: %s", strerror(errno));
			return;
		}
		rate_note();
		double la;
		if (refuse > 0 && (la = load_average()) >= (double)refuse) {
			static const char busy[] = "421 4.3.2 Too much load; try again later\r\n";
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0) {
				/* gone already */
			}
			close(fd);
			maillog(NULL, "rejecting connections on daemon %s: load average: %.0f", l->name, la);
			continue;
		}
		long max = conf_num(C_MAX_DAEMON_CHILDREN);
		if ((max > 0 && (long)nconns >= max) || (long)nconns >= conf_num(C_MAX_CLIENTS_PER_LISTENER)) {
			static const char busy[] = "421 4.3.2 Too many sessions, try again later\r\n";
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0) {
				/* the client is gone already */
			}
			close(fd);
			continue;
		}
		struct conn *c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->s = smtpd_new(fd, (struct sockaddr *)&ss, sl, l->name, 0);
		smtpd_set_listener(c->s, l->modifiers, server_ctx != NULL);
		c->accepted_at = now_ms();
		c->lookup_pending = smtpd_lookups_start(c->s);	/* greeted when they are back */
		long pause = smtpd_greet_pause(c->s);
		if (pause > 0)
			c->greet_at = c->accepted_at + pause;
		else if (!c->lookup_pending)
			smtpd_greet(c->s);
		c->deadline = session_deadline(c);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
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
		smtpd_greet_reject(c->s, (long)(now_ms() - c->accepted_at));
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
static void work_done(void)
{
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

static void check_timeouts(void)
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

/* In a forked child: drop what belongs to the parent's loop. */
static void child_detach(void)
{
	/* (a commit thread may have a tf open at the fork: it holds no lock,
	 * see qf_write, so the copy inherited here is harmless) */
	if (idpipe[0] >= 0 && smtp_child > 0)
		close(idpipe[0]);
	for (int i = 0; i < nlisteners; i++)
		close(listeners[i].fd);
	for (struct conn *c = conns; c; c = c->next)
		close(c->fd);
	close(epfd);
	close(sigfd);
	if (commit_fd >= 0)
		close(commit_fd);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void start_runner(int full_run)
{
	size_t take = npending < BATCH_MAX ? npending : BATCH_MAX;
	pid_t pid = fork();
	if (pid < 0) {
		msg_warn("fork of delivery process failed: %s; mail stays queued", strerror(errno));
		return;
	}
	if (pid == 0) {
		child_detach();
		const char *qdir = mtad_queue_dir();
		if (full_run) {
			queue_run(qdir, 0, NULL, 1);
		} else {
			deliver_batch(qdir, pending, take);
		}
		_exit(0);
	}
	nrunners++;
	if (!full_run) {
		for (size_t i = 0; i < take; i++)
			free(pending[i]);
		memmove(pending, pending + take, (npending - take) * sizeof(char *));
		npending -= take;
	}
}

static void handle_signals(void)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD: {
			pid_t pid;
			while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
				if (pid == smtp_child && smtp_child > 0) {
					if (!stopping)
						maillog(NULL, "SYSERR: the SMTP server (pid %ld) exited; stopping", (long)pid);
					smtp_child = 0;
					stopping = 1;
				} else {
					nrunners--;
				}
			}
			break;
		}
		case SIGTERM:
		case SIGINT:
			stopping = 1;
			break;
		case SIGHUP:
			if (is_smtp_child)
				break;		/* the parent restarts everything */
			restarting = 1;
			stopping = 1;
			break;
		default:
			break;
		}
	}
}

static int write_pidfile(void)
{
	const char *path = conf_str(C_PID_FILE);
	if (!*path)
		return 0;
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		msg_warn("cannot write pid file %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

/* The server certificate is read here, before the SMTP server gives up
 * root, so the key can stay readable by root only.  Without a usable one
 * STARTTLS is not offered (as sendmail: logged, and mail still flows). */
static void tls_server_init(void)
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

int daemon_run(int background, long queue_interval, char **argv)
{
	tls_server_init();
	for (size_t i = 0; i < conf_list_count(C_DAEMON_PORT_OPTIONS); i++)
		if (open_listener(conf_list_get(C_DAEMON_PORT_OPTIONS, i)) < 0)
			return EX_OSERR;
	fflush(stderr);
	if (background) {
		pid_t pid = fork();
		if (pid < 0) {
			msg_error("fork: %s", strerror(errno));
			return EX_OSERR;
		}
		if (pid > 0)
			_exit(0);
		setsid();
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
			if (devnull > 2)
				close(devnull);
		}
		diag_set_dest(DIAG_SYSLOG);
	}
	write_pidfile();
	if (split_privileges() < 0)
		return EX_OSERR;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sigfd < 0 || epfd < 0) {
		msg_error("event loop set-up failed: %s", strerror(errno));
		return EX_OSERR;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev);
	for (int i = 0; i < nlisteners; i++) {
		struct epoll_event lev = { .events = EPOLLIN, .data.ptr = &listeners[i] };
		epoll_ctl(epfd, EPOLL_CTL_ADD, listeners[i].fd, &lev);
	}
	if (!is_smtp_child)
		smtpd_queued_hook = queued;
	/* 4 threads commit (more in flight merge fsyncs); 8 wait on DNS */
	if (nlisteners > 0 && (commit_fd = workq_start(4, 8)) >= 0) {
		struct epoll_event cev = { .events = EPOLLIN, .data.ptr = &commit_fd };
		epoll_ctl(epfd, EPOLL_CTL_ADD, commit_fd, &cev);
	}
	if (smtp_child > 0) {
		struct epoll_event pev = { .events = EPOLLIN, .data.ptr = idpipe };
		epoll_ctl(epfd, EPOLL_CTL_ADD, idpipe[0], &pev);
	}
	if (is_smtp_child)
		queue_interval = 0;	/* queue runs are the parent's */
	else
		maillog(NULL, "starting daemon (" MTAD_VERSION "): SMTP%s%s", queue_interval > 0 ? "+queueing" : "",
			smtp_child > 0 ? " (SMTP server unprivileged)" : "");
	time_t next_run = queue_interval > 0 ? time(NULL) : 0;
	while (!stopping) {
		if (next_run && time(NULL) >= next_run && nrunners < conf_num(C_MAX_QUEUE_CHILDREN)) {
			start_runner(1);
			next_run = time(NULL) + queue_interval;
		}
		long qla = conf_num(C_QUEUE_LA);
		int overloaded = qla > 0 && load_average() >= (double)qla;
		while (!overloaded && npending > 0 && nrunners < conf_num(C_MAX_QUEUE_CHILDREN))
			start_runner(0);
		struct epoll_event evs[64];
		int wait_ms = greet_due(1000);
		if (listeners_paused) {
			if (!throttled())
				pause_listeners(0);
			else
				wait_ms = wait_ms > 50 ? 50 : wait_ms;	/* look again when the second turns */
		}
		int n = epoll_wait(epfd, evs, 64, wait_ms);
		if (n < 0 && errno != EINTR) {
			msg_error("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == NULL) {
				handle_signals();
				continue;
			}
			if (p == (void *)idpipe) {
				read_ids();
				continue;
			}
			if (p == (void *)&commit_fd) {
				work_done();
				continue;
			}
			if (p >= (void *)listeners && p < (void *)(listeners + MAX_LISTENERS)) {
				accept_on((struct listener *)p);
				continue;
			}
			conn_event((struct conn *)p, evs[i].events);
		}
		check_timeouts();
	}
	/* SIGTERM: no new sessions; open sessions end without a 250, so the
	 * client keeps responsibility for anything not yet accepted. */
	for (int i = 0; i < nlisteners; i++)
		close(listeners[i].fd);
	while (conns) {
		smtpd_eof(conns->s, 0);
		conn_close(conns);
	}
	if (commit_fd >= 0) {		/* what is in flight is finished and logged */
		workq_stop();
		work_done();
	}
	if (smtp_child > 0) {		/* the parent stops the SMTP server first */
		kill(smtp_child, SIGTERM);
		while (waitpid(smtp_child, NULL, 0) < 0 && errno == EINTR)
			;
		smtp_child = 0;
	}
	if (is_smtp_child)
		_exit(0);
	if (restarting) {
		/* SIGHUP: as sendmail, start again from the top with the same
		 * command line, so the configuration is read anew.  Listeners are
		 * closed above.  With -bD the pid stays the same; with -bd the
		 * new image detaches again, with a new pid in the pid file. */
		maillog(NULL, "restarting %s due to signal", "/proc/self/exe");
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(sigfd);
		close(epfd);
		execv("/proc/self/exe", argv);
		msg_error("cannot restart: %s; exiting", strerror(errno));
		return EX_OSERR;
	}
	maillog(NULL, "stopping daemon, reason=signal");
	const char *pidf = conf_str(C_PID_FILE);
	if (*pidf)
		unlink(pidf);
	return 0;
}
