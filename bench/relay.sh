#!/bin/bash
# bench/relay.sh [ROUNDS]: end to end to a relay, alone (make bench's
# section 2b): smtp-source -s 20 -m 2000 -l 1024 into the MTA, which relays
# every message to smtp-sink; the clock runs to the 2000th delivery logged.
# Rounds alternate mtad and Postfix (and B, when MTAD_B names the directory
# of a second mtad build: an A/B of two builds against the same Postfix).
# Prints each round, the medians and "ratio relay mtad/postfix = X".
# SETTLE=S waits S seconds before each run: on ext4 without a journal
# (this machine's /var/tmp) an inode freed in the last 30-35 s is stepped
# over by every new file (recently_deleted), so back-to-back runs slow
# each other down; SETTLE=35 makes every run start alike.
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-${ROUNDS:-3}}
M=${M:-2000}
trap cleanup_all EXIT
trap 'exit 130' INT TERM
bench_deps
mkdir -p "$BENCH_DIR"

wait_sent() {	# logfile pattern count timeout -> 0 when count deliveries are logged
	local i=0
	while [ "$(grep -c "$2" "$1" 2>/dev/null || true)" -lt "$3" ]; do
		i=$((i+1)); [ $i -lt $(( $4 * 10 )) ] || return 1; sleep 0.1
	done
}
rate_since() { awk -v m="$M" -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", m/(b-a)}'; }

settle() { [ "${SETTLE:-0}" = 0 ] || sleep "$SETTLE"; }

mtad_round() {	# BINDIR -> msg/s
	local BIN=$1 t0
	settle
	mtad_setup "$BENCH_DIR/mtad" relay; mtad_start "$BENCH_DIR/mtad"
	t0=$(now); source_rate "$MTAD_PORT" 20 "$M" 1024 >/dev/null
	if wait_sent "$BENCH_DIR/mtad/maillog" "stat=Sent" "$M" 120; then rate_since "$t0"; else echo err; fi
	mtad_stop
}

echo "== end to end to a relay: smtp-source -s 20 -m $M -l 1024 into the MTA, relayed to smtp-sink; $ROUNDS rounds alternating"
A=() B=() P=()
sink_start
for i in $(seq "$ROUNDS"); do
	a=$(mtad_round "$BIN"); A+=("$a")
	b=
	if [ -n "${MTAD_B:-}" ]; then b=$(mtad_round "$MTAD_B"); B+=("$b"); fi
	settle
	pf_setup "$BENCH_DIR/postfix" relay; pf_start "$BENCH_DIR/postfix"
	t0=$(now); source_rate "$PF_PORT" 20 "$M" 1024 >/dev/null
	if wait_sent "$BENCH_DIR/postfix/maillog" "status=sent" "$M" 120; then p=$(rate_since "$t0"); else p=err; fi
	pf_stop; P+=("$p")
	echo "  round $i: mtad $a${b:+  mtad-B $b}  postfix $p"
done
sink_stop
am=$(printf '%s\n' "${A[@]}" | grep -v err | median); pm=$(printf '%s\n' "${P[@]}" | grep -v err | median)
echo "  median: mtad $am${MTAD_B:+  mtad-B $(printf '%s\n' "${B[@]}" | grep -v err | median)}  postfix $pm"
echo "ratio relay mtad/postfix = $(ratio "$am" "$pm")$(noisy mtad "${A[@]}")$(noisy postfix "${P[@]}")"
if [ -n "${MTAD_B:-}" ]; then
	bm=$(printf '%s\n' "${B[@]}" | grep -v err | median)
	echo "ratio relay mtad-B/postfix = $(ratio "$bm" "$pm")$(noisy mtad-B "${B[@]}")"
fi
