#!/bin/bash
# bench/milter.sh: accepted msg/s with opendkim signing every message, mtad
# against Postfix, both talking to the same opendkim (one process, Debian's
# package, a key from opendkim-genkey), same machine, same run.
#   mtad:    DeliveryMode=q, INPUT_MAIL_FILTER(`opendkim', `S=inet:PORT@127.0.0.1, F=T')
#   Postfix: hold queue (as bench-quick), smtpd_milters = inet:127.0.0.1:PORT,
#            milter_default_action = tempfail
# Load: smtp-source -s SESSIONS -m MESSAGES -l 1024 -f sender@client.example
# (opendkim signs client.example mail from 127.0.0.1).  mtad and Postfix take
# turns, ROUNDS rounds, fresh queues each time, 200-message warm-up; medians.
# Each side's queue is checked for DKIM-Signature after the warm-up, so a
# side that skipped the filter cannot win.  Ends with "ratio mtad/postfix = X.XX".
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
SESSIONS=${SESSIONS:-20}
MESSAGES=${MESSAGES:-2000}
DKIM_PORT=${DKIM_PORT:-12528}
trap 'cleanup_all; dkim_stop' EXIT
bench_deps
command -v opendkim >/dev/null && command -v opendkim-genkey >/dev/null \
	|| die "opendkim and opendkim-tools are needed (apt-get install opendkim opendkim-tools)"
mkdir -p "$BENCH_DIR"

DKIM_PID=
dkim_start() {
	local d=$BENCH_DIR/opendkim
	rm -rf "$d"; mkdir -p "$d/keys"
	opendkim-genkey -D "$d/keys" -d client.example -s bench
	cat > "$d/opendkim.conf" <<CF
Syslog no
Background no
Mode s
Domain client.example
Selector bench
KeyFile $d/keys/bench.private
Socket inet:$DKIM_PORT@127.0.0.1
Canonicalization relaxed/simple
PidFile $d/opendkim.pid
RequireSafeKeys false
CF
	[ "$(id -u)" = 0 ] && echo "UserID root" >> "$d/opendkim.conf"
	port_free "$DKIM_PORT" || die "port $DKIM_PORT is busy (set DKIM_PORT)"
	opendkim -f -x "$d/opendkim.conf" >/dev/null 2>"$d/stderr" &
	DKIM_PID=$!
	wait_port "$DKIM_PORT"
}
dkim_stop() {
	[ -n "$DKIM_PID" ] || return 0
	kill "$DKIM_PID" 2>/dev/null || true; wait "$DKIM_PID" 2>/dev/null || true
	DKIM_PID=
}

signed_check() {	# DIR who: at least one queued message carries a signature
	grep -rlq "DKIM-Signature" "$1" || die "$2: no DKIM-Signature in its queue: the filter was not used"
}

round() {	# who -> msg/s
	local who=$1 r
	case $who in
	mtad)
		mtad_setup "$BENCH_DIR/mtad" q
		echo "INPUT_MAIL_FILTER(\`opendkim', \`S=inet:$DKIM_PORT@127.0.0.1, F=T')dnl" >> "$BENCH_DIR/mtad/mtad.mc"
		mtad_start "$BENCH_DIR/mtad"
		source_rate "$MTAD_PORT" "$SESSIONS" 200 1024 >/dev/null	# warm-up
		signed_check "$BENCH_DIR/mtad/mqueue" mtad
		r=$(source_rate "$MTAD_PORT" "$SESSIONS" "$MESSAGES" 1024); mtad_stop ;;
	postfix)
		pf_setup "$BENCH_DIR/postfix" hold
		postconf -c "$BENCH_DIR/postfix/etc" -e "smtpd_milters = inet:127.0.0.1:$DKIM_PORT" \
			"milter_default_action = tempfail" "milter_protocol = 6"
		pf_start "$BENCH_DIR/postfix"
		source_rate "$PF_PORT" "$SESSIONS" 200 1024 >/dev/null
		signed_check "$BENCH_DIR/postfix/spool/hold" postfix
		r=$(source_rate "$PF_PORT" "$SESSIONS" "$MESSAGES" 1024); pf_stop ;;
	esac
	echo "$r"
}

dkim_start
echo "== machine: $(nproc) CPUs, kernel $(uname -r), $(df -T "$BENCH_DIR" | awk 'NR==2{print $2}') under $BENCH_DIR; opendkim $(opendkim -V 2>&1 | head -1 | awk '{print $NF}')"
echo "== accepted msg/s with opendkim signing: smtp-source -s $SESSIONS -m $MESSAGES -l 1024, $ROUNDS rounds"
M=() P=()
for i in $(seq "$ROUNDS"); do
	m=$(round mtad); p=$(round postfix)
	echo "round $i: mtad $m  postfix $p"
	M+=("$m"); P+=("$p")
done
mm=$(printf '%s\n' "${M[@]}" | grep -v err | median)
pm=$(printf '%s\n' "${P[@]}" | grep -v err | median)
echo "median: mtad $mm msg/s, postfix $pm msg/s"
echo "ratio mtad/postfix = $(ratio "$mm" "$pm")"
