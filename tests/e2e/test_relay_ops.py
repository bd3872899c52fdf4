"""Relay operation when the world misbehaves (issue 19): host status, the
connection cache, queue runs by destination, backoff, ETRN, hoststat and
purgestat.

The peers are in this file: HangingPeer accepts TCP and never says a word
(the destination that costs every message the whole timeout); SinkPeer
takes everything and counts connections, transactions, RSETs and the
recipients of each transaction.  Two mtads chained are a real peer too."""
import json
import os
import re
import smtplib
import socket
import subprocess
import threading
import time

from harness import MtadTestCase, Dnsmasq, free_port, wait_for, binpath
import shutil
import unittest

HAVE_DNSMASQ = shutil.which("dnsmasq") or os.path.exists("/usr/sbin/dnsmasq")

QUEUE_ONLY = "define(`confDELIVERY_MODE', `q')dnl\n"


class HangingPeer:
    """Accepts connections and never greets; counts them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.conns.append(c)

    def close(self):
        self.stop = True
        self.t.join()
        for c in self.conns:
            c.close()
        self.sock.close()


class SinkPeer:
    """An SMTP server that takes everything (PIPELINING offered)."""

    def __init__(self, port=0, rset_closes=0):
        self.rset_closes = rset_closes  # the first N RSETs: 421, and the connection closed
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = 0
        self.transactions = []      # (time, [recipients])
        self.rsets = 0
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 sink.test ESMTP\r\n")
        rcpts = []
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.strip().upper()
                if cmd.startswith(b"EHLO"):
                    c.sendall(b"250-sink.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif cmd.startswith(b"RCPT"):
                    rcpts.append(line.strip()[8:].decode())
                    c.sendall(b"250 2.1.5 ok\r\n")
                elif cmd == b"DATA":
                    c.sendall(b"354 go\r\n")
                    while f.readline() not in (b".\r\n", b""):
                        pass
                    with self.lock:
                        self.transactions.append((time.monotonic(), rcpts))
                    rcpts = []
                    c.sendall(b"250 2.0.0 queued\r\n")
                elif cmd == b"RSET":
                    with self.lock:
                        self.rsets += 1
                        closing = self.rset_closes > 0
                        self.rset_closes -= closing
                    if closing:         # what the client pipelined behind it is lost
                        c.sendall(b"421 4.4.2 sink.test idle too long, closing\r\n")
                        return
                    rcpts = []
                    c.sendall(b"250 2.0.0 reset\r\n")
                elif cmd == b"QUIT":
                    c.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    c.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            return
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.t.join()
        self.sock.close()


def mailertable(test, entries):
    path = os.path.join(test.tmp, "mailertable")
    text = "".join("%s esmtp:[127.0.0.1]:%d\n" % (d, p) for d, p in entries)
    r = subprocess.run([binpath("makemap"), "hash", path], input=text, capture_output=True, text=True)
    test.assertEqual(r.returncode, 0, r.stderr)
    return "FEATURE(`mailertable', `hash %s')dnl\n" % path


def queue_messages(m, rcpts_list, sender="alice@mx.test.example"):
    """Queues one message per entry (a list of recipients) with -bm -odq."""
    for i, rcpts in enumerate(rcpts_list):
        r = m.run("-odq", "-f", sender, *rcpts,
                  input="Subject: m%d\n\nbody %d\n" % (i, i))
        assert r.returncode == 0, r.stderr


def hand_timeouts(seconds):
    return ("define(`confTO_CONNECT', `%ds')dnl\n"
            "define(`confTO_INITIAL', `%ds')dnl\n") % (seconds, seconds)


class HostStatus(MtadTestCase):
    def setUp(self):
        super().setUp()
        self.hang = HangingPeer()

    def tearDown(self):
        self.hang.close()
        super().tearDown()

    def test_hanging_host_costs_one_timeout_for_twenty_messages(self):
        m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + hand_timeouts(2) +
                          mailertable(self, [("hang.test", self.hang.port)]))
        queue_messages(m, [["u%d@hang.test" % i] for i in range(20)])
        t0 = time.monotonic()
        r = m.run("-q", timeout=60)
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.hang.conns), 1, "one connection, not twenty")
        self.assertLess(took, 6.0, "one timeout (2 s), not twenty")
        deferred = m.log_lines("stat=Deferred")
        self.assertEqual(len(deferred), 20)
        cached = [l for l in deferred if "host status: down since" in l]
        self.assertEqual(len(cached), 19, "the rest deferred at once, with the time of the try")
        self.assertTrue(all("127.0.0.1" in l for l in cached))
        self.assertEqual(len(m.queue_files()), 20)
        # mailq --json: the attempt counted, the next retry from MinQueueAge
        r = subprocess.run([binpath("mailq"), "-C", m.mc, "--json"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        self.assertEqual(len(rows), 20)
        for row in rows:
            self.assertEqual(row["tries"], 1)
            self.assertIsNotNone(row["last_attempt"])
            self.assertEqual(row["next_retry"], row["last_attempt"])  # MinQueueAge 0: every run

    def test_host_status_directory_shared_listed_and_purged(self):
        hsdir = os.path.join(self.tmp, ".hoststat")
        m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + hand_timeouts(1) +
                          "define(`confHOST_STATUS_DIRECTORY', `%s')dnl\n" % hsdir +
                          mailertable(self, [("hang.test", self.hang.port)]))
        queue_messages(m, [["u%d@hang.test" % i] for i in range(3)])
        self.assertEqual(m.run("-q", timeout=30).returncode, 0)
        self.assertEqual(len(self.hang.conns), 1)
        # sendmail's layout and records: <dir>/1./0./0./127:<port>
        path = os.path.join(hsdir, "1.", "0.", "0.", "127:%d" % self.hang.port)
        with open(path) as f:
            text = f.read()
        self.assertRegex(text, r"^V0\nE\d+\nH0\nS75\nD4\.4\.2\nR.*timed out.*\nU\d+\n\.\n$")
        # another queue runner (a new process) trusts the file: no connection
        self.assertEqual(m.run("-q", timeout=30).returncode, 0)
        self.assertEqual(len(self.hang.conns), 1)
        self.assertEqual(len([l for l in m.log_lines("host status: down since")]), 2 + 3)
        # hoststat (-bh, and the hoststat link name) lists it
        r = m.run("-bh")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Hostname", r.stdout.splitlines()[0])
        self.assertRegex(r.stdout, r"\[127\.0\.0\.1\]:%d\s+\d\d:\d\d:\d\d Deferred: .*timed out" % self.hang.port)
        # mailq --summary shows the host down
        r = subprocess.run([binpath("mailq"), "-C", m.mc, "--summary"], capture_output=True, text=True)
        self.assertIn("Hosts down:", r.stdout)
        self.assertIn("[127.0.0.1]:%d down since" % self.hang.port, r.stdout)
        # purgestat (-bH) forgets it: the next run connects again
        r = m.run("-bH")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(path))
        self.assertIn("is empty", m.run("-bh").stdout)
        self.assertEqual(m.run("-q", timeout=30).returncode, 0)
        self.assertEqual(len(self.hang.conns), 2)

    @unittest.skipUnless(HAVE_DNSMASQ, "dnsmasq is not installed")
    def test_an_mx_shared_by_domains_is_down_for_all_of_them(self):
        # three domains whose MX names differ but lead to one address
        dns = Dnsmasq(self.tmp, mx=[("m1.test", "mx.m1.test", 10), ("m2.test", "mx.m2.test", 10),
                                    ("m3.test", "mx.m3.test", 10)],
                      hosts=[("mx.m1.test", "127.0.0.1"), ("mx.m2.test", "127.0.0.1"),
                             ("mx.m3.test", "127.0.0.1")]).start()
        try:
            m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + hand_timeouts(1) +
                              "define(`confMAX_RUNNERS_PER_QUEUE', `1')dnl\n"
                              "define(`confRESOLVER', `%s')dnl\n"
                              "define(`ESMTP_MAILER_ARGS', `TCP $h %d')dnl\n" % (dns.server, self.hang.port))
            queue_messages(m, [["a@m1.test"], ["b@m2.test"], ["c@m3.test"]])
            self.assertEqual(m.run("-q", timeout=30).returncode, 0)
            self.assertEqual(len(self.hang.conns), 1)
            for d in ("m2", "m3"):
                m.wait_log(r"to=[^,]*@%s\.test, .*stat=Deferred: .*timed out.*host status: down since" % d)
        finally:
            dns.stop()

    def test_slow_destination_never_holds_up_the_others(self):
        sink = SinkPeer()
        try:
            m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + hand_timeouts(4) +
                              "define(`confMAX_RUNNERS_PER_QUEUE', `2')dnl\n" +
                              mailertable(self, [("hang.test", self.hang.port), ("live.test", sink.port)]))
            # the hanging destination's messages are the oldest: first in line
            queue_messages(m, [["u%d@hang.test" % i] for i in range(5)] +
                           [["u%d@live.test" % i] for i in range(10)])
            t0 = time.monotonic()
            r = m.run("-q", timeout=60)
            took = time.monotonic() - t0
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(sink.transactions), 10)
            self.assertGreaterEqual(took, 4.0)
            last = max(t for t, _ in sink.transactions)
            self.assertLess(last - t0, 3.0, "the live destination drained while the other hung")
            self.assertEqual(len(self.hang.conns), 1)
            self.assertEqual(len(m.queue_files()), 5)
        finally:
            sink.close()


    def test_stalled_workers_get_help(self):
        # more hanging destinations than workers, the live one last in line
        hangs = [HangingPeer() for _ in range(4)]
        sink = SinkPeer()
        try:
            m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + hand_timeouts(3) +
                              "define(`confMAX_RUNNERS_PER_QUEUE', `2')dnl\n" +
                              mailertable(self, [("h%d.test" % i, h.port) for i, h in enumerate(hangs)] +
                                          [("live.test", sink.port)]))
            queue_messages(m, [["u@h%d.test" % i] for i in range(4)] + [["u%d@live.test" % i] for i in range(3)])
            t0 = time.monotonic()
            self.assertEqual(m.run("-q", timeout=60).returncode, 0)
            self.assertEqual(len(sink.transactions), 3)
            last = max(t for t, _ in sink.transactions)
            # two workers alone would reach it after two timeouts (6 s)
            self.assertLess(last - t0, 2.8)
            self.assertEqual([len(h.conns) for h in hangs], [1, 1, 1, 1])
        finally:
            sink.close()
            for h in hangs:
                h.close()


class ConnectionReuse(MtadTestCase):
    def setUp(self):
        super().setUp()
        self.sink = SinkPeer()

    def tearDown(self):
        self.sink.close()
        super().tearDown()

    def test_twenty_messages_one_connection_with_rset(self):
        m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + mailertable(self, [("sink.test", self.sink.port)]))
        queue_messages(m, [["u%d@sink.test" % i] for i in range(20)])
        self.assertEqual(m.run("-q", timeout=60).returncode, 0)
        self.assertEqual(len(self.sink.transactions), 20)
        self.assertLessEqual(self.sink.connections, 2)
        self.assertGreaterEqual(self.sink.rsets, 20 - self.sink.connections)
        self.assertEqual(len(m.log_lines("stat=Sent")), 20)
        self.assertEqual(m.queue_files(), [])

    def test_rset_pipelined_and_a_refused_one_costs_a_new_connection_only(self):
        """The probe of a cached connection (RSET, as sendmail and Postfix
        send) leads the pipelined MAIL group.  A 421 to it means that
        connection is gone: the message goes over a new one, not deferred."""
        self.sink.rset_closes = 1
        m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + mailertable(self, [("sink.test", self.sink.port)]))
        queue_messages(m, [["u%d@sink.test" % i] for i in range(4)])
        r = m.run("-v", "-q", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.sink.transactions), 4)
        self.assertEqual(self.sink.connections, 2)
        self.assertEqual(self.sink.rsets, 3)          # one refused, two on the new connection
        self.assertEqual(len(m.log_lines("stat=Sent")), 4)
        self.assertEqual(m.log_lines("Deferred"), [])
        # RSET and MAIL in one write: the transcript shows no reply between them
        self.assertRegex(r.stdout, r">>> RSET\n>>> MAIL From:")
        self.assertRegex(r.stdout, r"\n421 4\.4\.2 .*\n\S+ Connecting to \[127\.0\.0\.1\]")

    def test_recipients_of_one_domain_in_one_transaction(self):
        m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + mailertable(self, [("sink.test", self.sink.port)]))
        queue_messages(m, [["a@sink.test", "b@sink.test", "c@sink.test"]])
        self.assertEqual(m.run("-q", timeout=60).returncode, 0)
        self.assertEqual(len(self.sink.transactions), 1)
        self.assertEqual(sorted(self.sink.transactions[0][1]),
                         ["<a@sink.test>", "<b@sink.test>", "<c@sink.test>"])

    def test_destination_concurrency_splits_a_destination(self):
        m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + "define(`confDESTINATION_CONCURRENCY', `3')dnl\n" +
                          mailertable(self, [("sink.test", self.sink.port)]))
        queue_messages(m, [["u%d@sink.test" % i] for i in range(12)])
        self.assertEqual(m.run("-q", timeout=60).returncode, 0)
        self.assertEqual(len(self.sink.transactions), 12)
        self.assertEqual(self.sink.connections, 3)
        self.assertEqual(m.queue_files(), [])

    def test_cache_size_zero_opens_one_connection_a_message(self):
        m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + "define(`confMCI_CACHE_SIZE', `0')dnl\n" +
                          mailertable(self, [("sink.test", self.sink.port)]))
        queue_messages(m, [["u%d@sink.test" % i] for i in range(4)])
        self.assertEqual(m.run("-q", timeout=60).returncode, 0)
        self.assertEqual(self.sink.connections, 4)
        self.assertEqual(self.sink.rsets, 0)

    def test_two_mtads_chained_verbose_run_uses_the_cached_connection(self):
        bport = free_port()
        b = self.new_mtad("b", hostname="mx.b.test", port=bport, mc_extra=(
            "define(`confCW_FILE', `%s')dnl\n" % self.write("b-cw", "b.test\n")))
        a = self.new_mtad("a", start=False, hostname="mx.a.test", mc_extra=QUEUE_ONLY + (
            "define(`SMART_HOST', `relay:[127.0.0.1]:%d')dnl\n" % bport))
        queue_messages(a, [["bob@b.test"] for _ in range(6)], sender="alice@mx.a.test")
        r = a.run("-v", "-q", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("Connecting to [127.0.0.1]"), 1, r.stdout)
        self.assertEqual(r.stdout.count("Using cached ESMTP connection"), 5)
        self.assertEqual(r.stdout.count(">>> RSET"), 5)
        self.assertIn("Queue run: 6 messages; delivered 6, deferred 0, bounced 0", r.stdout)
        wait_for(lambda: b.mbox("bob").count(b"\nFrom ") + b.mbox("bob").startswith(b"From ") == 6,
                 what="six messages at b")

    def write(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p


class RateLimit(MtadTestCase):
    def test_destination_rate_delay_spaces_each_destination(self):
        slow, fast = SinkPeer(), SinkPeer()
        try:
            m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY +
                              "define(`confDESTINATION_RATE_DELAY', `1s')dnl\n" +
                              mailertable(self, [("slow.test", slow.port), ("fast.test", fast.port)]))
            queue_messages(m, [["u%d@slow.test" % i] for i in range(3)] +
                           [["u%d@fast.test" % i] for i in range(3)])
            t0 = time.monotonic()
            self.assertEqual(m.run("-q", timeout=60).returncode, 0)
            took = time.monotonic() - t0
            for peer in (slow, fast):
                times = sorted(t for t, _ in peer.transactions)
                self.assertEqual(len(times), 3)
                self.assertGreaterEqual(times[1] - times[0], 0.9)
                self.assertGreaterEqual(times[2] - times[1], 0.9)
                # each destination starts at once: the pauses of one do not
                # hold up the other (its own worker)
                self.assertLess(times[0] - t0, 0.8)
            self.assertLess(took, 3.8, "the two destinations' pauses overlap")
        finally:
            slow.close()
            fast.close()


class Backoff(MtadTestCase):
    def test_next_retry_doubles_and_a_flush_by_hand_ignores_it(self):
        port = free_port()      # nobody listens: connection refused
        m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY +
                          "define(`confMIN_QUEUE_AGE', `10m')dnl\n"
                          "define(`confMAX_QUEUE_BACKOFF', `25m')dnl\n" +
                          mailertable(self, [("down.test", port)]))
        queue_messages(m, [["x@down.test"]])

        def row():
            r = subprocess.run([binpath("mailq"), "-C", m.mc, "--json"], capture_output=True, text=True)
            return json.loads(r.stdout.splitlines()[0])
        waits = []
        for n in range(1, 5):
            # -q by hand: tried although not due
            self.assertEqual(m.run("-q", timeout=30).returncode, 0)
            j = row()
            self.assertEqual(j["tries"], n)
            waits.append(j["next_retry"] - j["last_attempt"])
        self.assertEqual(waits, [600, 1200, 1500, 1500])
        # mailq --flush is a flush by hand too
        r = subprocess.run([binpath("mailq"), "-C", m.mc, "--flush", "--all"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(row()["tries"], 5)
        # the qf holds only sendmail's records: K and N carry the schedule
        qf = open(os.path.join(m.queue, m.queue_files()[0])).read()
        self.assertRegex(qf, r"(?m)^N5$")
        self.assertRegex(qf, r"(?m)^K\d+$")


    def test_periodic_runs_wait_for_the_next_retry(self):
        sink = SinkPeer()
        down = free_port()
        try:
            m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + "define(`confMIN_QUEUE_AGE', `10m')dnl\n" +
                              mailertable(self, [("down.test", down), ("sink.test", sink.port)]))
            queue_messages(m, [["x@down.test"]])
            self.assertEqual(m.run("-q", timeout=30).returncode, 0)     # tried once, due in 10m
            queue_messages(m, [["y@sink.test"]])                        # never tried: due
            # a persistent queue runner (periodic runs honour the schedule)
            p = subprocess.Popen([binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q1s"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(lambda: len(sink.transactions) == 1, what="the due message")
                # that run skipped the other one; so does the next
                wait_for(lambda: m.log().count("starting queue runner") >= 1, what="runner")
            finally:
                p.terminate()
                p.wait()
            self.assertEqual(len(m.log_lines("to=<x@down.test>")) + len(m.log_lines("to=x@down.test")), 1)
        finally:
            sink.close()


class Etrn(MtadTestCase):
    def etrn_mtad(self, privacy="authwarnings", entries=()):
        return self.new_mtad(mc_extra="define(`confPRIVACY_FLAGS', `%s')dnl\n" % privacy +
                             mailertable(self, entries))

    def smtp(self, m):
        s = smtplib.SMTP("127.0.0.1", m.port, timeout=20)
        s.ehlo("client.example")
        return s

    def test_etrn_refused_by_default_and_not_offered(self):
        m = self.new_mtad()
        s = self.smtp(m)
        self.assertFalse(s.has_extn("etrn"))
        self.assertEqual(s.docmd("ETRN", "example.com"), (502, b"5.7.0 Sorry, we do not allow this operation"))
        s.quit()

    def test_etrn_replies(self):
        m = self.etrn_mtad()
        s = self.smtp(m)
        self.assertTrue(s.has_extn("etrn"))
        self.assertEqual(s.docmd("ETRN"), (500, b"5.5.2 Parameter required"))
        self.assertEqual(s.docmd("ETRN", "#nosuch"), (459, b"4.5.4 Queue nosuch unknown"))
        self.assertEqual(s.docmd("ETRN", "#mqueue"), (250, b"2.0.0 Queuing for queue group mqueue started"))
        self.assertEqual(s.docmd("ETRN", "example.com"), (250, b"2.0.0 Queuing for node example.com started"))
        self.assertEqual(s.docmd("ETRN", "@example.com"), (250, b"2.0.0 Queuing for node @example.com started"))
        self.assertEqual(s.docmd("ETRN", "bad/domain")[0], 501)
        s.quit()
        m.wait_log(r"ETRN example\.com")

    def test_etrn_delivers_the_matching_mail_at_once(self):
        # the far end is down at first: its mail waits in the queue
        port = free_port()
        hsdir = os.path.join(self.tmp, "hoststat")
        m = self.new_mtad(mc_extra="define(`confPRIVACY_FLAGS', `authwarnings')dnl\n"
                          "define(`confHOST_STATUS_DIRECTORY', `%s')dnl\n" % hsdir +
                          mailertable(self, [("dial.test", port), ("sub.dial.test", port), ("other.test", port)]))
        s = self.smtp(m)
        for rcpt in ("x@dial.test", "y@sub.dial.test", "z@other.test"):
            s.sendmail("alice@mx.test.example", [rcpt], "Subject: t\r\n\r\nfor %s\r\n" % rcpt)
        wait_for(lambda: len(m.log_lines("stat=Deferred")) == 3, what="three deferrals")
        # the far end is marked down (refused); ETRN from its address clears it
        self.assertIn("[127.0.0.1]:%d" % port, m.run("-bh").stdout)
        sink = SinkPeer(port)
        try:
            # ETRN dial.test: recipients "@dial.test" only
            self.assertEqual(s.docmd("ETRN", "dial.test")[0], 250)
            wait_for(lambda: len(sink.transactions) == 1, what="dial.test delivered")
            self.assertEqual(sink.transactions[0][1], ["<x@dial.test>"])
            # ETRN @dial.test: its subdomains too
            self.assertEqual(s.docmd("ETRN", "@dial.test")[0], 250)
            wait_for(lambda: len(sink.transactions) == 2, what="sub.dial.test delivered")
            self.assertEqual(sink.transactions[1][1], ["<y@sub.dial.test>"])
            # #mqueue: all of it
            self.assertEqual(s.docmd("ETRN", "#mqueue")[0], 250)
            wait_for(lambda: len(sink.transactions) == 3, what="other.test delivered")
            wait_for(lambda: m.queue_files() == [], what="an empty queue")
            s.quit()
        finally:
            sink.close()


    def queue_only_etrn(self, extra=""):
        sink = SinkPeer()
        self.addCleanup(sink.close)
        m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + extra +
                          "define(`confPRIVACY_FLAGS', `authwarnings')dnl\n" +
                          mailertable(self, [("q.test", sink.port), ("other.test", sink.port)]))
        return m, sink

    def etrn_in_queue_only_mode(self, m, sink):
        s = self.smtp(m)
        s.sendmail("alice@mx.test.example", ["x@q.test"], "Subject: q\r\n\r\nqueued only\r\n")
        s.sendmail("alice@mx.test.example", ["y@other.test"], "Subject: o\r\n\r\nqueued only\r\n")
        self.assertEqual(len(m.queue_files()), 2)
        self.assertEqual(sink.transactions, [])          # DeliveryMode=q: nothing goes
        self.assertEqual(s.docmd("ETRN", "q.test")[0], 250)
        wait_for(lambda: len(sink.transactions) == 1, what="the ETRN delivery")
        self.assertEqual(sink.transactions[0][1], ["<x@q.test>"])
        wait_for(lambda: len(m.queue_files()) == 1, what="one message left")
        s.quit()

    def test_etrn_delivers_in_queue_only_mode(self):
        m, sink = self.queue_only_etrn()
        m.start()
        self.etrn_in_queue_only_mode(m, sink)

    @unittest.skipUnless(os.geteuid() == 0, "the privilege split needs root")
    def test_etrn_through_the_privilege_split(self):
        os.chmod(self.tmp, 0o755)
        m, sink = self.queue_only_etrn("define(`confRUN_AS_USER', `nobody')dnl\n")
        os.chmod(m.dir, 0o755)
        # makemap (run as root, without -C) gave the map to group mail: make it
        # readable by this RunAsUser, or mtad refuses to start (issue 16)
        os.chmod(os.path.join(self.tmp, "mailertable.db"), 0o644)
        m.start()
        self.etrn_in_queue_only_mode(m, sink)
        m.wait_log(r"\(SMTP server unprivileged\)")


class Progress(MtadTestCase):
    def test_totals_on_a_terminal_only(self):
        port = free_port()
        m = self.new_mtad(start=False, mc_extra=QUEUE_ONLY + mailertable(self, [("down.test", port)]))
        queue_messages(m, [["x@down.test"], ["bob@mx.test.example"]])
        r = m.run("-q", timeout=30)
        self.assertEqual(r.stderr, "", "no progress when stderr is not a terminal")
        import pty
        queue_messages(m, [["carol@mx.test.example"]])
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(binpath("mtad"), [binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q"])
        out = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.waitpid(pid, 0)
        text = out.decode(errors="replace")
        self.assertRegex(text, r"queue run: 2 of 2 messages; delivered 1, deferred 1, bounced 0, hosts down 1")


from test_console import ConsoleCase  # noqa: E402  (tmux driving, shared)


class ConsoleHostsDown(ConsoleCase):
    def test_daemon_pane_shows_hosts_down(self):
        hang = HangingPeer()
        try:
            hsdir = os.path.join(self.tmp, "hoststat")
            m = self.new_mtad(mc_extra=QUEUE_ONLY + hand_timeouts(1) +
                              "define(`confHOST_STATUS_DIRECTORY', `%s')dnl\n" % hsdir +
                              mailertable(self, [("hang.test", hang.port)]))
            queue_messages(m, [["u@hang.test"]])
            self.assertEqual(m.run("-q", timeout=30).returncode, 0)
            self.start_console(m, x=120)
            self.keys("4")
            self.wait_screen(lambda s: re.search(r"Host down  \[127\.0\.0\.1\]:%d since \d\d:\d\d:\d\d: "
                                                 r"Deferred: .*timed out" % hang.port, s), "the host down")
        finally:
            hang.close()
