#!/bin/sh
# install-system.sh: the system part of `make install` (the Makefile has
# installed the binaries and man pages): /etc/mail (existing files kept),
# the queue owned by RunAsUser (mail), the mailbox spool, the systemd unit,
# and the alias database.  Owners are set only when run as root; with
# DESTDIR (a package build) nothing outside DESTDIR is touched.
#   install-system.sh DESTDIR PREFIX SYSCONFDIR LOCALSTATEDIR SYSTEMDDIR MSPGROUP
set -eu
DESTDIR=$1 PREFIX=$2 SYSCONFDIR=$3 LOCALSTATEDIR=$4 SYSTEMDDIR=$5 MSPGROUP=${6:-smmsp}
here=$(cd "$(dirname "$0")/.." && pwd)
root=no
[ "$(id -u)" = 0 ] && root=yes
have_mail=no
getent passwd mail >/dev/null 2>&1 && getent group mail >/dev/null 2>&1 && have_mail=yes

etc="$DESTDIR$SYSCONFDIR/mail"
install -d -m 755 "$etc" "$etc/smrsh"
for f in mtad.mc aliases local-host-names; do
	if [ -e "$etc/$f" ]; then
		echo "install-system: $etc/$f exists: kept"
	else
		install -m 644 "$here/dist/etc/mail/$f" "$etc/$f"
	fi
done
install -m 644 "$here/dist/etc/mail/smrsh.README" "$etc/smrsh/README"

# the queue: RunAsUser's, not readable by others (as sendmail's 0700)
q="$DESTDIR$LOCALSTATEDIR/spool/mqueue"
install -d -m 750 "$q"
if [ $root = yes ] && [ $have_mail = yes ]; then
	chown mail:mail "$q"
fi
# the spool as Debian has it: root:mail 2775 (left alone when it exists)
spool="$DESTDIR$LOCALSTATEDIR/mail"
if [ ! -d "$spool" ]; then
	install -d -m 2775 "$spool"
	if [ $root = yes ] && [ $have_mail = yes ]; then
		chgrp mail "$spool"
		chmod 2775 "$spool"
	fi
fi

# the MSP: users' `sendmail` (mail(1), cron) queues into clientmqueue through
# the binary's setgid MSPGROUP; the daemon hands that queue over (mtad(8), THE MSP)
if [ $root = yes ] && [ -z "$DESTDIR" ] && ! getent group "$MSPGROUP" >/dev/null 2>&1; then
	groupadd --system "$MSPGROUP"
fi
cq="$DESTDIR$LOCALSTATEDIR/spool/clientmqueue"
install -d -m 2770 "$cq"
if [ $root = yes ] && getent group "$MSPGROUP" >/dev/null 2>&1; then
	chgrp "$MSPGROUP" "$cq" "$DESTDIR$PREFIX/sbin/mtad"
	chmod 2770 "$cq"
	chmod 2755 "$DESTDIR$PREFIX/sbin/mtad"
fi

install -d -m 755 "$DESTDIR$SYSTEMDDIR"
sed -e "s|@SBINDIR@|$PREFIX/sbin|g" -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" \
	"$here/dist/systemd/mtad.service.in" > "$DESTDIR$SYSTEMDDIR/mtad.service"
chmod 644 "$DESTDIR$SYSTEMDDIR/mtad.service"

# the alias database, readable by RunAsUser (newaliases as root sees to it)
if [ $root = yes ] && [ -z "$DESTDIR" ]; then
	"$PREFIX/sbin/mtad" -C "$etc/mtad.mc" -bi >/dev/null
fi
echo "install-system: done; check with: $PREFIX/sbin/mtad -C $SYSCONFDIR/mail/mtad.mc -bE"
