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
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need="$need dnsmasq-base"
[ -x /usr/sbin/smtp-sink ]   || need="$need postfix"
command -v db5.3_dump >/dev/null || need="$need db5.3-util"
command -v tmux >/dev/null || need="$need tmux"
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
