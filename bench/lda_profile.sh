#!/bin/bash
# bench/lda_profile.sh: what local delivery as deployed costs, in counts that
# do not depend on the machine's load (root only; issue 20, lever 5).
#
# mtad started as root (RunAsUser mail, the root local delivery agent),
# DeliveryMode=b, USERS (1000) real passwd users made here and removed on
# exit (named 1l20 .. ${USERS}l20: not the names bench/deployed.sh makes, so
# both can exist at once), a spool as Debian's /var/mail (root:mail 2775),
# one 1 KiB message to each user from 20 sessions (smtp-source -N), until
# every message is in its mailbox.  Twice: under strace -f -c (system calls
# per message, every process and thread) and under perf stat (CPU ms,
# context switches per message).  Then checks that every mailbox belongs to
# its user.  The raw outputs stay in $BENCH_DIR/lda/.
source "$(dirname "$0")/lib.sh"
TAG=${TAG:-l20}
USER_TAG=$TAG
D=$BENCH_DIR/lda
source "$(dirname "$0")/deployed_lib.sh"
[ "$(id -u)" = 0 ] || die "lda_profile.sh starts mtad as root: run it as root"
id mail >/dev/null 2>&1 || die "no user mail (RunAsUser)"
command -v strace >/dev/null || die "strace is missing: apt-get install strace"
bench_deps
rm -rf "$D"; mkdir -p "$D"
trap 'cleanup_all; remove_users' EXIT
trap 'exit 130' INT TERM

log "bench: creating $USERS users ${TAG}"
make_users

setup() { mtad_deployed_setup b; }

in_spool() { cat "$D/mtad/spool"/* 2>/dev/null | grep -c '^From ' || true; }

run() {	# TOOL: strace | perfstat
	local out=$D/mtad.$1 wrap=() i=0
	case $1 in
	strace) wrap=(strace -f -c -S calls -o "$out") ;;
	perfstat) wrap=(perf stat -e task-clock,context-switches,cpu-migrations,page-faults -x, -o "$out") ;;
	esac
	setup
	port_free "$MTAD_PORT" || die "port $MTAD_PORT is busy (set MTAD_PORT)"
	"${wrap[@]}" "$BIN/mtad" -bD -C "$D/mtad/mtad.mc" -L mtad-bench </dev/null >/dev/null 2>"$D/mtad/stderr" &
	MTAD_PID=$!
	wait_port "$MTAD_PORT"
	echo "$1: /etc/passwd $(wc -l </etc/passwd) lines at the start"
	smtp-source -s 20 -m "$USERS" -N -l 1024 "${SRC_OPTS[@]}" -t "$TAG@$RCPT_DOMAIN" 127.0.0.1:"$MTAD_PORT" \
		>/dev/null 2>&1 || log "bench: smtp-source failed"
	while [ "$(in_spool)" -lt "$USERS" ]; do
		i=$((i+1)); [ $i -lt 3000 ] || { log "bench: only $(in_spool) of $USERS delivered"; break; }
		sleep 0.1
	done
	echo "$1: $(in_spool) of $USERS messages delivered; /etc/passwd $(wc -l </etc/passwd) lines at the end (NSS reads grow with it)"
	local bad
	bad=$(find "$D/mtad/spool" -type f ! -name '*.lock' -printf '%f %u\n' | awk '$1 != $2' | head -3)
	[ -z "$bad" ] || log "bench: mailboxes not owned by their users: $bad"
	kill -TERM "$(cat "$D/mtad/mtad.pid")" 2>/dev/null || true
	wait "$MTAD_PID" 2>/dev/null || true
	MTAD_PID=
}

echo "== machine: $(nproc) CPUs, kernel $(uname -r), $(df -T "$BENCH_DIR" | awk 'NR==2{print $2}') under $BENCH_DIR"
echo "== mtad as deployed, DeliveryMode=b: $USERS messages of 1 KiB, one to each of $USERS passwd users, 20 sessions"
run strace
run perfstat
echo
echo "== system calls per delivered message (strace -f -c; all processes and threads)"
awk -v m="$USERS" '$4 ~ /^[0-9]+$/ && NF >= 5 && $4 / m >= 0.05 { printf "%-16s %8.2f\n", $NF, $4 / m }' \
	"$D/mtad.strace" | sort -k2 -g -r
echo
echo "== CPU and scheduling per message (perf stat over the daemon and its children)"
awk -F, -v m="$USERS" '
	$3 ~ /^task-clock/ { tc = $1 }
	$3 ~ /^context-switches/ { cs = $1 }
	$3 ~ /^cpu-migrations/ { mg = $1 }
	$3 ~ /^page-faults/ { pf = $1 }
	END { printf "task-clock-ms %.3f  ctx-switches %.2f  migrations %.2f  page-faults %.2f\n", tc / m, cs / m, mg / m, pf / m }
' "$D/mtad.perfstat"
