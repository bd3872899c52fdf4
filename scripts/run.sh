#!/bin/sh
# `make run`: mtad in the foreground on 127.0.0.1:2525 with the built-in
# configuration, all state under ./run/ (queue, MSP queue, mailboxes, log).
# Local mailboxes: postmaster, root and the user running it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run="$top/run"
port=${MTAD_PORT:-2525}
mkdir -p "$run/mqueue" "$run/clientmqueue" "$run/mail"
chmod 700 "$run/mqueue" "$run/clientmqueue"
# As root, the daemon hands the MSP queue over as RunAsUser (mail) with the
# queue's group, as Debian's clientmqueue (smmsp, 2770): give it mail's group.
if [ "$(id -u)" = 0 ] && getent group mail >/dev/null; then
	chgrp mail "$run/clientmqueue" && chmod 2770 "$run/clientmqueue"
fi
me=$(id -un)
printf 'postmaster\nroot\n%s\n' "$me" | sort -u > "$run/local-users"
touch "$run/maillog"
cat <<MSG
mtad: state under $run
  mailboxes: $run/mail/<user>   (local users: $(tr '\n' ' ' < "$run/local-users"))
  log:       $run/maillog
  queue:     $top/bin/mtad -O QueueDirectory=$run/mqueue -bp
  try:       swaks --server 127.0.0.1:$port --to $me@localhost
  console:   $top/bin/mtaconsole -O QueueDirectory=$run/mqueue (when built)
  stop:      Ctrl-C
MSG
exec "$top/bin/mtad" -bD -q30m -L mtad \
	-O "DaemonPortOptions=Port=$port,Addr=127.0.0.1,Name=MTA" \
	-O "QueueDirectory=$run/mqueue" \
	-O "MSPQueueDirectory=$run/clientmqueue" \
	-O "MailboxDirectory=$run/mail" \
	-O "LogFile=$run/maillog" \
	-O "LocalUserFile=$run/local-users" \
	-O "AliasFile=$run/aliases" \
	-O "PidFile=$run/mtad.pid" \
	-O "LocalHostNamesFile=$run/local-host-names" \
	-O "RelayDomainsFile=$run/relay-domains"
