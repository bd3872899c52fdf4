/* smtpd_auth: SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN
 * mechanisms, against a Berkeley DB map of user -> crypt(3) hash
 * (confAUTH_PASSWD_DB, written by mtapasswd(8)).  Offered only inside TLS:
 * both mechanisms send the password in the clear.  Failures are counted
 * per session (AuthMaxFailures, then 421 and close) and per client address
 * across sessions (a client that keeps failing is turned away before its
 * password is even looked at); passwords are never logged. */
#include "smtpd_int.h"
#include "xalloc.h"
#include "config.h"
#include "diag.h"
#include "maillog.h"
#include "map.h"

#include <openssl/crypto.h>

#include <crypt.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- per-address failure memory (the SMTP server is one process) ---- */

#define FAIL_SLOTS 256
#define FAIL_WINDOW 600		/* seconds a failure is remembered */

static struct {
	char ip[64];
	int count;
	time_t last;
} fails[FAIL_SLOTS];

static int *fail_slot(const char *ip, int create)
{
	time_t now = time(NULL);
	int free_i = -1, oldest = 0;
	for (int i = 0; i < FAIL_SLOTS; i++) {
		if (fails[i].ip[0] && now - fails[i].last > FAIL_WINDOW)
			fails[i].ip[0] = '\0';
		if (fails[i].ip[0] && strcmp(fails[i].ip, ip) == 0)
			return &fails[i].count;
		if (!fails[i].ip[0] && free_i < 0)
			free_i = i;
		if (fails[i].last < fails[oldest].last)
			oldest = i;
	}
	if (!create)
		return NULL;
	int i = free_i >= 0 ? free_i : oldest;
	snprintf(fails[i].ip, sizeof(fails[i].ip), "%s", ip);
	fails[i].count = 0;
	fails[i].last = now;
	return &fails[i].count;
}

static void fail_note(const char *ip)
{
	int *c = fail_slot(ip, 1);
	(*c)++;
	for (int i = 0; i < FAIL_SLOTS; i++)
		if (&fails[i].count == c)
			fails[i].last = time(NULL);
}

/* A client over the per-address limit (three sessions' worth). */
static int fail_blocked(const char *ip)
{
	int *c = fail_slot(ip, 0);
	return c && *c >= 3 * conf_num(C_AUTH_MAX_FAILURES);
}

/* ---- the password map ---- */

static struct map_cache pwmap;

static struct map *passwd_map(void)
{
	return map_cache_get(&pwmap, conf_str(C_AUTH_PASSWD_DB), "confAUTH_PASSWD_DB");
}

/* The stored hash of user (the map is read in the event loop): 1 found,
 * 0 no such user, -1 the map failed. */
static int lookup_hash(const char *user, char *hash, size_t size)
{
	struct map *m = passwd_map();
	if (m == NULL)
		return -1;
	char *value = NULL, err[512];
	int rc = map_lookup(m, user, &value, err, sizeof(err));
	if (rc == MAP_TEMPFAIL) {
		msg_warn("confAUTH_PASSWD_DB lookup: %s", err);
		return -1;
	}
	snprintf(hash, size, "%s", rc == MAP_FOUND ? value : "");
	free(value);
	return rc == MAP_FOUND && strlen(hash) > 0;
}

/* crypt(3) and the comparison: thread-safe, the slow part (a worker runs
 * it).  An unknown user costs the same crypt() as a known one. */
static int password_matches(const char *hash, const char *password)
{
	const char *h = *hash ? hash : "$6$nosuchuser$";
	struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	const char *out = crypt_r(password, h, &cd);
	int ok = *hash && out && out[0] != '*' && strlen(out) == strlen(hash) &&
		 CRYPTO_memcmp(out, hash, strlen(hash)) == 0;
	explicit_bzero(&cd, sizeof(cd));
	return ok;
}

struct auth_job {
	struct work w;
	char user[256];
	char hash[512];
	char password[512];
	int ok;
};

static void auth_finish(struct smtpd_session *s, const char *user, int ok);

static void auth_run(struct work *w)
{
	struct auth_job *j = (struct auth_job *)w;
	j->ok = password_matches(j->hash, j->password);
	explicit_bzero(j->password, sizeof(j->password));
}

static void auth_job_done(struct work *w)
{
	struct auth_job *j = (struct auth_job *)w;
	struct smtpd_session *s = w->session;
	if (s) {
		s->waiting = NULL;
		auth_finish(s, j->user, j->ok);
	}
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* ---- base64 ---- */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Decodes into out (NUL-terminated too); the length, or -1 when malformed
 * or too long. */
static long b64decode(const char *in, char *out, size_t size)
{
	size_t n = 0, len = strlen(in);
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++) {
			v[k] = in[i + k] == '=' ? -2 : b64val((unsigned char)in[i + k]);
			if (v[k] == -1 || (v[k] == -2 && (i + 4 != len || k < 2)))
				return -1;
		}
		if (v[2] == -2 && v[3] != -2)
			return -1;
		unsigned bits = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 |
				(unsigned)(v[2] < 0 ? 0 : v[2]) << 6 | (unsigned)(v[3] < 0 ? 0 : v[3]);
		int outn = v[2] == -2 ? 1 : v[3] == -2 ? 2 : 3;
		if (n + (size_t)outn + 1 > size)
			return -1;
		out[n++] = (char)(bits >> 16);
		if (outn > 1)
			out[n++] = (char)(bits >> 8 & 0xff);
		if (outn > 2)
			out[n++] = (char)(bits & 0xff);
	}
	out[n] = '\0';
	return (long)n;
}

/* ---- the protocol ---- */

static int mech_enabled(const char *mech)
{
	const char *list = conf_str(C_AUTH_MECHANISMS);
	size_t n = strlen(mech);
	for (const char *p = list; (p = strcasestr(p, mech)) != NULL; p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') && (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
			return 1;
	return 0;
}

int smtpd_auth_offered(const struct smtpd_session *s)
{
	return !s->local_bs && *conf_str(C_AUTH_PASSWD_DB) && s->tls_active && !strchr(s->modifiers, 'A');
}

void smtpd_auth_ehlo(struct smtpd_session *s)
{
	if (!smtpd_auth_offered(s) || s->auth_user[0])
		return;
	int plain = mech_enabled("PLAIN"), login = mech_enabled("LOGIN");
	if (plain || login)
		smtpd_reply(s, "250-AUTH%s%s", login ? " LOGIN" : "", plain ? " PLAIN" : "");
}

/* A name for logs: printable, bounded. */
static void log_name(char *buf, size_t size, const char *user)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)user; *p && n + 1 < size && n < 64; p++)
		buf[n++] = *p < ' ' || *p >= 127 || *p == ',' ? '?' : (char)*p;
	buf[n] = '\0';
}

static void auth_done(struct smtpd_session *s, const char *user, const char *password)
{
	char shown[80];
	s->auth_step = AUTH_IDLE;
	explicit_bzero(s->auth_login_user, sizeof(s->auth_login_user));
	log_name(shown, sizeof(shown), user);
	struct auth_job *j = xcalloc(1, sizeof(*j));
	int found = *user && strlen(user) < sizeof(s->auth_user) && strlen(password) < sizeof(j->password)
		? lookup_hash(user, j->hash, sizeof(j->hash)) : 0;
	if (found < 0) {
		free(j);
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
		maillog(NULL, "AUTH failure (%s): temporary failure (the password map cannot be read), user=%s, relay=%s",
			s->auth_mech, shown, s->relay);
		return;
	}
	snprintf(j->user, sizeof(j->user), "%s", user);
	snprintf(j->password, sizeof(j->password), "%s", password);
	j->w.run = auth_run;
	j->w.done = auth_job_done;
	j->w.session = s;
	if (workq_async()) {	/* crypt() takes milliseconds: not in the event loop */
		s->waiting = &j->w;
		workq_submit(&j->w);
		return;
	}
	workq_inline(&j->w);
}

static void auth_finish(struct smtpd_session *s, const char *user, int ok)
{
	char shown[80];
	log_name(shown, sizeof(shown), user);
	if (ok) {
		snprintf(s->auth_user, sizeof(s->auth_user), "%s", user);
		smtpd_reply(s, "235 2.0.0 OK Authenticated");
		maillog(NULL, "AUTH=server, relay=%s, authid=%s, mech=%s, bits=0", s->relay, shown, s->auth_mech);
		return;
	}
	s->auth_failures++;
	fail_note(s->client_ip);
	maillog(NULL, "AUTH failure (%s): authentication failure, user=%s, relay=%s, failures=%d",
		s->auth_mech, shown, s->relay, s->auth_failures);
	if (s->auth_failures >= conf_num(C_AUTH_MAX_FAILURES)) {
		smtpd_reply(s, "421 4.7.0 %s Too many AUTH failures; closing connection", G.hostname);
		maillog("NOQUEUE", "%s: possible SMTP attack: command=AUTH, count=%d", s->relay, s->auth_failures);
		s->done = 1;
		smtpd_enter_state(s, SS_CLOSED);
		return;
	}
	smtpd_reply(s, "535 5.7.8 Authentication credentials invalid");
}

/* PLAIN's message: authzid NUL authcid NUL password. */
static void auth_plain(struct smtpd_session *s, const char *b64)
{
	char buf[1024];
	long n = b64decode(b64, buf, sizeof(buf));
	char *authz = buf, *user = NULL, *pass = NULL;
	if (n > 0) {
		user = memchr(buf, '\0', (size_t)n);
		if (user && ++user < buf + n) {
			pass = memchr(user, '\0', (size_t)(buf + n - user));
			if (pass)
				pass++;
		}
	}
	if (n <= 0 || user == NULL || pass == NULL || pass > buf + n) {
		s->auth_step = AUTH_IDLE;
		smtpd_reply(s, "501 5.5.2 Cannot decode AUTH parameter");
		explicit_bzero(buf, sizeof(buf));
		return;
	}
	if (*authz && strcmp(authz, user) != 0) {	/* no acting for someone else */
		auth_done(s, "", "");
	} else {
		auth_done(s, user, pass);
	}
	explicit_bzero(buf, sizeof(buf));
}

void smtpd_cmd_auth(struct smtpd_session *s, const char *arg)
{
	if (!smtpd_auth_offered(s)) {
		if (*conf_str(C_AUTH_PASSWD_DB) && !s->tls_active && !s->local_bs && !strchr(s->modifiers, 'A'))
			smtpd_reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		else
			smtpd_reply(s, "503 5.3.3 AUTH not available");
		return;
	}
	if (!s->esmtp) {
		smtpd_reply(s, "503 5.5.0 Polite people say EHLO first");
		return;
	}
	if (s->auth_user[0]) {
		smtpd_reply(s, "503 5.5.0 Already Authenticated");
		return;
	}
	if (s->sender) {
		smtpd_reply(s, "503 5.5.0 AUTH not permitted during a mail transaction");
		return;
	}
	if (fail_blocked(s->client_ip)) {
		smtpd_reply(s, "421 4.7.0 %s Too many AUTH failures from %s; closing connection", G.hostname,
			    s->client_ip);
		maillog("NOQUEUE", "%s: AUTH refused: too many failures from this address", s->relay);
		s->done = 1;
		smtpd_enter_state(s, SS_CLOSED);
		return;
	}
	char mech[32];
	size_t n = 0;
	while (*arg && *arg != ' ' && n + 1 < sizeof(mech))
		mech[n++] = (char)toupper((unsigned char)*arg++);
	mech[n] = '\0';
	while (*arg == ' ')
		arg++;
	if (!(strcmp(mech, "PLAIN") == 0 || strcmp(mech, "LOGIN") == 0) || !mech_enabled(mech)) {
		smtpd_reply(s, "504 5.3.8 AUTH mechanism %.20s not available", mech);
		return;
	}
	snprintf(s->auth_mech, sizeof(s->auth_mech), "%s", mech);
	if (strcmp(mech, "PLAIN") == 0) {
		if (!*arg) {
			s->auth_step = AUTH_PLAIN_WAIT;
			smtpd_reply(s, "334 ");
		} else if (strcmp(arg, "=") == 0) {
			auth_plain(s, "");
		} else {
			auth_plain(s, arg);
		}
		return;
	}
	if (*arg) {			/* LOGIN with the user name already given */
		if (b64decode(arg, s->auth_login_user, sizeof(s->auth_login_user)) < 0) {
			smtpd_reply(s, "501 5.5.2 Cannot decode AUTH parameter");
			return;
		}
		s->auth_step = AUTH_LOGIN_PASS;
		smtpd_reply(s, "334 UGFzc3dvcmQ6");
		return;
	}
	s->auth_step = AUTH_LOGIN_USER;
	smtpd_reply(s, "334 VXNlcm5hbWU6");
}

void smtpd_auth_line(struct smtpd_session *s, const char *line)
{
	if (strcmp(line, "*") == 0) {
		s->auth_step = AUTH_IDLE;
		explicit_bzero(s->auth_login_user, sizeof(s->auth_login_user));
		smtpd_reply(s, "501 5.0.0 AUTH aborted");
		return;
	}
	switch (s->auth_step) {
	case AUTH_PLAIN_WAIT:
		auth_plain(s, line);
		break;
	case AUTH_LOGIN_USER:
		if (b64decode(line, s->auth_login_user, sizeof(s->auth_login_user)) < 0) {
			s->auth_step = AUTH_IDLE;
			smtpd_reply(s, "501 5.5.2 Cannot decode AUTH parameter");
			break;
		}
		s->auth_step = AUTH_LOGIN_PASS;
		smtpd_reply(s, "334 UGFzc3dvcmQ6");
		break;
	case AUTH_LOGIN_PASS: {
		char pass[512];
		if (b64decode(line, pass, sizeof(pass)) < 0) {
			s->auth_step = AUTH_IDLE;
			explicit_bzero(s->auth_login_user, sizeof(s->auth_login_user));
			smtpd_reply(s, "501 5.5.2 Cannot decode AUTH parameter");
			break;
		}
		char user[256];
		snprintf(user, sizeof(user), "%s", s->auth_login_user);
		auth_done(s, user, pass);
		explicit_bzero(pass, sizeof(pass));
		break;
	}
	case AUTH_IDLE:
		break;
	}
}
