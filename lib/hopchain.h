/* hopchain: a message's Received: fields as a chain of hops, origin first,
 * each parsed by lib/received, with its time in UTC (a date written without
 * a zone borrows one from a neighbour) and the delay since the hop below.
 * Built by hdrtrace for its hop table and verdicts and by the console's
 * message view. */
#ifndef MTA_HOPCHAIN_H
#define MTA_HOPCHAIN_H
#include "header.h"
#include "received.h"

#include <stddef.h>
#include <time.h>

/* Live DNS checks of a hop's client; filled by hdrtrace --dns, freed with
 * the chain. */
struct hop_dns {
	int done;		/* lookups were made for this hop */
	char *ptr;		/* live PTR of from_ip, or NULL */
	int fwd_ok;		/* ptr resolves back to from_ip */
	char *listed;		/* DNSBL zones listing from_ip, comma-separated */
	char *error;		/* why lookups failed (timeout ...) */
};

struct hop {
	struct received r;
	int n;			/* 1 = origin */
	int trusted_by;		/* the receiving host is one of ours (set by the caller) */
	int trusted_from;	/* the sending host (rDNS or IP) is one of ours */
	int has_time;
	time_t t;		/* UTC */
	int zone_assumed;	/* no zone written: borrowed from a neighbour */
	int has_delay;
	long delay;		/* seconds since the hop below (negative: time went back) */
	int has_total;
	long total;		/* seconds since the oldest dated hop */
	struct hop_dns dns;
};

struct hopchain {
	struct hop *hops;	/* origin first */
	size_t n;
};

/* Builds the chain of the headers called name ("Received", "X-Received");
 * headers are newest first, hops origin first. */
void hopchain_build(struct hopchain *c, const struct header_list *hl, const char *name);
void hopchain_free(struct hopchain *c);

#endif
