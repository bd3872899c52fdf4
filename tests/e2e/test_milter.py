"""Mail filters (milter) with Debian's real filters.

Filters used (field data, not fakes):
  - tests/e2e/milter_actions.py: a libmilter filter on Debian's python3-milter
    (Milter module over libmilter), run with /usr/bin/python3; it does every
    action of the protocol on request and records what it was sent.
  - tests/e2e/milter_nr.c: a filter in C on Debian's libmilter-dev, built
    here, that asks for no replies (SMFIP_NR_*), skips steps and sets its
    own macro list (smfi_setsymlist): what the Python filter cannot ask for.
  - opendkim (Debian package opendkim, key from opendkim-genkey of
    opendkim-tools): signs; the delivered message is verified with Debian's
    python3-dkim (dkim.verify), the key's TXT record taken from the .txt file
    opendkim-genkey wrote.
  - spamass-milter with spamd (Debian packages spamass-milter and
    spamassassin; spamd with local tests only, -L): GTUBE is refused with
    spamass-milter's reply, a clean message gets SpamAssassin's headers.
A filter that speaks garbage is the one self-made peer: a socket that answers
the option negotiation with junk (no real filter does that on purpose).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import MtadTestCase, binpath, wait_for

PY = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
ACTIONS = os.path.join(HERE, "milter_actions.py")


def have_pymilter():
    return subprocess.run([PY, "-c", "import Milter"], capture_output=True).returncode == 0


class Filter:
    """milter_actions.py on a unix socket, with its record file."""

    def __init__(self, workdir, name="act"):
        self.sock = os.path.join(workdir, name + ".sock")
        self.record = os.path.join(workdir, name + ".jsonl")
        self.proc = None

    def start(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.proc = subprocess.Popen([PY, ACTIONS, "unix:" + self.sock, self.record],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.sock), 10, "the filter's socket")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def records(self, cb=None):
        try:
            with open(self.record) as f:
                recs = [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []
        return [r for r in recs if cb is None or r["cb"] == cb]


@unittest.skipUnless(have_pymilter(), "python3-milter (Debian) is not installed")
class MilterTestCase(MtadTestCase):
    def filter(self, name="act"):
        f = Filter(self.tmp, name).start()
        self.addCleanup(f.stop)
        return f

    def mtad_with(self, f, flags="T", timeouts="", start=True, **kw):
        eq = "S=unix:%s" % f.sock
        if flags:
            eq += ", F=%s" % flags
        if timeouts:
            eq += ", T=%s" % timeouts
        extra = kw.pop("mc_extra", "")
        return self.new_mtad(start=start, mc_extra="INPUT_MAIL_FILTER(`%s', `%s')dnl\n%s" % (
            os.path.basename(f.sock)[:-5], eq, extra), **kw)

    def send(self, m, body_headers, rcpts=("alice@mx.test.example",), sender="sender@example.org",
             body="body line\r\n", helo="client.example"):
        """One transaction; returns the replies to MAIL, the RCPTs and the final dot."""
        c = m.connect()
        greeting = c.reply()
        self.assertIn(greeting[0], (220, 554))
        c.cmd("EHLO " + helo)
        out = {"greeting": greeting, "mail": c.cmd("MAIL FROM:<%s>" % sender), "rcpt": []}
        for r in rcpts:
            out["rcpt"].append(c.cmd("RCPT TO:<%s>" % r))
        if out["mail"][0] == 250 and any(r[0] == 250 for r in out["rcpt"]):
            code, _ = c.cmd("DATA")
            self.assertEqual(code, 354)
            msg = "".join("%s\r\n" % h for h in body_headers) + "\r\n" + body
            c.send(msg.encode() + b".\r\n")
            out["dot"] = c.reply()
        c.cmd("QUIT")
        c.close()
        return out

    def wait_delivered(self, m, *users, n=1, timeout=15):
        """Waits for the to= ... stat=Sent lines, written once the mailbox
        append is complete (the mailbox alone may be caught half written)."""
        def done():
            sent = m.log_lines("stat=Sent")
            return all(sum("to=<%s@" % u in l for l in sent) >= n for u in users)
        wait_for(done, timeout, "delivery to %s" % ", ".join(users))

    def qid_of(self, reply):
        m = re.search(r"2\.0\.0 (\S+) Message accepted", "\n".join(reply[1]))
        self.assertTrue(m, reply)
        return m.group(1)


class Configuration(MilterTestCase):
    def test_bC_lists_filters_and_refuses_bad_definitions(self):
        f = Filter(self.tmp)
        m = self.mtad_with(f, flags="R", timeouts="C:10s;S:5s;R:20s;E:2m", start=False,
                           mc_extra="define(`confMILTER_MACROS_CONNECT', `j, {client_addr}')dnl\n")
        r = m.run("-bC")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("mail filter act: S=unix:%s, F=R, T=C:10s;S:5s;R:20s;E:2m" % f.sock, r.stdout)
        self.assertIn("InputMailFilters: act", r.stdout)
        self.assertIn("Milter.macros.connect: j, {client_addr}", r.stdout)
        self.assertIn("Milter.macros.envrcpt: {rcpt_mailer}, {rcpt_host}, {rcpt_addr}", r.stdout)
        for bad, why in (("S=tcp:99@x", "unknown socket type"), ("S=inet:notaport@x", "port"),
                         ("S=unix:/x, F=Q", "unknown flag"), ("S=unix:/x, T=C=5", "letter:duration"),
                         ("F=T", "no S=")):
            with open(m.mc, "a") as fh:
                pass
            text = open(m.mc).read()
            bad_mc = os.path.join(self.tmp, "bad.mc")
            with open(bad_mc, "w") as fh:
                fh.write(text + "INPUT_MAIL_FILTER(`bad', `%s')dnl\n" % bad)
            r = subprocess.run([binpath("mtad"), "-C", bad_mc, "-bC"], capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0, bad)
            self.assertRegex(r.stderr, r"bad\.mc:\d+: INPUT_MAIL_FILTER\(`bad'\): .*" + why, bad)
        # a name in confINPUT_MAIL_FILTERS without a definition
        with open(bad_mc, "w") as fh:
            fh.write(text + "define(`confINPUT_MAIL_FILTERS', `act, nosuch')dnl\n")
        r = subprocess.run([binpath("mtad"), "-C", bad_mc, "-bC"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("filter nosuch has no definition", r.stderr)

    def test_mail_filter_defines_without_using(self):
        f = Filter(self.tmp)
        m = self.new_mtad(start=False, mc_extra="MAIL_FILTER(`x', `S=inet:8891@127.0.0.1')dnl\n")
        r = m.run("-bC")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("(defined, not in InputMailFilters)", r.stdout)
        self.assertIn("InputMailFilters: (none)", r.stdout)
        del f


class Steps(MilterTestCase):
    def test_every_step_with_its_macros_and_the_message_as_crlf(self):
        f = self.filter()
        m = self.mtad_with(f)
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        self.assertEqual(c.cmd("MAIL FROM:<sender@example.org> SIZE=200 BODY=8BITMIME")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@mx.test.example>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: steps\r\nX-Two: folded\r\n next line\r\n\r\nline one\r\n..dot line\r\n.\r\n")
        dot = c.reply()
        self.assertEqual(dot[0], 250, dot)
        self.assertEqual(c.cmd("BOGUS command")[0], 500)
        c.cmd("QUIT")
        wait_for(lambda: f.records("unknown"), 10, "the unknown command at the filter")
        conn = f.records("connect")[0]
        self.assertEqual(conn["hostname"], "localhost")
        self.assertIn("127.0.0.1", conn["hostaddr"])
        self.assertEqual(conn["macros"]["j"], "mx.test.example")
        self.assertEqual(conn["macros"]["{daemon_name}"], "MTA")
        self.assertEqual(conn["macros"]["_"], "localhost [127.0.0.1]")
        self.assertEqual(conn["macros"]["{if_addr}"], "127.0.0.1")
        self.assertEqual(f.records("helo")[0]["helo"], "client.example")
        ef = f.records("envfrom")[0]
        self.assertEqual(ef["sender"], "<sender@example.org>")
        self.assertEqual(ef["params"], ["SIZE=200", "BODY=8BITMIME"])
        self.assertEqual(ef["macros"]["{mail_addr}"], "sender@example.org")
        er = f.records("envrcpt")[0]
        self.assertEqual(er["rcpt"], "<alice@mx.test.example>")
        self.assertEqual(er["macros"]["{rcpt_addr}"], "alice@mx.test.example")
        self.assertEqual(er["macros"]["{rcpt_mailer}"], "local")
        self.assertTrue(f.records("data"))
        eom = f.records("eom")[0]
        names = [h[0] for h in eom["headers"]]
        self.assertEqual(names[0], "Received")	# ours, as sendmail sends its own
        self.assertIn(["Subject", "steps"], eom["headers"])
        self.assertIn(["X-Two", "folded\n next line"], eom["headers"])
        self.assertEqual(eom["body"], "line one\r\n.dot line\r\n")
        self.assertEqual(eom["macros"]["i"], self.qid_of(dot))
        self.assertTrue(eom["macros"]["{msg_id}"].startswith("<"))
        self.assertEqual(f.records("unknown")[0]["cmd"], "BOGUS command")

    @unittest.skipUnless(shutil.which("openssl"), "openssl is not installed")
    def test_tls_and_auth_macros(self):
        import smtplib
        from test_tls_auth import make_cert, passwd, no_verify, tls_mc
        f = self.filter()
        cert, key = make_cert(self.tmp)
        db = os.path.join(self.tmp, "authdb")
        passwd(db, "bob", "s3cret pass")
        m = self.mtad_with(f, mc_extra=tls_mc(cert, key, "define(`confAUTH_PASSWD_DB', `hash %s')dnl\n" % db))
        s = smtplib.SMTP("127.0.0.1", m.port)
        s.starttls(context=no_verify())
        s.ehlo("laptop.example")
        s.login("bob", "s3cret pass")
        s.sendmail("bob@mx.test.example", ["alice@mx.test.example"], "Subject: tls\r\n\r\nhello\r\n")
        s.quit()
        helo = [r for r in f.records("helo") if r["helo"] == "laptop.example"][-1]
        self.assertRegex(helo["macros"]["{tls_version}"], r"^TLSv1\.[23]$")
        self.assertTrue(helo["macros"]["{cipher}"])
        self.assertRegex(helo["macros"]["{cipher_bits}"], r"^\d+$")
        ef = f.records("envfrom")[-1]
        self.assertEqual(ef["macros"]["{auth_authen}"], "bob")
        self.assertEqual(ef["macros"]["{auth_type}"], "PLAIN")

    def test_abort_on_rset_and_a_refused_message(self):
        f = self.filter()
        m = self.mtad_with(f)
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<sender@example.org>")
        c.cmd("RCPT TO:<alice@mx.test.example>")
        self.assertEqual(c.cmd("RSET")[0], 250)
        wait_for(lambda: f.records("abort"), 10, "SMFIC_ABORT after RSET")
        c.cmd("MAIL FROM:<sender@example.org>")
        c.cmd("RSET")
        c.cmd("QUIT")
        wait_for(lambda: len(f.records("abort")) == 2, 10, "a second abort")

    def test_bs_mode_runs_the_filters_too(self):
        f = self.filter()
        m = self.mtad_with(f, start=False)
        r = m.run("-bs", input="EHLO local\r\nMAIL FROM:<me@example.org>\r\nRCPT TO:<alice@mx.test.example>\r\n"
                  "DATA\r\nSubject: bs\r\nX-Action: add\r\n\r\nhello\r\n.\r\nQUIT\r\n")
        self.assertIn("250 2.0.0", r.stdout)
        wait_for(lambda: b"X-Milter-Added: yes" in m.mbox("alice"), 10, "delivery with the added header")


class Actions(MilterTestCase):
    def test_header_actions(self):
        f = self.filter()
        m = self.mtad_with(f)
        out = self.send(m, ["Subject: original", "X-Remove-Me: bye", "X-Action: add, insert, change, delete"])
        self.assertEqual(out["dot"][0], 250)
        qid = self.qid_of(out["dot"])
        self.wait_delivered(m, "alice")
        msg = m.mbox("alice").decode()
        head = msg.split("\n\n", 1)[0]
        lines = head.splitlines()
        self.assertEqual(lines[2], "X-Milter-Top: first", head)	# after From_ and Return-Path
        self.assertIn("X-Milter-Added: yes", head)
        self.assertIn("Subject: changed by the filter", head)
        self.assertNotIn("original", head)
        self.assertNotIn("X-Remove-Me", head)
        log = m.log()
        self.assertIn("%s: Milter add: header: X-Milter-Added: yes" % qid, log)
        self.assertIn("%s: Milter insert (0): header: X-Milter-Top: first" % qid, log)
        self.assertIn("%s: Milter change: header: Subject: from original to changed by the filter" % qid, log)
        self.assertIn("%s: Milter delete: header: X-Remove-Me: bye" % qid, log)

    def test_header_value_cannot_start_a_field_or_a_queue_record(self):
        f = self.filter()
        m = self.mtad_with(f, start=False, mc_extra="define(`confDELIVERY_MODE', `q')dnl\n")
        m.start()
        out = self.send(m, ["Subject: inj", "X-Action: inject"])
        self.assertEqual(out["dot"][0], 250)
        qid = self.qid_of(out["dot"])
        qf = open(os.path.join(m.queue, "qf" + qid)).read()
        self.assertIn("H??X-Injected: first\n\tEvil: forged\n\tR<root@localhost>\n", qf)
        self.assertEqual([l for l in qf.splitlines() if l.startswith("R") and "root" in l], [])
        self.assertNotIn("\nEvil:", qf)
        self.assertNotIn("\nR<root", qf)

    def test_body_replaced(self):
        f = self.filter()
        m = self.mtad_with(f)
        out = self.send(m, ["Subject: b", "X-Action: body"], body="old body\r\n" * 1000)
        self.assertEqual(out["dot"][0], 250)
        self.wait_delivered(m, "alice")
        body = m.mbox("alice").decode().split("\n\n", 1)[1]
        self.assertTrue(body.startswith("the filter's new body\nsecond line\n"), body[:200])
        self.assertNotIn("old body", body)

    def test_skip_ends_the_body_early(self):
        f = self.filter()
        m = self.mtad_with(f)
        out = self.send(m, ["Subject: s", "X-Action: skip, add"], body=("x" * 998 + "\r\n") * 300)
        self.assertEqual(out["dot"][0], 250)
        eom = f.records("eom")[0]
        self.assertTrue(0 < len(eom["body"]) <= 65535, len(eom["body"]))	# only the first chunk went
        self.wait_delivered(m, "alice")
        self.assertIn(b"X-Milter-Added: yes", m.mbox("alice"))
        self.assertEqual(m.mbox("alice").count(b"x" * 998), 300)

    def test_recipients_and_sender_changed(self):
        f = self.filter()
        m = self.mtad_with(f)
        out = self.send(m, ["Subject: r", "X-Action: addrcpt, addrcpt_par, delrcpt, chgfrom"])
        self.assertEqual(out["dot"][0], 250)
        qid = self.qid_of(out["dot"])
        self.wait_delivered(m, "bob", "carol")
        self.assertEqual(m.mbox("alice"), b"")
        self.assertIn(b"Return-Path: <changed-sender@example.org>", m.mbox("bob"))
        log = m.log()
        self.assertIn("%s: Milter add: rcpt: <bob@mx.test.example>" % qid, log)
        self.assertIn("%s: Milter add: rcpt: <carol@mx.test.example> NOTIFY=NEVER" % qid, log)
        self.assertIn("%s: Milter delete: rcpt <alice@mx.test.example>" % qid, log)
        self.assertIn("%s: Milter change: from <sender@example.org> to <changed-sender@example.org>" % qid, log)
        self.assertRegex(log, r"%s: from=<changed-sender@example.org>, .*nrcpts=2" % qid)

    def test_quarantine_holds_and_release_delivers(self):
        f = self.filter()
        m = self.mtad_with(f)
        out = self.send(m, ["Subject: q", "X-Action: quarantine"])
        self.assertEqual(out["dot"][0], 250)
        qid = self.qid_of(out["dot"])
        self.assertIn("%s: quarantine=held by the test filter" % qid, m.log())
        r = subprocess.run([binpath("mailq"), "-C", m.mc, "-qQ"], capture_output=True, text=True)
        self.assertRegex(r.stdout, r"(?m)^%s " % qid)	# listed; sendmail's X means load average, not held
        self.assertIn("     QUARANTINE: held by the test filter", r.stdout)
        self.assertIn("QUARANTINE: held by the test filter", m.run("-bp").stdout)
        m.wait_idle(qid)
        self.assertEqual(m.mbox("alice"), b"")
        r = subprocess.run([binpath("mailq"), "-C", m.mc, "-qI" + qid, "--release"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        m.run("-q")
        self.wait_delivered(m, "alice")

    def test_verdicts_at_end_of_message(self):
        f = self.filter()
        m = self.mtad_with(f)
        out = self.send(m, ["Subject: x", "X-Action: reject"])
        self.assertEqual(out["dot"], (554, ["554 5.7.1 Command rejected"]))
        out = self.send(m, ["Subject: x", "X-Action: tempfail"])
        self.assertEqual(out["dot"][0], 451)
        out = self.send(m, ["Subject: x", "X-Action: replycode"])
        self.assertEqual(out["dot"], (550, ["550-5.7.0 first line of the refusal", "550-5.7.0 second line",
                                            "550 5.7.0 last line"]))
        out = self.send(m, ["Subject: x", "X-Action: discard"])
        self.assertEqual(out["dot"][0], 250)
        qid = self.qid_of(out["dot"])
        log = m.log()
        self.assertIn("Milter: data, reject=554 5.7.1 Command rejected", log)
        self.assertIn("Milter: data, reject=451 4.3.2 Please try again later", log)
        self.assertIn("Milter: data, reject=550-5.7.0 first line of the refusal 550-5.7.0 second line", log)
        self.assertIn("%s: Milter: data, discard" % qid, log)
        self.assertIn("%s: milter=act, action=eom, discard" % qid, log)
        self.assertIn("milter=act, action=eom, reject=550-5.7.0 first line of the refusal", log)
        self.assertIn("milter=act, action=eom, tempfail", log)
        self.assertRegex(log, r"\S+: milter=act, action=eom, reject\n")
        self.assertEqual(m.queue_files("qf"), [])
        self.assertEqual(m.queue_files("df"), [])
        self.assertEqual(m.mbox("alice"), b"")

    def test_verdicts_at_helo_mail_rcpt(self):
        f = self.filter()
        m = self.mtad_with(f)
        c = m.connect()
        c.reply()
        self.assertEqual(c.cmd("HELO reject.helo")[0], 550)
        self.assertEqual(c.cmd("EHLO fine.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<tempfail-me@example.org>"), (451, ["451 4.3.2 Please try again later"]))
        self.assertEqual(c.cmd("MAIL FROM:<ok@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<reject-x@example.net>"), (550, [
            "550-5.7.1 recipient refused by the test filter", "550-5.7.1 second line", "550 5.7.1 third line"]))
        self.assertEqual(c.cmd("RCPT TO:<alice@mx.test.example>")[0], 250)
        c.cmd("QUIT")
        log = m.log()
        self.assertIn("Milter: helo=reject.helo, reject=550 5.7.1 Command rejected", log)
        self.assertIn("Milter: from=<tempfail-me@example.org>, reject=451 4.3.2 Please try again later", log)
        self.assertIn("Milter: to=<reject-x@example.net>, reject=550-5.7.1 recipient refused", log)

    def test_pipelined_commands_wait_for_the_filters(self):
        f = self.filter()
        m = self.mtad_with(f)
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        c.send(b"MAIL FROM:<sender@example.org>\r\nRCPT TO:<reject-x@example.net>\r\n"
               b"RCPT TO:<alice@mx.test.example>\r\nDATA\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 550)
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 354)
        c.send(b"Subject: p\r\nX-Action: add\r\n\r\nbody\r\n.\r\nMAIL FROM:<second@example.org>\r\n"
               b"RCPT TO:<bob@mx.test.example>\r\nDATA\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 354)
        c.send(b"Subject: second\r\n\r\nbody\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        c.cmd("QUIT")
        self.wait_delivered(m, "alice", "bob")
        self.assertIn(b"X-Milter-Added: yes", m.mbox("alice"))
        self.assertEqual([r["rcpt"] for r in f.records("envrcpt")],
                         ["<reject-x@example.net>", "<alice@mx.test.example>", "<bob@mx.test.example>"])

    def test_progress_keeps_a_slow_filter_alive(self):
        f = self.filter()
        m = self.mtad_with(f, timeouts="R:2s")
        out = self.send(m, ["Subject: p", "X-Action: progress, add"])	# 5 x 0.7 s, each after a progress
        self.assertEqual(out["dot"][0], 250, out)
        wait_for(lambda: b"X-Milter-Added" in m.mbox("alice"), 10, "delivery")


class Failures(MilterTestCase):
    def test_filter_down_follows_its_flag(self):
        f = Filter(self.tmp)		# never started: nothing listens
        m = self.mtad_with(f, flags="4", sub="m4")
        c = m.connect()		# F=4: 421 and the session ends
        self.assertEqual(c.reply(), (421, ["421 4.7.0 mx.test.example closing connection"]))
        self.assertTrue(c.closed())
        for flags, code in (("T", 451), ("R", 550), ("", 250)):
            m = self.mtad_with(f, flags=flags, sub="m" + (flags or "none"))
            out = self.send(m, ["Subject: down"])
            # F=R: as sendmail, the greeting is 554 and commands are refused
            self.assertEqual(out["greeting"][0], 554 if flags == "R" else 220)
            self.assertEqual(out["mail"][0], code, (flags, out))
            self.assertIn("Milter (act): error connecting to filter", m.log())
            self.assertIn("Milter (act): to error state", m.log())
            if code == 250:
                self.assertEqual(out["dot"][0], 250)

    def test_bs_filter_down_tempfails(self):
        f = Filter(self.tmp)
        m = self.mtad_with(f, start=False)
        r = m.run("-bs", input="EHLO local\r\nMAIL FROM:<me@example.org>\r\nQUIT\r\n")
        self.assertIn("451 4.3.2 Please try again later", r.stdout)

    def test_filter_killed_mid_message(self):
        for flags, code in (("T", 451), ("R", 554), ("", 250)):
            f = self.filter("act")
            m = self.mtad_with(f, flags=flags, sub="k" + (flags or "none"))
            out = self.send(m, ["Subject: kill", "X-Die: body", "X-Action: add"])
            self.assertEqual(out["dot"][0], code, (flags, out))
            self.assertRegex(m.log(), r"Milter \(act\): read returned 0: connection closed, where=eom")
            if code != 250:
                self.assertEqual(m.queue_files("qf"), [])
            else:		# F= none: accepted, without the dead filter's change
                self.wait_delivered(m, "alice")
                self.assertNotIn(b"X-Milter-Added", m.mbox("alice"))
            f.stop()
            m.stop()

    def test_filter_gone_between_messages(self):
        f = self.filter()
        m = self.mtad_with(f)
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<sender@example.org>")
        c.cmd("RCPT TO:<alice@mx.test.example>")
        c.cmd("DATA")
        c.send(b"Subject: one\r\n\r\nbody\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        f.stop()
        m.wait_log(r"Milter \(act\): read returned 0: connection closed, where=idle")
        self.assertEqual(c.cmd("MAIL FROM:<sender@example.org>"), (451, ["451 4.3.2 Please try again later"]))
        c.cmd("QUIT")

    def test_timeout_tempfails_and_is_logged(self):
        f = self.filter()
        m = self.mtad_with(f, timeouts="R:1s")
        t0 = time.monotonic()
        out = self.send(m, ["Subject: slow", "X-Sleep: 4"])
        self.assertEqual(out["dot"][0], 451, out)
        self.assertLess(time.monotonic() - t0, 3.5)
        self.assertIn("Milter (act): timeout before data read in eom", m.log())

    def test_slow_filter_does_not_hold_up_other_sessions(self):
        f = self.filter()
        m = self.mtad_with(f)
        result = {}

        def slow():
            result["slow"] = self.send(m, ["Subject: slow", "X-Sleep: 6"])
        t = threading.Thread(target=slow)
        t.start()
        wait_for(lambda: any(r.get("cb") == "eom" for r in f.records()), 10, "the slow message at the filter")
        t0 = time.monotonic()
        fast = self.send(m, ["Subject: fast"], rcpts=("bob@mx.test.example",))
        took = time.monotonic() - t0
        slow_still_waiting = t.is_alive()
        t.join()
        self.assertEqual(fast["dot"][0], 250)
        self.assertEqual(result["slow"]["dot"][0], 250)
        self.assertTrue(slow_still_waiting, "the slow session ended first: the test proves nothing")
        self.assertLess(took, 4.0, "a session waited for another session's filter")

    def test_garbage_from_the_filter(self):
        path = os.path.join(self.tmp, "junk.sock")
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        srv.listen(8)
        stop = threading.Event()

        def serve():
            srv.settimeout(0.2)
            while not stop.is_set():
                try:
                    c, _ = srv.accept()
                except socket.timeout:
                    continue
                c.recv(4096)
                c.sendall(b"\xff\xff\xff\xffgarbage that is not a milter packet")
                time.sleep(0.2)
                c.close()
        th = threading.Thread(target=serve, daemon=True)
        th.start()
        self.addCleanup(lambda: (stop.set(), th.join(), srv.close()))
        m = self.new_mtad(mc_extra="INPUT_MAIL_FILTER(`junk', `S=local:%s, F=T')dnl\n" % path)
        out = self.send(m, ["Subject: junk"])
        self.assertEqual(out["mail"][0], 451)
        self.assertIn("Milter (junk): read size 4294967295 out of range", m.log())
        self.assertTrue(m.alive())

    def test_two_filters_in_order_see_each_others_changes(self):
        f1 = self.filter("one")
        f2 = self.filter("two")
        m = self.new_mtad(mc_extra=(
            "INPUT_MAIL_FILTER(`one', `S=unix:%s, F=T')dnl\n"
            "INPUT_MAIL_FILTER(`two', `S=unix:%s, F=T')dnl\n") % (f1.sock, f2.sock))
        out = self.send(m, ["Subject: chain", "X-Action: change"])
        self.assertEqual(out["dot"][0], 250)
        seen = dict(f2.records("eom")[0]["headers"])
        self.assertEqual(seen["Subject"], "changed by the filter")


@unittest.skipUnless(shutil.which("cc") and os.path.exists("/usr/include/libmilter/mfapi.h"),
                     "cc or libmilter-dev is not installed")
class CFilter(MilterTestCase):
    def test_no_reply_steps_and_own_macro_list(self):
        exe = os.path.join(self.tmp, "milter_nr")
        subprocess.run(["cc", "-o", exe, os.path.join(HERE, "milter_nr.c"), "-lmilter", "-lpthread"],
                       check=True, capture_output=True)
        sock = os.path.join(self.tmp, "nr.sock")
        p = subprocess.Popen([exe, "unix:" + sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        wait_for(lambda: os.path.exists(sock), 10, "the C filter's socket")
        m = self.new_mtad(mc_extra="INPUT_MAIL_FILTER(`nr', `S=unix:%s, F=T')dnl\n" % sock)
        out = self.send(m, ["From: sender@example.org", "Subject: nr"], body="hello\r\nworld\r\n")
        self.assertEqual(out["dot"][0], 250, out)
        c = m.connect()		# and three messages in one session: the replies stay in step
        c.reply()
        c.cmd("EHLO client.example")
        for n in range(3):
            self.assertEqual(c.cmd("MAIL FROM:<sender@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<alice@mx.test.example>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"From: sender@example.org\r\nSubject: again\r\n\r\nhello\r\nworld\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
        c.cmd("QUIT")
        self.wait_delivered(m, "alice", n=4)
        self.assertEqual(m.mbox("alice").count(b"headers=5 body=14 client=127.0.0.1"), 4)
        # Received, From, Subject, Message-Id, Date; the body as CR LF
        self.assertIn(b"X-NR-Filter: headers=5 body=14 client=127.0.0.1 from=sender@example.org",
                      m.mbox("alice"))


@unittest.skipUnless(shutil.which("opendkim") and shutil.which("opendkim-genkey"), "opendkim is not installed")
class OpenDKIM(MilterTestCase):
    def start_opendkim(self):
        kdir = os.path.join(self.tmp, "keys")
        os.makedirs(kdir)
        subprocess.run(["opendkim-genkey", "-D", kdir, "-d", "example.org", "-s", "test"], check=True)
        sock = os.path.join(self.tmp, "opendkim.sock")
        conf = os.path.join(self.tmp, "opendkim.conf")
        with open(conf, "w") as fh:
            fh.write("Syslog no\nBackground no\nMode s\nDomain example.org\nSelector test\n"
                     "KeyFile %s/test.private\nSocket local:%s\nCanonicalization relaxed/simple\n"
                     "PidFile %s/opendkim.pid\nRequireSafeKeys false\n" % (kdir, sock, self.tmp))
            if os.geteuid() == 0:
                fh.write("UserID root\n")
        p = subprocess.Popen(["opendkim", "-f", "-x", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        wait_for(lambda: os.path.exists(sock) or p.poll() is not None, 10, "opendkim's socket")
        self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")
        txt = open(os.path.join(kdir, "test.txt")).read()
        record = "".join(re.findall(r'"([^"]*)"', txt))
        return sock, record

    def test_signed_message_verifies_with_python3_dkim(self):
        sock, record = self.start_opendkim()
        m = self.new_mtad(mc_extra="INPUT_MAIL_FILTER(`opendkim', `S=local:%s, F=T')dnl\n" % sock)
        out = self.send(m, ["From: Sender <sender@example.org>", "To: alice@mx.test.example",
                            "Subject: signed by opendkim"],
                        body="A signed message.\r\nWith two lines.\r\n")
        self.assertEqual(out["dot"][0], 250, out)
        self.wait_delivered(m, "alice")
        msg = m.mbox("alice")
        self.assertIn(b"DKIM-Signature:", msg)
        raw = msg.split(b"\n", 1)[1]		# the mbox From_ line goes
        verify = (
            "import sys, dkim\n"
            "rec = sys.argv[1].encode()\n"
            "msg = sys.stdin.buffer.read().replace(b'\\n', b'\\r\\n')\n"
            "ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: rec if name == b'test._domainkey.example.org.' else None)\n"
            "print('VERIFIED' if ok else 'FAILED')\n")
        r = subprocess.run([PY, "-c", verify, record], input=raw, capture_output=True)
        self.assertIn(b"VERIFIED", r.stdout, r.stderr.decode() + msg.decode(errors="replace"))


@unittest.skipUnless(shutil.which("spamass-milter") and shutil.which("spamd"), "spamass-milter/spamd not installed")
class SpamAssassin(MilterTestCase):
    GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

    def start(self, argv, ready):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        wait_for(lambda: os.path.exists(ready) or p.poll() is not None, 60, ready)
        self.assertIsNone(p.poll(), argv[0] + " exited")

    def test_spamass_milter_with_spamd(self):
        spamd_sock = os.path.join(self.tmp, "spamd.sock")
        sm_sock = os.path.join(self.tmp, "spamass.sock")
        self.start(["spamd", "-L", "--socketpath=" + spamd_sock, "--max-children=1", "-x",
                    "--syslog=" + os.path.join(self.tmp, "spamd.log"),
                    "--pidfile=" + os.path.join(self.tmp, "spamd.pid")], spamd_sock)
        self.start(["spamass-milter", "-p", sm_sock, "-r", "15", "--", "-U", spamd_sock], sm_sock)
        m = self.new_mtad(mc_extra="INPUT_MAIL_FILTER(`spamassassin', `S=local:%s, F=T, T=R:2m;E:5m')dnl\n"
                          % sm_sock)
        hdrs = ["From: sender@example.org", "To: alice@mx.test.example", "Subject: test",
                "Message-Id: <gtube@example.org>"]
        out = self.send(m, hdrs, body=self.GTUBE + "\r\n")
        self.assertEqual(out["dot"], (550, ["550 5.7.1 Blocked by SpamAssassin"]))
        self.assertIn("Milter: data, reject=550 5.7.1 Blocked by SpamAssassin", m.log())
        out = self.send(m, hdrs, body="An ordinary message about the weekly meeting.\r\n")
        self.assertEqual(out["dot"][0], 250, out)
        self.wait_delivered(m, "alice", timeout=30)
        self.assertIn(b"X-Spam-Status: No, score=", m.mbox("alice"))
        self.assertIn(b"X-Spam-Checker-Version: SpamAssassin", m.mbox("alice"))


if __name__ == "__main__":
    unittest.main()
