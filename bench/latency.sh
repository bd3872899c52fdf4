#!/bin/bash
# bench/latency.sh [ROUNDS] [SESSIONS]: acceptance latency alone (make
# bench's section 3, at one session count), rounds alternating mtad
# (DeliveryMode=q) and Postfix (hold queue): bench/smtplat.py sends M (4000)
# messages of 1 KiB from SESSIONS (100) sessions and times each final "."
# to its 250.  Prints each round's p50/p99, the medians of the rounds'
# p99, and "ratio p99 mtad/postfix = X" (below 1: mtad answers faster).
# One round's p99 swings with whatever else the machine does; the median of
# alternating rounds is the figure to quote.
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-5}
S=${2:-100}
M=${M:-4000}
trap cleanup_all EXIT
trap 'exit 130' INT TERM
bench_deps
mkdir -p "$BENCH_DIR"
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
echo "== acceptance latency: bench/smtplat.py, $S sessions, $M messages of 1 KiB, $ROUNDS rounds alternating"
A=() P=()
for i in $(seq "$ROUNDS"); do
	mtad_setup "$BENCH_DIR/mtad" q; mtad_start "$BENCH_DIR/mtad"
	a=$(python3 "$BENCH_SRC/smtplat.py" "$MTAD_PORT" "$S" "$M" 1024)
	mtad_stop
	pf_setup "$BENCH_DIR/postfix" hold; pf_start "$BENCH_DIR/postfix"
	source_rate "$PF_PORT" "$S" 200 1024 >/dev/null	# its smtpd processes spawned first
	p=$(python3 "$BENCH_SRC/smtplat.py" "$PF_PORT" "$S" "$M" 1024)
	pf_stop
	A+=("$(echo "$a" | field accept_p99_ms)"); P+=("$(echo "$p" | field accept_p99_ms)")
	echo "  round $i: mtad p50 $(echo "$a" | field accept_p50_ms) p99 ${A[-1]} ms ($(echo "$a" | field rate)/s)" \
	     " postfix p50 $(echo "$p" | field accept_p50_ms) p99 ${P[-1]} ms ($(echo "$p" | field rate)/s)"
done
am=$(printf '%s\n' "${A[@]}" | median); pm=$(printf '%s\n' "${P[@]}" | median)
echo "  median p99: mtad $am ms  postfix $pm ms"
echo "ratio p99 mtad/postfix = $(ratio "$am" "$pm")$(noisy mtad "${A[@]}")$(noisy postfix "${P[@]}")"
