#!/usr/bin/env python3
"""Writes a large, realistic sendmail mail log for the loggrep benchmark.

usage: genlog.py FILE MEGABYTES [SEED]
Prints the queue ID to look for (its transaction is in the middle of the file,
with a deferral and a much later retry, like a real stuck message).

The lines are sendmail 8.1x syslog lines as a busy relay writes them: the
from= and to= lines of every transaction (local, esmtp relay, deferrals,
DSNs), STARTTLS lines, check_rcpt rejections, lost input channels,
AUTH and milter lines, interleaved across processes, with increasing time.
"""
import random
import sys

B60 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "oscar", "peggy", "trent", "victor", "walter", "root", "postmaster"]
DOMS = ["example.com", "example.net", "example.org", "mail.example.edu", "lists.example.com",
        "corp.example", "shop.example.co.uk", "gmail.example", "isp.example.de", "news.example"]
HOSTS = ["mx1", "mx2", "smtp", "mail", "out", "relay", "mta3", "lists"]


def qid(t, seq, pid):
    return "%s%s%s%s%s%s%s%s%06d" % (
        B60[(t // 31536000) % 60], B60[(t // 2592000) % 12], B60[(t // 86400) % 31],
        B60[(t // 3600) % 24], B60[(t // 60) % 60], B60[t % 60],
        B60[(seq // 60) % 60], B60[seq % 60], pid)


def main():
    path, mb = sys.argv[1], float(sys.argv[2])
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 42)
    target_bytes = int(mb * 1024 * 1024)
    host = "relay1"
    t = 1700000000
    out = open(path, "w", buffering=1 << 20)
    written = 0
    pending = []          # (emit_after_n, line_template_fn)
    n = 0
    target = None
    target_at = target_bytes // 2
    retry = None
    seq = 0

    def stamp():
        lt = t % 86400
        day = (t // 86400) % 28 + 1
        mon = MON[(t // (86400 * 28)) % 12]
        return "%s %2d %02d:%02d:%02d %s " % (mon, day, lt // 3600, (lt // 60) % 60, lt % 60, host)

    while written < target_bytes:
        n += 1
        if n % 7 == 0:
            t += 1
        pid = rnd.randint(1000, 99999)
        seq = (seq + 1) % 3600
        q = qid(t, seq, pid)
        ip = "%d.%d.%d.%d" % (rnd.randint(11, 223), rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(1, 254))
        rhost = "%s.%s" % (rnd.choice(HOSTS), rnd.choice(DOMS))
        sender = "%s@%s" % (rnd.choice(USERS), rnd.choice(DOMS))
        st = stamp()
        lines = []
        r = rnd.random()
        if r < 0.04:
            lines.append("%ssm-mta[%d]: %s: ruleset=check_rcpt, arg1=<%s@%s>, relay=%s [%s], reject=550 5.7.1 <%s@%s>... Relaying denied. Proper authentication required.\n"
                         % (st, pid, q, rnd.choice(USERS), rnd.choice(DOMS), rhost, ip, rnd.choice(USERS), rnd.choice(DOMS)))
            lines.append("%ssm-mta[%d]: %s: lost input channel from %s [%s] to MTA after rcpt\n" % (st, pid, q, rhost, ip))
        else:
            if rnd.random() < 0.5:
                lines.append("%ssm-mta[%d]: STARTTLS=server, relay=%s [%s], version=TLSv1.3, verify=NO, cipher=TLS_AES_256_GCM_SHA384, bits=256/256\n"
                             % (st, pid, rhost, ip))
            if rnd.random() < 0.1:
                lines.append("%ssm-mta[%d]: AUTH=server, relay=%s [%s], authid=%s, mech=PLAIN, bits=0\n"
                             % (st, pid, rhost, ip, sender))
            size = rnd.randint(800, 90000)
            nr = 1 if rnd.random() < 0.8 else rnd.randint(2, 4)
            lines.append("%ssm-mta[%d]: %s: from=<%s>, size=%d, class=0, nrcpts=%d, msgid=<%d.%s@%s>, bodytype=8BITMIME, proto=ESMTPS, daemon=MTA, relay=%s [%s]\n"
                         % (st, pid, q, sender, size, nr, t * 1000 + n % 1000, q.lower(), rhost, rhost, ip))
            if rnd.random() < 0.05:
                lines.append("%ssm-mta[%d]: %s: Milter: data, reject=554 5.7.1 Spam message rejected\n" % (st, pid, q))
            dpid = pid + 1
            for _ in range(nr):
                rc = "%s@%s" % (rnd.choice(USERS), rnd.choice(DOMS))
                k = rnd.random()
                if k < 0.45:
                    d = ("to=<%s>, ctladdr=<%s> (1000/1000), delay=00:00:0%d, xdelay=00:00:00, mailer=local, pri=%d, dsn=2.0.0, stat=Sent"
                         % (rc, rc, rnd.randint(0, 9), 30000 + size, ))
                elif k < 0.92:
                    mx = "%s.%s" % (rnd.choice(HOSTS), rnd.choice(DOMS))
                    d = ("to=<%s>, delay=00:00:0%d, xdelay=00:00:0%d, mailer=esmtp, pri=%d, relay=%s. [%s], dsn=2.0.0, stat=Sent (%s Message accepted for delivery)"
                         % (rc, rnd.randint(0, 9), rnd.randint(0, 9), 120000 + size, mx, ip, qid(t + 1, seq, dpid)))
                else:
                    d = ("to=<%s>, delay=00:00:05, xdelay=00:00:05, mailer=esmtp, pri=%d, relay=%s, dsn=4.0.0, stat=Deferred: Connection timed out with %s"
                         % (rc, 120000 + size, rnd.choice(DOMS), rnd.choice(DOMS)))
                pending.append((n + rnd.randint(1, 12), "sm-mta[%d]: %s: %s\n" % (dpid, q, d)))
        if target is None and written >= target_at:
            target = q
            pending.append((n + 3, "sm-mta[%d]: %s: to=<stuck@%s>, delay=00:00:30, xdelay=00:00:30, mailer=esmtp, pri=121024, relay=mx.%s., dsn=4.0.0, stat=Deferred: Connection timed out with mx.%s.\n"
                            % (pid + 1, q, DOMS[0], DOMS[0], DOMS[0])))
            retry = (n + 200000, "sm-mta[%d]: %s: to=<stuck@%s>, delay=04:00:02, xdelay=00:00:01, mailer=esmtp, pri=391024, relay=mx.%s. [%s], dsn=2.0.0, stat=Sent (OK queued)\n"
                     % (pid + 7, q, DOMS[0], DOMS[0], ip))
        if retry and n >= retry[0]:
            pending.append((n, retry[1]))
            retry = None
        for l in lines:
            out.write(l)
            written += len(l)
        if pending:
            keep = []
            st = stamp()
            for at, l in pending:
                if at <= n:
                    s = st + l
                    out.write(s)
                    written += len(s)
                else:
                    keep.append((at, l))
            pending = keep
    if retry:   # small file: the retry still happens, at the end
        s = stamp() + retry[1]
        out.write(s)
    out.close()
    print(target)


if __name__ == "__main__":
    main()
