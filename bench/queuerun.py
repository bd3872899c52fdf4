#!/usr/bin/env python3
"""Queue run with dead destinations (issue 19): 1,000 messages to 50
destinations, 10 of which accept TCP and never greet, through mtad and
through a private Postfix on the same set-up.  Measured: the time from the
start of delivery until every message for a live destination is delivered
(as each MTA logs it: mtad stat=Sent, Postfix status=sent), and the same for
mtad with the dead destinations left out (what "as if the dead were absent"
is measured against).

  bench/queuerun.py [--messages 1000] [--dests 50] [--dead 10] [--timeout 3]
                    [--runners N] [--no-postfix] [--rounds 1]

Live destinations are Postfix's smtp-sink (one process each); dead ones are
listening sockets nobody accepts from (the kernel completes the handshake,
nobody ever says 220).  Both MTAs use the same connect/greeting timeout
(mtad Timeout.connect/initial, Postfix smtp_connect_timeout/
smtp_helo_timeout) and route each domain to its port by a table (mtad's
mailertable, Postfix's transport_maps).  Messages are queued first (mtad
DeliveryMode=q; Postfix's hold queue), then released at once (mtad -q;
postsuper -H ALL, then postqueue -f).  State under $BENCH_DIR/queuerun (default
/var/tmp/mtabench).  Postfix needs root (its master drops privileges)."""
import argparse
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("MTA_BINDIR", os.path.join(TOP, "bin"))
BENCH_DIR = os.path.join(os.environ.get("BENCH_DIR", "/var/tmp/mtabench"), "queuerun")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("port %d never opened" % port)


class Destinations:
    def __init__(self, n, dead):
        self.ports = [free_port() for _ in range(n)]
        self.dead = set(range(dead))            # d0..d{dead-1} hang
        self.sinks = []
        self.hangs = []
        for i, p in enumerate(self.ports):
            if i in self.dead:
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
                s.listen(1024)
                self.hangs.append(s)
            else:
                user = ["-u", "nobody"] if os.geteuid() == 0 else []
                self.sinks.append(subprocess.Popen(["smtp-sink"] + user + ["127.0.0.1:%d" % p, "1024"],
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for i, p in enumerate(self.ports):
            if i not in self.dead:
                wait_port(p)

    def domain(self, i):
        return "d%d.test" % i

    def close(self):
        for p in self.sinks:
            p.kill()
            p.wait()
        for s in self.hangs:
            s.close()


def messages(n, dests, skip_dead=False):
    """(recipient, is_live) for message k: destinations in turn, so every
    destination has n/len messages, the dead ones among the first."""
    out = []
    for k in range(n):
        i = k % len(dests.ports)
        if skip_dead and i in dests.dead:
            continue
        out.append(("user%d@%s" % (k, dests.domain(i)), i not in dests.dead))
    return out


def inject(port, msgs, sender="bench@client.example"):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("client.example")
    for k, (rcpt, _live) in enumerate(msgs):
        s.sendmail(sender, [rcpt], "Subject: queue run %d\r\n\r\n%s\r\n" % (k, ("x" * 76 + "\r\n") * 13))
    s.quit()


def count_lines(path, needle):
    try:
        with open(path, errors="replace") as f:
            return sum(1 for l in f if needle in l)
    except FileNotFoundError:
        return 0


def drain(logfile, needle, want, start, proc=None, limit=600):
    """Seconds from start until logfile has want lines with needle."""
    while True:
        n = count_lines(logfile, needle)
        if n >= want:
            return time.monotonic() - start
        if time.monotonic() - start > limit:
            return float("nan")
        time.sleep(0.02)


# ---- mtad ----------------------------------------------------------------------

def mtad_run(dests, msgs, timeout, runners):
    d = os.path.join(BENCH_DIR, "mtad")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "mqueue"))
    with open(os.path.join(d, "users"), "w") as f:
        f.write("bench\npostmaster\n")
    table = "".join("%s esmtp:[127.0.0.1]:%d\n" % (dests.domain(i), p) for i, p in enumerate(dests.ports))
    subprocess.run([os.path.join(BIN, "makemap"), "hash", os.path.join(d, "mailertable")], input=table,
                   text=True, check=True)
    port = free_port()
    mc = os.path.join(d, "mtad.mc")
    with open(mc, "w") as f:
        f.write("""dnl written by bench/queuerun.py
define(`confDOMAIN_NAME', `mtad.bench.test')dnl
define(`QUEUE_DIR', `{d}/mqueue')dnl
define(`MSP_QUEUE_DIR', `{d}/mqueue')dnl
define(`confLOG_FILE', `{d}/maillog')dnl
define(`confMAILBOX_DIR', `{d}')dnl
define(`confLOCAL_USER_FILE', `{d}/users')dnl
define(`confPID_FILE', `{d}/mtad.pid')dnl
define(`confRESOLVER', `127.0.0.1:1')dnl
define(`confDELIVERY_MODE', `q')dnl
define(`confTO_CONNECT', `{t}s')dnl
define(`confTO_INITIAL', `{t}s')dnl
define(`confMAX_RUNNERS_PER_QUEUE', `{r}')dnl
define(`confRUN_AS_USER', `root')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`promiscuous_relay')dnl
FEATURE(`mailertable', `hash {d}/mailertable')dnl
DAEMON_OPTIONS(`Port={p}, Addr=127.0.0.1, Name=MTA')dnl
""".format(d=d, t=timeout, r=runners, p=port))
    daemon = subprocess.Popen([os.path.join(BIN, "mtad"), "-bD", "-C", mc, "-L", "mtad-bench"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    inject(port, msgs)
    daemon.terminate()
    daemon.wait()
    live = sum(1 for _r, l in msgs if l)
    logfile = os.path.join(d, "maillog")
    start = time.monotonic()
    run = subprocess.Popen([os.path.join(BIN, "mtad"), "-C", mc, "-L", "mtad-bench", "-q"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_live = drain(logfile, "stat=Sent", live, start)
    run.wait()
    t_all = time.monotonic() - start
    return t_live, t_all, count_lines(logfile, "stat=Deferred")


# ---- Postfix -------------------------------------------------------------------

MASTER_CF = """127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_run(dests, msgs, timeout):
    d = os.path.join(BENCH_DIR, "postfix")
    if os.path.exists(os.path.join(d, "etc", "main.cf")):
        subprocess.run(["postfix", "-c", os.path.join(d, "etc"), "stop"], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)
    for sub in ("etc", "spool", "data"):
        os.makedirs(os.path.join(d, sub))
    shutil.chown(os.path.join(d, "data"), "postfix")
    port = free_port()
    with open(os.path.join(d, "etc", "main.cf"), "w") as f:
        f.write("""# written by bench/queuerun.py
compatibility_level = 3.6
queue_directory = {d}/spool
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = pf.bench.test
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
relay_domains = test
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_data_restrictions = check_client_access static:HOLD
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 600
transport_maps = hash:{d}/etc/transport
smtp_connect_timeout = {t}s
smtp_helo_timeout = {t}s
biff = no
maillog_file = {d}/maillog
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
syslog_name = postfix-qbench
""".format(d=d, t=timeout))
    with open(os.path.join(d, "etc", "master.cf"), "w") as f:
        f.write(MASTER_CF.format(port=port))
    with open(os.path.join(d, "etc", "transport"), "w") as f:
        f.write("".join("%s smtp:[127.0.0.1]:%d\n" % (dests.domain(i), p) for i, p in enumerate(dests.ports)))
    etc = os.path.join(d, "etc")
    subprocess.run(["postmap", "hash:" + os.path.join(etc, "transport")], check=True)
    subprocess.run(["postfix", "-c", etc, "set-permissions"], capture_output=True)
    subprocess.run(["postfix", "-c", etc, "start"], check=True, capture_output=True)
    try:
        wait_port(port)
        inject(port, msgs)
        held = os.path.join(d, "spool", "hold")
        deadline = time.monotonic() + 60
        while sum(len(fs) for _r, _d, fs in os.walk(held)) < len(msgs) and time.monotonic() < deadline:
            time.sleep(0.05)
        live = sum(1 for _r, l in msgs if l)
        logfile = os.path.join(d, "maillog")
        start = time.monotonic()
        # released mail goes to the deferred queue: flush it for a run now
        subprocess.run(["postsuper", "-c", etc, "-H", "ALL"], check=True, capture_output=True)
        subprocess.run(["postqueue", "-c", etc, "-f"], check=True, capture_output=True)
        t_live = drain(logfile, "status=sent", live, start)
        return t_live, count_lines(logfile, "status=deferred")
    finally:
        subprocess.run(["postfix", "-c", etc, "stop"], capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--dests", type=int, default=50)
    ap.add_argument("--dead", type=int, default=10)
    ap.add_argument("--timeout", type=int, default=3)
    ap.add_argument("--runners", type=int, default=16, help="mtad MaxRunnersPerQueue (its default)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-postfix", action="store_true")
    a = ap.parse_args()
    os.makedirs(BENCH_DIR, exist_ok=True)
    dests = Destinations(a.dests, a.dead)
    try:
        msgs = messages(a.messages, dests)
        live_only = messages(a.messages, dests, skip_dead=True)
        nlive = len(live_only)
        print("== queue run: %d messages to %d destinations, %d of them hang (connect/greeting timeout %d s); "
              "%d messages for live ones" % (a.messages, a.dests, a.dead, a.timeout, nlive))
        for rnd in range(1, a.rounds + 1):
            t_live, t_all, deferred = mtad_run(dests, msgs, a.timeout, a.runners)
            t_absent, _t, _d = mtad_run(dests, live_only, a.timeout, a.runners)
            line = ("round %d: mtad live drained %.2f s (whole run %.2f s, %d deferred); "
                    "mtad without the dead %.2f s" % (rnd, t_live, t_all, deferred, t_absent))
            if not a.no_postfix:
                p_live, p_def = postfix_run(dests, msgs, a.timeout)
                line += "; postfix live drained %.2f s (%d deferred when drained)" % (p_live, p_def)
            print(line)
            sys.stdout.flush()
    finally:
        dests.close()


if __name__ == "__main__":
    main()
