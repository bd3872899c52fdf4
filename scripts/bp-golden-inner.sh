#!/bin/sh
# Inside unshare -mun (see bp-golden.sh): sendmail writes the queue and
# lists it.  $1: the sendmail binary, $2: the work directory.
set -eu
SM=$1 W=$2 Q=$2/q
hostname mail.example.org
ip link set lo up
mkdir -m 700 "$Q"
python3 "$W/bp-golden-smtp.py" 127.0.0.1 25 "$W/ready" &
spid=$!
n=0; while [ ! -e "$W/ready" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
sm() { "$SM" -C "$W/golden.cf" -O QueueDirectory="$Q" "$@"; }
# enqueue BODY ARGS...: queues one message, prints its queue ID
enqueue() {
	body=$1; shift
	ls "$Q" > "$W/before"
	printf "$body" | sm -odq "$@"
	ls "$Q" | grep '^qf' | grep -vxFf "$W/before" | sed 's/^qf//'
}
m1=$(enqueue 'Subject: short\n\nhello\n' -f alice@example.org bob@example.net)
m2=$(enqueue 'Subject: long names\n\nThe sender and the recipients are longer than the columns.\n' \
	-f a.very.long.sender.address.for.testing@lists.subdomain.example.org \
	first.recipient.with.a.long.name@mailhost.example.net \
	second.recipient.with.a.long.name@mailhost.example.net short@example.com)
m3=$(enqueue 'Subject: eight bit\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\nCaf\351 cr\350me br\373l\351e, deux fois.\n' \
	-B8BITMIME -f carol@example.org carol@example.com)
m4=$(enqueue 'Subject: bulk\nPrecedence: bulk\n\nA newsletter.\n' -f list-owner@lists.example.org list@example.com)
m5=$(enqueue 'Subject: greylisted\n\nThis one meets a greylisting server.\n' -f erin@example.org 'user@[127.0.0.1]')
m6=$(enqueue 'Subject: refused\n\nNothing listens on 127.0.0.2.\n' -B8BITMIME -f frank@example.org 'nobody@[127.0.0.2]' other@example.net)
m7=$(enqueue 'Subject: to be held\n\nHeld by the postmaster.\n' -f grace@example.org dave@example.net)
m8=$(enqueue 'Subject: backslash\n\nA quoted local part.\n' -f '"odd\\name"@example.org' 'heidi@example.net')
m9=$(enqueue 'Subject: held and deferred\n\nDeferred, then held.\n' -f ivan@example.org 'ivan@[127.0.0.1]')
# queue runs of one message each: the deferrals (M records, N1, new P)
sm -qI"$m5"
sm -qI"$m6"
# a second run past Timeout.queuewarn: the F record gets 'w' and a warning
# DSN from the null sender is queued for frank
sleep 2
sm -O Timeout.queuewarn=1s -qI"$m6"
sm -qI"$m9"
# quarantine (sendmail renames qf to hf)
sm -Q"held for review by the postmaster" -qI"$m7"
sm -Q"spam score 12.5 above 5.0: Subject and body match the campaign of 3 December, see ticket 4711" -qI"$m9"
kill $spid 2>/dev/null || true
list() {
	name=$1; shift
	sm -bp "$@" | sed "s|$Q|@QDIR@|g" > "$W/$name.out"
	echo "$name.out $*" >> "$W/cases"
}
: > "$W/cases"
list bp
list bp-v -v
list bp-qQ -qQ
list bp-qQ-v -qQ -v
list bp-qR -qRexample.net
list bp-qR-neg '-q!Rexample.net'
list bp-qQ-reason -qQspam
list bp-qS -qSlists
list bp-qI -qI"$m1"
list bp-qI-qR -qI"$m2" -qRshort
cp "$W/cases" "$W/cases.out"
# a queue split into qf/, df/ and xf/ subdirectories, as sendmail sets one up
S=$W/split
mkdir -m 700 "$S" "$S/qf" "$S/df" "$S/xf"
printf 'Subject: split\n\nIn df/.\n' | "$SM" -C "$W/golden.cf" -O QueueDirectory="$S" -odq \
	-f split@example.org someone@example.net
"$SM" -C "$W/golden.cf" -O QueueDirectory="$S" -bp | sed "s|$S|@QDIR@|g" > "$W/split-bp.out"
"$SM" -C "$W/golden.cf" -O QueueDirectory="$S" -bp -qQ | sed "s|$S|@QDIR@|g" > "$W/split-bp-qQ.out"
