#!/bin/bash
# bench/profile.sh: where the time goes, per message (make bench-profile).
#
# Counts, not timings, so that the figures hold on a loaded machine:
#   1. syscalls per accepted message (strace -f -c over the whole daemon,
#      every thread and child), mtad (DeliveryMode=q) and Postfix (hold queue),
#      and per delivered message (mtad DeliveryMode=b to one mbox, Postfix
#      virtual(8) to one mbox);
#   2. CPU time and context switches per message (perf stat -e task-clock,
#      context-switches,cpu-migrations over the daemon and its children);
#   3. the hottest functions of mtad in acceptance (perf record, cpu-clock
#      samples, --no-children), when perf can sample here.
# M messages (default 2000) from S sessions (default 20), 1 KiB each, after a
# warm-up.  Output: one table per measure, then the raw strace summaries in
# $BENCH_DIR/profile/.
source "$(dirname "$0")/lib.sh"
M=${M:-2000}
S=${S:-20}
trap cleanup_all EXIT
bench_deps
command -v strace >/dev/null || die "strace is missing: apt-get install strace"
OUT=$BENCH_DIR/profile
rm -rf "$OUT"; mkdir -p "$OUT"

# run_traced WHO MODE TOOL: starts WHO (mtad|postfix) in MODE under TOOL
# (strace|perfstat|perfrecord), sends M messages, stops it; the tool's output
# lands in $OUT/WHO-MODE.TOOL.
run_traced() {
	local who=$1 mode=$2 tool=$3 d port out=$OUT/$1-$2.$3 wrap=()
	case $tool in
	strace) wrap=(strace -f -c -S calls -o "$out") ;;
	perfstat) wrap=(perf stat -e task-clock,context-switches,cpu-migrations,page-faults -x, -o "$out") ;;
	perfrecord) wrap=(perf record -e cpu-clock -F 2000 -o "$out.data" --) ;;
	esac
	case $who in
	mtad)
		d=$BENCH_DIR/mtad; port=$MTAD_PORT
		mtad_setup "$d" "$mode"
		port_free "$port" || die "port $port is busy"
		"${wrap[@]}" "$BIN/mtad" -bD -C "$d/mtad.mc" -L mtad-bench </dev/null >/dev/null 2>"$d/stderr" &
		MTAD_PID=$!
		wait_port "$port"
		source_rate "$port" "$S" "$M" 1024 >/dev/null
		if [ "$mode" = b ]; then wait_mbox "$d/mail/bench" "$M" 120 || log "bench: $d/mail/bench holds fewer than $M messages"; fi
		kill -TERM "$(cat "$d/mtad.pid")" 2>/dev/null || true
		wait "$MTAD_PID" 2>/dev/null || true
		MTAD_PID= ;;
	postfix)
		d=$BENCH_DIR/postfix; port=$PF_PORT
		pf_setup "$d" "$mode"
		# the master in the foreground, so the tool sees it and every child
		"${wrap[@]}" postfix -c "$d/etc" start-fg >/dev/null 2>&1 &
		local fg=$!
		wait_port "$port"
		source_rate "$port" "$S" "$M" 1024 >/dev/null
		if [ "$mode" = deliver ]; then wait_mbox "$d/mail/bench" "$M" 120 || log "bench: $d/mail/bench holds fewer than $M messages"; fi
		postfix -c "$d/etc" stop >/dev/null 2>&1 || true
		wait "$fg" 2>/dev/null || true ;;
	esac
}

# per_message FILE: strace -c summary -> "syscall calls/msg", the notable ones
per_message() {
	awk -v m="$M" '$4 ~ /^[0-9]+$/ && NF >= 5 { printf "%-16s %8.2f\n", $NF, $4 / m }' "$1"
}

echo "== machine: $(nproc) CPUs, kernel $(uname -r), $(df -T "$BENCH_DIR" | awk 'NR==2{print $2}') under $BENCH_DIR"
echo "== $M messages of 1 KiB from $S sessions (smtp-source), no warm-up"
for who_mode in mtad:q postfix:hold mtad:b postfix:deliver; do
	who=${who_mode%:*}; mode=${who_mode#*:}
	run_traced "$who" "$mode" strace
	run_traced "$who" "$mode" perfstat
done

echo
echo "== syscalls per message (strace -f -c; all threads and children)"
printf '%-16s %10s %10s %10s %10s\n' syscall mtad:q postfix:hold mtad:b postfix:deliv
names=$(for f in "$OUT"/*.strace; do per_message "$f"; done | awk '$2 >= 0.05 && $1 != "total" {print $1}' | sort -u)
for n in $names total; do
	row=$(printf '%-16s' "$n")
	for f in mtad-q postfix-hold mtad-b postfix-deliver; do
		v=$(per_message "$OUT/$f.strace" | awk -v n="$n" '$1==n {print $2}')
		row+=$(printf ' %10s' "${v:-0}")
	done
	echo "$row"
done | sort -k2 -g -r

echo
echo "== CPU and scheduling per message (perf stat over the daemon and its children)"
printf '%-14s %14s %14s %14s %14s\n' who task-clock-ms ctx-switches migrations page-faults
for f in mtad-q postfix-hold mtad-b postfix-deliver; do
	awk -F, -v m="$M" -v who="$f" '
		$3 == "task-clock" || $3 ~ /^task-clock/ { tc = $1 }
		$3 ~ /^context-switches/ { cs = $1 }
		$3 ~ /^cpu-migrations/ { mg = $1 }
		$3 ~ /^page-faults/ { pf = $1 }
		END { printf "%-14s %14.3f %14.2f %14.2f %14.2f\n", who, tc / m, cs / m, mg / m, pf / m }
	' "$OUT/$f.perfstat"
done

if perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
	echo
	echo "== mtad, acceptance: hottest functions (perf record -e cpu-clock, self time)"
	run_traced mtad q perfrecord
	perf report -i "$OUT/mtad-q.perfrecord.data" --stdio --no-children --sort dso,symbol 2>/dev/null \
		| grep -E '^ +[0-9]' | head -25
fi
