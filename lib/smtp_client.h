/* smtp_client: THE SMTP client, shared by smtpprobe and mtad's relay
 * delivery.
 *
 * Blocking I/O with a poll() deadline on every read, write and connect.
 * Every step returns an enum smtp_result that keeps temporary and
 * permanent failure apart:
 *
 *   SMTP_OK      the expected positive reply (2xx, or 354 after DATA)
 *   SMTP_TEMP    a 4xx reply                                  temporary
 *   SMTP_PERM    a 5xx reply                                  permanent
 *   SMTP_IOERR   connect failure, timeout, connection lost    temporary
 *   SMTP_PROTO   malformed or unexpected reply (e.g. 3xx to   temporary
 *                MAIL, overlong line)
 *
 * smtp_result_is_temp() / smtp_result_is_perm() answer the only question a
 * queue manager asks.  The last reply is always in c->reply; the last
 * I/O or protocol error text in c->err.
 *
 * Data flow of a delivery:
 *   smtp_client_init -> smtp_connect -> smtp_greeting -> smtp_ehlo
 *   -> smtp_send_message (MAIL, RCPT..., DATA, body, dot; pipelined when
 *      the server offers PIPELINING and the caller asks for it)
 *   -> smtp_quit -> smtp_client_close
 * The single steps (smtp_mail, smtp_rcpt, smtp_data_begin, ...) are there
 * for tools that want to stop after any of them.
 *
 * Output is exactly what the caller asked for: command lines get CRLF,
 * message bodies are dot-stuffed and every line ending becomes CRLF
 * (smtp_dotstuff).  smtp_write_raw() sends bytes unchanged, for test
 * tools that must send malformed input on purpose.
 *
 * The transcript callback, when set, sees every line sent and received
 * (for `mtad -v` and smtpprobe's transcript). */
#ifndef MTA_SMTP_CLIENT_H
#define MTA_SMTP_CLIENT_H
#include <stddef.h>
#include <sys/types.h>

#include "smtp_reply.h"
#include "strbuf.h"

/* The longest reply line accepted (RFC 5321 4.5.3.1.5 says 512 octets;
 * real servers send longer ones, so we allow more but still bound it). */
#define SMTP_LINE_MAX 4096

enum smtp_result {
	SMTP_OK = 0,
	SMTP_TEMP = 1,
	SMTP_PERM = 2,
	SMTP_IOERR = 3,
	SMTP_PROTO = 4,
};

static inline int smtp_result_is_temp(enum smtp_result r)
{
	return r == SMTP_TEMP || r == SMTP_IOERR || r == SMTP_PROTO;
}

static inline int smtp_result_is_perm(enum smtp_result r)
{
	return r == SMTP_PERM;
}

const char *smtp_result_str(enum smtp_result r);	/* "ok", "temporary", ... */

/* Timeouts in milliseconds, one per step (RFC 5321 4.5.3.2).
 * smtp_timeouts_rfc5321() fills the RFC's minimums: connect 5 min (ours),
 * greeting 5 min, MAIL 5 min, RCPT 5 min, DATA initiation 2 min, data
 * block 3 min, DATA termination 10 min, and 5 min for EHLO and others. */
struct smtp_timeouts {
	int connect;
	int greeting;
	int helo;
	int mail;
	int rcpt;
	int data_init;
	int data_block;
	int data_term;
	int other;	/* RSET, NOOP, QUIT, VRFY, STARTTLS, raw commands */
};
void smtp_timeouts_rfc5321(struct smtp_timeouts *t);
/* Sets every timeout to ms (for tools and tests). */
void smtp_timeouts_all(struct smtp_timeouts *t, int ms);

/* EHLO keywords we act on (RFC 5321 4.1.1.1 and the extension RFCs). */
enum {
	SMTP_EXT_PIPELINING = 1 << 0,
	SMTP_EXT_SIZE = 1 << 1,
	SMTP_EXT_8BITMIME = 1 << 2,
	SMTP_EXT_STARTTLS = 1 << 3,
	SMTP_EXT_DSN = 1 << 4,
	SMTP_EXT_ENHANCEDSTATUSCODES = 1 << 5,
	SMTP_EXT_SMTPUTF8 = 1 << 6,
	SMTP_EXT_CHUNKING = 1 << 7,
	SMTP_EXT_AUTH = 1 << 8,
};

struct smtp_ext {
	unsigned flags;		/* SMTP_EXT_* */
	unsigned long long size;	/* SIZE value, 0 when absent or unlimited */
	char auth[256];		/* AUTH mechanisms as advertised, "" when none */
};

/* Fills ext from an EHLO reply (the first line is the greeting, each
 * further line a keyword with optional parameters; case-insensitive).
 * Returns the number of keyword lines seen. */
size_t smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ext *ext);

/* Dot-stuffing encoder (RFC 5321 4.5.2), streaming.  Every line ending
 * in the input (CRLF, bare LF, bare CR) becomes CRLF; a line starting
 * with '.' gets one more '.'.  smtp_dotstuff_end() closes an unterminated
 * last line with CRLF and appends the ".\r\n" terminator. */
struct smtp_dotstuff {
	int bol;	/* at the beginning of a line */
	int cr;		/* the previous input octet was a CR not yet written out */
};
void smtp_dotstuff_init(struct smtp_dotstuff *d);
void smtp_dotstuff(struct smtp_dotstuff *d, const char *in, size_t n, struct strbuf *out);
void smtp_dotstuff_end(struct smtp_dotstuff *d, struct strbuf *out);

enum smtp_dir {
	SMTP_DIR_SEND,	/* we sent this line (with its line ending, if any) */
	SMTP_DIR_RECV,	/* we received this line (without CRLF) */
	SMTP_DIR_INFO,	/* a note from the client: connected, timeout, closed */
};
typedef void (*smtp_transcript_fn)(void *arg, enum smtp_dir dir, const char *data, size_t len);

/* Optional I/O layer (TLS).  read returns bytes read, 0 on EOF, -1 on
 * error or timeout (with errno ETIMEDOUT); write returns bytes written or
 * -1.  Both must honour timeout_ms.  NULL functions mean the plain socket. */
struct smtp_io {
	ssize_t (*read)(void *ctx, int fd, void *buf, size_t n, int timeout_ms);
	ssize_t (*write)(void *ctx, int fd, const void *buf, size_t n, int timeout_ms);
	void *ctx;
};

struct smtp_client {
	int fd;				/* -1 when not connected */
	struct smtp_timeouts t;
	struct smtp_ext ext;		/* after smtp_ehlo */
	int esmtp;			/* 1 when EHLO was accepted, 0 after HELO */
	struct smtp_reply reply;	/* the last reply read */
	struct strbuf err;		/* the last I/O or protocol error, "" if none */
	char peer[128];			/* "addr port N" of the server, after connect */
	smtp_transcript_fn transcript;
	void *transcript_arg;
	struct smtp_io io;
	int sendmail_verbs;		/* write "MAIL From:" and "RCPT To:" as sendmail does */
	/* Input buffer (private). */
	char *ibuf;
	size_t ilen, ioff;
	int eof;
};

void smtp_client_init(struct smtp_client *c, const struct smtp_timeouts *t);
/* Closes the connection (if any) and frees everything. */
void smtp_client_free(struct smtp_client *c);
void smtp_client_set_transcript(struct smtp_client *c, smtp_transcript_fn fn, void *arg);
/* Uses an already connected socket (the client owns it from now on). */
void smtp_client_attach_fd(struct smtp_client *c, int fd);
/* Closes the socket without QUIT. */
void smtp_client_close(struct smtp_client *c);

/* Connects to host (name, IPv4 or IPv6 literal, with or without
 * brackets) and port (number or service), trying each address in turn,
 * within t.connect for each.  source, when not NULL, is the local address
 * to bind (--from-ip).  family is AF_UNSPEC, AF_INET or AF_INET6.
 * Returns SMTP_OK or SMTP_IOERR (text in c->err). */
enum smtp_result smtp_connect(struct smtp_client *c, const char *host, const char *port,
			      const char *source, int family);

/* Reads one complete reply into c->reply within timeout_ms.  SMTP_OK means
 * a well-formed reply was read, whatever its code; SMTP_IOERR on timeout
 * or EOF, SMTP_PROTO on a malformed reply. */
enum smtp_result smtp_read_reply(struct smtp_client *c, int timeout_ms);

/* Maps c->reply to a result: `want` is the class expected (2, or 3 for
 * DATA). */
enum smtp_result smtp_reply_result(const struct smtp_client *c, int want);

/* Writes exactly n bytes (no conversion).  SMTP_OK or SMTP_IOERR. */
enum smtp_result smtp_write_raw(struct smtp_client *c, const void *data, size_t n,
				int timeout_ms);

/* Sends "line\r\n" and reads the reply; `want` as for smtp_reply_result.
 * The line must not contain CR or LF (SMTP_PROTO otherwise). */
enum smtp_result smtp_command(struct smtp_client *c, int timeout_ms, int want,
			      const char *line);

/* Reads the 220 greeting (t.greeting). */
enum smtp_result smtp_greeting(struct smtp_client *c);

/* EHLO name; on a 5xx reply falls back to HELO (c->esmtp = 0, ext
 * cleared).  Fills c->ext from the EHLO reply. */
enum smtp_result smtp_ehlo(struct smtp_client *c, const char *name);
enum smtp_result smtp_helo(struct smtp_client *c, const char *name);

/* MAIL FROM:<sender> [params]; sender "" is the null sender. */
enum smtp_result smtp_mail(struct smtp_client *c, const char *sender, const char *params);
/* RCPT TO:<rcpt> [params]. */
enum smtp_result smtp_rcpt(struct smtp_client *c, const char *rcpt, const char *params);
/* DATA; SMTP_OK means 354 was received. */
enum smtp_result smtp_data_begin(struct smtp_client *c);
/* Sends body (dot-stuffed, CRLF normalised), the terminator, and reads
 * the final reply (t.data_term). */
enum smtp_result smtp_data_body(struct smtp_client *c, const char *body, size_t len);
enum smtp_result smtp_rset(struct smtp_client *c);
/* STARTTLS (RFC 3207): sends the command and expects 220.  Any bytes the
 * server sent after that reply, before the TLS handshake, are a plaintext
 * injection attempt (CVE-2011-0411 class): SMTP_PROTO.  On SMTP_OK the
 * caller performs the handshake, installs its layer with
 * smtp_client_set_io(), and says EHLO again (the extensions are cleared). */
enum smtp_result smtp_starttls(struct smtp_client *c);
void smtp_client_set_io(struct smtp_client *c, const struct smtp_io *io);
enum smtp_result smtp_quit(struct smtp_client *c);

/* One whole transaction.  Per-recipient results go to rcpt_res[i] and,
 * when rcpt_reply is not NULL, their replies to rcpt_reply[i] (initialised
 * by the caller).  With pipeline != 0 and PIPELINING offered, MAIL, the
 * RCPTs and DATA go out in one write (RFC 2920).
 *
 * Returns SMTP_OK when the message was accepted for at least one
 * recipient; otherwise the failure of the step that stopped it, and
 * *phase says which step: "mail", "rcpt" (no recipient accepted),
 * "data" or "dot".  The reply of that step is in c->reply. */
struct smtp_msg {
	const char *sender;
	const char *mail_params;	/* e.g. "SIZE=1234 BODY=8BITMIME", or NULL */
	const char *const *rcpts;
	const char *const *rcpt_params;	/* NULL, or per recipient ("NOTIFY=... ORCPT=...", NULL) */
	size_t nrcpts;
	const char *body;		/* header and body, any line endings */
	size_t len;
	int pipeline;
	int rset_first;			/* a cached connection: RSET first, as its probe (in
					 * the pipelined group when PIPELINING is on: no
					 * round trip of its own); a reply to it other than
					 * 2xx is SMTP_IOERR before any MAIL reply */
	struct smtp_reply *mail_reply;	/* when not NULL: receives the MAIL reply */
	struct smtp_reply *data_reply;	/* when not NULL: receives the DATA reply */
};
enum smtp_result smtp_send_message(struct smtp_client *c, const struct smtp_msg *m,
				   enum smtp_result *rcpt_res, struct smtp_reply *rcpt_reply,
				   const char **phase);

#endif
