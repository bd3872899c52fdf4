#!/usr/bin/env python3
"""Acceptance latency: SESSIONS concurrent clients send MESSAGES messages of
SIZE bytes in total, one message per connection (as smtp-source does), and
time, for each message, the wait between the last byte of the body (the
final ".") and the 250 reply -- the time the server spends making the
message durable -- and the whole transaction (connect to 250).

usage: smtplat.py PORT SESSIONS MESSAGES SIZE
prints: msgs=N errors=E rate=R/s accept_p50_ms=.. accept_p99_ms=.. accept_max_ms=..
        txn_p50_ms=.. txn_p99_ms=..
"""
import socket
import sys
import threading
import time


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    port, sessions, total, size = (int(x) for x in sys.argv[1:5])
    body = ("Subject: latency probe\r\nFrom: <sender@client.example>\r\n\r\n" +
            ("x" * 76 + "\r\n") * max(1, size // 78)).encode()
    lock = threading.Lock()
    left = [total]
    acc, txn, errs = [], [], [0]

    def reply(f):
        while True:
            line = f.readline()
            if not line:
                raise OSError("connection closed")
            if line[3:4] != b"-":
                return int(line[:3])

    def worker():
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            try:
                t0 = time.perf_counter()
                s = socket.create_connection(("127.0.0.1", port))
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                f = s.makefile("rb")
                if reply(f) != 220:
                    raise OSError("greeting")
                for cmd, want in ((b"EHLO client.example\r\n", 250),
                                  (b"MAIL FROM:<sender@client.example>\r\n", 250),
                                  (b"RCPT TO:<bench@bench.test>\r\n", 250),
                                  (b"DATA\r\n", 354)):
                    s.sendall(cmd)
                    if reply(f) != want:
                        raise OSError(cmd.decode().strip())
                s.sendall(body)
                t1 = time.perf_counter()
                s.sendall(b".\r\n")
                code = reply(f)
                t2 = time.perf_counter()
                if code != 250:
                    raise OSError("end of data: %d" % code)
                s.sendall(b"QUIT\r\n")
                reply(f)
                s.close()
                with lock:
                    acc.append(t2 - t1)
                    txn.append(t2 - t0)
            except OSError:
                with lock:
                    errs[0] += 1

    t0 = time.perf_counter()
    th = [threading.Thread(target=worker) for _ in range(sessions)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    el = time.perf_counter() - t0
    ms = lambda x: x * 1000.0
    print("msgs=%d errors=%d rate=%.1f/s accept_p50_ms=%.2f accept_p99_ms=%.2f accept_max_ms=%.2f txn_p50_ms=%.2f txn_p99_ms=%.2f"
          % (len(acc), errs[0], len(acc) / el, ms(pct(acc, 50)), ms(pct(acc, 99)), ms(max(acc) if acc else 0),
             ms(pct(txn, 50)), ms(pct(txn, 99))))


if __name__ == "__main__":
    main()
