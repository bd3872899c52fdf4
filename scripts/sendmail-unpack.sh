#!/bin/sh
# Prints the directory where Debian's sendmail 8.17 (sendmail-bin,
# sendmail-base, sendmail-cf) is unpacked -- not installed: sendmail-bin
# conflicts with postfix, which the tests use -- so that the fidelity tests
# (tests/e2e/test_sendmail_fidelity.py) can run the real sendmail on queue
# files mtad wrote and the reverse.  Idempotent: unpacks into
# build/sendmail-8.17/ once.  Prints nothing when the packages cannot be had.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build/sendmail-8.17"
if [ ! -x "$dir/x/usr/libexec/sendmail/sendmail" ] || [ ! -f "$dir/x/usr/share/sendmail/cf/m4/cf.m4" ]; then
	command -v apt-get >/dev/null 2>&1 || exit 0
	command -v dpkg-deb >/dev/null 2>&1 || exit 0
	rm -rf "$dir"; mkdir -p "$dir/deb"
	( cd "$dir/deb" && apt-get download sendmail-bin sendmail-base sendmail-cf >/dev/null 2>&1 ) || exit 0
	for d in "$dir"/deb/*.deb; do
		dpkg-deb -x "$d" "$dir/x" >/dev/null 2>&1 || exit 0
	done
fi
[ -x "$dir/x/usr/libexec/sendmail/sendmail" ] || exit 0
echo "$dir"
exit 0
