# bench/lib.sh: shared helpers for the benchmarks (sourced, not run).
# Everything runs on loopback; all state lives under $BENCH_DIR (a real disk,
# never tmpfs, so that fsync costs what it costs in production).
set -eu

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH_SRC/.." && pwd)
BIN=${MTA_BINDIR:-$TOP/bin}
BENCH_DIR=${BENCH_DIR:-/var/tmp/mtabench}
MTAD_PORT=${MTAD_PORT:-12525}
PF_PORT=${PF_PORT:-12526}
SINK_PORT=${SINK_PORT:-12527}
RCPT_DOMAIN=bench.test
SRC_OPTS=(-f sender@client.example -M client.example)

log()  { printf '%s\n' "$*" >&2; }
die()  { log "bench: $*"; exit 1; }
now()  { date +%s.%N; }

# -- dependencies --------------------------------------------------------------
bench_deps() {
	local need=()
	command -v smtp-source >/dev/null || need+=(postfix)
	command -v python3 >/dev/null || need+=(python3)
	command -v bc >/dev/null || true
	if [ ${#need[@]} -gt 0 ]; then
		log "bench: installing ${need[*]} from Debian"
		local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null \
			|| { $sudo apt-get update >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null; }
	fi
	# The Debian package starts the system Postfix on port 25; the benchmark
	# uses its own private instance, so the system one is left alone.
	[ -x "$BIN/mtad" ] || die "no $BIN/mtad: run make first"
	# Run a snapshot: bin/ may be rebuilt by someone else during a long run.
	mkdir -p "$BENCH_DIR/bin"
	local b
	for b in mtad loggrep hdrtrace mailq; do
		[ -x "$BIN/$b" ] && cp "$BIN/$b" "$BENCH_DIR/bin/$b.new" && mv "$BENCH_DIR/bin/$b.new" "$BENCH_DIR/bin/$b"
	done
	BIN=$BENCH_DIR/bin
}

# -- statistics ------------------------------------------------------------------
median() { sort -g | awk '{v[NR]=$1} END{ if(NR==0){print "nan"; exit} if(NR%2) print v[(NR+1)/2]; else printf "%.2f\n",(v[NR/2]+v[NR/2+1])/2 }'; }
ratio()  { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0==0) print "nan"; else printf "%.2f\n", a/b }'; }
# spread: (max - min) / median of the numbers on stdin, in percent
spread() { sort -g | awk '{v[NR]=$1} END{ if(NR==0){print "nan"; exit} m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; if(m==0){print "nan"; exit} printf "%.0f\n", 100*(v[NR]-v[1])/m }'; }
# noisy LABEL VALUES...: prints " (noisy: LABEL rounds spread N%)" when the
# rounds differ by more than 20% of their median, nothing otherwise
noisy() { local l=$1 p; shift; p=$(printf '%s\n' "$@" | grep -v err | spread); awk -v p="$p" -v l="$l" 'BEGIN{ if (p != "nan" && p+0 > 20) printf " (noisy: %s rounds spread %s%%)", l, p }'; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

wait_port() {	# port [timeout-seconds]
	local i=0 max=$(( ${2:-20} * 20 ))
	until (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; do
		i=$((i+1)); [ $i -lt $max ] || die "nothing listening on port $1"
		sleep 0.05
	done
}

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; }

# wait_mbox FILE COUNT TIMEOUT: 0 when the mbox holds COUNT messages, 1 on timeout
wait_mbox() {
	local i=0 n
	# grep -c prints nothing for a file not made yet: that is 0, not the end
	while n=$(grep -c '^From ' "$1" 2>/dev/null || true); [ "${n:-0}" -lt "$2" ]; do
		i=$((i+1)); [ $i -lt $(( $3 * 10 )) ] || return 1; sleep 0.1
	done
}

# fresh_dir DIR: an empty DIR for the next round.  The old one is moved
# aside, not removed: on ext4 without a journal (this machine's) a file
# created soon after thousands were deleted makes the inode allocator step
# over every recently deleted inode (ext4's recently_deleted()), a cost that
# the round just after an rm -rf would pay and a running server does not.
# Everything moved aside goes at exit (drop_old), followed by a sync.
fresh_dir() {
	if [ -e "$1" ]; then
		mkdir -p "$BENCH_DIR/.old"
		mv "$1" "$BENCH_DIR/.old/$(basename "$1").$(date +%s%N)"
	fi
	mkdir -p "$1"
}
drop_old() { rm -rf "$BENCH_DIR/.old"; sync; }

# -- mtad ------------------------------------------------------------------------
# mtad_setup DIR MODE: MODE is q (queue only) or b (background delivery to mbox)
# mtad_setup DIR MODE: MODE q (queue only), b (deliver to the local mbox) or
# relay (bench.test is not ours: everything goes to smtp-sink as SMART_HOST).
mtad_setup() {
	local d=$1 mode=$2 name=$RCPT_DOMAIN extra=""
	if [ "$mode" = relay ]; then
		mode=b; name=mtad.relay.test
		extra="define(\`SMART_HOST', \`relay:[127.0.0.1]:$SINK_PORT')dnl"
	fi
	fresh_dir "$d"; mkdir -p "$d/mqueue" "$d/clientmqueue" "$d/mail"
	# as root, mtad writes the mbox of "bench" (no passwd entry) as RunAsUser:
	# the spool as Debian's /var/mail, else every delivery is deferred
	if [ "$(id -u)" = 0 ] && id mail >/dev/null 2>&1; then chown root:mail "$d/mail"; chmod 2775 "$d/mail"; fi
	printf 'bench\npostmaster\n' > "$d/users"
	cat > "$d/mtad.mc" <<MC
dnl written by bench/lib.sh
define(\`confDOMAIN_NAME', \`$name')dnl
$extra
define(\`QUEUE_DIR', \`$d/mqueue')dnl
define(\`MSP_QUEUE_DIR', \`$d/clientmqueue')dnl
define(\`confLOG_FILE', \`$d/maillog')dnl
define(\`confMAILBOX_DIR', \`$d/mail')dnl
define(\`confLOCAL_USER_FILE', \`$d/users')dnl
define(\`confPID_FILE', \`$d/mtad.pid')dnl
define(\`confMAX_DAEMON_CHILDREN', \`0')dnl
define(\`confDELIVERY_MODE', \`$mode')dnl
dnl like Postfix's default: no DNS lookup of the sender's domain (no DNS on loopback)
FEATURE(\`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(\`Port=$MTAD_PORT, Addr=127.0.0.1, Name=MTA')dnl
MC
}

MTAD_PID=
mtad_start() {	# DIR
	port_free "$MTAD_PORT" || die "port $MTAD_PORT is busy (set MTAD_PORT)"
	"$BIN/mtad" -bD -C "$1/mtad.mc" -L mtad-bench </dev/null >/dev/null 2>"$1/stderr" &
	MTAD_PID=$!
	wait_port "$MTAD_PORT"
}
mtad_stop() {
	[ -n "$MTAD_PID" ] || return 0
	kill "$MTAD_PID" 2>/dev/null || true
	wait "$MTAD_PID" 2>/dev/null || true
	MTAD_PID=
}

# -- Postfix, a private instance --------------------------------------------------
# pf_setup DIR MODE: MODE hold (accept and queue only: every message goes to the
# hold queue, nothing is delivered, like mtad's DeliveryMode=q) or deliver
# (virtual(8) delivery to one mbox file, like mtad's local mbox delivery).
# Durability: Postfix's cleanup fsyncs the queue file before smtpd says 250
# (the default; nothing here turns it off).
pf_setup() {
	local d=$1 mode=$2
	fresh_dir "$d"; mkdir -p "$d/etc" "$d/spool" "$d/data" "$d/mail"
	chown postfix "$d/data"
	local uid gid
	uid=$(id -u nobody); gid=$(id -g nobody)
	chown nobody:nogroup "$d/mail" 2>/dev/null || chown "$uid:$gid" "$d/mail"
	local data_r="smtpd_data_restrictions ="
	[ "$mode" = hold ] && data_r="smtpd_data_restrictions = check_client_access static:HOLD"
	local relayhost="relayhost =" vdomains="virtual_mailbox_domains = $RCPT_DOMAIN"
	if [ "$mode" = relay ]; then	# everything to smtp-sink, as mtad's SMART_HOST
		relayhost="relayhost = [127.0.0.1]:$SINK_PORT"; vdomains="virtual_mailbox_domains ="
	fi
	cat > "$d/etc/main.cf" <<CF
# written by bench/lib.sh: a private Postfix on loopback, queue under $d/spool
compatibility_level = 3.6
queue_directory = $d/spool
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = pf.$RCPT_DOMAIN
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
$relayhost
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
$data_r
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 600
smtpd_banner = \$myhostname ESMTP
biff = no
$vdomains
virtual_mailbox_base = $d/mail
virtual_mailbox_maps = static:bench
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
virtual_minimum_uid = 1
virtual_destination_concurrency_limit = 20
maillog_file = $d/maillog
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
syslog_name = postfix-bench
CF
	cat > "$d/etc/master.cf" <<MS
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MS
	postfix -c "$d/etc" set-permissions >/dev/null 2>&1 || true
	postfix -c "$d/etc" check >"$d/check.log" 2>&1 || { cat "$d/check.log" >&2; die "postfix check failed"; }
}
PF_DIR=
pf_start() {	# DIR
	port_free "$PF_PORT" || die "port $PF_PORT is busy (set PF_PORT)"
	postfix -c "$1/etc" start >"$1/start.log" 2>&1 || { cat "$1/start.log" >&2; die "postfix start failed"; }
	PF_DIR=$1
	wait_port "$PF_PORT"
}
pf_stop() {
	[ -n "$PF_DIR" ] || return 0
	postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1 || true
	local i=0
	while [ -f "$PF_DIR/spool/pid/master.pid" ] && kill -0 "$(cat "$PF_DIR/spool/pid/master.pid" 2>/dev/null)" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i+1))
	done
	PF_DIR=
}
pf_master_pid() { tr -d ' ' < "$1/spool/pid/master.pid"; }

# -- smtp-sink: the protocol ceiling (no queue, no fsync) --------------------------
SINK_PID=
sink_start() {
	port_free "$SINK_PORT" || die "port $SINK_PORT is busy (set SINK_PORT)"
	smtp-sink -c -u nobody 127.0.0.1:$SINK_PORT 1024 >/dev/null 2>&1 &
	SINK_PID=$!
	wait_port "$SINK_PORT"
}
sink_stop() {
	[ -n "$SINK_PID" ] || return 0
	kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true
	SINK_PID=
}

cleanup_all() { mtad_stop; pf_stop; sink_stop; drop_old; }

# source_rate PORT SESSIONS MESSAGES SIZE: runs smtp-source, prints msg/s.
# Fails (prints "err") when smtp-source reports an error.
source_rate() {
	local port=$1 s=$2 m=$3 l=$4 t0 t1 out
	t0=$(now)
	if ! out=$(smtp-source -s "$s" -m "$m" -l "$l" "${SRC_OPTS[@]}" -t "${RCPT_USER:-bench}@$RCPT_DOMAIN" 127.0.0.1:"$port" 2>&1); then
		log "smtp-source: $out"; echo err; return 0
	fi
	t1=$(now)
	if [ -n "$out" ]; then log "smtp-source: $(printf '%s' "$out" | head -3)"; fi
	awk -v m="$m" -v a="$t0" -v b="$t1" 'BEGIN{ printf "%.1f\n", m/(b-a) }'
}
