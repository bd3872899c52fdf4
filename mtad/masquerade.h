/* masquerade: how our senders look to the world: MASQUERADE_AS,
 * MASQUERADE_DOMAIN(_FILE), masquerade_entire_domain, limited_masquerade,
 * EXPOSED_USER, allmasquerade, masquerade_envelope, always_add_domain, and
 * the genericstable (GENERICS_DOMAIN).  Applied when a message leaves over
 * SMTP (and, for always_add_domain, to local deliveries). */
#ifndef MTAD_MASQUERADE_H
#define MTAD_MASQUERADE_H
#include "header.h"

/* Is any of it configured? */
int masquerade_active(void);
/* The outgoing form of one sender address (malloc'd), or NULL to keep it. */
char *masquerade_address(const char *addr);
/* Rewrites the headers in place: From:, Sender:, Reply-To: (and To:, Cc:
 * with allmasquerade).  local: for a local delivery (only always_add_domain
 * applies then). */
void masquerade_headers(struct header_list *hl, int local);
/* The envelope sender to use (malloc'd), or NULL to keep it. */
char *masquerade_envelope_sender(const char *sender);

#endif
