#!/bin/bash
# bench/deployed.sh: mtad as a postmaster deploys it, against Postfix deployed
# the same way (make bench-deployed; root only).
#
#   - both daemons start as root and drop privileges their own way (mtad:
#     root parent, SMTP server and queue as RunAsUser mail; Postfix: master
#     as root, smtpd/cleanup/qmgr as postfix, local(8) as the recipient);
#   - USERS real passwd users (named 1u .. ${USERS}u, the names smtp-source -N
#     makes), created here and removed on exit, each with a mailbox in a spool
#     laid out as Debian's /var/mail (root:mail 2775);
#   - accepted msg/s at 20 and 100 sessions (mtad DeliveryMode=q, Postfix's
#     hold queue), and end to end: USERS messages, one to each user, from the
#     first connection to the last message in its mailbox (mtad local
#     delivery, Postfix local(8));
#   - the same durability as the other benchmarks (bench/README.md).
# ROUNDS (3) alternating rounds; medians; a figure whose rounds spread by
# more than 20% is flagged noisy.  SETTLE=S waits S seconds before each run
# (as in relay.sh: on ext4 without a journal back-to-back runs slow each
# other; SETTLE=30 makes every run start alike).  Ends with:
#   ratio deployed mtad/postfix = X      (accepted, 20 sessions)
#   ratio deployed mtad/postfix 100 = X  (accepted, 100 sessions)
#   ratio deployed end-to-end mtad/postfix = X
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/deployed_lib.sh"
ROUNDS=${ROUNDS:-3}
[ "$(id -u)" = 0 ] || die "deployed.sh starts both daemons as root: run it as root"
id mail >/dev/null 2>&1 || die "no user mail (RunAsUser)"
bench_deps
mkdir -p "$BENCH_DIR"
trap 'cleanup_all; remove_users' EXIT
trap 'exit 130' INT TERM

echo "== machine: $(nproc) CPUs, kernel $(uname -r), $(df -T "$BENCH_DIR" | awk 'NR==2{print $2}') under $BENCH_DIR"
echo "== as deployed: both started as root; $USERS passwd users; spool root:mail 2775; $ROUNDS rounds"
log "bench: creating $USERS users"
make_users
A20M=() A20P=() A100M=() A100P=() EM=() EP=()
settle() { [ "${SETTLE:-0}" = 0 ] || sleep "$SETTLE"; }
for i in $(seq "$ROUNDS"); do
	settle; a=$(accept_deployed_round mtad 20); settle; b=$(accept_deployed_round postfix 20)
	settle; c=$(accept_deployed_round mtad 100); settle; e=$(accept_deployed_round postfix 100)
	settle; f=$(e2e_deployed_round mtad); settle; g=$(e2e_deployed_round postfix)
	echo "round $i: accepted@20 mtad $a postfix $b; accepted@100 mtad $c postfix $e; end to end mtad $f postfix $g"
	A20M+=("$a"); A20P+=("$b"); A100M+=("$c"); A100P+=("$e"); EM+=("$f"); EP+=("$g")
done
med() { printf '%s\n' "$@" | grep -v err | median; }
a20m=$(med "${A20M[@]}"); a20p=$(med "${A20P[@]}")
a100m=$(med "${A100M[@]}"); a100p=$(med "${A100P[@]}")
em=$(med "${EM[@]}"); ep=$(med "${EP[@]}")
echo "median: accepted@20 mtad $a20m postfix $a20p; accepted@100 mtad $a100m postfix $a100p; end to end mtad $em postfix $ep msg/s"
echo "ratio deployed mtad/postfix = $(ratio "$a20m" "$a20p")$(noisy mtad "${A20M[@]}")$(noisy postfix "${A20P[@]}")"
echo "ratio deployed mtad/postfix 100 = $(ratio "$a100m" "$a100p")$(noisy mtad "${A100M[@]}")$(noisy postfix "${A100P[@]}")"
echo "ratio deployed end-to-end mtad/postfix = $(ratio "$em" "$ep")$(noisy mtad "${EM[@]}")$(noisy postfix "${EP[@]}")"
