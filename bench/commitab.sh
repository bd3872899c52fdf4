#!/bin/bash
# bench/commitab.sh BIN_A BIN_B [ROUNDS] [SESSIONS]: two mtad builds (the
# directories holding their mtad) alternately, accepting M (2000) messages
# of 1 KiB from SESSIONS (20) sessions in DeliveryMode=q; per round msg/s
# and what the block device did per message (writes and cache flushes
# completed, from /sys/block/DEV/stat: counts, not timings, so they hold on
# a loaded machine), and the CPU time of the daemon's processes (parent and
# children: as root the SMTP server is a child).  Env: BENCH_DIR, MTAD_PORT,
# M, DEV (vda), SETTLE (seconds to wait before each run, as in relay.sh:
# on ext4 without a journal back-to-back runs slow each other).
source "$(dirname "$0")/lib.sh"
[ $# -ge 2 ] || die "usage: commitab.sh BIN_A BIN_B [ROUNDS] [SESSIONS]"
trap cleanup_all EXIT
mkdir -p "$BENCH_DIR"
S=${4:-20}; M=${M:-2000}
DEV=${DEV:-$(basename "$(df --output=source "$BENCH_DIR" | tail -1)")}
[ -r "/sys/block/$DEV/stat" ] || die "no /sys/block/$DEV/stat (set DEV)"
snap() { awk '{print $5, $16}' "/sys/block/$DEV/stat"; }
ticks() {	# utime+stime of MTAD_PID and its children, in clock ticks
	local p t=0
	for p in "$MTAD_PID" $(pgrep -P "$MTAD_PID"); do
		t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK)
settle() { [ "${SETTLE:-0}" = 0 ] || sleep "$SETTLE"; }
for i in $(seq "${3:-3}"); do
	for who in A B; do
		if [ $who = A ]; then BIN=$1; else BIN=$2; fi
		settle
		mtad_setup "$BENCH_DIR/commitab" q; mtad_start "$BENCH_DIR/commitab"
		source_rate "$MTAD_PORT" "$S" 200 1024 >/dev/null
		a=$(snap); c0=$(ticks); r=$(source_rate "$MTAD_PORT" "$S" "$M" 1024); c1=$(ticks); b=$(snap)
		echo "round $i $who: $r msg/s, $(echo "$a $b" | awk -v m="$M" '{printf "device writes %.2f, flushes %.2f a message", ($3-$1)/m, ($4-$2)/m}'), CPU $(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v m="$M" 'BEGIN{printf "%.3f", (b-a)*1000/hz/m}') ms a message"
		mtad_stop
	done
done
