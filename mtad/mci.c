/* mci: host status and the connection cache of a delivery process
 * (mci.h says what each keeps and for how long). */
#include "mci.h"
#include "config.h"
#include "hoststat.h"
#include "maillog.h"
#include "tls.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

void mci_key(char *buf, size_t size, const char *addr, int port)
{
	if (port == 25)
		snprintf(buf, size, "[%s]", addr);
	else
		snprintf(buf, size, "[%s]:%d", addr, port);
}

/* ---- host status ---- */

struct down {
	char key[300];
	char reason[512];
	char dsn[16];
	time_t when;
};
static struct down *downs;
static size_t ndowns;

static struct down *find_down(const char *key)
{
	for (size_t i = 0; i < ndowns; i++)
		if (strcmp(downs[i].key, key) == 0)
			return &downs[i];
	return NULL;
}

static void say_down(const char *name, const char *reason, time_t when, char *why, size_t whysize)
{
	char t[32];
	struct tm tm;
	localtime_r(&when, &tm);
	strftime(t, sizeof(t), "%H:%M:%S", &tm);
	/* the reason already names the host; the name is for an MX alias */
	(void)name;
	snprintf(why, whysize, "%s%s (host status: down since %s)", strncmp(reason, "Deferred:", 9) ? "Deferred: " : "",
		 reason, t);
}

int mci_host_down(const char *key, const char *name, char *why, size_t whysize, char *dsn, size_t dsnsize)
{
	time_t now = time(NULL);
	long timeout = conf_num(C_TO_HOSTSTATUS);
	struct down *d = find_down(key);
	if (d && (timeout <= 0 || now - d->when < timeout)) {
		say_down(name, d->reason, d->when, why, whysize);
		snprintf(dsn, dsnsize, "%s", d->dsn[0] ? d->dsn : "4.4.1");
		return 1;
	}
	const char *dir = conf_str(C_HOST_STATUS_DIR);
	struct hoststat hs;
	if (dir[0] && hoststat_read(dir, key, &hs) == 0 && hoststat_down(&hs, now, timeout)) {
		say_down(name, hs.reply[0] ? hs.reply : "Deferred", hs.updated, why, whysize);
		snprintf(dsn, dsnsize, "%s", hs.dsn[0] ? hs.dsn : "4.4.1");
		return 1;
	}
	return 0;
}

void mci_host_failed(const char *key, int eno, const char *dsn, const char *reason)
{
	struct down *d = find_down(key);
	if (d == NULL) {
		downs = xreallocarray(downs, ndowns + 1, sizeof(*downs));
		d = &downs[ndowns++];
		memset(d, 0, sizeof(*d));
		snprintf(d->key, sizeof(d->key), "%s", key);
	}
	snprintf(d->reason, sizeof(d->reason), "%s", reason);
	snprintf(d->dsn, sizeof(d->dsn), "%s", dsn);
	d->when = time(NULL);
	const char *dir = conf_str(C_HOST_STATUS_DIR);
	if (dir[0]) {
		struct hoststat hs = { .err = eno, .status = EX_TEMPFAIL, .updated = d->when };
		snprintf(hs.host, sizeof(hs.host), "%s", key);
		snprintf(hs.dsn, sizeof(hs.dsn), "%s", dsn);
		snprintf(hs.reply, sizeof(hs.reply), "%s", reason);
		char err[512];
		if (hoststat_write(dir, &hs, err, sizeof(err)) < 0)
			maillog(NULL, "SYSERR: host status %s: %s", key, err);
	}
}

void mci_host_ok(const char *key)
{
	struct down *d = find_down(key);
	if (d) {
		*d = downs[--ndowns];
	}
	const char *dir = conf_str(C_HOST_STATUS_DIR);
	if (dir[0]) {
		struct hoststat hs;
		/* written only when it changes: a working host costs no write */
		if (hoststat_read(dir, key, &hs) == 0 && hs.status != 0) {
			memset(&hs, 0, sizeof(hs));
			snprintf(hs.host, sizeof(hs.host), "%s", key);
			hs.updated = time(NULL);
			snprintf(hs.dsn, sizeof(hs.dsn), "2.0.0");
			char err[512];
			if (hoststat_write(dir, &hs, err, sizeof(err)) < 0)
				maillog(NULL, "SYSERR: host status %s: %s", key, err);
		}
	}
}

void mci_forget(void)
{
	free(downs);
	downs = NULL;
	ndowns = 0;
}

size_t mci_hosts_down(void)
{
	return ndowns;
}

/* ---- the connection cache ---- */

static struct mci_conn *cache;
static size_t ncache;
static int caching;

static void drop(size_t i, int quit)
{
	struct mci_conn *m = &cache[i];
	if (quit && m->c.fd >= 0)
		smtp_quit(&m->c);
	smtp_client_free(&m->c);
	tls_client_free(m->ssl);
	cache[i] = cache[--ncache];
}

void mci_begin(void)
{
	caching = conf_num(C_MCI_CACHE_SIZE) > 0;
}

struct mci_conn *mci_take(const char *key)
{
	time_t now = time(NULL);
	long idle = conf_num(C_MCI_CACHE_TIMEOUT);
	for (size_t i = 0; i < ncache; i++) {
		if (strcmp(cache[i].key, key) != 0)
			continue;
		if (now - cache[i].last_use > idle) {
			drop(i, 1);
			return NULL;
		}
		struct mci_conn *m = xmalloc(sizeof(*m));
		*m = cache[i];
		cache[i] = cache[--ncache];
		return m;
	}
	return NULL;
}

void mci_give(const char *key, struct smtp_client *c, SSL *ssl, const char *tls)
{
	size_t max = (size_t)conf_num(C_MCI_CACHE_SIZE);
	if (!caching || max == 0 || c->fd < 0) {
		if (c->fd >= 0)
			smtp_quit(c);
		smtp_client_free(c);
		tls_client_free(ssl);
		return;
	}
	while (ncache >= max) {		/* the one idle longest makes room */
		size_t old = 0;
		for (size_t i = 1; i < ncache; i++)
			if (cache[i].last_use < cache[old].last_use)
				old = i;
		drop(old, 1);
	}
	cache = xreallocarray(cache, ncache + 1, sizeof(*cache));
	struct mci_conn *m = &cache[ncache++];
	memset(m, 0, sizeof(*m));
	snprintf(m->key, sizeof(m->key), "%s", key);
	m->c = *c;
	m->ssl = ssl;
	snprintf(m->tls, sizeof(m->tls), "%s", tls);
	m->last_use = time(NULL);
}

void mci_end(void)
{
	while (ncache > 0)
		drop(ncache - 1, 1);
	free(cache);
	cache = NULL;
	caching = 0;
}
