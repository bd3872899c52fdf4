"""mtad relays: two and three mtads on loopback, a real DNS server (dnsmasq)
for MX records, mailertable and smart hosts, deferral and flush, DSNs, the
MSP.  The seeds' two-tier design: external relay -> internal relay ->
mailbox host."""
import os
import re
import shutil
import signal
import subprocess
import unittest

from harness import MtadTestCase, Dnsmasq, free_port, wait_for, binpath, send_message

HAVE_DNSMASQ = shutil.which("dnsmasq") or os.path.exists("/usr/sbin/dnsmasq")


def send(m, rcpts, body, sender="alice@a.test", source=None):
    return send_message(m, rcpts, body, sender, source)


@unittest.skipUnless(HAVE_DNSMASQ, "dnsmasq is not installed")
class MxRouting(MtadTestCase):
    """A (a.test) sends to b.test through MX records served by dnsmasq."""

    def setUp(self):
        super().setUp()
        self.bport = free_port()
        # mx1 (preferred) points at an address where nobody listens, so
        # delivery must fall back to mx2
        self.dns = Dnsmasq(self.tmp, mx=[("b.test", "mx1.b.test", 10), ("b.test", "mx2.b.test", 20),
                                         ("nullmx.test", ".", 0)],
                           hosts=[("mx1.b.test", "127.0.0.3"), ("mx2.b.test", "127.0.0.1"),
                                  ("plain.test", "127.0.0.1")]).start()
        self.b = self.new_mtad("b", hostname="mx.b.test", port=self.bport,
                               mc_extra="define(`confCW_FILE', `%s')dnl\n" % self.cw("b", "b.test"))
        self.a = self.new_mtad("a", hostname="mx.a.test", mc_extra=(
            "define(`confRESOLVER', `%s')dnl\n"
            "define(`ESMTP_MAILER_ARGS', `TCP $h %d')dnl\n"
            "define(`confCW_FILE', `%s')dnl\n") % (self.dns.server, self.bport, self.cw("a", "a.test")))

    def tearDown(self):
        super().tearDown()
        self.dns.stop()

    def cw(self, sub, domain):
        path = os.path.join(self.tmp, sub + "-local-host-names")
        with open(path, "w") as f:
            f.write(domain + "\n")
        return path

    def test_mail_crosses_by_mx_and_stat_carries_next_queue_id(self):
        qa = send(self.a, ["bob@b.test"], "Subject: across\r\n\r\nover the wire\r\n.\r\n")
        to = self.a.wait_log(qa + r": to=<bob@b\.test>.*stat=Sent")
        m = re.search(r"delay=\d\d:\d\d:\d\d, xdelay=\d\d:\d\d:\d\d, mailer=esmtp, pri=\d+, "
                      r"relay=mx2\.b\.test\. \[127\.0\.0\.1\], dsn=2\.0\.0, "
                      r"stat=Sent \((\w+) Message accepted for delivery\)$", to)
        self.assertIsNotNone(m, to)
        qb = m.group(1)
        self.b.wait_log(qb + r": from=<alice@a\.test>, size=\d+, class=0, nrcpts=1, .*proto=ESMTP, "
                             r"daemon=MTA, relay=localhost \[127\.0\.0\.1\]")
        box = wait_for(lambda: self.b.mbox("bob"), what="delivery at B").decode()
        self.assertIn("over the wire", box)
        # both hops' Received: headers, newest first
        self.assertRegex(box, r"Received: from mx\.a\.test \(localhost \[127\.0\.0\.1\]\)\n"
                              r"\tby mx\.b\.test \(mtad [\d.]+\) with ESMTP id %s" % qb)
        self.assertIn("by mx.a.test (mtad", box)

    def test_down_hop_defers_with_bp_text_then_qR_flushes(self):
        self.b.stop()
        qa = send(self.a, ["bob@b.test"], "Subject: later\r\n\r\nwhen B is back\r\n.\r\n")
        self.a.wait_log(qa + r": to=<bob@b\.test>, .*dsn=4\.4\.1, stat=Deferred: Connection refused by mx2\.b\.test\.$")
        bp = wait_for(lambda: "(Deferred: Connection refused by mx2.b.test.)" in self.a.run("-bp").stdout
                      and self.a.run("-bp").stdout, what="-bp deferral")
        self.assertIn("\t\t\t\t\t <bob@b.test>", bp)
        self.a.wait_idle(qa)
        self.b.start()
        r = self.a.run("-qRb.test", "-v")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"Running \S+/qf%s \(sequence 1 of 1\)" % qa)
        self.assertIn(">>> EHLO mx.a.test", r.stdout)
        self.assertRegex(r.stdout, r"<bob@b\.test>\.\.\. Sent \(\w+ Message accepted for delivery\)")
        self.assertIn(b"when B is back", wait_for(lambda: self.b.mbox("bob"), what="delivery"))
        self.assertEqual(self.a.queue_files(), [])

    def test_qR_selects_only_matching(self):
        self.b.stop()
        q1 = send(self.a, ["bob@b.test"], "Subject: 1\r\n\r\none\r\n.\r\n")
        self.a.wait_log(q1 + ": to=")
        self.a.wait_idle(q1)
        self.b.start()
        self.a.run("-qRnomatch.example")
        self.assertEqual(self.a.queue_files(), ["qf" + q1])
        self.a.run("-qI" + q1)
        self.assertEqual(self.a.queue_files(), [])

    def test_unknown_user_far_end_bounces_to_sender(self):
        qa = send(self.a, ["nosuchuser@b.test", "bob@b.test"], "Subject: half\r\n\r\nhalf\r\n.\r\n",
                  sender="carol@a.test")
        self.a.wait_log(qa + r": to=<nosuchuser@b\.test>, .*dsn=5\.1\.1, stat=<nosuchuser@b\.test>\.\.\. User unknown")
        line = self.a.wait_log(qa + r": (\w+): DSN: ")
        child = re.search(r": (\w+): DSN: ", line).group(1)
        bounce = wait_for(lambda: self.a.mbox("carol"), what="the DSN").decode()
        self.assertIn("From MAILER-DAEMON ", bounce.split("\n")[0])
        self.assertIn("Return-Path: <>", bounce)
        self.assertIn("Subject: Returned mail: see transcript for details", bounce)
        self.assertIn("Content-Type: multipart/report; report-type=delivery-status;", bounce)
        self.assertIn("Final-Recipient: RFC822; nosuchuser@b.test", bounce)
        self.assertIn("Action: failed", bounce)
        self.assertIn("Status: 5.1.1", bounce)
        self.assertIn("Diagnostic-Code: SMTP; 550 5.1.1 <nosuchuser@b.test>... User unknown", bounce)
        self.assertIn("Content-Type: text/rfc822-headers", bounce)
        self.assertIn("Subject: half", bounce)
        self.assertIn("id " + child, bounce)
        self.assertIn(b"half", self.b.mbox("bob"))      # the good recipient got it

    def test_null_mx_and_nxdomain_fail_permanently(self):
        qa = send(self.a, ["x@nullmx.test"], "Subject: n\r\n\r\nn\r\n.\r\n", sender="carol@a.test")
        self.a.wait_log(qa + r": to=<x@nullmx\.test>, .*dsn=5\.1\.10, stat=nullmx\.test does not accept mail \(null MX\)")
        qb = send(self.a, ["x@nowhere.test"], "Subject: n\r\n\r\nn\r\n.\r\n", sender="carol@a.test")
        self.a.wait_log(qb + r": to=<x@nowhere\.test>, .*dsn=5\.1\.2, stat=Host unknown \(Name server: nowhere\.test: host not found\)")
        wait_for(lambda: self.a.mbox("carol").count(b"From MAILER-DAEMON") == 2, what="two DSNs")

    def test_no_mx_falls_back_to_address(self):
        self.b.stop()
        b2 = self.new_mtad("b2", hostname="plain.test", port=self.bport,
                           mc_extra="define(`confCW_FILE', `%s')dnl\n" % self.cw("b2", "plain.test"))
        qa = send(self.a, ["bob@plain.test"], "Subject: a\r\n\r\nby A record\r\n.\r\n")
        self.a.wait_log(qa + r": to=<bob@plain\.test>.*relay=plain\.test\. \[127\.0\.0\.1\], dsn=2\.0\.0, stat=Sent")
        self.assertIn(b"by A record", wait_for(lambda: b2.mbox("bob"), what="delivery"))


class StaticRoutes(MtadTestCase):
    """Three tiers with SMART_HOST and mailertable: ext -> int -> mailbox host."""

    def test_smart_host_and_mailertable_three_tiers(self):
        boxport = free_port()
        intport = free_port()
        box = self.new_mtad("box", hostname="mail.sysiphus.test", port=boxport,
                            mc_extra="define(`confCW_FILE', `%s')dnl\n" % self.write("box-cw", "sysiphus.test\n"))
        # internal relay: mailertable sends sysiphus.test to the mailbox host
        mt = os.path.join(self.tmp, "mailertable")
        r = subprocess.run([binpath("makemap"), "hash", mt], input="sysiphus.test esmtp:[127.0.0.1]:%d\n" % boxport,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        intm = self.new_mtad("int", hostname="int1.sysiphus.test", port=intport,
                             mc_extra="FEATURE(`mailertable', `hash %s')dnl\n" % mt)
        # external relay: everything to the internal relay (smart host)
        ext = self.new_mtad("ext", hostname="ext1.sysiphus.test",
                            mc_extra="define(`SMART_HOST', `relay:[127.0.0.1]:%d')dnl\n" % intport)
        q = send(ext, ["bob@sysiphus.test"], "Subject: tiers\r\n\r\nthree hops\r\n.\r\n", sender="x@outside.test")
        line = ext.wait_log(q + r": to=<bob@sysiphus\.test>.*mailer=relay, .*relay=\[127\.0\.0\.1\] \[127\.0\.0\.1\], "
                                r"dsn=2\.0\.0, stat=Sent \((\w+) Message")
        qi = re.search(r"stat=Sent \((\w+) ", line).group(1)
        line = intm.wait_log(qi + r": to=<bob@sysiphus\.test>.*mailer=esmtp, .*stat=Sent \((\w+) Message")
        qb = re.search(r"stat=Sent \((\w+) ", line).group(1)
        box.wait_log(qb + r": to=<bob@sysiphus\.test>.*mailer=local, .*stat=Sent$")
        mbox = box.mbox("bob").decode()
        self.assertEqual(mbox.count("Received: from "), 3)
        self.assertIn("three hops", mbox)

    def test_mailertable_error_entry(self):
        mt = os.path.join(self.tmp, "mailertable")
        subprocess.run([binpath("makemap"), "hash", mt],
                       input="blocked.test error:5.7.1:550 mail to blocked.test is not accepted\n",
                       capture_output=True, text=True, check=True)
        m = self.new_mtad(mc_extra="FEATURE(`mailertable', `hash %s')dnl\n" % mt)
        q = send(m, ["x@blocked.test"], "Subject: e\r\n\r\ne\r\n.\r\n", sender="carol@mx.test.example")
        m.wait_log(q + r": to=<x@blocked\.test>, .*mailer=error, pri=\d+, dsn=5\.7\.1, "
                       r"stat=550 mail to blocked\.test is not accepted")
        wait_for(lambda: b"Status: 5.7.1" in m.mbox("carol"), what="DSN")

    def write(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p


class QueueTimeouts(MtadTestCase):
    """Delay warnings and final bounces, with the message's age set in its qf
    (the T record) rather than waited for."""

    def age(self, m, qid, seconds):
        path = os.path.join(m.queue, "qf" + qid)
        with open(path) as f:
            text = f.read()
        t = int(re.search(r"^T(\d+)$", text, re.M).group(1))
        text = re.sub(r"^T\d+$", "T%d" % (t - seconds), text, flags=re.M)
        with open(path, "w") as f:
            f.write(text)

    def test_delay_warning_once_then_bounce(self):
        deadport = free_port()
        m = self.new_mtad(mc_extra=(
            "define(`confDELIVERY_MODE', `q')dnl\n"
            "define(`SMART_HOST', `[127.0.0.1]:%d')dnl\n"
            "define(`confTO_QUEUEWARN', `1h')dnl\n"
            "define(`confTO_QUEUERETURN', `2h')dnl\n") % deadport)
        q = send(m, ["far@remote.test"], "Subject: slow\r\n\r\nslow\r\n.\r\n", sender="carol@mx.test.example")
        m.run("-q")
        self.assertEqual(m.mbox("carol"), b"")                  # too young for a warning
        self.age(m, q, 3700)
        m.run("-q")
        warn = m.mbox("carol").decode()
        self.assertIn("Subject: Warning: could not send message for past 1h", warn)
        self.assertIn("Action: delayed", warn)
        self.assertIn("Will-Retry-Until: ", warn)
        m.run("-q")
        self.assertEqual(m.mbox("carol").decode().count("From MAILER-DAEMON"), 1)   # only once
        self.age(m, q, 3700)
        m.run("-q")
        box = m.mbox("carol").decode()
        self.assertEqual(box.count("From MAILER-DAEMON"), 2)
        self.assertIn("Subject: Returned mail: see transcript for details", box)
        self.assertIn("Status: 4.4.7", box)
        self.assertIn("Action: failed", box)
        self.assertEqual(m.queue_files(), [])
        self.assertRegex(m.log(), q + r": \w+: DSN: Message could not be delivered for 2h")

    def test_plain_text_dsn_and_bounce_of_bounce_to_postmaster(self):
        m = self.new_mtad(mc_extra="define(`confMIME_FORMAT_ERRORS', `False')dnl\n"
                                   "define(`confDELIVERY_MODE', `q')dnl\n")
        # a message from the null sender to an unknown local user (accepted
        # at RCPT because the user disappears before delivery)
        q = send(m, ["bob@mx.test.example"], "Subject: gone\r\n\r\ngone\r\n.\r\n", sender="")
        with open(m.userfile, "w") as f:
            f.write("alice\npostmaster\n")
        m.stop()
        m.start()
        m.run("-q")
        pm = m.mbox("postmaster").decode()
        self.assertIn("Subject: Returned mail: see transcript for details", pm)
        self.assertNotIn("multipart/report", pm)
        self.assertIn("----- The following addresses had permanent fatal errors -----", pm)
        self.assertIn("<bob@mx.test.example>\n    (reason: 550 5.1.1 <bob@mx.test.example>... User unknown)", pm)


class Msp(MtadTestCase):
    def test_msp_queues_while_mta_down_and_Ac_q_retries(self):
        mtaport = free_port()
        mta = self.new_mtad("mta", port=mtaport, start=False)
        msp = self.new_mtad("msp", start=False,
                            mc_extra="FEATURE(`msp', `[127.0.0.1]:%d')dnl\n" % mtaport)
        r = msp.run("-odi", "alice", input="Subject: via msp\n\nthrough the MSP\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(msp.log(), r": from=\w+, size=\d+, class=0, nrcpts=1, msgid=<[^>]+>, relay=\w+@localhost\n")
        self.assertRegex(msp.log(), r": to=alice, ctladdr=\w+ \(\d+/\d+\), delay=.*mailer=relay, .*"
                                    r"stat=Deferred: Connection refused by \[127\.0\.0\.1\]")
        self.assertEqual(len(os.listdir(msp.mspqueue)), 2)       # qf + df in the MSP queue
        self.assertEqual(msp.queue_files(), [])                   # nothing in the MTA queue
        bp = msp.run("-bp").stdout
        self.assertIn(msp.mspqueue + " (1 request)", bp)
        self.assertIn("(Deferred: Connection refused by [127.0.0.1])", bp)
        mta.start()
        r = msp.run("-Ac", "-q")
        self.assertEqual(r.returncode, 0, r.stderr)
        line = msp.wait_log(r": to=alice, .*relay=\[127\.0\.0\.1\] \[127\.0\.0\.1\], dsn=2\.0\.0, stat=Sent \((\w+) ")
        qm = re.search(r"stat=Sent \((\w+) ", line).group(1)
        mta.wait_log(qm + r": from=<\w+@mx\.test\.example>, .*proto=ESMTP, daemon=MTA")
        self.assertIn(b"through the MSP", wait_for(lambda: mta.mbox("alice"), what="delivery"))
        self.assertEqual(os.listdir(msp.mspqueue), [])


class Signals(MtadTestCase):
    def test_sighup_restarts_with_new_configuration(self):
        m = self.new_mtad()
        c = m.connect()
        self.assertRegex(c.reply()[1][0], r"^220 mx\.test\.example ESMTP mtad")
        c.close()
        with open(m.mc, "a") as f:
            f.write("define(`confSMTP_LOGIN_MSG', `$j reloaded')dnl\n")
        m.proc.send_signal(signal.SIGHUP)
        # the restarted daemon says where it listens again
        line = m.proc.stderr.readline()
        self.assertRegex(line, r"listening on 127\.0\.0\.1 port (\d+)")
        m.port = int(re.search(r"port (\d+)", line).group(1))
        c = m.connect()
        self.assertEqual(c.reply()[1][0], "220 mx.test.example ESMTP reloaded")
        m.wait_log("restarting")
