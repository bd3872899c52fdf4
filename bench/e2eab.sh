#!/bin/bash
# bench/e2eab.sh BIN_A BIN_B [ROUNDS]: end to end as deployed for two mtad
# builds (the directories holding their mtad), alternately: root parent
# with RunAsUser children, USERS (1000) passwd users made for the run and
# removed after, one 1 KiB message to each from 20 sessions; per round the
# time to the last 250 and to the last message in its mailbox.  Root only.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/deployed_lib.sh"
[ $# -ge 2 ] || die "usage: e2eab.sh BIN_A BIN_B [ROUNDS]"
[ "$(id -u)" = 0 ] || die "e2eab.sh makes passwd users and starts mtad as root: run it as root"
trap 'cleanup_all; remove_users' EXIT
trap 'exit 130' INT TERM
mkdir -p "$BENCH_DIR"
make_users
for i in $(seq "${3:-3}"); do
	for who in A B; do
		if [ $who = A ]; then BIN=$1; else BIN=$2; fi
		mtad_deployed_setup b
		mtad_start "$D/mtad"
		t0=$(now)
		smtp-source -s 20 -m "$USERS" -N -l 1024 "${SRC_OPTS[@]}" -t "u@$RCPT_DOMAIN" 127.0.0.1:"$MTAD_PORT"
		t1=$(now)
		wait_spool "$D/mtad/spool" "$USERS" 300 || log "bench: $who delivered $(messages_in "$D/mtad/spool") of $USERS"
		t2=$(now)
		echo "round $i $who: accepted in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s, all delivered $(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.2f", b-a}') s: $(awk -v m="$USERS" -v a="$t0" -v b="$t2" 'BEGIN{printf "%.1f", m/(b-a)}') msg/s"
		mtad_stop
	done
done
