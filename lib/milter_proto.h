/* milter_proto: the wire format of sendmail's mail filter protocol
 * (version 6, as libmilter 8.17 speaks it), as pure functions: packets
 * encoded into a strbuf, packets decoded from received bytes, the option
 * negotiation.  No I/O here; mtad/milter.c drives the conversation.
 *
 * A packet is a 32-bit length in network order (counting the command byte),
 * one command byte, then the data.  Strings in the data end in NUL. */
#ifndef MTA_MILTER_PROTO_H
#define MTA_MILTER_PROTO_H
#include <stddef.h>
#include <stdint.h>
#include "strbuf.h"

#define MP_VERSION 6
#define MP_CHUNK 65535			/* body chunk size */
#define MP_MAX_DATA (1024 * 1024)	/* largest reply accepted (SMFIP_MDS_1M) */

/* commands, MTA to filter */
#define MPC_ABORT 'A'
#define MPC_BODY 'B'
#define MPC_CONNECT 'C'
#define MPC_MACRO 'D'
#define MPC_BODYEOB 'E'
#define MPC_HELO 'H'
#define MPC_QUIT_NC 'K'
#define MPC_HEADER 'L'
#define MPC_MAIL 'M'
#define MPC_EOH 'N'
#define MPC_OPTNEG 'O'
#define MPC_QUIT 'Q'
#define MPC_RCPT 'R'
#define MPC_DATA 'T'
#define MPC_UNKNOWN 'U'

/* replies and actions, filter to MTA */
#define MPR_ADDRCPT '+'
#define MPR_DELRCPT '-'
#define MPR_ADDRCPT_PAR '2'
#define MPR_SHUTDOWN '4'
#define MPR_ACCEPT 'a'
#define MPR_REPLBODY 'b'
#define MPR_CONTINUE 'c'
#define MPR_DISCARD 'd'
#define MPR_CHGFROM 'e'
#define MPR_CONN_FAIL 'f'
#define MPR_ADDHEADER 'h'
#define MPR_INSHEADER 'i'
#define MPR_SETSYMLIST 'l'
#define MPR_CHGHEADER 'm'
#define MPR_PROGRESS 'p'
#define MPR_QUARANTINE 'q'
#define MPR_REJECT 'r'
#define MPR_SKIP 's'
#define MPR_TEMPFAIL 't'
#define MPR_REPLYCODE 'y'

/* actions a filter may take (SMFIF_*) */
#define MPF_ADDHDRS 0x01
#define MPF_CHGBODY 0x02
#define MPF_ADDRCPT 0x04
#define MPF_DELRCPT 0x08
#define MPF_CHGHDRS 0x10
#define MPF_QUARANTINE 0x20
#define MPF_CHGFROM 0x40
#define MPF_ADDRCPT_PAR 0x80
#define MPF_SETSYMLIST 0x100
#define MPF_ALL 0x1ff

/* protocol steps (SMFIP_*) */
#define MPP_NOCONNECT 0x01
#define MPP_NOHELO 0x02
#define MPP_NOMAIL 0x04
#define MPP_NORCPT 0x08
#define MPP_NOBODY 0x10
#define MPP_NOHDRS 0x20
#define MPP_NOEOH 0x40
#define MPP_NR_HDR 0x80
#define MPP_NOUNKNOWN 0x100
#define MPP_NODATA 0x200
#define MPP_SKIP 0x400
#define MPP_RCPT_REJ 0x800
#define MPP_NR_CONN 0x1000
#define MPP_NR_HELO 0x2000
#define MPP_NR_MAIL 0x4000
#define MPP_NR_RCPT 0x8000
#define MPP_NR_DATA 0x10000
#define MPP_NR_UNKN 0x20000
#define MPP_NR_EOH 0x40000
#define MPP_NR_BODY 0x80000
#define MPP_HDR_LEADSPC 0x100000
#define MPP_MDS_256K 0x10000000
#define MPP_MDS_1M 0x20000000
/* what this MTA offers: every step may be skipped or left unanswered;
 * RCPT_REJ is not offered (rejected recipients are not sent) */
#define MPP_OFFER (0x1fffff & ~MPP_RCPT_REJ)

/* macro stages of SMFIR_SETSYMLIST */
enum mp_stage { MPS_CONNECT, MPS_HELO, MPS_ENVFROM, MPS_ENVRCPT, MPS_DATA, MPS_EOM, MPS_EOH, MPS_COUNT };

/* Appends one packet. */
void mp_put(struct strbuf *out, char cmd, const void *data, size_t len);
/* Appends a packet whose data is n NUL-terminated strings. */
void mp_put_strings(struct strbuf *out, char cmd, const char *const *strs, size_t n);
void mp_put_optneg(struct strbuf *out, uint32_t version, uint32_t actions, uint32_t protocol);
/* SMFIC_CONNECT: host name, family ('4', '6', 'L', 'U'), port, address. */
void mp_put_connect(struct strbuf *out, const char *host, char family, uint16_t port, const char *addr);
/* SMFIC_MACRO for command stage: names[i]=values[i] pairs. */
void mp_put_macros(struct strbuf *out, char stage, const char *const *names, const char *const *values, size_t n);

/* Takes one packet off the front of buf[0..len).  Returns 1 with *cmd,
 * *data (pointing into buf) and *dlen, and *used the bytes consumed; 0 when
 * more bytes are needed; -1 when the length is impossible (0 or > maxdata). */
int mp_take(const char *buf, size_t len, size_t maxdata, char *cmd, const char **data, size_t *dlen,
	    size_t *used);

/* Splits data into NUL-terminated strings.  Returns how many (at most max),
 * or -1 when the data does not end in NUL. */
int mp_strings(const char *data, size_t dlen, const char **out, int max);

/* The filter's SMFIC_OPTNEG reply. */
struct mp_optneg {
	uint32_t version, actions, protocol;
	char *symlist[MPS_COUNT];	/* SMFIR_SETSYMLIST lists, or NULL (free with mp_optneg_free) */
};
/* Returns 0, or -1 with a reason in err. */
int mp_parse_optneg(const char *data, size_t dlen, struct mp_optneg *o, char *err, size_t errsize);
void mp_optneg_free(struct mp_optneg *o);

/* A reply code a filter sent with SMFIR_REPLYCODE: "4xy"/"5xy", a blank or
 * a dash, and text; lines separated by CR LF.  1 when usable as an SMTP
 * reply, 0 otherwise (sendmail then uses its default text). */
int mp_replycode_ok(const char *text, size_t len);

/* A 32-bit integer in network order at p. */
uint32_t mp_get32(const char *p);

#endif
