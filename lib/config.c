/* config: the parameter table, value parsing and storage. */
#include "config.h"
#include "timefmt.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY 86400L
const struct conf_param conf_params[C_COUNT] = {
	{ C_DAEMON_PORT_OPTIONS, "DaemonPortOptions", "DAEMON_OPTIONS", CT_LIST, "Port=25, Name=MTA", 0, 0,
	  "a listener: Port=, Addr=, Family=, Name=, M= (repeatable)" },
	{ C_QUEUE_DIR, "QueueDirectory", "QUEUE_DIR", CT_PATH, "/var/spool/mqueue", 0, 0, "MTA queue directory" },
	{ C_MSP_QUEUE_DIR, "MSPQueueDirectory", "MSP_QUEUE_DIR", CT_PATH, "/var/spool/clientmqueue", 0, 0, "MSP queue directory" },
	{ C_ALIAS_FILE, "AliasFile", "ALIAS_FILE", CT_PATH, "/etc/mail/aliases", 0, 0, "aliases file" },
	{ C_CW_FILE, "LocalHostNamesFile", "confCW_FILE", CT_PATH, "/etc/mail/local-host-names", 0, 0, "names of this host ($=w)" },
	{ C_CR_FILE, "RelayDomainsFile", "confCR_FILE", CT_PATH, "/etc/mail/relay-domains", 0, 0, "domains we relay for ($=R)" },
	{ C_PID_FILE, "PidFile", "confPID_FILE", CT_PATH, "/run/mtad.pid", 0, 0, "daemon pid file" },
	{ C_LOG_FILE, "LogFile", "confLOG_FILE", CT_PATH, "", 0, 0, "log lines also written to this file" },
	{ C_MAILBOX_DIR, "MailboxDirectory", "confMAILBOX_DIR", CT_PATH, "/var/mail", 0, 0, "local mbox spool" },
	{ C_RESOLVER, "Resolver", "confRESOLVER", CT_STR, "", 0, 0, "DNS server to ask (addr:port)" },
	{ C_HOSTNAME, "HostName", "confDOMAIN_NAME", CT_STR, "", 0, 0, "$j, the canonical host name" },
	{ C_LOCAL_USER_FILE, "LocalUserFile", "confLOCAL_USER_FILE", CT_PATH, "", 0, 0,
	  "local mailbox names besides passwd users" },
	{ C_DELIVERY_MODE, "DeliveryMode", "confDELIVERY_MODE", CT_MODE, "b", 0, 0,
	  "b background, i interactive, q queue only, d deferred" },
	{ C_MAX_RCPTS, "MaxRecipientsPerMessage", "confMAX_RCPTS_PER_MESSAGE", CT_NUM, "100", 0, 100000,
	  "recipients per transaction (0 = no limit)" },
	{ C_MAX_MESSAGE_SIZE, "MaxMessageSize", "confMAX_MESSAGE_SIZE", CT_SIZE, "0", 0, 0x7fffffffL,
	  "largest message accepted in bytes (0 = no limit)" },
	{ C_MAX_HOP, "MaxHopCount", "confMAX_HOP", CT_NUM, "25", 1, 1000, "Received: headers before a loop is declared" },
	{ C_MAX_HEADERS_LENGTH, "MaxHeadersLength", "confMAX_HEADERS_LENGTH", CT_SIZE, "32768", 1024, 16777216,
	  "total size of a message's headers" },
	{ C_SMTP_LOGIN_MSG, "SmtpGreetingMessage", "confSMTP_LOGIN_MSG", CT_STR, "$j mtad $v; $b", 0, 0,
	  "greeting text; ESMTP is inserted after the first word" },
	{ C_PRIVACY_FLAGS, "PrivacyOptions", "confPRIVACY_FLAGS", CT_STR,
	  "authwarnings,noexpn,novrfy,noverb,noetrn", 0, 0, "privacy flags" },
	{ C_TO_INITIAL, "Timeout.initial", "confTO_INITIAL", CT_DURATION, "5m", 1, 7 * DAY, "client: wait for greeting" },
	{ C_TO_COMMAND, "Timeout.command", "confTO_COMMAND", CT_DURATION, "1h", 1, 7 * DAY, "server: wait for the next command" },
	{ C_TO_DATABLOCK, "Timeout.datablock", "confTO_DATABLOCK", CT_DURATION, "1h", 1, 7 * DAY, "wait for each block of DATA" },
	{ C_TO_DATAFINAL, "Timeout.datafinal", "confTO_DATAFINAL", CT_DURATION, "1h", 1, 7 * DAY, "client: wait for the reply to the final dot" },
	{ C_TO_QUEUEWARN, "Timeout.queuewarn", "confTO_QUEUEWARN", CT_DURATION, "4h", 0, 365 * DAY, "send a delay DSN after" },
	{ C_TO_QUEUERETURN, "Timeout.queuereturn", "confTO_QUEUERETURN", CT_DURATION, "5d", 0, 365 * DAY, "bounce after" },
	{ C_TO_IDENT, "Timeout.ident", "confTO_IDENT", CT_DURATION, "0s", 0, 3600, "ident lookups (not done; accepted)" },
	{ C_MAX_QUEUE_CHILDREN, "MaxQueueChildren", "confMAX_QUEUE_CHILDREN", CT_NUM, "4", 1, 1000,
	  "concurrent delivery/queue-run processes" },
	{ C_MAX_DAEMON_CHILDREN, "MaxDaemonChildren", "confMAX_DAEMON_CHILDREN", CT_NUM, "0", 0, 100000,
	  "concurrent SMTP sessions (0 = no limit but MaxClientsPerListener)" },
	{ C_MIN_QUEUE_AGE, "MinQueueAge", "confMIN_QUEUE_AGE", CT_DURATION, "0s", 0, 30 * DAY, "minimum time between tries" },
	{ C_RECIPIENT_FACTOR, "RecipientFactor", "confWORK_RECIPIENT_FACTOR", CT_NUM, "30000", 0, 100000000, "priority per recipient" },
	{ C_RETRY_FACTOR, "RetryFactor", "confWORK_TIME_FACTOR", CT_NUM, "90000", 0, 100000000, "priority added per try" },
	{ C_QUEUE_SORT_ORDER, "QueueSortOrder", "confQUEUE_SORT_ORDER", CT_STR, "priority", 0, 0,
	  "order of the -bp listing: priority, filename, time, modification (sendmail's first letter)" },
	{ C_QUEUE_SYNC, "QueueSync", "confQUEUE_SYNC", CT_STR, "auto", 0, 0,
	  "how accepted messages are made durable: auto, syncfs or fsync (mtad)" },
	{ C_MAX_CLIENTS_PER_LISTENER, "MaxClientsPerListener", "confMAX_CLIENTS", CT_NUM, "1000", 1, 100000,
	  "sessions served at once (ours)" },
	{ C_SMART_HOST, "SmartHost", "SMART_HOST", CT_STR, "", 0, 0,
	  "send all non-local mail to this host ([host] skips MX; host:port ours)" },
	{ C_MAIL_HUB, "MailHub", "MAIL_HUB", CT_STR, "", 0, 0, "send local mail to this host" },
	{ C_MAILERTABLE, "MailerTable", "FEATURE(mailertable)", CT_STR, "", 0, 0,
	  "map of domain -> mailer:host (\"hash /etc/mail/mailertable\")" },
	{ C_MIME_FORMAT_ERRORS, "SendMimeErrors", "confMIME_FORMAT_ERRORS", CT_BOOL, "True", 0, 0,
	  "DSNs as RFC 3464 multipart/report (False: plain text)" },
	{ C_MSP_HOST, "MSPHost", "FEATURE(msp)", CT_STR, "", 0, 0,
	  "MSP mode: submit over SMTP to this MTA (\"[127.0.0.1]\"; [host]:port ours)" },
	{ C_TO_CONNECT, "Timeout.connect", "confTO_CONNECT", CT_DURATION, "5m", 1, 7 * DAY, "client: connect" },
	{ C_TO_HELO, "Timeout.helo", "confTO_HELO", CT_DURATION, "5m", 1, 7 * DAY, "client: reply to EHLO/HELO" },
	{ C_TO_MAIL, "Timeout.mail", "confTO_MAIL", CT_DURATION, "10m", 1, 7 * DAY, "client: reply to MAIL" },
	{ C_TO_RCPT, "Timeout.rcpt", "confTO_RCPT", CT_DURATION, "1h", 1, 7 * DAY, "client: reply to RCPT" },
	{ C_TO_DATAINIT, "Timeout.datainit", "confTO_DATAINIT", CT_DURATION, "5m", 1, 7 * DAY, "client: reply to DATA" },
	{ C_TO_QUIT, "Timeout.quit", "confTO_QUIT", CT_DURATION, "2m", 1, 7 * DAY, "client: reply to QUIT" },
	{ C_ESMTP_MAILER_ARGS, "EsmtpMailerArgs", "ESMTP_MAILER_ARGS", CT_STR, "TCP $h", 0, 0,
	  "smtp/esmtp mailers: \"TCP $h [port]\"" },
	{ C_RELAY_MAILER_ARGS, "RelayMailerArgs", "RELAY_MAILER_ARGS", CT_STR, "TCP $h", 0, 0,
	  "relay mailer: \"TCP $h [port]\"" },
	{ C_ACCESS_DB, "AccessDB", "FEATURE(access_db)", CT_STR, "", 0, 0,
	  "access map: Connect:, From:, To:, Spam:, GreetPause: entries (\"hash -o /etc/mail/access\")" },
	{ C_DELAY_CHECKS, "DelayChecks", "FEATURE(delay_checks)", CT_STR, "", 0, 0,
	  "check senders at RCPT: \"on\", \"friend\" or \"hater\"" },
	{ C_GREET_PAUSE, "GreetPause", "FEATURE(greet_pause)", CT_NUM, "0", 0, 600000,
	  "milliseconds to wait before the greeting; early talkers are refused" },
	{ C_DNSBL, "DNSBL", "FEATURE(dnsbl)", CT_LIST, "", 0, 0,
	  "\"zone\" or \"zone|message\" (repeatable)" },
	{ C_PROMISCUOUS_RELAY, "PromiscuousRelay", "FEATURE(promiscuous_relay)", CT_BOOL, "False", 0, 0,
	  "relay for anyone (never on the Internet)" },
	{ C_RELAY_MAIL_FROM, "RelayMailFrom", "FEATURE(relay_mail_from)", CT_BOOL, "False", 0, 0,
	  "relay when the sender has From:...RELAY in the access map" },
	{ C_RELAY_BASED_ON_MX, "RelayBasedOnMX", "FEATURE(relay_based_on_MX)", CT_BOOL, "False", 0, 0,
	  "relay for domains whose MX points at us" },
	{ C_ACCEPT_UNQUALIFIED, "AcceptUnqualifiedSenders", "FEATURE(accept_unqualified_senders)", CT_BOOL, "False", 0, 0,
	  "accept MAIL FROM without a domain" },
	{ C_ACCEPT_UNRESOLVABLE, "AcceptUnresolvableDomains", "FEATURE(accept_unresolvable_domains)", CT_BOOL, "False", 0, 0,
	  "accept senders whose domain does not resolve" },
	{ C_NOUUCP, "NoUUCP", "FEATURE(nouucp)", CT_BOOL, "False", 0, 0, "refuse addresses with '!'" },
	{ C_USE_CW_FILE, "UseCwFile", "FEATURE(use_cw_file)", CT_BOOL, "True", 0, 0,
	  "read local-host-names (always done; accepted)" },
	{ C_LOCAL_DOMAIN, "LocalDomain", "LOCAL_DOMAIN", CT_LIST, "", 0, 0, "more names of this host ($=w)" },
	{ C_VIRTUSERTABLE, "VirtuserTable", "FEATURE(virtusertable)", CT_STR, "", 0, 0,
	  "map of user@domain or @domain -> address (\"hash -o /etc/mail/virtusertable\")" },
	{ C_VIRTUSER_DOMAIN_FILE, "VirtuserDomainFile", "VIRTUSER_DOMAIN_FILE", CT_PATH, "", 0, 0,
	  "domains routed through the virtusertable" },
	{ C_DOMAINTABLE, "DomainTable", "FEATURE(domaintable)", CT_STR, "", 0, 0,
	  "map of old domain -> canonical domain" },
	{ C_GENERICSTABLE, "GenericsTable", "FEATURE(genericstable)", CT_STR, "", 0, 0,
	  "map of user or user@domain -> outgoing address" },
	{ C_GENERICS_DOMAIN, "GenericsDomain", "GENERICS_DOMAIN", CT_LIST, "", 0, 0,
	  "domains whose senders the genericstable rewrites" },
	{ C_GENERICS_DOMAIN_FILE, "GenericsDomainFile", "GENERICS_DOMAIN_FILE", CT_PATH, "", 0, 0,
	  "file of generics domains" },
	{ C_MASQUERADE_AS, "MasqueradeAs", "MASQUERADE_AS", CT_STR, "", 0, 0, "domain to show as the sender's" },
	{ C_MASQUERADE_DOMAIN, "MasqueradeDomain", "MASQUERADE_DOMAIN", CT_LIST, "", 0, 0,
	  "other domains to masquerade" },
	{ C_MASQUERADE_DOMAIN_FILE, "MasqueradeDomainFile", "MASQUERADE_DOMAIN_FILE", CT_PATH, "", 0, 0,
	  "file of domains to masquerade" },
	{ C_EXPOSED_USER, "ExposedUser", "EXPOSED_USER", CT_LIST, "", 0, 0,
	  "users never masqueraded, besides root (which always is)" },
	{ C_ALLMASQUERADE, "AllMasquerade", "FEATURE(allmasquerade)", CT_BOOL, "False", 0, 0,
	  "masquerade recipient headers too" },
	{ C_MASQUERADE_ENVELOPE, "MasqueradeEnvelope", "FEATURE(masquerade_envelope)", CT_BOOL, "False", 0, 0,
	  "masquerade the envelope sender too" },
	{ C_MASQUERADE_ENTIRE_DOMAIN, "MasqueradeEntireDomain", "FEATURE(masquerade_entire_domain)", CT_BOOL, "False", 0, 0,
	  "masquerade subdomains of the masquerade domains" },
	{ C_ALWAYS_ADD_DOMAIN, "AlwaysAddDomain", "FEATURE(always_add_domain)", CT_BOOL, "False", 0, 0,
	  "qualify unqualified addresses in headers for local mail too" },
	{ C_LIMITED_MASQUERADE, "LimitedMasquerade", "FEATURE(limited_masquerade)", CT_BOOL, "False", 0, 0,
	  "masquerade only MASQUERADE_DOMAIN names, not $=w" },
	{ C_NULLCLIENT, "NullClient", "FEATURE(nullclient)", CT_STR, "", 0, 0,
	  "send everything to this hub; no local delivery" },
	{ C_LOCAL_SHELL_PATH, "LocalShellPath", "LOCAL_SHELL_PATH", CT_PATH, "/bin/sh", 0, 0,
	  "/dev/null refuses |program aliases (programs run without a shell)" },
	{ C_DEF_USER, "DefaultUser", "confDEF_USER_ID", CT_STR, "mail", 0, 0,
	  "user that runs programs and writes files named in aliases" },
	{ C_LOCAL_PROCMAIL, "LocalProcmail", "FEATURE(local_procmail)", CT_STR, "", 0, 0,
	  "deliver local mail through procmail (path)" },
	{ C_PROCMAIL_PATH, "ProcmailPath", "PROCMAIL_MAILER_PATH", CT_PATH, "/usr/bin/procmail", 0, 0,
	  "procmail for MAILER(procmail) and local_procmail" },
	{ C_SMRSH_DIR, "SmrshDirectory", "confSMRSH_DIRECTORY", CT_PATH, "/etc/mail/smrsh", 0, 0,
	  "programs a .forward may run: their names in this directory, as smrsh (ours)" },
	{ C_TO_PROGRAM, "Timeout.program", "confTO_PROGRAM", CT_DURATION, "1h", 1, 7 * DAY,
	  "a program mailer (alias or .forward) is killed after this long (ours)" },
	{ C_QUEUE_LA, "QueueLA", "confQUEUE_LA", CT_NUM, "0", 0, 1000,
	  "queue only (no delivery) above this load average (0: off)" },
	{ C_REFUSE_LA, "RefuseLA", "confREFUSE_LA", CT_NUM, "0", 0, 1000,
	  "refuse connections above this load average (0: off)" },
	{ C_CONNECTION_RATE, "ConnectionRateThrottle", "confCONNECTION_RATE_THROTTLE", CT_NUM, "0", 0, 100000,
	  "connections accepted per second (0: no limit)" },
	{ C_RUN_AS_USER, "RunAsUser", "confRUN_AS_USER", CT_STR, "", 0, 0,
	  "user[:group] the SMTP server becomes after binding, when started as root (empty: mail)" },
	{ C_HELP_FILE, "HelpFile", "HELP_FILE", CT_STR, "builtin", 0, 0,
	  "empty: HELP is refused (502); otherwise our built-in help text" },
	{ C_LUSER_RELAY, "LuserRelay", "LUSER_RELAY", CT_STR, "", 0, 0,
	  "mailer:host that gets mail for unknown local users" },
	{ C_SERVER_CERT, "ServerCertFile", "confSERVER_CERT", CT_PATH, "", 0, 0,
	  "PEM certificate (chain) of the server; STARTTLS is offered only when set" },
	{ C_SERVER_KEY, "ServerKeyFile", "confSERVER_KEY", CT_PATH, "", 0, 0,
	  "PEM private key of the server certificate (empty: in the certificate file)" },
	{ C_CACERT, "CACertFile", "confCACERT", CT_PATH, "", 0, 0,
	  "PEM file of trusted CA certificates (peer verification, both sides)" },
	{ C_CACERT_PATH, "CACertPath", "confCACERT_PATH", CT_PATH, "", 0, 0,
	  "directory of trusted CA certificates (hashed names, c_rehash)" },
	{ C_AUTH_PASSWD_DB, "AuthPasswordMap", "confAUTH_PASSWD_DB", CT_STR, "", 0, 0,
	  "map of user -> crypt(3) hash for SMTP AUTH (ours; written by mtapasswd); empty: no AUTH" },
	{ C_AUTH_MECHANISMS, "AuthMechanisms", "confAUTH_MECHANISMS", CT_STR, "PLAIN LOGIN", 0, 0,
	  "SASL mechanisms offered (PLAIN and LOGIN are implemented)" },
	{ C_AUTH_MAX_FAILURES, "AuthMaxFailures", "confAUTH_MAX_FAILURES", CT_NUM, "3", 1, 100,
	  "failed AUTH attempts before the session is closed with 421 (ours)" },
	{ C_TO_HOSTSTATUS, "Timeout.hoststatus", "confTO_HOSTSTATUS", CT_DURATION, "30m", 0, 7 * DAY,
	  "a host that failed is not tried again for this long (0: only within one queue run)" },
	{ C_HOST_STATUS_DIR, "HostStatusDirectory", "confHOST_STATUS_DIRECTORY", CT_PATH, "", 0, 0,
	  "host status shared by every queue runner, in sendmail's format (empty: per process)" },
	{ C_MCI_CACHE_SIZE, "ConnectionCacheSize", "confMCI_CACHE_SIZE", CT_NUM, "2", 0, 1000,
	  "SMTP connections a delivery process keeps open for the next message (0: none)" },
	{ C_MCI_CACHE_TIMEOUT, "ConnectionCacheTimeout", "confMCI_CACHE_TIMEOUT", CT_DURATION, "5m", 0, DAY,
	  "how long a cached connection may stay idle" },
	{ C_MAX_QUEUE_BACKOFF, "MaxQueueBackoff", "confMAX_QUEUE_BACKOFF", CT_DURATION, "4000s", 0, 30 * DAY,
	  "longest wait between tries; the wait doubles from MinQueueAge each try (ours)" },
	{ C_QUEUE_RUNNERS, "MaxRunnersPerQueue", "confMAX_RUNNERS_PER_QUEUE", CT_NUM, "16", 1, 100,
	  "delivery processes of one queue run, each taking whole destinations" },
	{ C_DEST_RATE_DELAY, "DestinationRateDelay", "confDESTINATION_RATE_DELAY", CT_DURATION, "0s", 0, 3600,
	  "pause between two messages to one destination in a queue run (ours; 0: none)" },
	{ C_DEST_CONCURRENCY, "DestinationConcurrency", "confDESTINATION_CONCURRENCY", CT_NUM, "1", 1, 100,
	  "workers of a queue run that may deliver to one destination at once (ours)" },
	{ C_LDAP_DEFAULT_SPEC, "LDAPDefaultSpec", "confLDAP_DEFAULT_SPEC", CT_STR, "", 0, 0,
	  "default options of every ldap map (-h host -p port -b base ...)" },
	{ C_LDAP_CLUSTER, "LDAPCluster", "confLDAP_CLUSTER", CT_STR, "", 0, 0,
	  "${sendmailMTACluster} in the default LDAP map and alias filters" },
	{ C_LDAP_ROUTING, "LDAPRouting", "FEATURE(ldap_routing)", CT_STR, "", 0, 0,
	  "LDAP routing on, with FEATURE arguments 3-6: passthru|bounce|sendertoo, detail, nodomain, queue|tempfail" },
	{ C_LDAP_ROUTING_MH, "LDAPRoutingMailHostMap", "FEATURE(ldap_routing):mailHost", CT_STR,
	  "ldap -1 -T<TMPF> -v mailHost -k (&(objectClass=inetLocalMailRecipient)(mailLocalAddress=%0))", 0, 0,
	  "the map giving an address's mailHost (FEATURE(ldap_routing) argument 1)" },
	{ C_LDAP_ROUTING_MRA, "LDAPRoutingAddressMap", "FEATURE(ldap_routing):mailRoutingAddress", CT_STR,
	  "ldap -1 -T<TMPF> -v mailRoutingAddress -k (&(objectClass=inetLocalMailRecipient)(mailLocalAddress=%0))", 0, 0,
	  "the map giving an address's mailRoutingAddress (FEATURE(ldap_routing) argument 2)" },
	{ C_LDAPROUTE_DOMAIN, "LDAPRouteDomain", "LDAPROUTE_DOMAIN", CT_LIST, "", 0, 0,
	  "domains whose recipients are routed through LDAP ($={LDAPRoute})" },
	{ C_LDAPROUTE_DOMAIN_FILE, "LDAPRouteDomainFile", "LDAPROUTE_DOMAIN_FILE", CT_PATH, "", 0, 0,
	  "file of LDAP routed domains" },
	{ C_LDAPROUTE_EQUIVALENT, "LDAPRouteEquivalent", "LDAPROUTE_EQUIVALENT", CT_LIST, "", 0, 0,
	  "domains looked up in LDAP as if they were $M (or $j) after their own name" },
	{ C_LDAPROUTE_EQUIVALENT_FILE, "LDAPRouteEquivalentFile", "LDAPROUTE_EQUIVALENT_FILE", CT_PATH, "", 0, 0,
	  "file of LDAP routing equivalents" },
	{ C_MAIL_FILTERS, "MailFilter", "MAIL_FILTER", CT_LIST, "", 0, 0,
	  "mail filter definitions: \"name, S=socket, F=flags, T=timeouts\" (the .cf's X lines)" },
	{ C_INPUT_MAIL_FILTERS, "InputMailFilters", "confINPUT_MAIL_FILTERS", CT_STR, "", 0, 0,
	  "the filters SMTP mail goes through, in order (comma-separated names)" },
	{ C_MILTER_MACROS_CONNECT, "Milter.macros.connect", "confMILTER_MACROS_CONNECT", CT_STR,
	  "j, _, {daemon_name}, {if_name}, {if_addr}", 0, 0, "macros sent to filters at connect" },
	{ C_MILTER_MACROS_HELO, "Milter.macros.helo", "confMILTER_MACROS_HELO", CT_STR,
	  "{tls_version}, {cipher}, {cipher_bits}, {cert_subject}, {cert_issuer}", 0, 0,
	  "macros sent to filters at HELO/EHLO" },
	{ C_MILTER_MACROS_ENVFROM, "Milter.macros.envfrom", "confMILTER_MACROS_ENVFROM", CT_STR,
	  "i, {auth_type}, {auth_authen}, {auth_ssf}, {auth_author}, {mail_mailer}, {mail_host}, {mail_addr}", 0, 0,
	  "macros sent to filters at MAIL" },
	{ C_MILTER_MACROS_ENVRCPT, "Milter.macros.envrcpt", "confMILTER_MACROS_ENVRCPT", CT_STR,
	  "{rcpt_mailer}, {rcpt_host}, {rcpt_addr}", 0, 0, "macros sent to filters at RCPT" },
	{ C_MILTER_MACROS_DATA, "Milter.macros.data", "confMILTER_MACROS_DATA", CT_STR, "", 0, 0,
	  "macros sent to filters at DATA" },
	{ C_MILTER_MACROS_EOH, "Milter.macros.eoh", "confMILTER_MACROS_EOH", CT_STR, "", 0, 0,
	  "macros sent to filters at the end of the header" },
	{ C_MILTER_MACROS_EOM, "Milter.macros.eom", "confMILTER_MACROS_EOM", CT_STR, "{msg_id}", 0, 0,
	  "macros sent to filters at the end of the message" },
};

struct conf_value {
	int set;
	char *text;
	long num;
	char **list;
	size_t nlist;
};
static struct conf_value values[C_COUNT];
static int initialised;

static void value_clear(struct conf_value *v)
{
	free(v->text);
	for (size_t i = 0; i < v->nlist; i++)
		free(v->list[i]);
	free(v->list);
	memset(v, 0, sizeof(*v));
}

static int parse_value(const struct conf_param *p, const char *text, struct conf_value *v,
		       char *err, size_t errsize)
{
	long n = 0;
	char *end;
	switch (p->type) {
	case CT_NUM:
		errno = 0;
		n = strtol(text, &end, 10);
		if (errno || end == text || *end) {
			snprintf(err, errsize, "%s: \"%s\" is not a number", p->oname, text);
			return -1;
		}
		break;
	case CT_SIZE:
		errno = 0;
		n = strtol(text, &end, 10);
		if (errno || end == text) {
			snprintf(err, errsize, "%s: \"%s\" is not a size", p->oname, text);
			return -1;
		}
		long mult = 1;
		if (*end == 'k' || *end == 'K') { mult = 1024; end++; }
		else if (*end == 'm' || *end == 'M') { mult = 1024 * 1024; end++; }
		/* saturate rather than overflow: the bounds check below rejects it */
		n = n > LONG_MAX / mult ? LONG_MAX : n < LONG_MIN / mult ? LONG_MIN : n * mult;
		if (*end) {
			snprintf(err, errsize, "%s: \"%s\" is not a size", p->oname, text);
			return -1;
		}
		break;
	case CT_DURATION:
		n = time_parse_duration(text, p->id == C_TO_IDENT ? 's' : 'm');
		if (n < 0) {
			snprintf(err, errsize, "%s: \"%s\" is not a duration (e.g. 30s, 5m, 4h, 5d)", p->oname, text);
			return -1;
		}
		break;
	case CT_BOOL:
		if (!strcasecmp(text, "true") || !strcasecmp(text, "t") || !strcasecmp(text, "yes") || !strcmp(text, "1") || !*text)
			n = 1;
		else if (!strcasecmp(text, "false") || !strcasecmp(text, "f") || !strcasecmp(text, "no") || !strcmp(text, "0"))
			n = 0;
		else {
			snprintf(err, errsize, "%s: \"%s\" is not True or False", p->oname, text);
			return -1;
		}
		break;
	case CT_MODE:
		if (strlen(text) < 1 || !strchr("biqd", tolower((unsigned char)text[0]))) {
			snprintf(err, errsize, "%s: \"%s\" is not one of b, i, q, d", p->oname, text);
			return -1;
		}
		break;
	default:
		break;
	}
	if (p->id == C_QUEUE_SYNC && strcmp(text, "auto") != 0 && strcmp(text, "syncfs") != 0 &&
	    strcmp(text, "fsync") != 0) {
		snprintf(err, errsize, "%s: \"%s\" is not one of auto, syncfs, fsync", p->oname, text);
		return -1;
	}
	if ((p->type == CT_NUM || p->type == CT_SIZE || p->type == CT_DURATION) &&
	    (p->min != 0 || p->max != 0) && (n < p->min || n > p->max)) {
		snprintf(err, errsize, "%s: %s is out of range (%ld..%ld)", p->oname, text, p->min, p->max);
		return -1;
	}
	if (p->type == CT_PATH && strlen(text) > 1024) {
		snprintf(err, errsize, "%s: path longer than 1024 bytes", p->oname);
		return -1;
	}
	v->num = n;
	if (p->type == CT_MODE) {
		char m[2] = { (char)tolower((unsigned char)text[0]), '\0' };
		v->text = xstrdup(m);
	} else {
		v->text = xstrdup(text);
	}
	return 0;
}

void conf_reset(void)
{
	for (int i = 0; i < C_COUNT; i++) {
		char err[256];
		value_clear(&values[i]);
		if (parse_value(&conf_params[i], conf_params[i].defval, &values[i], err, sizeof(err)) < 0)
			abort();	/* a bad default is a programming error */
		if (conf_params[i].type == CT_LIST && conf_params[i].defval[0]) {
			values[i].list = xmalloc(sizeof(char *));
			values[i].list[0] = xstrdup(conf_params[i].defval);
			values[i].nlist = 1;
		}
	}
	initialised = 1;
}

static void ensure_init(void)
{
	if (!initialised)
		conf_reset();
}

const struct conf_param *conf_by_oname(const char *name)
{
	for (int i = 0; i < C_COUNT; i++)
		if (strcasecmp(conf_params[i].oname, name) == 0)
			return &conf_params[i];
	return NULL;
}

const struct conf_param *conf_by_mcname(const char *name)
{
	for (int i = 0; i < C_COUNT; i++)
		if (strcmp(conf_params[i].mcname, name) == 0)
			return &conf_params[i];
	return NULL;
}

int conf_set(enum conf_id id, const char *text, char *err, size_t errsize)
{
	ensure_init();
	const struct conf_param *p = &conf_params[id];
	struct conf_value nv;
	memset(&nv, 0, sizeof(nv));
	if (parse_value(p, text, &nv, err, errsize) < 0)
		return -1;
	struct conf_value *v = &values[id];
	if (p->type == CT_LIST) {
		if (!v->set) {		/* the first explicit value replaces the default */
			for (size_t i = 0; i < v->nlist; i++)
				free(v->list[i]);
			v->nlist = 0;
		}
		v->list = xreallocarray(v->list, v->nlist + 1, sizeof(char *));
		v->list[v->nlist++] = xstrdup(text);
		free(v->text);
		v->text = nv.text;
	} else {
		char **list = v->list;
		size_t nlist = v->nlist;
		v->list = NULL;
		v->nlist = 0;
		value_clear(v);
		*v = nv;
		v->list = list;
		v->nlist = nlist;
	}
	v->set = 1;
	return 0;
}

const char *conf_str(enum conf_id id)
{
	ensure_init();
	return values[id].text ? values[id].text : "";
}

long conf_num(enum conf_id id)
{
	ensure_init();
	return values[id].num;
}

size_t conf_list_count(enum conf_id id)
{
	ensure_init();
	return values[id].nlist;
}

const char *conf_list_get(enum conf_id id, size_t i)
{
	ensure_init();
	return i < values[id].nlist ? values[id].list[i] : NULL;
}

int conf_is_default(enum conf_id id)
{
	ensure_init();
	return !values[id].set || strcmp(values[id].text, conf_params[id].defval) == 0;
}

int conf_has_flag(enum conf_id id, const char *word)
{
	const char *s = conf_str(id);
	size_t wl = strlen(word);
	while (*s) {
		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
		const char *start = s;
		while (*s && *s != ',' && *s != ' ' && *s != '\t')
			s++;
		if ((size_t)(s - start) == wl && strncasecmp(start, word, wl) == 0)
			return 1;
	}
	return 0;
}
