/* dns: MX, A/AAAA and TXT lookups through libresolv. */
#include "dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one resolver state per thread: mtad looks names up in worker threads */
static __thread struct __res_state res_state_buf;
static __thread int res_ready;
static int server_generation;		/* bumped by dns_set_server */
static __thread int res_generation;
static struct sockaddr_in server_addr;
static int have_server;

const char *dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_OK: return "ok";
	case DNS_NXDOMAIN: return "host not found";
	case DNS_NODATA: return "no data";
	case DNS_TEMPFAIL: return "deferred";
	case DNS_ERROR: return "error";
	}
	return "?";
}

int dns_set_server(const char *server)
{
	have_server = 0;
	res_ready = 0;
	server_generation++;
	if (server == NULL || *server == '\0')
		return 0;
	char host[64];
	int port = 53;
	const char *colon = strchr(server, ':');
	if (colon) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - server), server);
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (*end || p <= 0 || p > 65535)
			return -1;
		port = (int)p;
	} else {
		snprintf(host, sizeof(host), "%s", server);
	}
	memset(&server_addr, 0, sizeof(server_addr));
	server_addr.sin_family = AF_INET;
	server_addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &server_addr.sin_addr) != 1)
		return -1;
	have_server = 1;
	return 0;
}

static res_state resolver(void)
{
	if (!res_ready || res_generation != server_generation) {
		if (res_ready)
			res_nclose(&res_state_buf);
		res_generation = server_generation;
		memset(&res_state_buf, 0, sizeof(res_state_buf));
		if (res_ninit(&res_state_buf) != 0)
			return NULL;
		if (have_server) {
			res_state_buf.nsaddr_list[0] = server_addr;
			res_state_buf.nscount = 1;
		}
		res_state_buf.retrans = 2;
		res_state_buf.retry = 2;
		res_ready = 1;
	}
	return &res_state_buf;
}

/* Runs a query and classifies the answer by its response code: no answer
 * at all (no server reachable, timeout) is temporary, NXDOMAIN permanent. */
static enum dns_status query(const char *name, int type, unsigned char *ans, int anslen,
			     ns_msg *msg)
{
	res_state rs = resolver();
	if (rs == NULL)
		return DNS_ERROR;
	unsigned char q[NS_PACKETSZ];
	int qlen = res_nmkquery(rs, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, q, sizeof(q));
	if (qlen < 0)
		return DNS_NXDOMAIN;	/* a name that cannot be put in a query does not exist */
	int len = res_nsend(rs, q, qlen, ans, anslen);
	if (len < 0)
		return DNS_TEMPFAIL;
	if (len > anslen)
		len = anslen;	/* a truncated answer reports its full length: parse what we hold */
	if (ns_initparse(ans, len, msg) < 0)
		return DNS_ERROR;
	switch (ns_msg_getflag(*msg, ns_f_rcode)) {
	case ns_r_noerror:
		break;
	case ns_r_nxdomain:
		return DNS_NXDOMAIN;
	default:
		return DNS_TEMPFAIL;	/* SERVFAIL, REFUSED, ... */
	}
	return ns_msg_count(*msg, ns_s_an) > 0 ? DNS_OK : DNS_NODATA;
}

static int cmp_mx(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;
	return x->pref - y->pref;
}

enum dns_status dns_mx(const char *domain, struct dns_mx *out, size_t max, size_t *n, int *null_mx)
{
	unsigned char ans[8192];
	ns_msg msg;
	*n = 0;
	*null_mx = 0;
	enum dns_status st = query(domain, ns_t_mx, ans, sizeof(ans), &msg);
	if (st != DNS_OK)
		return st;
	int count = ns_msg_count(msg, ns_s_an);
	for (int i = 0; i < count && *n < max; i++) {
		ns_rr rr;
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return DNS_ERROR;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
			continue;
		const unsigned char *rd = ns_rr_rdata(rr);
		int pref = (rd[0] << 8) | rd[1];
		char host[DNS_NAME_MAX];
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 2, host, sizeof(host)) < 0)
			return DNS_ERROR;
		if (host[0] == '\0' || strcmp(host, ".") == 0) {
			if (count == 1 && pref == 0) {
				*null_mx = 1;
				return DNS_OK;
			}
			continue;
		}
		snprintf(out[*n].host, sizeof(out[*n].host), "%s", host);
		out[*n].pref = pref;
		(*n)++;
	}
	qsort(out, *n, sizeof(*out), cmp_mx);
	/* shuffle runs of equal preference (RFC 5321 5.1) */
	for (size_t i = 0; i < *n;) {
		size_t j = i;
		while (j < *n && out[j].pref == out[i].pref)
			j++;
		for (size_t k = j - 1; k > i; k--) {
			size_t r = i + (size_t)random() % (k - i + 1);
			struct dns_mx t = out[k];
			out[k] = out[r];
			out[r] = t;
		}
		i = j;
	}
	return *n > 0 ? DNS_OK : DNS_NODATA;
}

static enum dns_status addrs_of_type(const char *host, int type, struct sockaddr_storage *out,
				     size_t max, size_t *n)
{
	unsigned char ans[8192];
	ns_msg msg;
	enum dns_status st = query(host, type, ans, sizeof(ans), &msg);
	if (st != DNS_OK)
		return st;
	int count = ns_msg_count(msg, ns_s_an);
	for (int i = 0; i < count && *n < max; i++) {
		ns_rr rr;
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return DNS_ERROR;
		memset(&out[*n], 0, sizeof(out[*n]));
		if (type == ns_t_a && ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&out[*n];
			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, ns_rr_rdata(rr), 4);
			(*n)++;
		} else if (type == ns_t_aaaa && ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out[*n];
			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, ns_rr_rdata(rr), 16);
			(*n)++;
		}
	}
	return DNS_OK;
}

enum dns_status dns_addrs(const char *host, struct sockaddr_storage *out, size_t max, size_t *n)
{
	*n = 0;
	enum dns_status a = addrs_of_type(host, ns_t_a, out, max, n);
	if (a == DNS_NXDOMAIN)
		return a;
	enum dns_status aaaa = addrs_of_type(host, ns_t_aaaa, out, max, n);
	if (*n > 0)
		return DNS_OK;
	if (a == DNS_TEMPFAIL || aaaa == DNS_TEMPFAIL)
		return DNS_TEMPFAIL;
	return aaaa == DNS_NXDOMAIN ? DNS_NXDOMAIN : DNS_NODATA;
}

enum dns_status dns_a_text(const char *name, char out[][16], size_t max, size_t *n)
{
	struct sockaddr_storage ss[16];
	size_t k = 0;
	*n = 0;
	enum dns_status st = addrs_of_type(name, ns_t_a, ss, 16, &k);
	if (st != DNS_OK)
		return st;
	for (size_t i = 0; i < k && *n < max; i++) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss[i];
		inet_ntop(AF_INET, &s4->sin_addr, out[*n], 16);
		(*n)++;
	}
	return *n ? DNS_OK : DNS_NODATA;
}

enum dns_status dns_txt(const char *name, char *out, size_t size)
{
	unsigned char ans[8192];
	ns_msg msg;
	out[0] = '\0';
	enum dns_status st = query(name, ns_t_txt, ans, sizeof(ans), &msg);
	if (st != DNS_OK)
		return st;
	ns_rr rr;
	if (ns_parserr(&msg, ns_s_an, 0, &rr) < 0 || ns_rr_type(rr) != ns_t_txt)
		return DNS_NODATA;
	const unsigned char *p = ns_rr_rdata(rr), *end = p + ns_rr_rdlen(rr);
	size_t o = 0;
	while (p < end) {
		size_t len = *p++;
		if (p + len > end)
			return DNS_ERROR;
		for (size_t i = 0; i < len && o + 1 < size; i++)
			out[o++] = (p[i] < ' ' || p[i] == 127) ? '?' : (char)p[i];
		p += len;
	}
	out[o] = '\0';
	return DNS_OK;
}
