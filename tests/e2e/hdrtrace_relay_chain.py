"""Helper for test_hdrtrace.RelayChain: run inside a private network
namespace (unshare -n, root), where lo carries documentation addresses, so
that each relay has its own address:

    client 192.0.2.99 -> mtad ext.sender.test (192.0.2.10)
      -> Postfix pf.relay.test (192.0.2.20, smtp_bind_address)
      -> mtad mx.test.example (192.0.2.30) -> alice's mbox

Writes alice's mbox and the three logs into OUTDIR and exits 0; the
namespace (and every daemon in it) goes away with it."""
import os
import shutil
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Mtad, wait_for  # noqa: E402

ADDRS = ("192.0.2.10", "192.0.2.20", "192.0.2.30", "192.0.2.99")


def sh(*args):
    subprocess.run(args, check=True)


def postfix_setup(d, port, relay):
    for sub in ("etc", "spool", "data"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    shutil.chown(os.path.join(d, "data"), "postfix")
    with open(os.path.join(d, "etc", "main.cf"), "w") as f:
        f.write("""compatibility_level = 3.6
queue_directory = {d}/spool
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 192.0.2.20
inet_protocols = ipv4
myhostname = pf.relay.test
mydestination =
mynetworks = 192.0.2.0/24
alias_maps =
alias_database =
local_recipient_maps =
relayhost = {relay}
smtp_bind_address = 192.0.2.20
smtp_host_lookup = native
smtpd_peername_lookup = no
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_banner = $myhostname ESMTP
biff = no
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
syslog_name = postfix-hdrtrace
""".format(d=d, relay=relay))
    with open(os.path.join(d, "etc", "master.cf"), "w") as f:
        f.write("192.0.2.20:%d inet n - n - - smtpd\n" % port)
        for line in ("pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup",
                     "qmgr unix n - n 300 1 qmgr", "rewrite unix - - n - - trivial-rewrite",
                     "bounce unix - - n - 0 bounce", "defer unix - - n - 0 bounce",
                     "trace unix - - n - 0 bounce", "verify unix - - n - 1 verify",
                     "flush unix n - n 1000? 0 flush", "proxymap unix - - n - - proxymap",
                     "smtp unix - - n - - smtp", "relay unix - - n - - smtp",
                     "showq unix n - n - - showq", "error unix - - n - - error",
                     "retry unix - - n - - error", "discard unix - - n - - discard",
                     "anvil unix - - n - 1 anvil", "scache unix - - n - 1 scache",
                     "postlog unix-dgram n - n - 1 postlogd"):
            f.write(line + "\n")
    subprocess.run(["postfix", "-c", d + "/etc", "set-permissions"], capture_output=True)
    subprocess.run(["postfix", "-c", d + "/etc", "check"], check=True)


def main(outdir):
    os.chmod(outdir, 0o755)     # Postfix's daemons (user postfix) walk into it
    sh("ip", "link", "set", "lo", "up")
    for a in ADDRS:
        sh("ip", "addr", "add", a + "/32", "dev", "lo")
    box = Mtad(os.path.join(outdir, "box"), hostname="mx.test.example", addr="192.0.2.30",
               tag="mtad-box")
    os.makedirs(box.dir, exist_ok=True)
    box.start()
    pfdir = os.path.join(outdir, "postfix")
    pfport = 2525
    postfix_setup(pfdir, pfport, "[192.0.2.30]:%d" % box.port)
    crfile = os.path.join(outdir, "relay-domains")
    with open(crfile, "w") as f:
        f.write("192.0.2\n")      # the client's network may relay (sendmail's $=R)
    ext = Mtad(os.path.join(outdir, "ext"), hostname="ext.sender.test", addr="192.0.2.10",
               tag="mtad-ext",
               mc_extra="define(`SMART_HOST', `relay:[192.0.2.20]:%d')dnl\n"
                        "define(`confCR_FILE', `%s')dnl\n" % (pfport, crfile))
    p = subprocess.run(["postfix", "-c", pfdir + "/etc", "start"], capture_output=True, text=True)
    if p.returncode:
        sys.exit("postfix start: %s%s" % (p.stdout, p.stderr))
    try:
        ext.start()
        msg = ("From: a@outside.example\r\nTo: alice@mx.test.example\r\n"
               "Message-Id: <chain1@outside.example>\r\nSubject: relay chain\r\n\r\nhi\r\n")
        with smtplib.SMTP("192.0.2.10", ext.port, local_hostname="client.outside.example",
                          source_address=("192.0.2.99", 0), timeout=20) as s:
            s.sendmail("a@outside.example", ["alice@mx.test.example"], msg)
        mbox = wait_for(lambda: box.mbox("alice"), timeout=60, what="delivery through Postfix")
        with open(os.path.join(outdir, "alice.mbox"), "wb") as f:
            f.write(mbox)
        wait_for(lambda: os.path.exists(os.path.join(pfdir, "maillog")) and
                 "status=sent" in open(os.path.join(pfdir, "maillog")).read(),
                 timeout=30, what="Postfix's log line")
        for src, name in ((ext.logfile, "ext.log"), (os.path.join(pfdir, "maillog"), "postfix.log"),
                          (box.logfile, "box.log")):
            shutil.copy(src, os.path.join(outdir, name))
    finally:
        subprocess.run(["postfix", "-c", pfdir + "/etc", "stop"], capture_output=True)
        ext.stop()
        box.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
