#!/usr/bin/env python3
"""Memory per session: opens N connections to the server at PORT and reports
the RSS and PSS of the server's processes before and after: one PID (mtad,
a single process) or, for postfix:DIR, the master of the private instance
in DIR and all its children (looked up each time, so smtpd processes count);
for mtad, PID and its children (as root the sessions live in the SMTP child).

usage: sessions.py PORT N idle|active PID|postfix:DIR
  idle:   greeting read, EHLO sent and answered, then the sessions wait
  active: MAIL, RCPT, DATA answered and 16 KiB of body sent, not finished
prints: n=N mode=M rss_before_kb=.. rss_after_kb=.. per_session_bytes=..
"""
import os
import resource
import socket
import sys
import time


def rss_kb(pids):
    """Sum of RSS and of PSS (shared pages divided among their users) in KiB."""
    rss = pss = 0
    for p in pids:
        try:
            with open("/proc/%s/smaps_rollup" % p) as f:
                for l in f:
                    if l.startswith("Rss:"):
                        rss += int(l.split()[1])
                    elif l.startswith("Pss:"):
                        pss += int(l.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return rss, pss


def main():
    port, n, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    spec = sys.argv[4]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 100)), hard))

    def children_of(parent):
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        if f.read().rsplit(")", 1)[1].split()[1] == parent:
                            out.append(d)
                except (FileNotFoundError, ProcessLookupError, IndexError):
                    pass
        return out

    def pids():
        # the server's process and all of its children, looked up each
        # time: Postfix's master and its smtpd processes, or mtad's parent
        # and (started as root) its unprivileged SMTP server
        if spec.startswith("postfix:"):
            with open(os.path.join(spec[8:], "spool/pid/master.pid")) as f:
                top = f.read().strip()
        else:
            top = spec
        return [top] + children_of(top)

    time.sleep(0.3)
    before = rss_kb(pids())
    socks = []
    chunk = (b"x" * 1022 + b"\r\n") * 16
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(30)
        f = s.makefile("rb")
        f.readline()
        socks.append((s, f))
    def reply(f):
        while True:
            l = f.readline()
            if not l:
                raise OSError("closed")
            if l[3:4] != b"-":
                return l
    for s, f in socks:
        s.sendall(b"EHLO client.example\r\n")
    for s, f in socks:
        reply(f)
    if mode == "active":
        for s, f in socks:
            s.sendall(b"MAIL FROM:<sender@client.example>\r\n")
            reply(f)
            s.sendall(b"RCPT TO:<bench@bench.test>\r\n")
            reply(f)
            s.sendall(b"DATA\r\n")
            reply(f)
            s.sendall(b"Subject: active\r\n\r\n" + chunk)
    time.sleep(1.0)
    after = rss_kb(pids())
    nproc = len(pids())
    print("n=%d mode=%s procs=%d rss_before_kb=%d rss_after_kb=%d pss_before_kb=%d pss_after_kb=%d per_session_rss_bytes=%d per_session_pss_bytes=%d"
          % (n, mode, nproc, before[0], after[0], before[1], after[1],
             (after[0] - before[0]) * 1024 // max(1, n), (after[1] - before[1]) * 1024 // max(1, n)))
    for s, f in socks:
        s.close()


if __name__ == "__main__":
    main()
