/* config: every configuration parameter declared once: its -O name, its .mc
 * name, type, default and bounds.  Both the .mc reader and -O set values
 * through conf_set(); `mtad -bC -v` prints what differs from the defaults. */
#ifndef MTA_CONFIG_H
#define MTA_CONFIG_H
#include <stddef.h>

enum conf_type { CT_STR, CT_PATH, CT_NUM, CT_BOOL, CT_DURATION, CT_SIZE, CT_MODE, CT_LIST };

enum conf_id {
	C_DAEMON_PORT_OPTIONS,
	C_QUEUE_DIR, C_MSP_QUEUE_DIR, C_ALIAS_FILE, C_CW_FILE, C_CR_FILE,
	C_PID_FILE, C_LOG_FILE, C_MAILBOX_DIR, C_RESOLVER, C_HOSTNAME,
	C_LOCAL_USER_FILE, C_DELIVERY_MODE, C_MAX_RCPTS, C_MAX_MESSAGE_SIZE,
	C_MAX_HOP, C_MAX_HEADERS_LENGTH, C_SMTP_LOGIN_MSG, C_PRIVACY_FLAGS,
	C_TO_INITIAL, C_TO_COMMAND, C_TO_DATABLOCK, C_TO_DATAFINAL,
	C_TO_QUEUEWARN, C_TO_QUEUERETURN, C_TO_IDENT, C_MAX_QUEUE_CHILDREN,
	C_MAX_DAEMON_CHILDREN, C_MIN_QUEUE_AGE, C_RECIPIENT_FACTOR, C_RETRY_FACTOR,
	C_QUEUE_SORT_ORDER, C_QUEUE_SYNC,
	C_MAX_CLIENTS_PER_LISTENER,
	C_SMART_HOST, C_MAIL_HUB, C_MAILERTABLE, C_MIME_FORMAT_ERRORS, C_MSP_HOST,
	C_TO_CONNECT, C_TO_HELO, C_TO_MAIL, C_TO_RCPT, C_TO_DATAINIT, C_TO_QUIT,
	C_ESMTP_MAILER_ARGS, C_RELAY_MAILER_ARGS,
	/* policy (FEATUREs and macros of the .mc) */
	C_ACCESS_DB, C_DELAY_CHECKS, C_GREET_PAUSE, C_DNSBL, C_PROMISCUOUS_RELAY,
	C_RELAY_MAIL_FROM, C_RELAY_BASED_ON_MX, C_ACCEPT_UNQUALIFIED, C_ACCEPT_UNRESOLVABLE,
	C_NOUUCP, C_USE_CW_FILE, C_LOCAL_DOMAIN,
	/* virtual domains and masquerading */
	C_VIRTUSERTABLE, C_VIRTUSER_DOMAIN_FILE, C_DOMAINTABLE, C_GENERICSTABLE, C_GENERICS_DOMAIN,
	C_GENERICS_DOMAIN_FILE, C_MASQUERADE_AS, C_MASQUERADE_DOMAIN, C_MASQUERADE_DOMAIN_FILE,
	C_EXPOSED_USER, C_ALLMASQUERADE, C_MASQUERADE_ENVELOPE, C_MASQUERADE_ENTIRE_DOMAIN,
	C_ALWAYS_ADD_DOMAIN, C_LIMITED_MASQUERADE, C_NULLCLIENT,
	/* local delivery */
	C_LOCAL_SHELL_PATH, C_DEF_USER, C_LOCAL_PROCMAIL, C_PROCMAIL_PATH,
	C_SMRSH_DIR, C_TO_PROGRAM,
	/* load and privileges */
	C_QUEUE_LA, C_REFUSE_LA, C_CONNECTION_RATE, C_RUN_AS_USER,
	C_HELP_FILE, C_LUSER_RELAY,
	/* STARTTLS and AUTH */
	C_SERVER_CERT, C_SERVER_KEY, C_CACERT, C_CACERT_PATH, C_AUTH_PASSWD_DB,
	C_AUTH_MECHANISMS, C_AUTH_MAX_FAILURES,
	/* relay operation: host status, connection cache, backoff, queue runners */
	C_TO_HOSTSTATUS, C_HOST_STATUS_DIR, C_MCI_CACHE_SIZE, C_MCI_CACHE_TIMEOUT,
	C_MAX_QUEUE_BACKOFF, C_QUEUE_RUNNERS, C_DEST_RATE_DELAY, C_DEST_CONCURRENCY,
	/* LDAP (lib/map_ldap.c, mtad/ldaproute.c) */
	C_LDAP_DEFAULT_SPEC, C_LDAP_CLUSTER, C_LDAP_ROUTING, C_LDAP_ROUTING_MH, C_LDAP_ROUTING_MRA,
	C_LDAPROUTE_DOMAIN, C_LDAPROUTE_DOMAIN_FILE, C_LDAPROUTE_EQUIVALENT, C_LDAPROUTE_EQUIVALENT_FILE,
	/* mail filters (milter) */
	C_MAIL_FILTERS, C_INPUT_MAIL_FILTERS, C_MILTER_MACROS_CONNECT, C_MILTER_MACROS_HELO,
	C_MILTER_MACROS_ENVFROM, C_MILTER_MACROS_ENVRCPT, C_MILTER_MACROS_DATA, C_MILTER_MACROS_EOH,
	C_MILTER_MACROS_EOM,
	C_COUNT
};

struct conf_param {
	enum conf_id id;
	const char *oname;	/* -O name: "QueueDirectory" */
	const char *mcname;	/* .mc name: "QUEUE_DIR", "confLOG_FILE" */
	enum conf_type type;
	const char *defval;
	long min, max;		/* bounds for numbers, durations, sizes */
	const char *doc;
};

extern const struct conf_param conf_params[C_COUNT];

/* Looks a parameter up by -O name (case-insensitive; "Timeout.x" too) or by
 * .mc name.  NULL when unknown. */
const struct conf_param *conf_by_oname(const char *name);
const struct conf_param *conf_by_mcname(const char *name);

/* Sets the value from text.  Returns 0, or -1 with a reason in err
 * ("value out of range 1..1000", "not a duration", ...). */
int conf_set(enum conf_id id, const char *text, char *err, size_t errsize);
/* Restores every default (used before loading and on SIGHUP). */
void conf_reset(void);

const char *conf_str(enum conf_id id);	/* text value; "" when empty */
long conf_num(enum conf_id id);		/* numbers, booleans, seconds, bytes */
/* For CT_LIST: number of values and the i-th. */
size_t conf_list_count(enum conf_id id);
const char *conf_list_get(enum conf_id id, size_t i);
/* Has the value been set away from its default? */
int conf_is_default(enum conf_id id);
/* Does the comma-separated flags value contain this word (case-insensitive)? */
int conf_has_flag(enum conf_id id, const char *word);

#endif
