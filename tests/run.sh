#!/bin/sh
# Runs every test: the cmocka unit tests (one binary per lib/ module, TAP
# output), then the end-to-end suites under tests/e2e (real daemons, real
# sockets).  Usage: tests/run.sh BINDIR UNITDIR.  Ends with "N passed, N failed".
set -u
bindir=${1:-bin}
unitdir=${2:-build/release/tests}
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
failures=""

for t in "$unitdir"/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue ;; esac
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
	p=$(printf '%s\n' "$out" | grep -c '^ok ')
	f=$(printf '%s\n' "$out" | grep -c '^not ok ')
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1   # a binary that crashed before reporting counts as a failure
	fi
	plan=$(printf '%s\n' "$out" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | head -1)
	if [ -n "$plan" ] && [ $((p + f)) -lt "$plan" ]; then
		f=$((plan - p))   # it crashed part way: the tests not reported failed
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		failures="$failures $(basename "$t")"
		printf '%s\n' "$out" | grep -v '^ok ' >&2
	fi
	printf 'unit %-28s %3d passed, %d failed\n' "$(basename "$t")" "$p" "$f"
done

summary=$(mktemp)
MTA_BINDIR=$(cd "$bindir" && pwd) python3 "$top/tests/e2e/run.py" --summary "$summary"
rc=$?
if [ -s "$summary" ]; then
	read -r ep ef < "$summary"
else
	ep=0; ef=1
fi
rm -f "$summary"
[ "$rc" -ne 0 ] && [ "$ef" -eq 0 ] && ef=1
passed=$((passed + ep))
failed=$((failed + ef))
[ -n "$failures" ] && echo "failed unit binaries:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
