#!/bin/sh
# Runs every libFuzzer harness in FUZZDIR (default build/fuzz) for
# FUZZ_SECONDS (default 30) each.  Seeds: tests/fuzz/corpus/<name>/ (kept in
# git) plus, for some harnesses, files from tests/data.  New inputs go to
# build/fuzz/corpus/<name>/ (not in git); crashers to build/fuzz/crashes/.
# A crash makes the run fail; copy the crasher into tests/fuzz/corpus/<name>/
# once it is fixed so that it stays a regression seed.
# Prints one line per harness with its executions and the final summary.
set -u
fuzzdir=${1:-build/fuzz}
secs=${FUZZ_SECONDS:-30}
top=$(cd "$(dirname "$0")/../.." && pwd)
seeds=$top/tests/fuzz/corpus
failed=0
total_execs=0
mkdir -p "$fuzzdir/crashes"
for bin in "$fuzzdir"/fuzz_*; do
	[ -x "$bin" ] || continue
	case "$bin" in *.o|*.d|*.a) continue ;; esac
	name=$(basename "$bin")
	short=${name#fuzz_}
	work="$fuzzdir/corpus/$short"
	mkdir -p "$work"
	extra=""
	case "$short" in
	header|received) extra="$top/tests/data/hdrtrace" ;;
	logparse) extra="$top/tests/data/loggrep" ;;
	esac
	dirs="$work"
	[ -d "$seeds/$short" ] && dirs="$dirs $seeds/$short"
	[ -n "$extra" ] && [ -d "$extra" ] && dirs="$dirs $extra"
	log="$fuzzdir/$short.log"
	# shellcheck disable=SC2086
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$fuzzdir/crashes/$short-" -print_final_stats=1 $dirs >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	execs=${execs:-0}
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	total_execs=$((total_execs + execs))
	if [ $rc -ne 0 ]; then
		failed=$((failed + 1))
		printf 'fuzz %-12s FAIL after %s execs (%s); see %s\n' "$short" "$execs" "$cov" "$log"
		grep -m5 -E 'ERROR|SUMMARY|artifact' "$log"
	else
		printf 'fuzz %-12s ok   %10s execs in %ss (%s)\n' "$short" "$execs" "$secs" "$cov"
	fi
done
echo "fuzz: $total_execs executions, $failed harness(es) failed"
[ "$failed" -eq 0 ]
