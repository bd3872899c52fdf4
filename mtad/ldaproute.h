/* ldaproute: FEATURE(`ldap_routing') (see ldaproute.c for the table). */
#ifndef MTAD_LDAPROUTE_H
#define MTAD_LDAPROUTE_H
#include <stddef.h>

enum ldaproute_result {
	LDR_TEMPFAIL = -1,	/* the directory cannot be asked now: err says why */
	LDR_NONE = 0,		/* not an LDAP-routed domain, or passthru with no entry */
	LDR_ERROR = 1,		/* bounce: no entry; error holds "5.1.1:550 User unknown" */
	LDR_ROUTED = 2,		/* addr (new or original) and host ("" = route as usual) */
};

struct ldaproute {
	char addr[1100];	/* the address to deliver to */
	char host[300];		/* mailHost to relay to; "" for the usual routing */
	char error[128];	/* LDR_ERROR: "D.S.N:CODE text" */
};

/* Reads LDAPROUTE_DOMAIN(_FILE) and LDAPROUTE_EQUIVALENT(_FILE); called by
 * conf_load once $j is known.  0, or -1 after an error message. */
int ldaproute_load(void);
int ldaproute_enabled(void);
/* Would ldaproute_lookup ask the directory about this address? */
int ldaproute_applies(const char *addr);
/* Routes one recipient (no brackets).  Thread-safe (the SMTP server calls
 * it from worker threads). */
int ldaproute_lookup(const char *addr, struct ldaproute *out, char *err, size_t errsize);
/* `sendertoo': the sender of an LDAP-routed domain must exist: LDR_NONE,
 * LDR_ROUTED (it exists), LDR_ERROR or LDR_TEMPFAIL. */
int ldaproute_sender_check(const char *addr, char *err, size_t errsize);

#endif
