"""mtad's queue, local delivery and command-line modes, through real processes."""
import os
import re
import signal
import subprocess
import unittest

from harness import MtadTestCase, wait_for, binpath, send_message

QUEUE_ONLY = "define(`confDELIVERY_MODE', `q')dnl\n"


def send(m, rcpts, body, sender="s@example.org", source=None):
    return send_message(m, rcpts, body, sender, source)


class QueueDurability(MtadTestCase):
    def test_queue_only_survives_kill9_and_next_run_delivers(self):
        m = self.new_mtad(mc_extra=QUEUE_ONLY)
        qid = send(m, ["alice@mx.test.example", "bob@mx.test.example"],
                   "Subject: durable\r\n\r\nkeep me\r\n.\r\n")
        m.kill9()
        self.assertEqual(m.queue_files(), ["qf" + qid])
        self.assertEqual(m.queue_files("df"), ["df" + qid])
        self.assertEqual(m.queue_files("tf"), [])
        r = m.run("-q")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"keep me", m.mbox("alice"))
        self.assertIn(b"keep me", m.mbox("bob"))
        self.assertEqual(m.queue_files(), [])
        self.assertEqual(m.queue_files("df"), [])
        self.assertEqual(len(m.log_lines(qid + ": to=")), 2)

    def test_qf_file_is_sendmail_v8(self):
        m = self.new_mtad(mc_extra=QUEUE_ONLY)
        qid = send(m, ["alice@mx.test.example"], "Subject: fmt\r\nX-Fold: a\r\n b\r\n\r\nline1\r\n..dot\r\n.\r\n")
        path = os.path.join(m.queue, "qf" + qid)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path) as f:
            lines = f.read().split("\n")
        self.assertEqual(lines[0], "V8")
        self.assertRegex(lines[1], r"^T\d+$")
        self.assertEqual(lines[2], "K0")
        self.assertEqual(lines[3], "N0")
        self.assertRegex(lines[4], r"^P30\d+$")
        self.assertRegex(lines[5], r"^I\d+/\d+/\d+$")
        self.assertIn("$_localhost [127.0.0.1]", lines)
        self.assertIn("$rESMTP", lines)
        self.assertIn("$sclient.example", lines)
        self.assertIn("${daemon_name}MTA", lines)
        self.assertIn("S<s@example.org>", lines)
        self.assertIn("RPFD:<alice@mx.test.example>", lines)	# no NOTIFY: FAILURE,DELAY as sendmail
        self.assertTrue(any(l.startswith("H??Received: from client.example (localhost [127.0.0.1])") for l in lines))
        i = lines.index("H??X-Fold: a")
        self.assertEqual(lines[i + 1], " b")
        # the Message-Id: mtad added carries sendmail's condition (H?M?)
        self.assertTrue(any(l.startswith("H?M?Message-Id: <") and qid in l for l in lines))
        self.assertEqual(lines[-2:], [".", ""])
        with open(os.path.join(m.queue, "df" + qid), "rb") as f:
            self.assertEqual(f.read(), b"line1\n.dot\n")

    def test_bp_listing(self):
        m = self.new_mtad(mc_extra=QUEUE_ONLY)
        r = m.run("-bp")
        self.assertEqual(r.stdout, "%s is empty\n\t\tTotal requests: 0\n" % m.queue)
        qid = send(m, ["alice@mx.test.example", "bob@mx.test.example"], "Subject: q\r\n\r\n1 2 3\r\n.\r\n")
        r = m.run("-bp")
        lines = r.stdout.split("\n")
        self.assertEqual(lines[0], "\t\t%s (1 request)" % m.queue)
        self.assertEqual(lines[1], "-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------")
        self.assertRegex(lines[2], r"^%s        6 \w{3} \w{3} [ \d]\d \d\d:\d\d <s@example\.org>$" % qid)
        self.assertEqual(lines[3], "\t\t\t\t\t <alice@mx.test.example>")
        self.assertEqual(lines[4], "\t\t\t\t\t <bob@mx.test.example>")
        self.assertEqual(lines[5], "\t\tTotal requests: 1")

    def test_deferred_remote_recipient_shows_reason(self):
        m = self.new_mtad()
        qid = send(m, ["friend@elsewhere.example"], "Subject: r\r\n\r\nx\r\n.\r\n")
        m.wait_log(qid + r": to=<friend@elsewhere\.example>, delay=.*, mailer=esmtp, pri=\d+, "
                         r"dsn=4\.4\.3, stat=Deferred: host map: lookup \(elsewhere\.example\): deferred$")
        wait_for(lambda: "(Deferred: host map: lookup (elsewhere.example): deferred)" in m.run("-bp").stdout,
                 what="-bp deferral text")
        with open(os.path.join(m.queue, "qf" + qid)) as f:
            text = f.read()
        self.assertIn("\nN1\n", text)
        self.assertIn("\nMDeferred: host map: lookup (elsewhere.example): deferred\n", text)

    def test_corrupt_queue_file_is_set_aside(self):
        m = self.new_mtad(mc_extra=QUEUE_ONLY)
        good = send(m, ["alice@mx.test.example"], "Subject: good\r\n\r\ngood\r\n.\r\n")
        m.stop()
        bad = "ZZZZZZZZ000001"
        with open(os.path.join(m.queue, "qf" + bad), "w") as f:
            f.write("V8\nT1\nSbroken@example.org\nRP:alice@mx.test.example\nH??Subject: half")
        with open(os.path.join(m.queue, "df" + bad), "w") as f:
            f.write("x\n")
        truncated = "ZZZZZZZZ000002"
        with open(os.path.join(m.queue, "qf" + truncated), "w") as f:
            f.write("V8\nT1\nSa@b\nRP:alice@mx.test.example\n")
        r = m.run("-q")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"good", m.mbox("alice"))
        self.assertNotIn(b"half", m.mbox("alice"))
        self.assertTrue(os.path.exists(os.path.join(m.queue, "Qf" + bad)))
        self.assertTrue(os.path.exists(os.path.join(m.queue, "Qf" + truncated)))
        log = m.log()
        self.assertRegex(log, r"%s: SYSERR: .*qf%s:\d+: truncated" % (bad, bad))
        self.assertIn("no \".\" terminator", log)

    def test_mailbox_failure_defers_then_retry_delivers(self):
        m = self.new_mtad(mc_extra=QUEUE_ONLY)
        os.makedirs(os.path.join(m.maildir, "carol"))      # a directory where the mbox should be
        qid = send(m, ["carol@mx.test.example", "alice@mx.test.example"], "Subject: m\r\n\r\nretry\r\n.\r\n")
        m.run("-q")
        self.assertIn(b"retry", m.mbox("alice"))
        self.assertRegex(m.log(), qid + r": to=<carol@mx\.test\.example>, .*dsn=4\.2\.0, stat=Deferred: ")
        with open(os.path.join(m.queue, "qf" + qid)) as f:
            text = f.read()
        self.assertIn("RPFD:<carol@mx.test.example>", text)
        self.assertNotIn("alice", text.split("H??")[0])   # delivered recipient is gone from the envelope
        os.rmdir(os.path.join(m.maildir, "carol"))
        m.run("-q")
        self.assertIn(b"retry", m.mbox("carol"))
        self.assertEqual(m.mbox("alice").count(b"retry"), 1)     # no duplicate
        self.assertEqual(m.queue_files(), [])

    def test_sigterm_during_data_loses_nothing_accepted(self):
        m = self.new_mtad()
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<alice@mx.test.example>")
        c.cmd("DATA")
        c.send("Subject: half\r\n\r\nhalf a message\r\n")
        self.assertEqual(m.stop(), 0)
        self.assertNotEqual(c.reply()[0], 250)
        self.assertEqual(m.queue_files(), [])
        self.assertEqual(m.queue_files("df"), [])


class MboxFormat(MtadTestCase):
    def test_mbox_from_line_received_and_quoting(self):
        m = self.new_mtad()
        qid = send(m, ["alice@mx.test.example"],
                   "Subject: quoting\r\n\r\nFrom the start\r\nnot From here\r\n..\r\n.\r\n",
                   sender="sender@example.org")
        box = wait_for(lambda: m.mbox("alice"), what="delivery").decode()
        lines = box.split("\n")
        self.assertRegex(lines[0], r"^From sender@example\.org \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$")
        self.assertEqual(lines[1], "Return-Path: <sender@example.org>")
        self.assertEqual(lines[2], "Received: from client.example (localhost [127.0.0.1])")
        self.assertEqual(lines[3], "\tby mx.test.example (mtad 0.1.0) with ESMTP id %s" % qid)
        self.assertRegex(lines[4], r"^\tfor <alice@mx\.test\.example>; \w{3}, \d\d \w{3} \d{4} ")
        body = box.split("\n\n", 1)[1]
        self.assertEqual(body, ">From the start\nnot From here\n.\n\n")
        send(m, ["alice@mx.test.example"], "Subject: second\r\n\r\nsecond\r\n.\r\n")
        wait_for(lambda: len(m.log_lines("stat=Sent")) == 2, what="second delivery logged")
        self.assertEqual(m.mbox("alice").count(b"\n\nFrom s@example.org "), 1)
        self.assertFalse(os.path.exists(os.path.join(m.maildir, "alice.lock")))


class LocalSubmission(MtadTestCase):
    def test_bs_smtp_on_stdin(self):
        m = self.new_mtad(start=False)
        r = m.run("-bs", input="EHLO me\r\nMAIL FROM:<u@example.org>\r\nRCPT TO:<bob@mx.test.example>\r\n"
                                 "DATA\r\nSubject: bs\r\n\r\nvia -bs\r\n.\r\nQUIT\r\n")
        out = r.stdout.splitlines()
        self.assertTrue(out[0].startswith("220 mx.test.example ESMTP"))
        self.assertIn("250 2.1.5 <bob@mx.test.example>... Recipient ok", out)
        self.assertTrue(any(re.fullmatch(r"250 2\.0\.0 \S+ Message accepted for delivery", l) for l in out))
        self.assertEqual(out[-1], "221 2.0.0 mx.test.example closing connection")
        self.assertIn(b"via -bs", m.mbox("bob"))

    def test_bm_adds_headers_and_t_extracts_removing_bcc(self):
        m = self.new_mtad(start=False)
        r = m.run("-odi", "-t", "-f", "carol", input="To: alice@mx.test.example\nBcc: bob\nSubject: t\n\nhello\n.\nafter dot\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        a, b = m.mbox("alice").decode(), m.mbox("bob").decode()
        self.assertIn("hello\n", a)
        self.assertNotIn("after dot", a)          # a lone dot ends input without -i
        self.assertEqual(a.split("\n\n")[1:], b.split("\n\n")[1:])
        self.assertNotIn("Bcc:", a)
        self.assertRegex(a, r"\nMessage-Id: <\d{12}\.\w+@mx\.test\.example>\n")
        self.assertRegex(a, r"\nDate: \w{3}, ")
        self.assertIn("\nFrom: carol@mx.test.example\n", a)
        self.assertTrue(a.startswith("From carol@mx.test.example "))
        line = m.log_lines("from=carol,")[0]
        self.assertRegex(line, r": from=carol, size=\d+, class=0, nrcpts=2, msgid=<.*>, relay=\S+@localhost$")

    def test_bm_i_keeps_dot_lines_and_unknown_user_exit(self):
        m = self.new_mtad(start=False)
        r = m.run("-odi", "-i", "alice", input="Subject: i\n\nbefore\n.\nafter\n")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"before\n.\nafter\n", m.mbox("alice"))
        r = m.run("-odi", "nosuchuser", input="Subject: x\n\nbody\n")
        self.assertEqual(r.returncode, 67)
        self.assertIn("nosuchuser... User unknown", r.stderr)
        self.assertEqual(m.queue_files(), [])

    def test_odq_queues_only(self):
        m = self.new_mtad(start=False)
        r = m.run("-odq", "alice", input="Subject: later\n\nlater\n")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(len(m.queue_files()), 1)
        self.assertEqual(m.mbox("alice"), b"")
        m.run("-q")
        self.assertIn(b"later", m.mbox("alice"))


class Configuration(MtadTestCase):
    def mc(self, text):
        path = os.path.join(self.tmp, "x.mc")
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_mtad(self, *args):
        return subprocess.run([binpath("mtad")] + list(args), capture_output=True, text=True, timeout=30)

    def test_bad_value_names_file_and_line(self):
        p = self.mc("dnl a comment\ndefine(`confMAX_RCPTS_PER_MESSAGE', `lots')dnl\n")
        r = self.run_mtad("-C", p, "-bC")
        self.assertEqual(r.returncode, 78)
        self.assertIn("%s:2: MaxRecipientsPerMessage: \"lots\" is not a number" % p, r.stderr)

    def test_out_of_range_and_unterminated(self):
        p = self.mc("define(`confMAX_HOP', `0')\n")
        r = self.run_mtad("-C", p, "-bC")
        self.assertEqual(r.returncode, 78)
        self.assertIn(":1: MaxHopCount: 0 is out of range (1..1000)", r.stderr)
        p = self.mc("define(`confLOG_FILE', `/tmp/x')dnl\nDAEMON_OPTIONS(`Port=25,\n Name=MTA'\ndnl\n")
        r = self.run_mtad("-C", p, "-bC")
        self.assertEqual(r.returncode, 78)
        self.assertIn("%s:2: unterminated argument list of DAEMON_OPTIONS()" % p, r.stderr)

    def test_unknown_define_warns_and_rulesets_refused(self):
        p = self.mc("define(`confNO_SUCH_THING', `1')dnl\nFEATURE(`no_such_feature')dnl\n")
        r = self.run_mtad("-C", p, "-bC")
        self.assertEqual(r.returncode, 0)
        self.assertIn(":1: unsupported define `confNO_SUCH_THING' (ignored)", r.stderr)
        self.assertIn(":2: unsupported FEATURE(`no_such_feature') (ignored)", r.stderr)
        p = self.mc("LOCAL_RULESETS\nSLocal_check_rcpt\n")
        r = self.run_mtad("-C", p, "-bC")
        self.assertEqual(r.returncode, 78)
        self.assertIn(":1: unsupported LOCAL_RULESETS", r.stderr)

    def test_bC_verbose_prints_changes_and_O_overrides(self):
        p = self.mc("define(`QUEUE_DIR', `/tmp/q1')dnl\n")
        r = self.run_mtad("-C", p, "-bC", "-v", "-O", "MaxHopCount=30", "-O", "DaemonPortOptions=Port=2526,Addr=127.0.0.1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("O QueueDirectory=/tmp/q1\n", r.stdout)
        self.assertIn("O MaxHopCount=30\n", r.stdout)
        self.assertIn("O DaemonPortOptions=Port=2526,Addr=127.0.0.1\n", r.stdout)
        r = self.run_mtad("-C", p, "-bC", "-O", "NoSuchOption=1")
        self.assertEqual(r.returncode, 78)
        self.assertIn("unknown option NoSuchOption", r.stderr)

    def test_identity(self):
        r = self.run_mtad("-d0.1", "-O", "HostName=int1.sysiphus.com")
        self.assertEqual(r.returncode, 0)
        self.assertIn("  (canonical domain name) $j = int1.sysiphus.com\n", r.stdout)
        self.assertIn("      (short domain name) $w = int1\n", r.stdout)
        self.assertIn("         (subdomain name) $m = sysiphus.com\n", r.stdout)

    def test_help_and_bad_flags(self):
        r = self.run_mtad("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("-bD", r.stdout)
        r = self.run_mtad("-Z")
        self.assertEqual(r.returncode, 64)
        r = self.run_mtad("-bd", "-O", "DaemonPortOptions=Port=99999")
        self.assertEqual(r.returncode, 78)
        self.assertIn("Port=99999: not a port number", r.stderr)

    def test_sendmail_link_and_mailq_mode(self):
        self.assertTrue(os.path.islink(binpath("sendmail")))
        r = subprocess.run([binpath("sendmail"), "-bp", "-O", "QueueDirectory=" + self.tmp],
                           capture_output=True, text=True)
        self.assertEqual(r.stdout, "%s is empty\n\t\tTotal requests: 0\n" % self.tmp)


@unittest.skipUnless(os.geteuid() == 0, "the privilege split needs root")
class Privileges(MtadTestCase):
    def test_smtp_server_runs_unprivileged_and_mail_still_flows(self):
        import pwd
        nobody = pwd.getpwnam("nobody")
        os.chmod(self.tmp, 0o755)
        m = self.new_mtad(start=False, mc_extra="define(`confRUN_AS_USER', `nobody')dnl\n")
        os.chmod(m.dir, 0o755)
        # alice is a LocalUserFile name without a passwd entry: her mailbox
        # is written as RunAsUser (real users are written as themselves:
        # test_privsep)
        os.chown(m.maildir, nobody.pw_uid, -1)
        m.start()
        qid = send(m, ["alice@mx.test.example"], "Subject: priv\r\n\r\nunprivileged\r\n.\r\n")
        self.assertEqual(os.stat(m.queue).st_uid, nobody.pw_uid)       # the queue was given to it
        server = int(qid[-6:])                  # the process that accepted it (queue IDs end in its pid)
        self.assertNotEqual(server, m.proc.pid)
        with open("/proc/%d/status" % server) as f:
            uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", f.read(), re.M).groups()
        self.assertEqual(set(int(u) for u in uids), {nobody.pw_uid})
        box = wait_for(lambda: m.mbox("alice"), what="delivery by the privileged parent")
        self.assertIn(b"unprivileged", box)
        m.wait_log(r"starting daemon .*\(SMTP server unprivileged\)")
        self.assertEqual(m.stop(), 0)
        self.assertFalse(os.path.exists("/proc/%d" % server) and
                         open("/proc/%d/status" % server).read().find("State:\tZ") < 0)

    def test_unknown_run_as_user_is_an_error(self):
        m = self.new_mtad(start=False, mc_extra="define(`confRUN_AS_USER', `no-such-user-x')dnl\n")
        r = subprocess.run([binpath("mtad"), "-bD", "-C", m.mc], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 71)
        self.assertIn("RunAsUser: no user no-such-user-x", r.stderr)
