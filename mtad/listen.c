/* listen: the listening sockets (DaemonPortOptions), and what is decided
 * before a session exists: ConnectionRateThrottle, RefuseLA,
 * MaxDaemonChildren and the per-listener limit. */
#include "mtad.h"
#include "daemon_int.h"
#include "loop.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 16

struct listener {
	int fd;
	char name[32];
	char modifiers[32];
};

static struct listener listeners[MAX_LISTENERS];
static int nlisteners;
static int listeners_paused;

int listen_open(const char *spec)
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

int listen_count(void)
{
	return nlisteners;
}

void listen_close_all(void)
{
	for (int i = 0; i < nlisteners; i++) {
		loop_unwatch(listeners[i].fd);
		close(listeners[i].fd);
	}
	nlisteners = 0;
}

/* The 1-minute load average.  MTAD_TEST_LOADAVG (a number) stands in for
 * it in the test suite, which cannot set the machine's load. */
double load_average(void)
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
	return rate_ring[rate_next] != 0 && loop_now_ms() - rate_ring[rate_next] < 1000;
}

static void rate_note(void)
{
	if (rate_n > 0) {
		rate_ring[rate_next] = loop_now_ms();
		rate_next = (rate_next + 1) % rate_n;
	}
}

static void accept_on(void *arg, uint32_t events);

/* While throttled the listeners are muted, so the loop sleeps instead of
 * spinning on a readable socket; they come back next second. */
static void pause_listeners(int pause)
{
	if (pause == listeners_paused)
		return;
	for (int i = 0; i < nlisteners; i++)
		loop_watch(listeners[i].fd, pause ? 0 : EPOLLIN, accept_on, &listeners[i]);
	listeners_paused = pause;
}

void listen_throttle_check(int *wait_ms)
{
	if (!listeners_paused)
		return;
	if (!throttled())
		pause_listeners(0);
	else if (*wait_ms > 50)
		*wait_ms = 50;	/* look again when the second turns */
}

void listen_watch(void)
{
	for (int i = 0; i < nlisteners; i++)
		loop_watch(listeners[i].fd, EPOLLIN, accept_on, &listeners[i]);
}

static void refuse(int fd, const char *reply)
{
	if (send(fd, reply, strlen(reply), MSG_NOSIGNAL) < 0) {
		/* the client is gone already */
	}
	close(fd);
}

static void accept_on(void *arg, uint32_t events)
{
	struct listener *l = arg;
	(void)events;
	long refuse_la = conf_num(C_REFUSE_LA);
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
		if (refuse_la > 0 && (la = load_average()) >= (double)refuse_la) {
			refuse(fd, "421 4.3.2 Too much load; try again later\r\n");
			maillog(NULL, "rejecting connections on daemon %s: load average: %.0f", l->name, la);
			continue;
		}
		long max = conf_num(C_MAX_DAEMON_CHILDREN);
		long nconns = (long)conn_count();
		if ((max > 0 && nconns >= max) || nconns >= conf_num(C_MAX_CLIENTS_PER_LISTENER)) {
			refuse(fd, "421 4.3.2 Too many sessions, try again later\r\n");
			continue;
		}
		conn_new(fd, (struct sockaddr *)&ss, sl, l->name, l->modifiers);
	}
}
