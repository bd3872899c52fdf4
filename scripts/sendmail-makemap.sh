#!/bin/sh
# Prints the path of Debian's sendmail makemap, unpacked (not installed:
# sendmail-bin conflicts with postfix, which the tests use) from the package
# into build/sendmail-bin, so tests/e2e/test_makemap.py can compare our maps
# with it byte for byte.  Prints nothing when the package cannot be had.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build/sendmail-bin"
if [ ! -x "$dir/x/usr/sbin/makemap" ]; then
	command -v apt-get >/dev/null 2>&1 || exit 0
	rm -rf "$dir"; mkdir -p "$dir"
	( cd "$dir" && apt-get download sendmail-bin >/dev/null 2>&1 &&
	  dpkg-deb -x sendmail-bin_*.deb x >/dev/null 2>&1 ) || exit 0
fi
[ -x "$dir/x/usr/sbin/makemap" ] && echo "$dir/x/usr/sbin/makemap"
exit 0
