# bench/deployed_lib.sh: mtad and Postfix as a postmaster deploys them
# (sourced by deployed.sh and, as root, quick.sh; after lib.sh).
#   - both daemons start as root and drop privileges their own way (mtad:
#     root parent, SMTP server and queue as RunAsUser mail; Postfix: master
#     as root, smtpd/cleanup/qmgr as postfix, local(8) as the recipient);
#   - USERS real passwd users (named 1u .. ${USERS}u, the names smtp-source -N
#     makes; USER_TAG replaces the "u"), created by make_users and removed
#     by remove_users (on exit),
#     each with a mailbox in a spool laid out as Debian's /var/mail
#     (root:mail 2775).
USERS=${USERS:-1000}
ACCEPT_M=${ACCEPT_M:-2000}
USER_TAG=${USER_TAG:-u}
RCPT_USER=1$USER_TAG	# source_rate sends to this user: the first one made
D=${D:-$BENCH_DIR/deployed}
USERS_MADE=()

remove_users() {
	local u
	for u in "${USERS_MADE[@]}"; do userdel "$u" 2>/dev/null || true; done
	USERS_MADE=()
}

make_users() {
	local n u
	for n in $(seq "$USERS"); do
		u=$n$USER_TAG
		if getent passwd "$u" >/dev/null; then die "user $u exists already: not ours to use"; fi
		useradd --badname -M -N -d /nonexistent -s /usr/sbin/nologin "$u" || die "useradd $u failed"
		USERS_MADE+=("$u")
	done
}

fresh_spool() {	# DIR: a spool as Debian's /var/mail
	fresh_dir "$1"; chown root:mail "$1"; chmod 2775 "$1"
}

messages_in() {	# SPOOL -> messages in all its mailboxes
	cat "$1"/* 2>/dev/null | grep -c '^From ' || true
}

wait_spool() {	# SPOOL COUNT TIMEOUT
	local i=0
	while [ "$(messages_in "$1")" -lt "$2" ]; do
		i=$((i+1)); [ $i -lt $(( $3 * 5 )) ] || return 1; sleep 0.2
	done
}

mtad_deployed_setup() {	# MODE: q or b
	local d=$D/mtad
	fresh_dir "$d"; mkdir -p "$d/mqueue" "$d/clientmqueue"
	fresh_spool "$d/spool"
	cat > "$d/mtad.mc" <<MC
dnl written by bench/deployed.sh: started as root, RunAsUser mail (the default)
define(\`confDOMAIN_NAME', \`$RCPT_DOMAIN')dnl
define(\`QUEUE_DIR', \`$d/mqueue')dnl
define(\`MSP_QUEUE_DIR', \`$d/clientmqueue')dnl
define(\`confMAILBOX_DIR', \`$d/spool')dnl
define(\`confPID_FILE', \`$d/mtad.pid')dnl
define(\`confMAX_DAEMON_CHILDREN', \`0')dnl
define(\`confDELIVERY_MODE', \`$1')dnl
define(\`ALIAS_FILE', \`')dnl
FEATURE(\`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(\`Port=$MTAD_PORT, Addr=127.0.0.1, Name=MTA')dnl
MC
}

pf_deployed_setup() {	# MODE: hold or local
	local d=$D/postfix mode=$1
	pf_setup "$d" deliver	# the private instance; then local delivery instead of virtual
	fresh_spool "$d/lspool"
	postconf -c "$d/etc" -e \
		"mydestination = $RCPT_DOMAIN" \
		"virtual_mailbox_domains =" \
		"local_recipient_maps = proxy:unix:passwd.byname" \
		"mail_spool_directory = $d/lspool" \
		"home_mailbox =" "mailbox_command =" "biff = no" \
		"smtpd_data_restrictions = $([ "$mode" = hold ] && echo 'check_client_access static:HOLD')"
	postfix -c "$d/etc" check >"$d/check.log" 2>&1 || { cat "$d/check.log" >&2; die "postfix check failed"; }
}

accept_deployed_round() {	# who sessions -> msg/s
	local who=$1 s=$2 r
	case $who in
	mtad)
		mtad_deployed_setup q; mtad_start "$D/mtad"
		source_rate "$MTAD_PORT" "$s" 200 1024 >/dev/null
		r=$(source_rate "$MTAD_PORT" "$s" "$ACCEPT_M" 1024); mtad_stop ;;
	postfix)
		pf_deployed_setup hold; pf_start "$D/postfix"
		source_rate "$PF_PORT" "$s" 200 1024 >/dev/null
		r=$(source_rate "$PF_PORT" "$s" "$ACCEPT_M" 1024); pf_stop ;;
	esac
	echo "$r"
}

e2e_deployed_round() {	# who -> msg/s, first connection to the last message in its mailbox
	local who=$1 port spool t0 r
	case $who in
	mtad) mtad_deployed_setup b; mtad_start "$D/mtad"; port=$MTAD_PORT; spool=$D/mtad/spool ;;
	postfix) pf_deployed_setup local; pf_start "$D/postfix"; port=$PF_PORT; spool=$D/postfix/lspool ;;
	esac
	t0=$(now)
	if ! smtp-source -s 20 -m "$USERS" -N -l 1024 "${SRC_OPTS[@]}" -t "u@$RCPT_DOMAIN" 127.0.0.1:"$port" >/dev/null 2>&1; then
		r=err
	elif wait_spool "$spool" "$USERS" 300; then
		r=$(awk -v m="$USERS" -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", m/(b-a)}')
	else
		log "bench: $who delivered $(messages_in "$spool") of $USERS"; r=err
	fi
	# each mailbox must belong to its user
	local bad
	bad=$(find "$spool" -type f ! -name '*.lock' -printf '%f %u\n' | awk '$1 != $2' | head -3)
	[ -z "$bad" ] || log "bench: $who: mailboxes not owned by their users: $bad"
	case $who in mtad) mtad_stop ;; postfix) pf_stop ;; esac
	echo "$r"
}

