#!/bin/bash
# bench/full.sh: the full benchmark (make bench).  Prints every figure that
# bench/RESULTS.md records; the output is also kept in $BENCH_DIR/full.txt.
# Sizes can be changed: ROUNDS, QUEUE_N, LOG_MB, HDR_N, S500_M.
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
QUEUE_N=${QUEUE_N:-100000}
LOG_MB=${LOG_MB:-1024}
HDR_N=${HDR_N:-100000}
S500_M=${S500_M:-20000}
trap cleanup_all EXIT
bench_deps
mkdir -p "$BENCH_DIR"
exec > >(tee "$BENCH_DIR/full.txt") 2>&1
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

med() { printf '%s\n' "$@" | grep -v '^err$' | median; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f\n", b-a}'; }
pf_pids() { local m; m=$(pf_master_pid "$1"); echo "$m $(pgrep -P "$m" | tr '\n' ' ')"; }

echo "== machine: $(nproc) CPUs ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), $(df -T "$BENCH_DIR" | awk 'NR==2{print $2 " on " $1}') under $BENCH_DIR"
echo "== peer: Postfix $(postconf -d -h mail_version), private instance on 127.0.0.1:$PF_PORT (fsyncs each queue file before 250, the default); mtad $("$BIN/mtad" -d0.1 -bt </dev/null 2>/dev/null | head -1)"
echo "== durability: mtad (QueueSync=auto: syncfs on Linux 5.8+) makes df and tf durable (one syncfs per batch of commits, or an fsync of each), renames tf to qf and fsyncs the queue directory before 250; Postfix fsyncs the queue file (no directory fsync)"

# -- 0. what the disk allows -------------------------------------------------------------
echo "== the queue disk (bench/fsynccost.py, 3000 messages of df+qf, 3 runs): mtad's serial commit pattern vs group commit"
for i in 1 2 3; do python3 "$BENCH_SRC/fsynccost.py" "$BENCH_DIR/fsynccost" 3000 20 | sed 's/^/  /'; done

# -- 1. acceptance at 1, 20, 100 sessions -------------------------------------------
accept_round() {	# who sessions messages size -> msg/s
	local who=$1 s=$2 m=$3 l=$4 r
	case $who in
	mtad)    mtad_setup "$BENCH_DIR/mtad" q; mtad_start "$BENCH_DIR/mtad"
	         source_rate "$MTAD_PORT" "$s" 200 "$l" >/dev/null
	         r=$(source_rate "$MTAD_PORT" "$s" "$m" "$l"); mtad_stop ;;
	postfix) pf_setup "$BENCH_DIR/postfix" hold; pf_start "$BENCH_DIR/postfix"
	         source_rate "$PF_PORT" "$s" 200 "$l" >/dev/null
	         r=$(source_rate "$PF_PORT" "$s" "$m" "$l"); pf_stop ;;
	sink)    sink_start; source_rate "$SINK_PORT" "$s" 200 "$l" >/dev/null
	         r=$(source_rate "$SINK_PORT" "$s" "$m" "$l"); sink_stop ;;
	esac
	echo "$r"
}
for s in 1 20 100; do
	m=2000; [ "$s" = 1 ] && m=1000
	echo "== accepted msg/s: smtp-source -s $s -m $m -l 1024, $ROUNDS rounds alternating"
	M=() P=() S=()
	for i in $(seq "$ROUNDS"); do
		a=$(accept_round mtad "$s" "$m" 1024); b=$(accept_round postfix "$s" "$m" 1024); c=$(accept_round sink "$s" "$m" 1024)
		echo "  round $i: mtad $a  postfix $b  smtp-sink $c"
		M+=("$a"); P+=("$b"); S+=("$c")
	done
	mm=$(med "${M[@]}"); pm=$(med "${P[@]}"); sm=$(med "${S[@]}")
	echo "  s=$s median: mtad $mm  postfix $pm  smtp-sink $sm  mtad/postfix $(ratio "$mm" "$pm")  mtad/sink $(ratio "$mm" "$sm")"
done

# -- 2. end to end to a local mbox --------------------------------------------------------
echo "== end to end to a local mbox: smtp-source -s 20 -m 2000 -l 1024, clock from the first connection to the 2000th message in the mbox"
echo "   mtad: DeliveryMode=b, local mailer to mbox (dotlock+fcntl); Postfix: virtual(8) to one mbox (fcntl+dotlock), qmgr+virtual concurrency 20"
M=() P=()
for i in $(seq 3); do
	mtad_setup "$BENCH_DIR/mtad" b; mtad_start "$BENCH_DIR/mtad"
	t0=$(now); source_rate "$MTAD_PORT" 20 2000 1024 >/dev/null
	if wait_mbox "$BENCH_DIR/mtad/mail/bench" 2000 120; then a=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", 2000/(b-a)}'); else a=err; fi
	mtad_stop
	pf_setup "$BENCH_DIR/postfix" deliver; pf_start "$BENCH_DIR/postfix"
	t0=$(now); source_rate "$PF_PORT" 20 2000 1024 >/dev/null
	if wait_mbox "$BENCH_DIR/postfix/mail/bench" 2000 120; then b=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", 2000/(b-a)}'); else b=err; fi
	pf_stop
	echo "  round $i: mtad $a  postfix $b"
	M+=("$a"); P+=("$b")
done
mm=$(med "${M[@]}"); pm=$(med "${P[@]}")
echo "  median: mtad $mm  postfix $pm  mtad/postfix $(ratio "$mm" "$pm")"
wait_sent() {	# logfile pattern count timeout -> 0 when count deliveries are logged
	local i=0
	while [ "$(grep -c "$2" "$1" 2>/dev/null || true)" -lt "$3" ]; do
		i=$((i+1)); [ $i -lt $(( $4 * 10 )) ] || return 1; sleep 0.1
	done
}
echo "== end to end to a relay: smtp-source -s 20 -m 2000 -l 1024 into the MTA, which relays each message to smtp-sink; clock to the 2000th delivery logged"
echo "   mtad: SMART_HOST relay:[127.0.0.1]:sink, DeliveryMode=b; Postfix: relayhost [127.0.0.1]:sink"
M=() P=()
sink_start
for i in $(seq 3); do
	mtad_setup "$BENCH_DIR/mtad" relay; mtad_start "$BENCH_DIR/mtad"
	t0=$(now); source_rate "$MTAD_PORT" 20 2000 1024 >/dev/null
	if wait_sent "$BENCH_DIR/mtad/maillog" "stat=Sent" 2000 120; then a=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", 2000/(b-a)}'); else a=err; fi
	mtad_stop
	pf_setup "$BENCH_DIR/postfix" relay; pf_start "$BENCH_DIR/postfix"
	t0=$(now); source_rate "$PF_PORT" 20 2000 1024 >/dev/null
	if wait_sent "$BENCH_DIR/postfix/maillog" "status=sent" 2000 120; then b=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", 2000/(b-a)}'); else b=err; fi
	pf_stop
	echo "  round $i: mtad $a  postfix $b"
	M+=("$a"); P+=("$b")
done
sink_stop
mm=$(med "${M[@]}"); pm=$(med "${P[@]}")
echo "  median: mtad $mm  postfix $pm  mtad/postfix $(ratio "$mm" "$pm")"

# -- 3. acceptance latency ----------------------------------------------------------------
echo "== acceptance latency (bench/smtplat.py: final '.' to 250; whole transaction connect..250), 1 KiB"
for s in 1 20 100; do
	m=2000; [ "$s" = 1 ] && m=1000
	mtad_setup "$BENCH_DIR/mtad" q; mtad_start "$BENCH_DIR/mtad"
	echo "  mtad    s=$s: $(python3 "$BENCH_SRC/smtplat.py" "$MTAD_PORT" "$s" "$m" 1024)"
	mtad_stop
	pf_setup "$BENCH_DIR/postfix" hold; pf_start "$BENCH_DIR/postfix"
	source_rate "$PF_PORT" "$s" 200 1024 >/dev/null	# spawn the smtpd processes first
	echo "  postfix s=$s: $(python3 "$BENCH_SRC/smtplat.py" "$PF_PORT" "$s" "$m" 1024)"
	pf_stop
done

# -- 4. memory per session ----------------------------------------------------------------
echo "== memory per session (bench/sessions.py: RSS/PSS of the server's processes before and after N sessions)"
mtad_setup "$BENCH_DIR/mtad" q; mtad_start "$BENCH_DIR/mtad"
echo "  mtad    idle:   $(python3 "$BENCH_SRC/sessions.py" "$MTAD_PORT" 1000 idle "$MTAD_PID")"
mtad_stop
mtad_setup "$BENCH_DIR/mtad" q; mtad_start "$BENCH_DIR/mtad"	# fresh: freed memory would hide growth
echo "  mtad    active: $(python3 "$BENCH_SRC/sessions.py" "$MTAD_PORT" 200 active "$MTAD_PID")"
mtad_stop
pf_setup "$BENCH_DIR/postfix" hold; pf_start "$BENCH_DIR/postfix"
echo "  postfix idle:   $(python3 "$BENCH_SRC/sessions.py" "$PF_PORT" 500 idle "postfix:$BENCH_DIR/postfix")"
pf_stop
pf_setup "$BENCH_DIR/postfix" hold; pf_start "$BENCH_DIR/postfix"
echo "  postfix active: $(python3 "$BENCH_SRC/sessions.py" "$PF_PORT" 200 active "postfix:$BENCH_DIR/postfix")"
pf_stop

# -- 5. 500 sessions -----------------------------------------------------------------------
echo "== smtp-source -s 500 -m $S500_M -l 1024: errors, peak memory"
s500() {	# who
	local who=$1 port pidcmd t0 t1 out rc peak=0 cur errs
	if [ "$who" = mtad ]; then
		mtad_setup "$BENCH_DIR/mtad" q; mtad_start "$BENCH_DIR/mtad"; port=$MTAD_PORT
	else
		pf_setup "$BENCH_DIR/postfix" hold; pf_start "$BENCH_DIR/postfix"; port=$PF_PORT
	fi
	t0=$(now)
	smtp-source -s 500 -m "$S500_M" -l 1024 "${SRC_OPTS[@]}" -t "bench@$RCPT_DOMAIN" 127.0.0.1:"$port" >"$BENCH_DIR/s500.out" 2>&1 &
	local sp=$!
	while kill -0 "$sp" 2>/dev/null; do
		if [ "$who" = mtad ]; then cur=$(rss_kb "$MTAD_PID")
		else cur=0; for p in $(pf_pids "$BENCH_DIR/postfix"); do cur=$((cur + $(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0))); done; fi
		[ "${cur:-0}" -gt "$peak" ] && peak=$cur
		sleep 0.2
	done
	wait "$sp"; rc=$?
	t1=$(now)
	errs=$(wc -l < "$BENCH_DIR/s500.out")
	if [ "$who" = mtad ]; then
		local n; n=$(grep -c ': from=<' "$BENCH_DIR/mtad/maillog" || true)
		echo "  mtad:    $(awk -v m="$S500_M" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", m/(b-a)}') msg/s, smtp-source exit $rc, $errs error lines, $n messages logged as queued, peak RSS $((peak/1024)) MiB, RSS after $(( $(rss_kb "$MTAD_PID") / 1024 )) MiB"
		mtad_stop
	else
		local n; n=$(find "$BENCH_DIR/postfix/spool/hold" -type f | wc -l)
		echo "  postfix: $(awk -v m="$S500_M" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", m/(b-a)}') msg/s, smtp-source exit $rc, $errs error lines, $n messages in the hold queue, peak PSS (all processes) $((peak/1024)) MiB"
		pf_stop
	fi
	[ "$errs" -eq 0 ] || head -5 "$BENCH_DIR/s500.out" | sed 's/^/    /'
}
s500 mtad
s500 postfix

# -- 6. mailq / mtad -bp on a large queue ----------------------------------------------------
echo "== queue listing on $QUEUE_N messages queued by mtad (DeliveryMode=q, smtp-source -s 20 -l 1024)"
Q=$BENCH_DIR/bigqueue
if [ "$(find "$Q/mqueue" -name 'qf*' 2>/dev/null | wc -l)" -ne "$QUEUE_N" ]; then
	mtad_setup "$Q" q
	mtad_start "$Q"
	t0=$(now); source_rate "$MTAD_PORT" 20 "$QUEUE_N" 1024 >/dev/null; t1=$(now)
	mtad_stop
	echo "  filled in $(secs "$t0" "$t1") s"
fi
cat "$Q"/mqueue/* > /dev/null 2>&1 || find "$Q/mqueue" -type f -print0 | xargs -0 cat > /dev/null
tc=() tb=() tm=()
for i in 1 2 3; do
	t0=$(now); find "$Q/mqueue" -name 'qf*' -print0 | xargs -0 cat > /dev/null; t1=$(now)
	"$BIN/mtad" -C "$Q/mtad.mc" -bp > "$BENCH_DIR/bp.out" 2>&1; t2=$(now)
	if [ -x "$BIN/mailq" ]; then "$BIN/mailq" -C "$Q/mtad.mc" > "$BENCH_DIR/mailq.out" 2>&1; fi; t3=$(now)
	tc+=("$(secs "$t0" "$t1")"); tb+=("$(secs "$t1" "$t2")"); tm+=("$(secs "$t2" "$t3")")
done
c=$(med "${tc[@]}"); b=$(med "${tb[@]}"); m=$(med "${tm[@]}")
echo "  cat of the qf files (find | xargs cat): ${c}s; mtad -bp: ${b}s ($(head -1 "$BENCH_DIR/bp.out" | cut -c1-60)); mailq: ${m}s ($(head -1 "$BENCH_DIR/mailq.out" 2>/dev/null | cut -c1-60))"
echo "  ratio mtad -bp/cat = $(ratio "$b" "$c"); ratio mailq/cat = $(ratio "$m" "$c") (median of 3, page cache warm)"

# -- 7. loggrep on a large log ----------------------------------------------------------------
LOG=$BENCH_DIR/maillog-${LOG_MB}M
if [ ! -s "$LOG" ] || [ ! -s "$LOG.qid" ]; then
	python3 "$BENCH_SRC/genlog.py" "$LOG" "$LOG_MB" > "$LOG.qid"
fi
QID=$(cat "$LOG.qid")
cat "$LOG" > /dev/null
tl=() tg=() ts=()
for i in 1 2 3 4 5; do
	t0=$(now); "$BIN/loggrep" "$QID" "$LOG" > "$BENCH_DIR/loggrep.out"; t1=$(now)
	grep -F "$QID" "$LOG" > "$BENCH_DIR/grep.out"; t2=$(now)
	"$BIN/loggrep" "sender$RANDOM@nowhere.example" "$LOG" > /dev/null || true; t3=$(now)
	tl+=("$(secs "$t0" "$t1")"); tg+=("$(secs "$t1" "$t2")"); ts+=("$(secs "$t2" "$t3")")
done
lm=$(med "${tl[@]}"); gm=$(med "${tg[@]}"); sm=$(med "${ts[@]}")
echo "== loggrep $QID on $(du -m "$LOG" | cut -f1) MB: loggrep ${lm}s, grep -F ${gm}s, ratio loggrep/grep = $(ratio "$lm" "$gm"); (an address that is absent: loggrep ${sm}s) (median of 5, warm)"

# -- 8. hdrtrace -----------------------------------------------------------------------------------
MB=$BENCH_DIR/hdrtrace-$HDR_N.mbox
[ -s "$MB" ] || python3 "$BENCH_SRC/genmbox.py" "$MB" "$HDR_N"
th=() tj=()
for i in 1 2 3; do
	t0=$(now); "$BIN/hdrtrace" "$MB" > /dev/null || true; t1=$(now)
	"$BIN/hdrtrace" --json "$MB" > /dev/null || true; t2=$(now)
	th+=("$(secs "$t0" "$t1")"); tj+=("$(secs "$t1" "$t2")")
done
hm=$(med "${th[@]}"); jm=$(med "${tj[@]}")
echo "== hdrtrace on $HDR_N messages ($(du -m "$MB" | cut -f1) MB mbox, 3-6 Received: each): text ${hm}s = $(awk -v n="$HDR_N" -v t="$hm" 'BEGIN{printf "%.0f", n/t}') msg/s; --json ${jm}s = $(awk -v n="$HDR_N" -v t="$jm" 'BEGIN{printf "%.0f", n/t}') msg/s"
echo "== done; output kept in $BENCH_DIR/full.txt"
