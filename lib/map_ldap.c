/* map_ldap: the `ldap' map class (spec parsing, one reused libldap
 * connection per map, bounded waits, lookups).  See map_ldap.h. */
#include <ctype.h>
#include <errno.h>
#include <ldap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "map.h"
#include "map_ldap.h"
#include "strbuf.h"
#include "xalloc.h"

#define DEFAULT_TIMEOUT		5	/* seconds, when -l / -c are not given */
#define HOLD_AFTER_TIMEOUT	10	/* seconds of fast MAP_TEMPFAIL after a slow failure */

static char hostname_j[256] = "localhost";

void map_ldap_set_hostname(const char *j)
{
	if (j && *j)
		snprintf(hostname_j, sizeof(hostname_j), "%s", j);
}

/* ------------------------------------------------------------------ */
/* Specs */

void ldap_spec_free(struct ldap_spec *s)
{
	if (!s)
		return;
	free(s->uri);
	free(s->hosts);
	free(s->base);
	free(s->filter);
	for (int i = 0; s->attrs[i]; i++)
		free(s->attrs[i]);
	free(s->binddn);
	free(s->secret);
	free(s->secret_file);
	free(s->append);
	free(s->tmpf_tag);
	memset(s, 0, sizeof(*s));
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* The next option argument: after optional blanks, up to a blank outside
 * double quotes; the quotes are removed.  *pp moves past it. */
static char *take_arg(const char **pp)
{
	const char *p = *pp;
	while (*p == ' ' || *p == '\t')
		p++;
	struct strbuf sb;
	sb_init(&sb);
	int quoted = 0;
	for (; *p; p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (!quoted && (*p == ' ' || *p == '\t' || *p == '\n'))
			break;
		sb_putc(&sb, *p);
	}
	*pp = p;
	char *s = sb_steal(&sb);
	sb_free(&sb);
	return s;
}

static int word_index(const char *w, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strncasecmp(w, words[i], strlen(words[i])) == 0)
			return i;
	return -1;
}

static char delim_char(const char *a)
{
	if (a[0] != '\\')
		return a[0];
	return a[1] == 'n' ? '\n' : a[1] == 't' ? '\t' : '\\';
}

static int set_attrs(struct ldap_spec *s, const char *list, char *err, size_t errsize)
{
	for (int i = 0; s->attrs[i]; i++) {
		free(s->attrs[i]);
		s->attrs[i] = NULL;
	}
	char *copy = xstrdup(list), *save = NULL;
	int n = 0, rc = 0;
	for (char *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		while (*a == ' ')
			a++;
		char *type = strchr(a, ':');	/* "attr:TYPE:objectclass": only plain values */
		if (type)
			*type = '\0';
		if (!*a || strcasecmp(a, "objectClass") == 0)
			continue;
		if (n >= LDAPMAP_MAX_ATTRS) {
			errf(err, errsize, "too many attributes in -v (at most %d)", LDAPMAP_MAX_ATTRS);
			rc = -1;
			break;
		}
		s->attrs[n++] = xstrdup(a);
	}
	free(copy);
	return rc;
}

static int read_secret(struct ldap_spec *s, const char *path, char *err, size_t errsize)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		errf(err, errsize, "cannot open LDAP secret %s: %s", path, strerror(errno));
		return -1;
	}
	char line[512];
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	set_str(&s->secret, line);
	set_str(&s->secret_file, path);
	return 0;
}

/* One option letter with its argument (NULL for flags). */
static int apply_opt(struct ldap_spec *s, char opt, const char *a, char *err, size_t errsize)
{
	static const char *const scopes[] = { "base", "one", "sub", NULL };
	static const int scope_codes[] = { LDAP_SCOPE_BASE, LDAP_SCOPE_ONELEVEL, LDAP_SCOPE_SUBTREE };
	static const char *const derefs[] = { "never", "always", "search", "find", NULL };
	static const int deref_codes[] = { LDAP_DEREF_NEVER, LDAP_DEREF_ALWAYS, LDAP_DEREF_SEARCHING,
		LDAP_DEREF_FINDING };
	int i;
	switch (opt) {
	case 'h':
		set_str(&s->hosts, a);
		free(s->uri);
		s->uri = NULL;
		return 0;
	case 'H':
		set_str(&s->uri, a);
		free(s->hosts);
		s->hosts = NULL;
		return 0;
	case 'p':
		s->port = atoi(a);
		if (s->port <= 0 || s->port > 65535) {
			errf(err, errsize, "-p %s: not a port", a);
			return -1;
		}
		return 0;
	case 'b': set_str(&s->base, a); return 0;
	case 'k': set_str(&s->filter, a); return 0;
	case 'v': return set_attrs(s, a, err, errsize);
	case 'd': set_str(&s->binddn, a); return 0;
	case 'P': return read_secret(s, a, err, errsize);
	case 'M':
		if (strncasecmp(a, "LDAP_AUTH_", 10) == 0)
			a += 10;
		if (strcasecmp(a, "none") == 0)
			s->method = 0;
		else if (strcasecmp(a, "simple") == 0)
			s->method = 1;
		else {
			errf(err, errsize, "-M %s: method for binding must be none or simple", a);
			return -1;
		}
		return 0;
	case 'w':
		s->version = atoi(a);
		if (s->version != 2 && s->version != 3) {
			errf(err, errsize, "-w %s: LDAP version must be 2 or 3", a);
			return -1;
		}
		return 0;
	case 's':
		if (strncasecmp(a, "LDAP_SCOPE_", 11) == 0)
			a += 11;
		if ((i = word_index(a, scopes)) < 0) {
			errf(err, errsize, "-s %s: scope must be base, one or sub", a);
			return -1;
		}
		s->scope = scope_codes[i];
		return 0;
	case 'r':
		if (strncasecmp(a, "LDAP_DEREF_", 11) == 0)
			a += 11;
		if ((i = word_index(a, derefs)) < 0) {
			errf(err, errsize, "-r %s: deref must be never, always, search or find", a);
			return -1;
		}
		s->deref = deref_codes[i];
		return 0;
	case 'l': s->timelimit = atoi(a); return 0;
	case 'c': s->net_timeout = atoi(a); return 0;
	case 'Z': s->sizelimit = atoi(a); return 0;
	case 'z': s->delim = delim_char(a); return 0;
	case 'a': set_str(&s->append, a); return 0;
	case 'T': set_str(&s->tmpf_tag, a); return 0;
	case 'n': s->attrsonly = 1; return 0;
	case 'R': s->no_referrals = 1; return 0;
	case '1': s->single = 1; return 0;
	case 'f': s->nofold = 1; return 0;
	case 'm': s->matchonly = 1; return 0;
	case 'o': s->optional = 1; return 0;
	case 'A': case 'D': case 'q': case 't': case 'N': case 'O': case 'K': case '2':
		return 0;	/* accepted; no effect here */
	case 'S': case 'V':
		return 0;	/* a character argument; no effect here */
	}
	errf(err, errsize, "unknown LDAP map option -%c", opt);
	return -1;
}

/* Options that take an argument (attached, or after blanks). */
static int takes_arg(char c)
{
	return strchr("hHpbkvdPMwsrlcZzaTSV", c) != NULL;
}

static int parse_opts(struct ldap_spec *s, const char *args, char *err, size_t errsize)
{
	const char *p = args ? args : "";
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			return 0;
		if (p[0] != '-' || !p[1]) {
			const char *e = p;
			while (*e && *e != ' ' && *e != '\t')
				e++;
			errf(err, errsize, "unexpected \"%.*s\" (LDAP map options start with -)",
			     (int)(e - p), p);
			return -1;
		}
		char opt = p[1];
		p += 2;
		char *a = NULL;
		if (takes_arg(opt)) {
			if (opt == 'z' || opt == 'S' || opt == 'V' || opt == 'T' || opt == 'a') {
				/* attached: -z, -T<TMPF>, -a. */
				const char *e = p;
				while (*e && *e != ' ' && *e != '\t')
					e++;
				a = xstrndup(p, (size_t)(e - p));
				p = e;
			} else {
				a = take_arg(&p);
			}
			if (!*a && opt != 'T' && opt != 'a' && opt != 'z') {
				errf(err, errsize, "option -%c needs an argument", opt);
				free(a);
				return -1;
			}
		} else {
			while (*p && *p != ' ' && *p != '\t')	/* as sendmail: the rest of the word */
				p++;
		}
		int rc = apply_opt(s, opt, a ? a : "", err, errsize);
		free(a);
		if (rc < 0)
			return -1;
	}
}

/* $j and ${sendmailMTACluster} in a filter (the macros sendmail's default
 * map and alias filters use). */
static char *expand_macros(const char *f)
{
	struct strbuf sb;
	sb_init(&sb);
	for (const char *p = f; *p; p++) {
		if (p[0] == '$' && p[1] == 'j') {
			sb_puts(&sb, hostname_j);
			p++;
		} else if (p[0] == '$' && strncmp(p, "${sendmailMTACluster}", 21) == 0) {
			sb_puts(&sb, conf_str(C_LDAP_CLUSTER));
			p += 20;
		} else if (p[0] == '$' && strncmp(p, "$&{sendmailMTACluster}", 22) == 0) {
			sb_puts(&sb, conf_str(C_LDAP_CLUSTER));
			p += 21;
		} else {
			sb_putc(&sb, *p);
		}
	}
	char *s = sb_steal(&sb);
	sb_free(&sb);
	return s;
}

/* "ldap://h1:port ldap://h2:port" from -h and -p. */
static char *uri_from_hosts(const char *hosts, int port)
{
	struct strbuf sb;
	sb_init(&sb);
	char *copy = xstrdup(hosts), *save = NULL;
	for (char *h = strtok_r(copy, " \t,", &save); h; h = strtok_r(NULL, " \t,", &save)) {
		if (sb.len)
			sb_putc(&sb, ' ');
		if (strstr(h, "://"))
			sb_puts(&sb, h);
		else if (port && !strchr(h, ':'))
			sb_printf(&sb, "ldap://%s:%d", h, port);
		else
			sb_printf(&sb, "ldap://%s", h);
	}
	free(copy);
	char *s = sb_steal(&sb);
	sb_free(&sb);
	return s;
}

int ldap_spec_parse(const char *args, int alias, int defaults, struct ldap_spec *out,
		    char *err, size_t errsize)
{
	memset(out, 0, sizeof(*out));
	out->version = 3;
	out->scope = LDAP_SCOPE_SUBTREE;
	out->deref = LDAP_DEREF_NEVER;
	if (alias)
		out->delim = ',';
	char e2[400];
	if (defaults && *conf_str(C_LDAP_DEFAULT_SPEC) &&
	    parse_opts(out, conf_str(C_LDAP_DEFAULT_SPEC), e2, sizeof(e2)) < 0) {
		errf(err, errsize, "LDAPDefaultSpec: %s", e2);
		ldap_spec_free(out);
		return -1;
	}
	if (parse_opts(out, args, err, errsize) < 0) {
		ldap_spec_free(out);
		return -1;
	}
	if (out->method == 0 && out->binddn)
		out->method = 1;	/* a bind DN means a simple bind */
	if (alias && !out->filter) {
		char f[1024];
		snprintf(f, sizeof(f), "(&(objectClass=sendmailMTAAliasObject)"
			 "(sendmailMTAAliasGrouping=aliases)"
			 "(|(sendmailMTACluster=${sendmailMTACluster})(sendmailMTAHost=$j))"
			 "(sendmailMTAKey=%%0))");
		out->filter = xstrdup(f);
		if (!out->attrs[0])
			out->attrs[0] = xstrdup("sendmailMTAAliasValue");
	}
	if (!out->filter) {
		errf(err, errsize, "no filter (-k) given");
		ldap_spec_free(out);
		return -1;
	}
	char *f = expand_macros(out->filter);
	free(out->filter);
	out->filter = f;
	if (!out->uri && out->hosts)
		out->uri = uri_from_hosts(out->hosts, out->port);
	else if (!out->uri && out->port)
		out->uri = uri_from_hosts("localhost", out->port);
	if (out->single)
		out->sizelimit = 2;	/* enough to tell one match from several */
	LDAP *probe = NULL;	/* a URI libldap cannot parse is a configuration error */
	if (out->uri && ldap_initialize(&probe, out->uri) != LDAP_SUCCESS) {
		errf(err, errsize, "bad LDAP URI \"%s\"", out->uri);
		ldap_spec_free(out);
		return -1;
	}
	if (probe)
		ldap_destroy(probe);
	return 0;
}

char *ldap_filter_expand(const char *filter, const char *key)
{
	struct strbuf sb;
	sb_init(&sb);
	for (const char *p = filter; *p; p++) {
		if (p[0] == '%' && (p[1] == '0' || p[1] == 's')) {
			for (const char *k = key; *k; k++) {
				if (*k == '*' || *k == '(' || *k == ')' || *k == '\\')
					sb_printf(&sb, "\\%02x", (unsigned char)*k);
				else
					sb_putc(&sb, *k);
			}
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			sb_putc(&sb, '%');
			p++;
		} else {
			sb_putc(&sb, *p);
		}
	}
	char *s = sb_steal(&sb);
	sb_free(&sb);
	return s;
}

/* ------------------------------------------------------------------ */
/* Connections and lookups */

/* A connection, shared by every map of the process with the same server,
 * bind and protocol settings (as sendmail shares them).  pid: the process
 * that opened it; a child of a fork opens its own and never touches the
 * parent's (it frees the copy without an unbind, which would end the
 * parent's session). */
struct ldap_conn {
	struct ldap_conn *next;
	char *key;
	LDAP *ld;
	pid_t pid;
	pthread_mutex_t mu;
	time_t hold_until;	/* after a timeout: fail fast until then */
	char hold_why[256];
	unsigned connects;
	int fd;			/* its socket once known, else -1 */
	int refs;
};

static struct ldap_conn *conns;
static pthread_mutex_t conns_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In a child of fork() no other thread exists: every lock is free. */
static void atfork_child(void)
{
	pthread_mutex_init(&conns_mu, NULL);
	for (struct ldap_conn *c = conns; c; c = c->next)
		pthread_mutex_init(&c->mu, NULL);
}

static void atfork_register(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

struct ldap_map {
	struct ldap_spec s;
	char *name;
	struct ldap_conn *conn;
};

static char *conn_key(const struct ldap_spec *s)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "%s|%s|%s|%d|%d|%d|%d|%d", s->uri ? s->uri : "", s->binddn ? s->binddn : "",
		  s->secret ? s->secret : "", s->method, s->version, s->net_timeout, s->deref,
		  s->no_referrals);
	char *k = sb_steal(&sb);
	sb_free(&sb);
	return k;
}

static struct ldap_conn *conn_get(const struct ldap_spec *s)
{
	pthread_once(&atfork_once, atfork_register);
	char *key = conn_key(s);
	pthread_mutex_lock(&conns_mu);
	struct ldap_conn *c;
	for (c = conns; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			break;
	if (c) {
		free(key);
	} else {
		c = xcalloc(1, sizeof(*c));
		c->fd = -1;
		c->key = key;
		pthread_mutex_init(&c->mu, NULL);
		c->next = conns;
		conns = c;
	}
	c->refs++;
	pthread_mutex_unlock(&conns_mu);
	return c;
}

/* A handle inherited through fork(): its socket is the parent's session.
 * ldap_destroy() is an unbind without controls: it would send an
 * UnbindRequest and shutdown(2) the shared socket, ending the parent's
 * session; and a lock of the handle held by a thread of the parent at the
 * fork would never be released here.  So libldap is not called at all:
 * this process's copy of the socket is closed and the handle's memory is
 * left alone (a child's, once per connection). */
static void forget_inherited(struct ldap_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Notes the socket of a working handle (for forget_inherited). */
static void note_fd(struct ldap_conn *c)
{
	int fd = -1;
	if (ldap_get_option(c->ld, LDAP_OPT_DESC, &fd) == LDAP_OPT_SUCCESS && fd >= 0)
		c->fd = fd;
}

static void drop(struct ldap_conn *c)
{
	if (c->ld) {
		if (c->pid == getpid())
			ldap_unbind_ext_s(c->ld, NULL, NULL);
		else
			forget_inherited(c);	/* the parent's session: leave it be */
	}
	c->ld = NULL;
	c->fd = -1;
}

static void conn_put(struct ldap_conn *c)
{
	pthread_mutex_lock(&conns_mu);
	if (--c->refs > 0) {
		pthread_mutex_unlock(&conns_mu);
		return;
	}
	for (struct ldap_conn **pp = &conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	pthread_mutex_unlock(&conns_mu);
	drop(c);
	pthread_mutex_destroy(&c->mu);
	free(c->key);
	free(c);
}

struct ldap_map *ldap_map_open(const char *args, int alias, char *err, size_t errsize)
{
	struct ldap_map *m = xcalloc(1, sizeof(*m));
	if (ldap_spec_parse(args, alias, 1, &m->s, err, errsize) < 0) {
		free(m);
		return NULL;
	}
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "ldap map %s", m->s.uri ? m->s.uri : "(ldap.conf default)");
	m->name = sb_steal(&sb);
	sb_free(&sb);
	m->conn = conn_get(&m->s);
	return m;
}

void ldap_map_close(struct ldap_map *m)
{
	if (!m)
		return;
	conn_put(m->conn);
	ldap_spec_free(&m->s);
	free(m->name);
	free(m);
}

const char *ldap_map_name(const struct ldap_map *m)
{
	return m->name;
}

unsigned ldap_map_connects(const struct ldap_map *m)
{
	return m->conn->connects;
}

static int op_timeout(const struct ldap_map *m)
{
	return m->s.timelimit > 0 ? m->s.timelimit : DEFAULT_TIMEOUT;
}

/* A fresh handle with every wait bounded; binds when asked to.  Returns an
 * LDAP result code. */
static int do_connect(struct ldap_map *m)
{
	struct ldap_conn *c = m->conn;
	LDAP *ld = NULL;
	int rc = ldap_initialize(&ld, m->s.uri);
	if (rc != LDAP_SUCCESS)
		return rc;
	c->connects++;
	int v = m->s.version;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v);
	struct timeval net = { m->s.net_timeout > 0 ? m->s.net_timeout : DEFAULT_TIMEOUT, 0 };
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net);
	struct timeval op = { op_timeout(m), 0 };
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, m->s.no_referrals ? LDAP_OPT_OFF : LDAP_OPT_ON);
	ldap_set_option(ld, LDAP_OPT_DEREF, &m->s.deref);
	if (m->s.method == 1) {
		struct berval cred = { 0, NULL };
		if (m->s.secret) {
			cred.bv_val = m->s.secret;
			cred.bv_len = strlen(m->s.secret);
		}
		int msgid;
		rc = ldap_sasl_bind(ld, m->s.binddn ? m->s.binddn : "", LDAP_SASL_SIMPLE, &cred,
				    NULL, NULL, &msgid);
		if (rc == LDAP_SUCCESS) {
			LDAPMessage *res = NULL;
			int got = ldap_result(ld, msgid, LDAP_MSG_ALL, &op, &res);
			if (got == 0)
				rc = LDAP_TIMEOUT;
			else if (got < 0)
				ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
			else if (ldap_parse_result(ld, res, &rc, NULL, NULL, NULL, NULL, 1) != LDAP_SUCCESS)
				rc = LDAP_OTHER;
		}
		if (rc != LDAP_SUCCESS) {
			ldap_unbind_ext_s(ld, NULL, NULL);
			return rc;
		}
	}
	c->ld = ld;
	c->pid = getpid();
	c->fd = -1;
	note_fd(c);	/* connected by the bind; else by the first search */
	return LDAP_SUCCESS;
}

/* Joins the values found into *value; returns MAP_FOUND or MAP_NOTFOUND. */
static int collect(struct ldap_map *m, LDAPMessage *res, const char *key, char **value)
{
	LDAP *ld = m->conn->ld;
	int nentries = ldap_count_entries(ld, res);
	if (nentries <= 0 || (m->s.single && nentries > 1))
		return MAP_NOTFOUND;
	struct strbuf sb;
	sb_init(&sb);
	int nvals = 0;
	for (LDAPMessage *e = ldap_first_entry(ld, res); e; e = ldap_next_entry(ld, e)) {
		BerElement *ber = NULL;
		for (char *a = ldap_first_attribute(ld, e, &ber); a; a = ldap_next_attribute(ld, e, ber)) {
			if (strcasecmp(a, "objectClass") == 0) {
				ldap_memfree(a);
				continue;
			}
			if (m->s.attrsonly) {
				if (nvals == 0 || m->s.delim) {
					if (nvals++)
						sb_putc(&sb, m->s.delim);
					sb_puts(&sb, a);
				}
				ldap_memfree(a);
				continue;
			}
			struct berval **vals = ldap_get_values_len(ld, e, a);
			for (int i = 0; vals && vals[i]; i++) {
				if (nvals > 0 && !m->s.delim)
					break;
				if (nvals++)
					sb_putc(&sb, m->s.delim);
				sb_append(&sb, vals[i]->bv_val, vals[i]->bv_len);
			}
			ldap_value_free_len(vals);
			ldap_memfree(a);
		}
		if (ber)
			ber_free(ber, 0);
	}
	if (nvals == 0) {
		sb_free(&sb);
		return MAP_NOTFOUND;	/* an entry without the attribute */
	}
	sb_truncate(&sb, strlen(sb.s));	/* a value holding a NUL is cut there */
	if (m->s.matchonly) {
		sb_reset(&sb);
		sb_puts(&sb, key);
	}
	if (m->s.append)
		sb_puts(&sb, m->s.append);
	if (value)
		*value = sb_steal(&sb);
	sb_free(&sb);
	return MAP_FOUND;
}

static int is_conn_error(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
	       rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_LOCAL_ERROR ||
	       rc == LDAP_ENCODING_ERROR || rc == LDAP_DECODING_ERROR;
}

/* One search on the current (or a new) connection.  Returns an LDAP result
 * code; *res set on success, sizelimit exceeded and no such object. */
static int search_once(struct ldap_map *m, const char *filter, LDAPMessage **res, int *fresh)
{
	struct ldap_conn *c = m->conn;
	*res = NULL;
	*fresh = 0;
	if (c->ld && c->pid != getpid())
		drop(c);	/* inherited through fork: open our own */
	if (!c->ld) {
		int rc = do_connect(m);
		if (rc != LDAP_SUCCESS)
			return rc;
		*fresh = 1;
	}
	struct timeval tv = { op_timeout(m), 0 };
	char **attrs = m->s.attrs[0] ? m->s.attrs : NULL;
	int rc = ldap_search_ext_s(c->ld, m->s.base, m->s.scope, filter, attrs, m->s.attrsonly,
				   NULL, NULL, &tv, m->s.sizelimit, res);
	if (c->fd < 0)
		note_fd(c);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED && rc != LDAP_NO_SUCH_OBJECT) {
		if (*res)
			ldap_msgfree(*res);
		*res = NULL;
		drop(c);	/* reconnect on the next try */
	}
	return rc;
}

int ldap_map_lookup(struct ldap_map *m, const char *key, char **value,
		    char *err, size_t errsize)
{
	if (value)
		*value = NULL;
	struct ldap_conn *c = m->conn;
	pthread_mutex_lock(&c->mu);
	time_t now = time(NULL);
	if (c->hold_until > now) {
		errf(err, errsize, "%s: %s (not asked again for %lds)", m->name, c->hold_why,
		     (long)(c->hold_until - now));
		pthread_mutex_unlock(&c->mu);
		return MAP_TEMPFAIL;
	}
	char *k = xstrdup(key);
	if (!m->s.nofold)
		for (char *p = k; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	char *filter = ldap_filter_expand(m->s.filter, k);
	LDAPMessage *res = NULL;
	int fresh = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = search_once(m, filter, &res, &fresh);
	if (!fresh && is_conn_error(rc) && rc != LDAP_TIMEOUT)
		rc = search_once(m, filter, &res, &fresh);	/* a stale connection: once more */
	int result;
	if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) {
		result = collect(m, res, key, value);
		if (rc == LDAP_SIZELIMIT_EXCEEDED && m->s.single)
			result = MAP_NOTFOUND;	/* several matches: as sendmail's -1 */
	} else if (rc == LDAP_NO_SUCH_OBJECT) {
		result = MAP_NOTFOUND;
	} else {
		result = MAP_TEMPFAIL;
		const char *why = ldap_err2string(rc);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		/* a slow failure (a timeout, a connect that hung): do not wait again soon */
		if (rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED || ms >= 1000) {
			snprintf(c->hold_why, sizeof(c->hold_why), "%s after %ld.%lds", why, ms / 1000,
				 (ms % 1000) / 100);
			c->hold_until = time(NULL) + HOLD_AFTER_TIMEOUT;
			errf(err, errsize, "%s: %s", m->name, c->hold_why);
		} else {
			errf(err, errsize, "%s: %s", m->name, why);
		}
	}
	if (res)
		ldap_msgfree(res);
	free(filter);
	free(k);
	pthread_mutex_unlock(&c->mu);
	return result;
}
