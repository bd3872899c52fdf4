#!/usr/bin/env python3
"""Long-form crash test for mtad (make stress; tests/README.md, README "Stress").

Several client threads run SMTP sessions (1-3 messages each, 1-2 local
recipients, some abandoned mid-DATA) against one mtad daemon while a killer
thread sends SIGKILL at random moments, either to the daemon (which is then
restarted on the same port) or to one of its delivery processes (the per-batch
runners and the -q queue runs).  At the end every remaining process is killed,
stale mailbox dotlocks left by killed runners are removed (mtad would only
break them after 5 minutes), the queue is drained with `mtad -q`, and the
mailboxes are read back.

Every message carries a unique token ("X-Token: T" and a last body line
"END T").  Figures printed and written as JSON (--json):
  sessions, messages acked (250 read), kills of the daemon and of runners,
  delivered (complete copies), duplicates, losses (acked but not delivered:
  must be 0), phantoms (abandoned before the final dot but delivered: must
  be 0), torn appends (a copy cut short by a killed runner), files left in
  the queue.  Exit status 1 when a loss or a phantom is found.

Usage: stress.py [--sessions N] [--workers N] [--seed S] [--json FILE] [--keep]
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import Mtad, binpath, free_port, wait_for  # noqa: E402

DOMAIN = "mx.test.example"
USERS = ("alice", "bob", "carol")


def body_for(token, size):
    filler = "".join("line %d of %s\r\n" % (i, token) for i in range(size))
    return "Subject: stress %s\r\nX-Token: %s\r\n\r\n%sEND %s\r\n" % (token, token, filler, token)


class StressMtad(Mtad):
    """An Mtad whose stderr is drained by a thread (a daemon that is never
    read from would block once the pipe fills) and whose kill does not wait
    for the runners it forked, which keep the pipe open."""

    def start(self, *args, **kw):
        super().start(*args, **kw)
        pipe = self.proc.stderr
        threading.Thread(target=lambda: [None for _ in pipe], daemon=True).start()
        return self

    def signal_and_reap(self, sig):
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(sig)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        self.proc = None

    def kill9(self):
        self.signal_and_reap(signal.SIGKILL)

    def stop(self, sig=signal.SIGTERM):
        self.signal_and_reap(sig)


class Run:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.tmp = tempfile.mkdtemp(prefix="mtad-stress-")
        self.m = StressMtad(os.path.join(self.tmp, "mtad"), port=free_port(),
                      mc_extra="define(`confMAX_QUEUE_CHILDREN', `4')dnl\n")
        os.makedirs(self.m.dir, exist_ok=True)
        self.sessions = 0
        self.acked = set()
        self.rcpts = {}             # token -> recipients (local parts)
        self.unacked = set()        # final dot sent, reply not read
        self.abandoned = set()      # connection dropped before the final dot
        self.refused = 0            # 4xx/5xx to the final dot
        self.kills_daemon = 0
        self.kills_runner = 0
        self.kills_final = 0
        self.restarts = 0
        self.stop = threading.Event()
        self.daemon_up = threading.Event()
        self.token_seq = 0

    # -- processes --------------------------------------------------------
    def our_pids(self):
        """Every live process running with our configuration (daemon and
        runners: runners are forks of the daemon and keep its argv)."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read().split(b"\0")
                with open("/proc/%s/stat" % d) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z" and self.m.mc.encode() in argv:
                pids.append(int(d))
        return pids

    def start_daemon(self):
        self.m.start("-q2s")
        self.daemon_up.set()

    def killer(self):
        while not self.stop.wait(self.rng.uniform(self.args.kill_min, self.args.kill_max)):
            with self.lock:
                daemon = self.m.proc.pid if self.m.alive() else None
                runners = [p for p in self.our_pids() if p != daemon]
                if runners and self.rng.random() < 0.4:
                    try:
                        os.kill(self.rng.choice(runners), signal.SIGKILL)
                        self.kills_runner += 1
                    except ProcessLookupError:
                        pass
                    continue
                self.daemon_up.clear()
                self.m.kill9()
                self.kills_daemon += 1
                self.start_daemon()
                self.restarts += 1

    # -- clients ----------------------------------------------------------
    def new_token(self):
        with self.lock:
            self.token_seq += 1
            return "s%05d" % self.token_seq

    def session(self, rng):
        self.daemon_up.wait(10)
        try:
            c = self.m.connect(timeout=10)
        except OSError:
            return False
        try:
            if c.reply()[0] != 220 or c.cmd("EHLO w.example")[0] != 250:
                return True
            for _ in range(rng.randint(1, 3)):
                token = self.new_token()
                if c.cmd("MAIL FROM:<stress@example.org>")[0] != 250:
                    return True
                rcpts = rng.sample(USERS, rng.randint(1, 2))
                with self.lock:
                    self.rcpts[token] = rcpts
                for r in rcpts:
                    if c.cmd("RCPT TO:<%s@%s>" % (r, DOMAIN))[0] != 250:
                        return True
                if c.cmd("DATA")[0] != 354:
                    return True
                text = body_for(token, rng.choice((1, 5, 50, 400)))
                if rng.random() < 0.08:             # abandon mid-DATA
                    c.send(text[: len(text) // 2])
                    with self.lock:
                        self.abandoned.add(token)
                    return True
                with self.lock:
                    self.unacked.add(token)
                c.send(text + ".\r\n")
                code, _lines = c.reply()
                with self.lock:
                    if code == 250:
                        self.unacked.discard(token)
                        self.acked.add(token)
                    elif code is not None:
                        self.unacked.discard(token)
                        self.refused += 1
                if code != 250:
                    return True
            c.cmd("QUIT")
            return True
        except OSError:
            return True
        finally:
            c.close()

    def worker(self, wid):
        rng = random.Random("%s-%d" % (self.args.seed, wid))
        while True:
            with self.lock:
                if self.sessions >= self.args.sessions:
                    return
                self.sessions += 1
            if not self.session(rng):
                time.sleep(0.05)        # daemon down: back off before the next try

    # -- the end ------------------------------------------------------------
    def drain(self):
        with self.lock:
            self.stop.set()
        if self.m.alive():
            self.m.stop()
        for pid in self.our_pids():          # runners still at work (or waiting on a lock)
            try:
                os.kill(pid, signal.SIGKILL)
                self.kills_final += 1
            except ProcessLookupError:
                pass
        wait_for(lambda: not self.our_pids(), 30, "all mtad processes gone")
        stale = [f for f in os.listdir(self.m.maildir) if f.endswith(".lock")]
        for f in stale:
            os.unlink(os.path.join(self.m.maildir, f))
        passes = 0
        for passes in range(1, 6):
            r = self.m.run("-q", timeout=300)
            if r.returncode != 0:
                print("mtad -q exited %d: %s" % (r.returncode, r.stderr[-500:]))
            if not self.m.queue_files():
                break
        return stale, passes

    def count(self):
        """(user, token) -> complete copies in user's mailbox; torn copies."""
        complete, torn = {}, 0
        for u in USERS:
            box = self.m.mbox(u)
            heads = re.findall(rb"\nX-Token: (\S+)\n", b"\n" + box)
            ends = re.findall(rb"\nEND (\S+)\n", box)
            for t in ends:
                k = (u, t.decode())
                complete[k] = complete.get(k, 0) + 1
            torn += max(0, len(heads) - len(ends))
        return complete, torn

    def run(self):
        t0 = time.monotonic()
        self.start_daemon()
        killer = threading.Thread(target=self.killer, daemon=True)
        killer.start()
        workers = [threading.Thread(target=self.worker, args=(i,)) for i in range(self.args.workers)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.stop.set()
        killer.join()
        stale, passes = self.drain()
        complete, torn = self.count()
        got = {t for (_u, t) in complete}
        want = {(u, t) for t in self.acked for u in self.rcpts[t]}
        lost = sorted("%s:%s" % k for k in want - set(complete))
        phantoms = sorted(self.abandoned & got)
        stray = sorted("%s:%s" % (u, t) for (u, t) in complete if u not in self.rcpts.get(t, ()))
        files = []
        for _root, _dirs, fs in os.walk(self.m.queue):
            files += fs
        res = {
            "seed": self.args.seed,
            "seconds": round(time.monotonic() - t0, 1),
            "sessions": self.sessions,
            "messages_acked": len(self.acked),
            "messages_unacked_final_dot": len(self.unacked),
            "messages_unacked_delivered": len(self.unacked & got),
            "messages_abandoned_mid_data": len(self.abandoned),
            "messages_refused_4xx": self.refused,
            "kills_daemon": self.kills_daemon,
            "kills_runner": self.kills_runner,
            "kills_at_end": self.kills_final,
            "deliveries_acked_expected": len(want),
            "delivered_distinct": len(complete),
            "duplicates": sum(n - 1 for n in complete.values()),
            "losses": len(lost),
            "lost_tokens": lost[:20],
            "phantoms": len(phantoms),
            "misdelivered": len(stray),
            "torn_mbox_appends": torn,
            "stale_dotlocks_removed": len(stale),
            "drain_passes": passes,
            "queue_files_left": sorted(files),
            "orphan_df_tf_left": len([f for f in files if f[:2] in ("df", "tf")]),
            "quarantined_Qf": len([f for f in files if f.startswith("Qf")]),
        }
        return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=int(os.environ.get("STRESS_SESSIONS", 600)))
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--seed", default=os.environ.get("STRESS_SEED", str(int(time.time()))))
    ap.add_argument("--kill-min", type=float, default=0.1, help="seconds between kills, at least")
    ap.add_argument("--kill-max", type=float, default=0.6, help="seconds between kills, at most")
    ap.add_argument("--json", default=os.path.join(HERE, "..", "..", "build", "stress", "last-run.json"))
    ap.add_argument("--keep", action="store_true", help="keep the state directory")
    args = ap.parse_args()
    r = Run(args)
    try:
        res = r.run()
    finally:
        if r.m.alive():
            r.m.kill9()
        for pid in r.our_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for k, v in res.items():
        if k not in ("lost_tokens", "queue_files_left") or v:
            print("stress %-28s %s" % (k, v))
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(res, f, indent=1)
    ok = res["losses"] == 0 and res["phantoms"] == 0 and res["misdelivered"] == 0
    print("stress: %s (%d sessions, %d kills, %d acked, %d lost, %d duplicates)" % (
        "PASS" if ok else "FAIL", res["sessions"], res["kills_daemon"] + res["kills_runner"],
        res["messages_acked"], res["losses"], res["duplicates"]))
    if args.keep or not ok:
        print("state kept in", r.tmp)
    else:
        shutil.rmtree(r.tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
