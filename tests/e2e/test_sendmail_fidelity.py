"""Sendmail fidelity at the byte level (issue 21).

- A qf Debian's sendmail 8.17.1.9 wrote (tests/data/sendmail-8.17/, field
  data: see its README) is run by mtad: conditional headers resolved for the
  SMTP mailer (no Return-Path, no raw \\201 octet), DSN parameters passed on
  to a next hop that offers DSN.
- DSN (RFC 3461) end to end: EHLO offers DSN, RET/ENVID/NOTIFY/ORCPT are
  checked and stored as sendmail stores them (Z, F d/n, R N/S/F/D, Q),
  NOTIFY=NEVER gets no bounce, NOTIFY=SUCCESS a return receipt ("relayed"
  through a next hop without DSN), RET=FULL returns the body,
  Original-Envelope-Id / Original-Recipient in the report.
- Log lines in sendmail's words (unknown user at RCPT, the nrcpts=0 line
  under the same queue ID, bodytype=), read by Debian's logwatch sendmail
  service: every event lands in its section and nothing is unmatched.
- With root and the real sendmail 8.17 unpacked (scripts/sendmail-unpack.sh):
  a qf mtad wrote is delivered by sendmail, and a qf sendmail wrote by mtad,
  both to the same sink, and what the sink got is compared byte for byte.
"""
import os
import re
import shutil
import socket
import socketserver
import subprocess
import threading
import unittest

from harness import MtadTestCase, wait_for, binpath, send_message

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(TOP, "tests", "data", "sendmail-8.17")
QUEUE_ONLY = "define(`confDELIVERY_MODE', `q')dnl\n"
LOGWATCH = "/usr/share/logwatch/scripts/services/sendmail"
LOGWATCH_SHARED = "/usr/share/logwatch/scripts/shared"
LOGWATCH_CONF = "/usr/share/logwatch/default.conf/services/sendmail.conf"


class Sink:
    """An SMTP server on loopback that records every transaction exactly:
    the MAIL and RCPT lines as sent and the DATA octets as on the wire.
    dsn: whether EHLO offers DSN; refuse: local parts answered 550."""

    def __init__(self, dsn=True, refuse=()):
        self.dsn = dsn
        self.refuse = set(refuse)
        self.transactions = []
        self.sessions = []	# per connection: every octet the client sent, line by line
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                sink.session(self.rfile, self.wfile)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def session(self, rfile, wfile):
        def say(text):
            wfile.write(text.encode() + b"\r\n")
            wfile.flush()
        say("220 sink.example ESMTP")
        cur = None
        sent = []
        with self.lock:
            self.sessions.append(sent)
        while True:
            line = rfile.readline()
            sent.append(line)
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode("latin-1")
            verb = cmd[:4].upper()
            if verb == "EHLO":
                ext = ["sink.example", "PIPELINING", "8BITMIME", "SIZE"] + (["DSN"] if self.dsn else []) + ["HELP"]
                for i, e in enumerate(ext):
                    say("250%s%s" % ("-" if i < len(ext) - 1 else " ", e))
            elif verb == "HELO":
                say("250 sink.example")
            elif verb == "MAIL":
                cur = {"mail": cmd, "rcpts": [], "refused": [], "data": None}
                say("250 2.1.0 ok")
            elif verb == "RCPT":
                m = re.match(r"RCPT TO:<([^@>]*)", cmd, re.I)
                if m and m.group(1) in self.refuse:
                    cur["refused"].append(cmd)
                    say("550 5.1.1 <%s>... User unknown" % m.group(1))
                else:
                    cur["rcpts"].append(cmd)
                    say("250 2.1.5 ok")
            elif verb == "DATA":
                if cur is None or not cur["rcpts"]:
                    say("503 5.5.1 no valid recipients")
                    continue
                say("354 go ahead")
                data = b""
                while not data.endswith(b"\r\n.\r\n") and data != b".\r\n":
                    chunk = rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                sent.append(data)
                cur["data"] = data
                with self.lock:
                    self.transactions.append(cur)
                cur = None
                say("250 2.0.0 queued")
            elif verb == "QUIT":
                say("221 2.0.0 bye")
                return
            else:
                say("250 2.0.0 ok")

    def wait(self, n, timeout=20):
        wait_for(lambda: len(self.transactions) >= n, timeout, "%d transaction(s) at the sink" % n)
        return self.transactions


def smtp_session(m, commands):
    """Runs commands (str, or bytes for DATA content) and returns the replies."""
    c = m.connect()
    c.reply()
    out = []
    for cmd in commands:
        if isinstance(cmd, bytes):
            c.send(cmd)
            out.append(c.reply())
        else:
            out.append(c.cmd(cmd))
    return out


def qf_text(m, qid):
    with open(os.path.join(m.queue, "qf" + qid), "rb") as f:
        return f.read()


class SendmailQfRunByMtad(MtadTestCase):
    """mtad delivers a queue file the real sendmail 8.17 wrote."""

    def test_conditional_headers_and_dsn_passed_on(self):
        sink = Sink(dsn=True)
        self.addCleanup(sink.stop)
        m = self.new_mtad(mc_extra=QUEUE_ONLY + "define(`SMART_HOST', `relay:[127.0.0.1]:%d')dnl\n" % sink.port,
                          start=False)
        qid = "6B4590RK010481"
        shutil.copy(os.path.join(DATA, "qf-smtp-dsn"), os.path.join(m.queue, "qf" + qid))
        shutil.copy(os.path.join(DATA, "df-smtp-dsn"), os.path.join(m.queue, "df" + qid))
        r = m.run("-q", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        t = sink.wait(1)[0]
        # sendmail's words and order: "MAIL From:", its SIZE count (df plus
        # the H records less "H??"), RCPTs backwards from the qf order
        self.assertEqual(t["mail"], "MAIL From:<carol@remote.example> SIZE=%d BODY=8BITMIME "
                                    "ENVID=abc+2Bdef RET=HDRS" % (7 + 300))
        self.assertEqual(t["rcpts"], [
            "RCPT To:<dave@far.example> NOTIFY=NEVER",
            "RCPT To:<bob@far.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Far.example",
            "RCPT To:<nosuchuser@mx.example.org>",
        ])
        data = t["data"]
        self.assertNotIn(b"\x81", data)
        self.assertNotIn(b"Return-Path:", data)	# H?P?: the local mailer's only
        self.assertTrue(data.startswith(b"Received: from client.example (localhost [127.0.0.1])\r\n"
                                        b"\tby mx.example.org (8.17.1.9/8.17.1.9) with ESMTP id 6B4590RK010481;\r\n"),
                        data[:200])
        self.assertIn(b"\r\nDate: Fri, 4 Dec 2026 05:09:00 GMT\r\n"
                      b"Message-Id: <202612040509.6B4590RK010481@mx.example.org>\r\n"
                      b"Subject: dsn\r\nFrom: carol@remote.example\r\n\r\nbody \xe9\r\n.\r\n", data)
        # NOTIFY=SUCCESS went on with the message: the next hop reports, not us
        self.assertEqual(m.queue_files(), [])
        self.assertEqual(len(m.log_lines("DSN:")), 0, m.log())

    def test_local_mailer_gets_return_path_from_the_qf(self):
        m = self.new_mtad(mc_extra=QUEUE_ONLY, start=False)
        qid = "6B4590RK010482"
        with open(os.path.join(DATA, "qf-smtp-dsn"), "rb") as f:
            text = f.read()
        # the same file, addressed to a local user of this mtad
        text = re.sub(rb"(?m)^[QrR][^\n]*\n", b"", text)
        text = text.replace(b"H?P?", b"RPFD:<alice@mx.test.example>\nH?P?", 1)
        with open(os.path.join(m.queue, "qf" + qid), "wb") as f:
            f.write(text)
        shutil.copy(os.path.join(DATA, "df-smtp-dsn"), os.path.join(m.queue, "df" + qid))
        r = m.run("-q", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        box = m.mbox("alice")
        self.assertIn(b"\nReturn-Path: <carol@remote.example>\nReceived: from client.example", box)
        self.assertEqual(box.count(b"Return-Path:"), 1)
        self.assertNotIn(b"\x81", box)


class Dsn(MtadTestCase):
    """RFC 3461 through mtad: offered, checked, stored, passed on, honoured."""

    def test_parameters_checked_and_stored_as_sendmail_does(self):
        m = self.new_mtad(mc_extra=QUEUE_ONLY)
        r = smtp_session(m, [
            "EHLO client.example",
            "MAIL FROM:<s@example.org> RET=HDRS ENVID=abc+2Bdef BODY=8BITMIME",
            "RCPT TO:<bob@far.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Far.example",
            "RCPT TO:<dave@far.example> NOTIFY=NEVER",
            "RCPT TO:<x@far.example> NOTIFY=NEVER,SUCCESS",
            "RCPT TO:<x@far.example> ORCPT=Bob@Far.example",
            "RCPT TO:<x@far.example> FOO=1",
            "DATA",
            b"Subject: dsn\r\n\r\ncaf\xc3\xa9\r\n.\r\n",
            "MAIL FROM:<s@example.org> RET=BODY",
            "MAIL FROM:<s@example.org> ENVID=a+zz",
            "MAIL FROM:<s@example.org> RET=FULL RET=HDRS",
            "QUIT",
        ])
        self.assertIn("250-DSN", r[0][1])
        self.assertEqual([x[0] for x in r[1:]], [250, 250, 250, 501, 501, 555, 354, 250, 501, 501, 501, 221])
        self.assertIn('Bad argument "NEVER,SUCCESS"  to NOTIFY', r[4][1][0])
        self.assertIn("Syntax error in ORCPT parameter value", r[5][1][0])
        self.assertIn('Bad argument "BODY" to RET', r[9][1][0])
        self.assertIn("Syntax error in ENVID parameter value", r[10][1][0])
        self.assertIn("Duplicate RET parameter", r[11][1][0])
        qid = r[8][1][0].split()[2]
        text = qf_text(m, qid)
        self.assertIn(b"\nB8BITMIME\n", text)
        self.assertIn(b"\nF8dn\n", text)
        self.assertIn(b"\nZabc+2Bdef\n", text)
        self.assertIn(b"\nQrfc822;Bob@Far.example\nRPNSF:<bob@far.example>\nRPN:<dave@far.example>\n", text)
        line = m.wait_log(qid + r": from=<s@example\.org>, size=\d+, class=0, nrcpts=2, msgid=<[^>]+>, "
                                r"bodytype=8BITMIME, proto=ESMTP, daemon=MTA, relay=")
        self.assertTrue(line)

    def test_never_success_full_and_report_fields(self):
        sink = Sink(dsn=False, refuse=("refuse1", "refuse2"))
        self.addCleanup(sink.stop)
        m = self.new_mtad(mc_extra="define(`SMART_HOST', `relay:[127.0.0.1]:%d')dnl\n" % sink.port)
        r = smtp_session(m, [
            "EHLO client.example",
            "MAIL FROM:<s@example.org> RET=FULL ENVID=env+2B1",
            "RCPT TO:<refuse1@far.example> NOTIFY=NEVER",
            "RCPT TO:<refuse2@far.example> ORCPT=rfc822;Refuse2@Far.example",
            "RCPT TO:<ok@far.example> NOTIFY=SUCCESS ORCPT=rfc822;OK@far.example",
            "DATA",
            b"Subject: three\r\n\r\nthe body line\r\n.\r\n",
            "QUIT",
        ])
        self.assertEqual(r[6][0], 250)
        ts = sink.wait(3)
        first = ts[0]
        self.assertEqual(first["rcpts"], ["RCPT To:<ok@far.example>"])	# no DSN offered: nothing passed on
        self.assertEqual(len(first["refused"]), 2)
        dsns = {}
        for t in ts[1:]:
            self.assertRegex(t["mail"], r"^MAIL From:<> ")
            self.assertEqual(t["rcpts"], ["RCPT To:<s@example.org>"])
            subj = re.search(rb"\r\nSubject: ([^\r]*)", t["data"]).group(1)
            dsns[subj] = t["data"]
        self.assertEqual(sorted(dsns), [b"Return receipt", b"Returned mail: see transcript for details"])
        bounce = dsns[b"Returned mail: see transcript for details"]
        self.assertIn(b"<refuse2@far.example>", bounce)
        self.assertNotIn(b"refuse1", bounce)		# NOTIFY=NEVER
        self.assertIn(b"Original-Envelope-Id: env+2B1\r\nReporting-MTA: dns; mx.test.example\r\n", bounce)
        self.assertIn(b"\r\nOriginal-Recipient: rfc822;Refuse2@Far.example\r\n"
                      b"Final-Recipient: RFC822; refuse2@far.example\r\nAction: failed\r\n", bounce)
        self.assertIn(b"Content-Type: message/rfc822\r\n", bounce)		# RET=FULL
        self.assertRegex(bounce, rb"Content-Type: message/rfc822\r\n\r\nReceived: (?:.*\r\n)*Subject: three\r\n"
                                 rb"(?:.*\r\n)*\r\nthe body line\r\n")
        receipt = dsns[b"Return receipt"]
        self.assertIn(b"Original-Recipient: rfc822;OK@far.example\r\nFinal-Recipient: RFC822; ok@far.example\r\n"
                      b"Action: relayed\r\nStatus: 2.0.0\r\n", receipt)
        self.assertNotIn(b"refuse", receipt)


class LogLines(MtadTestCase):
    """sendmail's log lines for refused recipients, read by logwatch."""

    def unknown_user_session(self, m):
        return smtp_session(m, [
            "EHLO client.example",
            "MAIL FROM:<spam@example.org>",
            "RCPT TO:<nosuch@mx.test.example>",
            "RCPT TO:<nosuch2@mx.test.example>",
            "RSET",
            "MAIL FROM:<s@example.org> BODY=8BITMIME",
            "RCPT TO:<alice@mx.test.example>",
            "DATA",
            b"Subject: ok\r\n\r\n\xe9t\xe9\r\n.\r\n",
            "QUIT",
        ])

    def test_unknown_user_and_nrcpts_0_under_one_id(self):
        m = self.new_mtad()
        r = self.unknown_user_session(m)
        self.assertEqual(r[2][0], 550)
        lines = m.wait_log(r": <nosuch@mx\.test\.example>\.\.\. User unknown$")
        qid = re.search(r" (\w+): <nosuch@", lines).group(1)
        self.assertTrue(m.log_lines("%s: <nosuch2@mx.test.example>... User unknown" % qid))
        self.assertTrue(m.wait_log(r" %s: from=<spam@example\.org>, size=0, class=0, nrcpts=0, proto=ESMTP, "
                                   r"daemon=MTA, relay=localhost \[127\.0\.0\.1\]$" % qid))
        good = r[8][1][0].split()[2]
        self.assertNotEqual(good, qid)		# each transaction its own ID
        m.wait_log(good + r": from=<s@example\.org>, .*bodytype=8BITMIME")
        self.assertEqual(len(m.log_lines("nrcpts=0")), 1)

    @unittest.skipUnless(os.path.exists(LOGWATCH), "logwatch is not installed")
    def test_logwatch_reads_every_event(self):
        m = self.new_mtad(tag="sm-mta", mc_extra="define(`confTO_COMMAND', `1s')dnl\n")
        self.unknown_user_session(m)
        # an outsider trying to relay (check_rcpt), then one that times out
        c = m.connect(source="127.0.0.2")
        c.reply()
        c.cmd("EHLO outside.example")
        c.cmd("MAIL FROM:<a@example.org>")
        self.assertEqual(c.cmd("RCPT TO:<victim@elsewhere.example>")[0], 550)
        c.cmd("QUIT")
        c = m.connect(timeout=15)
        c.reply()
        c.cmd("EHLO client.example")
        self.assertEqual(c.reply()[0], 421)
        m.wait_log(r"timeout waiting for input from localhost \[127\.0\.0\.1\] during server cmd read")
        # a client that says nothing, one that leaves after RCPT
        c = m.connect()
        c.reply()
        c.close()
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<alice@mx.test.example>")
        c.close()
        m.wait_log(r"did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA")
        m.wait_log(r"lost input channel from localhost \[127\.0\.0\.1\] to MTA after rcpt")
        m.wait_log(r"to=<alice@mx\.test\.example>, .*stat=Sent")
        m.stop()
        out = run_logwatch(m.log())
        self.assertNotIn("Unmatched", out, out)
        self.assertRegex(out, r"Sendmail was started 1 time")
        self.assertRegex(out, r"Messages To Recipients:\s+1\n")
        self.assertRegex(out, r"Messages No Valid Rcpts:\s+2\n")
        section = out[out.index("Unknown local users"):]
        self.assertRegex(section, r"^Unknown local users: \[Occurrences >= 1\]\n"
                                  r"\s+<nosuch2@mx\.test\.example>\s+1 Time\n"
                                  r"\s+<nosuch@mx\.test\.example>\s+1 Time\n\tTotal:  2\n")
        self.assertRegex(out, r"Lost input channel: \[Occurrences >= 1\]\n\s+localhost\s+\[127\.0\.0\.1\]\s+1 Time")
        self.assertRegex(out, r"Client quit before communicating: \[Occurrences >= 1\]\n\s+localhost\s+"
                              r"\[127\.0\.0\.1\]\s+1 Time")
        self.assertRegex(out, r"alice@mx\.test\.example\s+1 Time")
        self.assertRegex(out, r"Relaying denied: \[Occurrences >= 1\]\n(?:.*\n)*?\s+.*victim@elsewhere\.example")
        self.assertRegex(out, r"Timeouts:  \[Occurrences >= 1\]\n\s+from localhost\s+1 Time")
        self.assertRegex(out, r"Summary of SMTP Session, Message, and Recipient Errors handled by Sendmail:\n"
                              r"\tTotal:  6\n")


class DefaultTag(MtadTestCase):
    """Without -L the tag is one Debian's analyzers read: sendmail for a
    submission, sm-mta for the daemon (as Debian's sendmail logs)."""

    def test_submission_and_daemon_tags(self):
        m = self.new_mtad(mc_extra=QUEUE_ONLY, start=False)
        r = subprocess.run([binpath("mtad"), "-C", m.mc, "-i", "alice"], input=b"Subject: t\n\n\xe9\n",
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        line = m.wait_log(r" sendmail\[\d+\]: \w+: from=")
        qid = re.search(r": (\w+): from=", line).group(1)
        text = qf_text(m, qid)
        self.assertIn(b"\nF8b\n", text)		# 8-bit body, Bcc: deleted
        self.assertIn(b"\n${daemon_flags}c u\n", text)
        uid, gid = os.getuid(), os.getgid()
        import pwd
        user = pwd.getpwuid(uid).pw_name
        want = b":%s\n" % user.encode() if uid == 0 else b"%s:%d:%d:%s\n" % (user.encode(), uid, gid, user.encode())
        self.assertIn(b"\nC" + want + b"RPFD:alice\n", text)
        p = subprocess.Popen([binpath("mtad"), "-bD", "-C", m.mc], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            m.wait_log(r" sm-mta\[\d+\]: starting daemon")
        finally:
            p.terminate()
            p.wait(timeout=10)


@unittest.skipUnless(os.geteuid() == 0 and not os.path.exists("/dev/log"),
                     "needs root and no syslog daemon (the test binds /dev/log itself)")
class SyslogSocket(MtadTestCase):
    """With a syslog socket the log lines reach it as sendmail's do
    (facility mail, level info, "tag[pid]: "), the same text as LogFile;
    mtad skips syslog only while /dev/log is absent (lib/maillog.c).  The
    socket is this test's own, bound at /dev/log and removed after."""

    def test_lines_reach_syslog_as_in_the_log_file(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind("/dev/log")
        self.addCleanup(os.unlink, "/dev/log")
        self.addCleanup(s.close)
        os.chmod("/dev/log", 0o666)       # the SMTP server may run as RunAsUser
        s.settimeout(10)
        m = self.new_mtad()
        qid = send_message(m, ["alice@mx.test.example"], "Subject: s\r\n\r\nx\r\n.\r\n", "s@example.org")
        in_file = m.wait_log(re.escape(qid) + r": from=<s@example\.org>")
        got = []
        while not any(qid + ": from=" in g for g in got):
            got.append(s.recv(8192).decode(errors="replace"))
        line = next(g for g in got if qid + ": from=" in g)
        # <22>: facility mail (2) * 8 + level info (6)
        self.assertRegex(line, r"^<22>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d %s\[\d+\]: %s: from="
                         % (re.escape(m.tag), qid))
        self.assertEqual(line.split("]: ", 1)[1].rstrip("\n"), in_file.split("]: ", 1)[1])


class SubmissionDsn(MtadTestCase):
    """sendmail's -N, -R, -V, -B for a command-line submission."""

    def test_flags_into_the_qf_and_refused_when_bad(self):
        m = self.new_mtad(mc_extra=QUEUE_ONLY, start=False)
        r = m.run("-N", "success,delay", "-R", "hdrs", "-V", "sub+2B1", "-B8BITMIME", "-i", "bob@far.example",
                  input=b"Subject: s\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        line = m.wait_log(r": from=\w+, size=\d+, class=0, nrcpts=1, msgid=<[^>]+>, bodytype=8BITMIME, relay=")
        qid = re.search(r": (\w+): from=", line).group(1)
        text = qf_text(m, qid)
        self.assertIn(b"\nB8BITMIME\n", text)
        self.assertIn(b"\nFbdn\n", text)
        self.assertIn(b"\nZsub+2B1\n", text)
        self.assertRegex(text, rb"\nRPNSD:bob@far\.example\n")
        for args, flag in ((["-N", "never,success"], "-N"), (["-R", "body"], "-R"), (["-V", "a b"], "-V"),
                           (["-B", "binarymime"], "-B")):
            r = m.run(*(args + ["bob@far.example"]), input=b"Subject: s\n\nbody\n")
            self.assertEqual(r.returncode, 64, args)
            self.assertIn(b"mtad: %s " % flag.encode(), r.stderr)
        self.assertEqual(len(m.queue_files()), 1)
        self.assertEqual(m.queue_files("df"), ["df" + qid])


def sendmail_dir():
    """The unpacked Debian sendmail 8.17, or None."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("m4"):
        return None
    r = subprocess.run([os.path.join(TOP, "scripts", "sendmail-unpack.sh")], capture_output=True, text=True)
    d = r.stdout.strip()
    return os.path.join(d, "x") if d and os.path.isdir(d) else None


SENDMAIL_MC = """divert(-1)
divert(0)dnl
include(`%(sm)s/usr/share/sendmail/cf/m4/cf.m4')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `mx.example.org')dnl
define(`QUEUE_DIR', `%(queue)s')dnl
define(`ALIAS_FILE', `%(tmp)s/aliases')dnl
define(`STATUS_FILE', `%(tmp)s/statistics')dnl
define(`confPID_FILE', `%(tmp)s/sendmail.pid')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confDONT_BLAME_SENDMAIL', `GroupWritableDirPathSafe,NonRootSafeAddr')dnl
define(`SMART_HOST', `[127.0.0.1]')dnl
define(`RELAY_MAILER_ARGS', `TCP $h %(port)d')dnl
define(`ESMTP_MAILER_ARGS', `TCP $h %(port)d')dnl
FEATURE(`accept_unresolvable_domains')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
"""


class RealSendmail(MtadTestCase):
    """Round trips with Debian's sendmail 8.17, unpacked, run as root in a
    private UTS namespace named mx.example.org (a dotless name makes it
    sleep a minute); mtad gets the same name.  Both deliver the same queue
    file to one sink through a smart host; the sink sees the same octets."""

    HOST = "mx.example.org"

    def setUp(self):
        super().setUp()
        self.sm = sendmail_dir()
        if self.sm is None:
            self.skipTest("needs root, unshare, m4 and scripts/sendmail-unpack.sh")
        self.sink = Sink(dsn=True)
        self.addCleanup(self.sink.stop)
        self.smq = os.path.join(self.tmp, "sendmail-mqueue")
        os.makedirs(self.smq, mode=0o700)
        open(os.path.join(self.tmp, "aliases"), "w").close()
        mc = os.path.join(self.tmp, "sendmail.mc")
        with open(mc, "w") as f:
            f.write(SENDMAIL_MC % {"sm": self.sm, "queue": self.smq, "tmp": self.tmp, "port": self.sink.port})
        self.cf = os.path.join(self.tmp, "sendmail.cf")
        with open(self.cf, "w") as out:
            subprocess.run(["m4", "-D_CF_DIR_=%s/usr/share/sendmail/cf/" % self.sm, mc], stdout=out, check=True)
        self.m = self.new_mtad(hostname=self.HOST, mc_extra=QUEUE_ONLY +
                               "define(`SMART_HOST', `relay:[127.0.0.1]:%d')dnl\n" % self.sink.port)

    def sendmail(self, *args, input=None):
        argv = ["unshare", "-mu", "sh", "-c", 'hostname %s && exec "$0" "$@"' % self.HOST,
                os.path.join(self.sm, "usr/libexec/sendmail/sendmail"), "-C" + self.cf] + list(args)
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def sendmail_bs(self, commands):
        """An SMTP session with sendmail -bs -odq, one command at a time."""
        p = self.sendmail("-bs", "-odq")
        def reply():
            lines = []
            while True:
                line = p.stdout.readline()
                lines.append(line)
                if not line or line[3:4] != b"-":
                    return lines
        replies = [reply()]
        for c in commands:
            p.stdin.write(c)
            p.stdin.flush()
            replies.append(reply())
        p.stdin.close()
        p.wait(timeout=60)
        return replies

    def deliver_both(self, qid, src):
        """Copies qf/df of qid from src into both queues, runs both; returns
        the two sessions the sink saw (sendmail's first)."""
        for t in "qd":
            for q in (self.smq, self.m.queue):
                if os.path.abspath(src) != os.path.abspath(q):
                    shutil.copy(os.path.join(src, t + "f" + qid), q)
        p = self.sendmail("-q")
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        self.sink.wait(1)
        r = self.m.run("-q", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.sink.wait(2)
        self.assertEqual(len(self.sink.sessions), 2)
        self.assertEqual(self.sink.sessions[0][0], b"EHLO %s\r\n" % self.HOST.encode())
        self.assertEqual(os.listdir(self.smq), [])
        self.assertEqual(self.m.queue_files(), [])
        return self.sink.sessions[0], self.sink.sessions[1]

    # octets sendmail quotes in a qf (UTF-8 with 0x81, 0xff, what looks
    # like a macro) must come out as they went in, both ways
    BODY = (b"From: Sender <s@example.org>\r\nTo: bob@far.example, carol@far.example\r\n"
            b"Subject: round trip \xd0\x81\xd0\xb6 \xff\x81j\r\nX-Macro: \x81{daemon_name}\r\n"
            b"\r\nline \xe9\r\n..dot\r\n.\r\n")

    def test_qf_mtad_wrote_run_by_sendmail_and_mtad(self):
        r = smtp_session(self.m, [
            "EHLO client.example",
            "MAIL FROM:<s@example.org> RET=HDRS ENVID=e1 BODY=8BITMIME",
            "RCPT TO:<bob@far.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Bob@far.example",
            "RCPT TO:<carol@far.example>",
            "DATA", self.BODY, "QUIT"])
        qid = r[5][1][0].split()[2]
        self.m.stop()
        with open(os.path.join(self.m.queue, "qf" + qid), "rb") as f:
            self.assertIn(b"\nZe1\nQrfc822;Bob@far.example\nRPNSD:<bob@far.example>\nRPFD:<carol@far.example>\n",
                          f.read())
        sm, mt = self.deliver_both(qid, self.m.queue)
        self.assertEqual(sm, mt)
        self.assertIn(b"Subject: round trip \xd0\x81\xd0\xb6 \xff\x81j\r\nX-Macro: \x81{daemon_name}\r\n",
                      sm[sm.index(b"DATA\r\n") + 1])
        self.assertIn(b"MAIL From:<s@example.org> SIZE=", b"".join(sm))
        self.assertIn(b"RCPT To:<bob@far.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Bob@far.example\r\n", sm)

    def test_qf_sendmail_wrote_run_by_sendmail_and_mtad(self):
        replies = self.sendmail_bs([
            b"EHLO client.example\r\n",
            b"MAIL FROM:<s@example.org> RET=FULL ENVID=e2 BODY=8BITMIME\r\n",
            b"RCPT TO:<bob@far.example> NOTIFY=FAILURE ORCPT=rfc822;Bob@far.example\r\n",
            b"RCPT TO:<carol@far.example>\r\n",
            b"DATA\r\n", self.BODY, b"QUIT\r\n"])
        self.assertTrue(replies[6][0].startswith(b"250 2.0.0 "), replies)
        qid = replies[6][0].split()[2].decode()
        with open(os.path.join(self.smq, "qf" + qid), "rb") as f:
            qf = f.read()
        self.assertIn(b"\nH?P?Return-Path: <\x81g>\n", qf)
        self.assertIn(b"\nH??Subject: round trip \xd0\xff\x81\xd0\xb6 \xff\xff\xff\x81j\n", qf)
        keep = os.path.join(self.tmp, "keep")
        os.makedirs(keep)
        for t in "qd":
            shutil.move(os.path.join(self.smq, t + "f" + qid), keep)
        sm, mt = self.deliver_both(qid, keep)
        self.assertEqual(sm, mt)
        self.assertNotIn(b"Return-Path", b"".join(sm))
        self.assertIn(b"Subject: round trip \xd0\x81\xd0\xb6 \xff\x81j\r\nX-Macro: \x81{daemon_name}\r\n",
                      sm[sm.index(b"DATA\r\n") + 1])

    def test_failure_returned_by_both(self):
        """A recipient mtad queued without NOTIFY is RPFD (sendmail's
        default): sendmail running mtad's qf returns a failure, as mtad does
        (with RP alone, sendmail 8.17 drops the bounce)."""
        self.sink.refuse.add("refuse")
        r = smtp_session(self.m, ["EHLO client.example", "MAIL FROM:<s@example.org>",
                                  "RCPT TO:<refuse@far.example>", "DATA", b"Subject: no\r\n\r\nx\r\n.\r\n",
                                  "QUIT"])
        qid = r[4][1][0].split()[2]
        self.m.stop()
        with open(os.path.join(self.m.queue, "qf" + qid), "rb") as f:
            self.assertIn(b"\nRPFD:<refuse@far.example>\n", f.read())
        for t in "qd":
            shutil.copy(os.path.join(self.m.queue, t + "f" + qid), self.smq)
        p = self.sendmail("-q")
        p.communicate(timeout=120)
        self.sink.wait(1)
        self.assertRegex(self.sink.transactions[0]["mail"], r"^MAIL From:<> ")
        self.assertEqual(self.sink.transactions[0]["rcpts"], ["RCPT To:<s@example.org>"])
        r = self.m.run("-q", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.sink.wait(2)
        self.assertRegex(self.sink.transactions[1]["mail"], r"^MAIL From:<> ")
        self.assertEqual(self.sink.transactions[1]["rcpts"], ["RCPT To:<s@example.org>"])


def run_logwatch(log):
    """Debian's logwatch sendmail service as logwatch runs it: the shared
    filters of sendmail.conf (MultiService sendmail,sm-mta; RemoveHeaders),
    its $variables in the environment, detail High."""
    env = dict(os.environ, LOGWATCH_DETAIL_LEVEL="10", LOGWATCH_DEBUG="0",
               PERL5LIB="/usr/share/logwatch/lib")
    with open(LOGWATCH_CONF) as f:
        for line in f:
            m = re.match(r'^\$(\w+)\s*=\s*"?(.*?)"?\s*$', line)
            if m:
                env[m.group(1).lower()] = m.group(2)
    text = log
    for script, arg in (("multiservice", "sendmail,sm-mta"), ("removeheaders", "")):
        text = subprocess.run(["perl", os.path.join(LOGWATCH_SHARED, script), arg], input=text,
                              capture_output=True, text=True, env=env, check=True).stdout
    return subprocess.run(["perl", LOGWATCH], input=text, capture_output=True, text=True, env=env,
                          check=True).stdout


if __name__ == "__main__":
    unittest.main()
