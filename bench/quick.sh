#!/bin/bash
# bench/quick.sh: the quick benchmark (make bench-quick, under 5 minutes).
# As root (the way a postmaster deploys it, bench/deployed_lib.sh): both
# daemons started as root, mtad with RunAsUser children, USERS (1000) real
# passwd users made for the run and removed after.  Not root: mtad and
# Postfix as bench/lib.sh sets them up for anyone (one local mbox).
#   1. accepted msg/s, smtp-source -s 20 -m 2000 -l 1024, mtad (DeliveryMode=q)
#      and a private Postfix (hold queue, nothing delivered) alternately,
#      ROUNDS times each, fresh queues every time; smtp-sink as the ceiling.
#   2. loggrep QID vs grep -F QID on a generated sendmail log (LOG_MB MB).
#   3. end to end, 3 rounds: as root USERS messages, one to each user, to the
#      last message in its mailbox (mtad's local delivery vs Postfix's
#      local(8)); not root 1000 messages into one mbox.
# Ends with four lines: "ratio mtad/postfix = X.XX" (accepted, 20 sessions),
# "ratio mtad/sink = X.XX", "ratio end-to-end mtad/postfix = X.XX" and
# "ratio loggrep/grep = X.XX"; a figure whose rounds spread by more than 20%
# of their median says "(noisy: ... rounds spread N%)" after it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/deployed_lib.sh"
ROUNDS=${ROUNDS:-5}
LOG_MB=${LOG_MB:-256}
DEPLOYED=0
[ "$(id -u)" = 0 ] && id mail >/dev/null 2>&1 && DEPLOYED=1
[ $DEPLOYED = 1 ] || RCPT_USER=bench	# the LocalUserFile name of bench/lib.sh
trap 'cleanup_all; remove_users' EXIT
trap 'exit 130' INT TERM
bench_deps
mkdir -p "$BENCH_DIR"
if [ $DEPLOYED = 1 ]; then log "bench: creating $USERS users"; make_users; fi

# -- acceptance, 20 sessions --------------------------------------------------------
accept_round() {	# who sessions messages size -> prints msg/s
	local who=$1 s=$2 m=$3 l=$4 r
	if [ $DEPLOYED = 1 ] && [ "$who" != sink ]; then
		accept_deployed_round "$who" "$s"
		return
	fi
	case $who in
	mtad)
		mtad_setup "$BENCH_DIR/mtad" q; mtad_start "$BENCH_DIR/mtad"
		source_rate "$MTAD_PORT" "$s" 200 "$l" >/dev/null	# warm-up
		r=$(source_rate "$MTAD_PORT" "$s" "$m" "$l"); mtad_stop ;;
	postfix)
		pf_setup "$BENCH_DIR/postfix" hold; pf_start "$BENCH_DIR/postfix"
		source_rate "$PF_PORT" "$s" 200 "$l" >/dev/null	# warm-up
		r=$(source_rate "$PF_PORT" "$s" "$m" "$l"); pf_stop ;;
	sink)
		sink_start
		source_rate "$SINK_PORT" "$s" 200 "$l" >/dev/null
		r=$(source_rate "$SINK_PORT" "$s" "$m" "$l"); sink_stop ;;
	esac
	echo "$r"
}

echo "== machine: $(nproc) CPUs, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), $(df -T "$BENCH_DIR" | awk 'NR==2{print $2}') under $BENCH_DIR"
if [ $DEPLOYED = 1 ]; then
	echo "== as deployed: both started as root (mtad: RunAsUser children); $USERS passwd users; spool root:mail 2775"
else
	echo "== not root: mtad and Postfix as an unprivileged user sets them up (bench/lib.sh); one local mbox"
fi
echo "== accepted msg/s: smtp-source -s 20 -m 2000 -l 1024 (one message per connection), $ROUNDS rounds"
M=() P=() S=()
for i in $(seq "$ROUNDS"); do
	m=$(accept_round mtad 20 2000 1024); p=$(accept_round postfix 20 2000 1024); s=$(accept_round sink 20 2000 1024)
	echo "round $i: mtad $m  postfix $p  smtp-sink $s"
	M+=("$m"); P+=("$p"); S+=("$s")
done
mm=$(printf '%s\n' "${M[@]}" | grep -v err | median)
pm=$(printf '%s\n' "${P[@]}" | grep -v err | median)
sm=$(printf '%s\n' "${S[@]}" | grep -v err | median)
echo "median: mtad $mm msg/s, postfix $pm msg/s, smtp-sink $sm msg/s (mtad/sink $(ratio "$mm" "$sm"))"

# -- end to end to a local mbox, 1000 messages ---------------------------------------------
E2E_M=${E2E_M:-1000}
e2e_round() {	# who -> msg/s from the first connection to the last message in the mbox
	local who=$1 port dir t0 r
	if [ $DEPLOYED = 1 ]; then
		E2E_M=$USERS e2e_deployed_round "$who"
		return
	fi
	case $who in
	mtad) mtad_setup "$BENCH_DIR/mtad" b; mtad_start "$BENCH_DIR/mtad"; port=$MTAD_PORT; dir=$BENCH_DIR/mtad ;;
	postfix) pf_setup "$BENCH_DIR/postfix" deliver; pf_start "$BENCH_DIR/postfix"; port=$PF_PORT; dir=$BENCH_DIR/postfix ;;
	esac
	t0=$(now); source_rate "$port" 20 "$E2E_M" 1024 >/dev/null
	if wait_mbox "$dir/mail/bench" "$E2E_M" 120; then
		r=$(awk -v m="$E2E_M" -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", m/(b-a)}')
	else r=err; fi
	case $who in mtad) mtad_stop ;; postfix) pf_stop ;; esac
	echo "$r"
}
if [ $DEPLOYED = 1 ]; then
	echo "== end to end: smtp-source -s 20 -m $USERS -N -l 1024, one message to each of $USERS users, first connection to the last message in its mailbox, 3 rounds"
else
	echo "== end to end to a local mbox: smtp-source -s 20 -m $E2E_M -l 1024, first connection to the last message in the mbox, 3 rounds"
fi
EM=() EP=()
for i in 1 2 3; do
	a=$(e2e_round mtad); b=$(e2e_round postfix)
	echo "round $i: mtad $a  postfix $b"
	EM+=("$a"); EP+=("$b")
done
em=$(printf '%s\n' "${EM[@]}" | grep -v err | median)
ep=$(printf '%s\n' "${EP[@]}" | grep -v err | median)
echo "median: mtad $em msg/s, postfix $ep msg/s"

# -- loggrep vs grep -F -------------------------------------------------------------------
LOG=$BENCH_DIR/maillog-${LOG_MB}M
if [ ! -s "$LOG" ] || [ ! -s "$LOG.qid" ]; then
	python3 "$BENCH_SRC/genlog.py" "$LOG" "$LOG_MB" > "$LOG.qid"
fi
QID=$(cat "$LOG.qid")
cat "$LOG" > /dev/null	# both read from the page cache
tl=() tg=()
for i in 1 2 3 4 5; do
	t0=$(now); "$BIN/loggrep" "$QID" "$LOG" > "$BENCH_DIR/loggrep.out"; t1=$(now)
	grep -F "$QID" "$LOG" > "$BENCH_DIR/grep.out"; t2=$(now)
	tl+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"); tg+=("$(awk -v a="$t1" -v b="$t2" 'BEGIN{print b-a}')")
done
lm=$(printf '%s\n' "${tl[@]}" | median); gm=$(printf '%s\n' "${tg[@]}" | median)
echo "== loggrep $QID on $(du -m "$LOG" | cut -f1) MB ($(wc -l < "$BENCH_DIR/grep.out") lines of that ID): loggrep ${lm}s, grep -F ${gm}s (median of 5, page cache warm)"
[ "$(wc -l < "$BENCH_DIR/loggrep.out")" -ge "$(wc -l < "$BENCH_DIR/grep.out")" ] || echo "warning: loggrep printed fewer lines than grep -F"

echo "ratio mtad/postfix = $(ratio "$mm" "$pm")$(noisy mtad "${M[@]}")$(noisy postfix "${P[@]}")"
echo "ratio mtad/sink = $(ratio "$mm" "$sm")$(noisy mtad "${M[@]}")$(noisy smtp-sink "${S[@]}")"
echo "ratio end-to-end mtad/postfix = $(ratio "$em" "$ep")$(noisy mtad "${EM[@]}")$(noisy postfix "${EP[@]}")"
echo "ratio loggrep/grep = $(ratio "$lm" "$gm")$(noisy loggrep "${tl[@]}")$(noisy grep "${tg[@]}")"
