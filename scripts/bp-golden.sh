#!/bin/sh
# Regenerates tests/data/bp/: queues written by Debian's sendmail 8.17 itself
# and sendmail's own `-bp` listings of them, the golden data of
# tests/e2e/test_bp_golden.py (which then needs no sendmail).
#
# sendmail is unpacked, not installed (scripts/sendmail-unpack.sh); its .cf
# is made with m4 from sendmail-cf's files.  It runs as root in private
# mount, UTS and network namespaces (unshare -mun): a fully-qualified host
# name (sendmail waits 60 s on a dotless one), loopback only, and a small
# SMTP server on 127.0.0.1:25 that answers RCPT with a long 451 carrying
# latin-1 bytes, so that sendmail's own queue runs leave deferral messages.
# Usage: scripts/bp-golden.sh   (as root; rewrites tests/data/bp/)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bp-golden.sh: run as root (unshare, hostname)" >&2; exit 77; }
sm=$(sh "$top/scripts/sendmail-unpack.sh")
[ -n "$sm" ] || { echo "bp-golden.sh: sendmail 8.17 cannot be unpacked (apt-get download sendmail-bin)" >&2; exit 69; }
work=/tmp/mta-bp-golden
rm -rf "$work"; mkdir -p "$work"
cat > "$work/golden.mc" <<MC
divert(-1)
divert(0)dnl
include(\`$sm/x/usr/share/sendmail/cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confTO_ICONNECT', \`5s')dnl
define(\`confTO_CONNECT', \`5s')dnl
FEATURE(\`nocanonify')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MC
m4 "$work/golden.mc" > "$work/golden.cf"
cp "$top/scripts/bp-golden-inner.sh" "$top/scripts/bp-golden-smtp.py" "$work/"
TZ=UTC unshare -mun sh "$work/bp-golden-inner.sh" "$sm/x/usr/libexec/sendmail/sendmail" "$work"
out="$top/tests/data/bp"
rm -rf "$out/queue" "$out/queue-split" "$out"/*.out
mkdir -p "$out"
cp -a "$work/q" "$out/queue"
cp -a "$work/split" "$out/queue-split"
cp "$work"/*.out "$out/"
echo "bp-golden.sh: wrote $(ls "$out/queue" | wc -l) queue files and $(ls "$out"/*.out | wc -l) listings into $out"
