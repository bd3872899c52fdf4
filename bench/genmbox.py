#!/usr/bin/env python3
"""Writes an mbox of N messages for the hdrtrace benchmark: each message has
a realistic chain of 3 to 6 Received: fields (sendmail, Postfix, Exchange
and webmail forms, folded as real MTAs fold them), the usual headers and a
short body.  usage: genmbox.py FILE N [SEED]"""
import random
import sys
import time

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DOMS = ["example.com", "example.net", "example.org", "mail.example.edu", "corp.example", "isp.example.de"]


OFFS = {"-0800 (PST)": -8, "+0000 (UTC)": 0, "+0100 (CET)": 1, "+0000": 0}


def rdate(t, off="-0800 (PST)"):
    g = time.gmtime(t + OFFS[off] * 3600)
    return "%s, %d %s %d %02d:%02d:%02d %s" % (DAYS[g.tm_wday], g.tm_mday, MON[g.tm_mon - 1], g.tm_year,
                                              g.tm_hour, g.tm_min, g.tm_sec, off)


def ip(r):
    return "%d.%d.%d.%d" % (r.randint(11, 223), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    r = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    out = open(path, "w", buffering=1 << 20)
    t = 1700000000
    for i in range(n):
        t += r.randint(1, 30)
        hops = r.randint(3, 6)
        hosts = ["%s%d.%s" % (r.choice(["mx", "smtp", "relay", "out", "mail"]), r.randint(1, 9), r.choice(DOMS))
                 for _ in range(hops)]
        recv = []
        tt = t
        # origin first, then each hop; printed newest first
        recv.append("Received: from [192.168.%d.%d] (unknown [%s])\n\tby %s (Postfix) with ESMTPSA id %X\n\tfor <user%d@%s>; %s\n"
                    % (r.randint(0, 255), r.randint(1, 254), ip(r), hosts[0], r.getrandbits(40), i, DOMS[0], rdate(tt, "+0000 (UTC)")))
        for h in range(1, hops):
            tt += r.randint(0, 5)
            a = ip(r)
            k = r.random()
            if k < 0.5:
                recv.append("Received: from %s (%s [%s])\n\tby %s (8.15.2/8.15.2) with ESMTP id %sA%05d\n\tfor <user%d@%s>; %s\n"
                            % (hosts[h - 1], hosts[h - 1], a, hosts[h], "x%06X" % r.getrandbits(24), r.randint(0, 99999), i, DOMS[0], rdate(tt)))
            elif k < 0.85:
                recv.append("Received: from %s (%s [%s])\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\n\t(No client certificate requested)\n\tby %s (Postfix) with ESMTPS id %X\n\tfor <user%d@%s>; %s\n"
                            % (hosts[h - 1], hosts[h - 1], a, hosts[h], r.getrandbits(40), i, DOMS[0], rdate(tt, "+0100 (CET)")))
            else:
                recv.append("Received: from %s (%s) by %s\n (10.1.%d.%d) with Microsoft SMTP Server (version=TLS1_2,\n cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.%d.%d; %s\n"
                            % (hosts[h - 1], a, hosts[h], r.randint(0, 255), r.randint(0, 255), r.randint(1000, 9999), r.randint(0, 99), rdate(tt, "+0000")))
        out.write("From sender%d@%s %s\n" % (i, DOMS[1], time.asctime(time.gmtime(tt))))
        out.write("Return-Path: <sender%d@%s>\n" % (i, DOMS[1]))
        for x in reversed(recv):
            out.write(x)
        out.write("Message-ID: <%d.%X@%s>\nDate: %s\nFrom: Sender %d <sender%d@%s>\nTo: user%d@%s\nSubject: message %d\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
                  % (t, r.getrandbits(32), hosts[0], rdate(t, "+0000"), i, i, DOMS[1], i, DOMS[0], i))
        out.write("Hello,\n\nthis is message %d of the hdrtrace benchmark.\n>From here on it is body text.\n\n" % i)
    out.close()


if __name__ == "__main__":
    main()
