#!/bin/sh
# Installs the Debian packages the build and the tests need, when missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -u
need=""
have_hdr() { [ -f "/usr/include/$1" ] || [ -f "/usr/include/x86_64-linux-gnu/$1" ] || [ -f "/usr/include/aarch64-linux-gnu/$1" ]; }
have_hdr cmocka.h          || need="$need libcmocka-dev"
have_hdr db.h              || need="$need libdb5.3-dev"
have_hdr ncurses.h         || need="$need libncurses-dev"
have_hdr readline/readline.h || need="$need libreadline-dev"
have_hdr openssl/ssl.h     || need="$need libssl-dev"
have_hdr crypt.h           || need="$need libcrypt-dev"
have_hdr zlib.h            || need="$need zlib1g-dev"
command -v cc >/dev/null     || need="$need gcc"
command -v make >/dev/null   || need="$need make"
command -v python3 >/dev/null || need="$need python3"
command -v swaks >/dev/null  || need="$need swaks"
command -v fetchmail >/dev/null || need="$need fetchmail"
command -v getmail >/dev/null || need="$need getmail6"
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need="$need dnsmasq-base"
[ -x /usr/sbin/smtp-sink ]   || need="$need postfix"
command -v db5.3_dump >/dev/null || need="$need db5.3-util"
command -v tmux >/dev/null || need="$need tmux"
# milter (issue 17): libmilter for the protocol constants' reference, real filters
have_hdr libmilter/mfapi.h || need="$need libmilter-dev"
[ -x /usr/sbin/opendkim ]    || need="$need opendkim"
command -v opendkim-genkey >/dev/null || need="$need opendkim-tools"
/usr/bin/python3 -c 'import Milter' 2>/dev/null || need="$need python3-milter"
/usr/bin/python3 -c 'import dkim' 2>/dev/null || need="$need python3-dkim"
/usr/bin/python3 -c 'import authres' 2>/dev/null || need="$need python3-authres"
[ -x /usr/sbin/spamass-milter ] || need="$need spamass-milter"
command -v spamd >/dev/null || [ -x /usr/sbin/spamd ] || need="$need spamassassin"
# LDAP maps (issue 19): libldap and a real slapd for the tests
have_hdr ldap.h              || need="$need libldap-dev"
[ -x /usr/sbin/slapd ]       || need="$need slapd"
command -v ldapadd >/dev/null || need="$need ldap-utils"
[ -f build/ldap/sendmail.schema ] || [ ! -f tests/e2e/slapd_fixture.py ] || python3 tests/e2e/slapd_fixture.py || true  # sendmail-base's sendmail.schema, downloaded, not installed
# log analyzers and MUAs that use the installed sendmail (issues 16, 21)
[ -x /usr/sbin/logwatch ] || [ -x /usr/share/logwatch/scripts/logwatch.pl ] || need="$need logwatch"
command -v bsd-mailx >/dev/null || need="$need bsd-mailx"
command -v m4 >/dev/null || need="$need m4"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 && apt-get install -y -qq $need >&2 && exit 0
	echo "deps: apt-get failed; install by hand: apt-get install$need" >&2
	exit 1
fi
echo "deps: missing packages. Run as root:" >&2
echo "    apt-get update && apt-get install -y$need" >&2
exit 1
