/* dns: live checks for --dns (off by default; nothing here runs without
 * it).  For each hop whose sender is not trusted: the PTR of its IP, whether
 * that name resolves back to the IP, and DNSBL listings.  Through libresolv
 * with a per-query timeout; --resolver picks the server (tests, offline). */
#include "hdrtrace.h"
#include "strbuf.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct __res_state rs;
static int rs_ready = -1;	/* -1 not tried, 0 failed, 1 ok */

static int resolver_init(const struct options *o)
{
	if (rs_ready >= 0)
		return rs_ready;
	memset(&rs, 0, sizeof(rs));
	rs_ready = 0;
	if (res_ninit(&rs) != 0)
		return 0;
	rs.retrans = o->dns_timeout > 0 ? o->dns_timeout : 2;
	rs.retry = 1;
	if (o->resolver) {
		char host[64];
		int port = 53;
		snprintf(host, sizeof(host), "%s", o->resolver);
		char *colon = strrchr(host, ':');
		if (colon && strchr(host, '.')) {	/* a.b.c.d:port */
			*colon = '\0';
			port = atoi(colon + 1);
		}
		struct sockaddr_in sin;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)port);
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return 0;
		rs.nsaddr_list[0] = sin;
		rs.nscount = 1;
	}
	rs_ready = 1;
	return 1;
}

/* First answer of type t for name, as text (name or address); NULL if none.
 * *err is set to a reason when the query itself failed. */
static char *query(const char *name, int type, const char **err)
{
	unsigned char ans[4096];
	int n = res_nquery(&rs, name, ns_c_in, type, ans, sizeof(ans));
	if (n < 0) {
		if (err && rs.res_h_errno != HOST_NOT_FOUND && rs.res_h_errno != NO_DATA)
			*err = "lookup failed or timed out";
		return NULL;
	}
	if (n > (int)sizeof(ans))
		n = (int)sizeof(ans);	/* a truncated answer returns its full length */
	ns_msg msg;
	if (ns_initparse(ans, n, &msg) < 0)
		return NULL;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr rr;
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			continue;
		if ((int)ns_rr_type(rr) != type)
			continue;
		char buf[NS_MAXDNAME];
		if (type == ns_t_ptr) {
			if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr),
					       buf, sizeof(buf)) < 0)
				continue;
			return xstrdup(buf);
		}
		if (type == ns_t_a && ns_rr_rdlen(rr) == 4)
			return xstrdup(inet_ntop(AF_INET, ns_rr_rdata(rr), buf, sizeof(buf)));
		if (type == ns_t_aaaa && ns_rr_rdlen(rr) == 16)
			return xstrdup(inet_ntop(AF_INET6, ns_rr_rdata(rr), buf, sizeof(buf)));
	}
	return NULL;
}

/* "4.3.2.1" for 1.2.3.4; nibbles for IPv6.  Returns 0 or -1. */
static int reverse_name(const char *ip, char *buf, size_t n)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(buf, n, "%u.%u.%u.%u", a[3], a[2], a[1], a[0]);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a) == 1) {
		size_t o = 0;
		for (int i = 15; i >= 0 && o + 4 < n; i--)
			o += (size_t)snprintf(buf + o, n - o, "%x.%x.", a[i] & 0xf, a[i] >> 4);
		if (o > 0)
			buf[o - 1] = '\0';
		return 0;
	}
	return -1;
}

/* Does name resolve to ip? (A or AAAA; first answer compared) */
static int forward_ok(const char *name, const char *ip)
{
	int v6 = strchr(ip, ':') != NULL;
	char *a = query(name, v6 ? ns_t_aaaa : ns_t_a, NULL);
	int ok = 0;
	if (a) {
		unsigned char x[16], y[16];
		int fam = v6 ? AF_INET6 : AF_INET;
		ok = inet_pton(fam, a, x) == 1 && inet_pton(fam, ip, y) == 1 &&
		     !memcmp(x, y, v6 ? 16 : 4);
	}
	free(a);
	return ok;
}

void dns_check_chain(struct hopchain *c, const struct options *o)
{
	for (size_t i = 0; i < c->n; i++) {
		struct hop *h = &c->hops[i];
		const char *ip = h->r.from_ip;
		if (!ip || h->trusted_from || ip_private(ip))
			continue;
		h->dns.done = 1;
		if (!resolver_init(o)) {
			h->dns.error = xstrdup("resolver not available");
			continue;
		}
		char rev[128], q[512];
		if (reverse_name(ip, rev, sizeof(rev)) < 0)
			continue;
		const char *err = NULL;
		snprintf(q, sizeof(q), "%s.%s", rev, strchr(ip, ':') ? "ip6.arpa" : "in-addr.arpa");
		h->dns.ptr = query(q, ns_t_ptr, &err);
		if (h->dns.ptr) {
			size_t l = strlen(h->dns.ptr);
			if (l > 1 && h->dns.ptr[l - 1] == '.')
				h->dns.ptr[l - 1] = '\0';
			h->dns.fwd_ok = forward_ok(h->dns.ptr, ip);
		}
		if (err) {
			h->dns.error = xstrdup(err);
			continue;	/* the server is not answering: skip the lists */
		}
		struct strbuf listed;
		sb_init(&listed);
		for (size_t z = 0; z < o->ndnsbl && !strchr(ip, ':'); z++) {
			snprintf(q, sizeof(q), "%s.%s", rev, o->dnsbl[z]);
			char *a = query(q, ns_t_a, NULL);
			if (a && !strncmp(a, "127.", 4)) {
				if (listed.len)
					sb_putc(&listed, ',');
				sb_puts(&listed, o->dnsbl[z]);
			}
			free(a);
		}
		if (listed.len)
			h->dns.listed = sb_steal(&listed);
		sb_free(&listed);
	}
}
