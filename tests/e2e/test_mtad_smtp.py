"""mtad's SMTP server: reply texts, limits and strictness, over real sockets."""
import os
import re
import smtplib
import socket

from harness import MtadTestCase, wait_for

QID_RE = r"[0-9A-Za-x]{8}\d{6}"


class SmtpDialogue(MtadTestCase):
    def setUp(self):
        super().setUp()
        self.m = self.new_mtad()

    def session(self, ehlo="EHLO client.example", source=None):
        c = self.m.connect(source=source)
        code, lines = c.reply()
        self.assertEqual(code, 220)
        if ehlo:
            code, _ = c.cmd(ehlo)
            self.assertEqual(code, 250)
        return c

    def test_greeting_and_ehlo_keywords(self):
        c = self.m.connect()
        code, lines = c.reply()
        self.assertEqual(code, 220)
        self.assertRegex(lines[0], r"^220 mx\.test\.example ESMTP mtad \S+; \w{3}, ")
        code, lines = c.cmd("EHLO client.example")
        self.assertEqual(lines[0], "250-mx.test.example Hello localhost [127.0.0.1], pleased to meet you")
        kw = [l[4:] for l in lines[1:]]
        self.assertEqual(kw, ["ENHANCEDSTATUSCODES", "PIPELINING", "8BITMIME", "SIZE", "DSN", "HELP"])
        # privacy by default: no VRFY/EXPN/VERB/ETRN
        self.assertEqual(c.cmd("VRFY alice")[1][0],
                         "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery (or try finger)")
        self.assertEqual(c.cmd("EXPN alice")[1][0], "502 5.7.0 Sorry, we do not allow this operation")
        self.assertEqual(c.cmd("VERB")[1][0], "502 5.7.0 Verbose unavailable")
        self.assertEqual(c.cmd("QUIT")[1][0], "221 2.0.0 mx.test.example closing connection")
        self.assertTrue(c.closed())

    def test_seed_telnet_session_exact_replies(self):
        # the seed's hand-typed session (002 lines 7911-7933), lower case, no brackets
        c = self.session(ehlo=None)
        self.assertEqual(c.cmd("helo localhost.localdomain")[1][0],
                         "250 mx.test.example Hello localhost [127.0.0.1], pleased to meet you")
        self.assertEqual(c.cmd("mail from: bogus@deer-run.com")[1][0],
                         "250 2.1.0 bogus@deer-run.com... Sender ok")
        self.assertEqual(c.cmd("rcpt to: alice@mx.test.example")[1][0],
                         "250 2.1.5 alice@mx.test.example... Recipient ok")
        self.assertEqual(c.cmd("data")[1][0], '354 Enter mail, end with "." on a line by itself')
        c.send("From: youcouldbeawinner@spam.com\r\nTo: unreal@some.com\r\n"
               "Subject: testing testing\r\n\r\n1 2 3\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250)
        m = re.fullmatch(r"250 2\.0\.0 (%s) Message accepted for delivery" % QID_RE, lines[0])
        self.assertIsNotNone(m, lines[0])
        qid = m.group(1)
        self.assertTrue(qid.endswith("%06d" % self.m.proc.pid))
        self.assertEqual(c.cmd("quit")[1][0], "221 2.0.0 mx.test.example closing connection")
        line = self.m.wait_log(qid + ": from=")
        self.assertRegex(line, r"mtad-test\[\d+\]: %s: from=bogus@deer-run\.com, size=85, class=0, "
                               r"nrcpts=1, msgid=<\d{12}\.%s@mx\.test\.example>, proto=SMTP, "
                               r"daemon=MTA, relay=localhost \[127\.0\.0\.1\]$" % (qid, qid))
        to = self.m.wait_log(qid + ": to=")
        self.assertRegex(to, r"%s: to=alice@mx\.test\.example, delay=\d\d:\d\d:\d\d, "
                             r"xdelay=\d\d:\d\d:\d\d, mailer=local, pri=120085, dsn=2\.0\.0, stat=Sent$" % qid)

    def test_bracketed_replies_and_sequence_errors(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<alice@mx.test.example>")[1][0], "503 5.0.0 Need MAIL before RCPT")
        self.assertEqual(c.cmd("DATA")[1][0], "503 5.0.0 Need MAIL command")
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[1][0], "250 2.1.0 <a@example.org>... Sender ok")
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[1][0], "503 5.5.0 Sender already specified")
        self.assertEqual(c.cmd("DATA")[1][0], "503 5.0.0 Need RCPT (recipient)")
        self.assertEqual(c.cmd("RCPT TO:<nosuchuser@mx.test.example>")[1][0],
                         "550 5.1.1 <nosuchuser@mx.test.example>... User unknown")
        self.assertEqual(c.cmd("RCPT TO:<Alice@MX.test.example>")[1][0],
                         "250 2.1.5 <Alice@MX.test.example>... Recipient ok")
        self.assertEqual(c.cmd("RSET")[1][0], "250 2.0.0 Reset state")
        self.assertEqual(c.cmd("NOOP")[1][0], "250 2.0.0 OK")
        self.assertEqual(c.cmd("FOO bar")[1][0], '500 5.5.1 Command unrecognized: "FOO bar"')
        self.assertEqual(c.cmd("MAIL FROM <a@b>")[1][0], '501 5.5.2 Syntax error in parameters scanning "from"')
        self.assertEqual(c.cmd("MAIL FROM:<a@b> FOO=1")[1][0], "555 5.5.4 FOO parameter unrecognized")
        self.assertEqual(c.cmd("MAIL FROM:<unqualified>")[1][0],
                         "553 5.5.4 <unqualified>... Domain name required for sender address unqualified")
        self.assertEqual(c.cmd("HELO")[1][0], "501 5.0.0 HELO requires domain address")
        code, lines = c.cmd("HELP")
        self.assertEqual(code, 214)
        self.assertEqual(lines[-1], "214 2.0.0 End of HELP info")

    def test_help_off_with_empty_help_file(self):
        # define(`HELP_FILE', `') as in seed 004 (L521-540): HELP is refused
        m = self.new_mtad("nohelp", mc_extra="define(`HELP_FILE', `')dnl\n")
        c = m.connect()
        c.reply()
        self.assertEqual(c.cmd("HELP")[1][0], "502 5.3.0 mtad 0.1.0 -- HELP not implemented")
        self.assertEqual(c.cmd("NOOP")[0], 250)

    def test_smtplib_client_two_messages_one_session(self):
        s = smtplib.SMTP("127.0.0.1", self.m.port, timeout=10)
        s.ehlo("client.example")
        s.sendmail("x@example.org", ["alice@mx.test.example"], b"Subject: one\r\n\r\nfirst\r\n")
        s.sendmail("x@example.org", ["bob@mx.test.example"], b"Subject: two\r\n\r\nsecond\r\n")
        s.quit()
        wait_for(lambda: b"first" in self.m.mbox("alice") and b"second" in self.m.mbox("bob"),
                 what="both deliveries")
        self.assertNotIn(b"second", self.m.mbox("alice"))

    def test_relay_denied_for_outsider_allowed_for_localhost(self):
        c = self.session(source="127.0.0.2")
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<victim@elsewhere.example>")[1][0],
                         "550 5.7.1 <victim@elsewhere.example>... Relaying denied")
        # mail for our own users is still accepted from outsiders
        self.assertEqual(c.cmd("RCPT TO:<bob@mx.test.example>")[0], 250)
        self.assertIn("reject=550 5.7.1 <victim@elsewhere.example>... Relaying denied", self.m.log())
        c2 = self.session()
        self.assertEqual(c2.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c2.cmd("RCPT TO:<friend@elsewhere.example>")[0], 250)

    def test_long_command_line(self):
        c = self.session()
        code, lines = c.cmd("MAIL FROM:<" + "a" * 600 + "@example.org>")
        self.assertEqual(lines[0], "500 5.5.1 Command line too long (limit 512 octets)")
        self.assertEqual(c.cmd("NOOP")[0], 250)   # the session goes on
        # the limit is 512 octets with the CRLF: 510 characters pass, 511 do not
        self.assertEqual(c.cmd("NOOP " + "x" * 505)[0], 250)
        self.assertEqual(c.cmd("NOOP " + "x" * 506)[0], 500)
        code, lines = c.cmd("MAIL FROM:<" + "a" * 300 + "@example.org>")
        self.assertEqual(code, 553)
        self.assertIn("Address too long", lines[0])

    def test_nul_in_command(self):
        c = self.session()
        c.send(b"NOOP\x00x\r\n")
        self.assertEqual(c.reply()[1][0], "500 5.5.1 NUL character in command")

    def test_too_many_bad_commands_closes(self):
        c = self.session()
        for _ in range(24):
            self.assertEqual(c.cmd("BOGUS")[0], 500)
        code, lines = c.cmd("BOGUS")
        self.assertEqual(code, 500)
        self.assertEqual(c.reply()[1][0], "421 4.7.0 mx.test.example Too many bad commands; closing connection")
        self.assertTrue(c.closed())

    def begin_data(self, c, rcpts=("alice@mx.test.example",)):
        self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
        for r in rcpts:
            self.assertEqual(c.cmd("RCPT TO:<%s>" % r)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)

    def test_long_text_line_rejected_daemon_stays_up(self):
        c = self.session()
        self.begin_data(c)
        c.send("Subject: long\r\n\r\n" + "x" * 1200 + "\r\n.\r\n")
        self.assertEqual(c.reply()[1][0], "552 5.6.0 Line too long in message data (limit 1000 octets)")
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.assertEqual(self.m.queue_files(), [])
        self.assertEqual(self.m.queue_files("df"), [])
        self.assertTrue(self.m.alive())

    def test_line_of_998_octets_accepted(self):
        c = self.session()
        self.begin_data(c)
        c.send("Subject: ok\r\n\r\n" + "y" * 998 + "\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        wait_for(lambda: b"y" * 998 + b"\n" in self.m.mbox("alice"), what="delivery")

    def test_bare_lf_dot_never_ends_data_or_splits(self):
        # SMTP smuggling: "\n.\n" then a second transaction inside the body
        c = self.session()
        self.begin_data(c)
        c.send("Subject: outer\r\n\r\nouter body\n.\nMAIL FROM:<evil@example.org>\r\n"
               "RCPT TO:<bob@mx.test.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(lines[0], "554 5.6.11 Bare LF or CR in message data; lines must end with CRLF")
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertEqual(self.m.queue_files(), [])
        self.assertEqual(self.m.mbox("bob"), b"")
        self.assertEqual(self.m.mbox("alice"), b"")
        self.assertNotIn("evil@example.org", "".join(l for l in self.m.log_lines("from=")))

    def test_bare_cr_dot_never_ends_data(self):
        c = self.session()
        self.begin_data(c)
        c.send("Subject: cr\r\n\r\nbody\r.\r\nmore\r\n.\r\n")
        self.assertEqual(c.reply()[0], 554)
        self.assertEqual(self.m.queue_files(), [])

    def test_crlf_dot_inside_line_is_not_end(self):
        c = self.session()
        self.begin_data(c)
        c.send("Subject: dots\r\n\r\n..leading dot\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        box = wait_for(lambda: self.m.mbox("alice"), what="delivery")
        self.assertIn(b"\n.leading dot\n", box)

    def test_data_sent_before_354_is_logged_and_answered_in_order(self):
        # sendmail answers a client that does not wait for 354 (the seed's
        # `cat smtp-session | nc`): noticed and logged, nothing smuggled
        c = self.session()
        self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@mx.test.example>")[0], 250)
        c.send("DATA\r\nSubject: early\r\n\r\nbody\r\n.\r\n")
        self.assertEqual(c.reply()[0], 354)
        self.assertEqual(c.reply()[0], 250)
        self.m.wait_log("NOQUEUE: improper command pipelining after DATA from localhost")
        self.assertEqual(len(self.m.log_lines("improper command pipelining")), 1)

    def test_helo_client_pipelining_is_answered_in_order(self):
        c = self.session(ehlo="HELO client.example")
        c.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@mx.test.example>\r\nRCPT TO:<nosuchuser@mx.test.example>\r\n")
        self.assertEqual([c.reply()[0] for _ in range(3)], [250, 250, 550])
        self.m.wait_log("improper command pipelining after MAIL from localhost")

    def test_lost_input_channel_leaves_nothing(self):
        c = self.session()
        self.begin_data(c)
        c.send("Subject: cut\r\n\r\npartial")
        c.close()
        self.m.wait_log(r"lost input channel from localhost \[127\.0\.0\.1\] to MTA after data")
        wait_for(lambda: self.m.queue_files("df") == [], what="df removed")
        self.assertEqual(self.m.queue_files(), [])

    def test_no_mail_logged(self):
        c = self.session()
        c.cmd("QUIT")
        c2 = self.session()
        c2.close()
        self.m.wait_log(r"NOQUEUE: localhost \[127\.0\.0\.1\] did not issue MAIL/EXPN/VRFY/ETRN "
                        r"during connection to MTA")


class Limits(MtadTestCase):
    def test_max_recipients(self):
        m = self.new_mtad(mc_extra="define(`confMAX_RCPTS_PER_MESSAGE', `2')dnl\n")
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        c.cmd("MAIL FROM:<s@example.org>")
        self.assertEqual(c.cmd("RCPT TO:<alice@mx.test.example>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<bob@mx.test.example>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<carol@mx.test.example>")[1][0], "452 4.5.3 Too many recipients")

    def test_default_max_recipients_is_100(self):
        m = self.new_mtad()
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        c.cmd("MAIL FROM:<s@example.org>")
        for i in range(100):
            self.assertEqual(c.cmd("RCPT TO:<alice@mx.test.example>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@mx.test.example>")[0], 452)

    def test_max_message_size(self):
        m = self.new_mtad(mc_extra="define(`confMAX_MESSAGE_SIZE', `1000')dnl\n")
        c = m.connect()
        c.reply()
        code, lines = c.cmd("EHLO x.example")
        self.assertIn("250-SIZE 1000", lines)
        self.assertEqual(c.cmd("MAIL FROM:<s@example.org> SIZE=5000")[1][0],
                         "552 5.3.4 Message size exceeds fixed maximum message size (1000)")
        self.assertEqual(c.cmd("MAIL FROM:<s@example.org> SIZE=10")[0], 250)
        c.cmd("RCPT TO:<alice@mx.test.example>")
        c.cmd("DATA")
        c.send("Subject: big\r\n\r\n" + ("z" * 70 + "\r\n") * 40 + ".\r\n")
        self.assertEqual(c.reply()[1][0], "552 5.3.4 Message size exceeds fixed maximum message size (1000)")
        self.assertEqual(m.queue_files(), [])
        self.assertEqual(c.cmd("NOOP")[0], 250)

    def test_hop_count(self):
        m = self.new_mtad(mc_extra="define(`confMAX_HOP', `5')dnl\n")
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<alice@mx.test.example>")
        c.cmd("DATA")
        hops = "".join("Received: from h%d by h%d; Mon, 1 Jan 2024 00:00:00 +0000\r\n" % (i, i + 1)
                       for i in range(5))
        c.send(hops + "Subject: loop\r\n\r\nbody\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 554)
        self.assertTrue(lines[0].startswith("554 5.4.6 Too many hops 6 (5 max): from <s@example.org>"),
                        lines[0])
        self.assertEqual(m.queue_files(), [])

    def test_headers_too_large(self):
        m = self.new_mtad(mc_extra="define(`confMAX_HEADERS_LENGTH', `2048')dnl\n")
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<alice@mx.test.example>")
        c.cmd("DATA")
        c.send("".join("X-Filler-%d: %s\r\n" % (i, "f" * 60) for i in range(60)) + "\r\nbody\r\n.\r\n")
        self.assertEqual(c.reply()[1][0], "552 5.6.0 Headers too large (2048 max)")

    def test_command_timeout(self):
        m = self.new_mtad(mc_extra="define(`confTO_COMMAND', `1s')dnl\n")
        c = m.connect(timeout=15)
        c.reply()
        code, lines = c.reply()    # nothing sent: the server times out
        self.assertEqual(lines[0], "421 4.4.2 mx.test.example Error: timeout exceeded")
        self.assertTrue(c.closed())
        m.wait_log("timeout waiting for input from localhost")

    def test_unwritable_queue_gives_4xx(self):
        # (a queue missing at start is refused then: test_privsep.StartChecks)
        m = self.new_mtad()
        import shutil
        shutil.rmtree(m.queue)
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<alice@mx.test.example>")
        # a small body is kept in memory until the commit creates its df
        # (sendmail's DataFileBufferSize): the 4xx comes after the dot
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: t\r\n\r\nbody\r\n.\r\n")
        self.assertEqual(c.reply()[1][0], "451 4.3.0 Error writing queue file; try again later")
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.assertFalse(os.path.exists(m.queue))
        m.wait_log(r"SYSERR: queue write failed: cannot create .*/df")

    def test_many_concurrent_sessions(self):
        m = self.new_mtad()
        conns = []
        for i in range(50):
            c = m.connect()
            self.assertEqual(c.reply()[0], 220)
            conns.append(c)
        for i, c in enumerate(conns):
            c.send("EHLO c%d.example\r\nMAIL FROM:<s%d@example.org>\r\nRCPT TO:<bob@mx.test.example>\r\n" % (i, i))
        for c in conns:
            self.assertEqual([c.reply()[0] for _ in range(3)], [250, 250, 250])
            self.assertEqual(c.cmd("DATA")[0], 354)
        for i, c in enumerate(conns):
            c.send("Subject: n%d\r\n\r\nbody %d\r\n.\r\n" % (i, i))
        for c in conns:
            self.assertEqual(c.reply()[0], 250)
            c.cmd("QUIT")
        wait_for(lambda: m.mbox("bob").count(b"\nFrom ") + m.mbox("bob").startswith(b"From ") == 50,
                 timeout=30, what="50 deliveries")
        # the to= line is written just after the mailbox append: wait for it too
        wait_for(lambda: len(m.log_lines("stat=Sent")) >= 50, timeout=10, what="50 stat=Sent lines")
        self.assertEqual(len(m.log_lines("stat=Sent")), 50)


class LoadControls(MtadTestCase):
    def test_connection_rate_throttle_delays_but_serves(self):
        import time
        m = self.new_mtad(mc_extra="define(`confCONNECTION_RATE_THROTTLE', `5')dnl\n")
        t0 = time.monotonic()
        conns = [m.connect() for _ in range(12)]
        for c in conns:       # every one is greeted, the later ones in later seconds
            self.assertEqual(c.reply()[0], 220)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        self.assertTrue(m.alive())

    def start_with_load(self, load, extra, sub="mtad"):
        import os as _os
        m = self.new_mtad(sub, start=False, mc_extra=extra)   # (a pid file, hence a directory, each)
        _os.environ["MTAD_TEST_LOADAVG"] = str(load)
        try:
            m.start()
        finally:
            del _os.environ["MTAD_TEST_LOADAVG"]
        return m

    def test_refuse_la(self):
        m = self.start_with_load(12, "define(`confREFUSE_LA', `10')dnl\n")
        c = m.connect()
        self.assertEqual(c.reply()[1][0], "421 4.3.2 Too much load; try again later")
        m.wait_log("rejecting connections on daemon MTA: load average: 12")
        m3 = self.start_with_load(3, "define(`confREFUSE_LA', `10')dnl\n", sub="m3")
        self.assertEqual(m3.connect().reply()[0], 220)

    def test_queue_la_queues_without_delivering(self):
        m = self.start_with_load(12, "define(`confQUEUE_LA', `8')dnl\n")
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<alice@mx.test.example>")
        c.cmd("DATA")
        c.send("Subject: la\r\n\r\nload\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        c.cmd("QUIT")
        self.assertEqual(len(m.queue_files()), 1)
        r = m.run("-q")                      # an explicit run delivers
        self.assertIn(b"load", m.mbox("alice"))


class SlowDns(MtadTestCase):
    """A resolver that never answers must stall only the session that asked."""

    def test_sender_lookup_does_not_block_other_sessions(self):
        import socket as _socket
        hole = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)   # reads nothing, answers nothing
        hole.bind(("127.0.0.1", 0))
        self.addCleanup(hole.close)
        m = self.new_mtad(start=False, mc_extra="define(`confRESOLVER', `127.0.0.1:%d')dnl\n"
                          % hole.getsockname()[1])
        m.start("-O", "AcceptUnresolvableDomains=False")
        a = m.connect(timeout=30)
        a.reply()
        a.cmd("EHLO a.example")
        a.send("MAIL FROM:<someone@slow.test>\r\n")        # its answer waits for the resolver
        b = m.connect(timeout=3)                           # a stalled loop would time this out
        self.assertEqual(b.reply()[0], 220)
        self.assertEqual(b.cmd("EHLO b.example")[0], 250)
        self.assertEqual(b.cmd("NOOP")[1][0], "250 2.0.0 OK")
        code, lines = a.reply()                            # then A gets its verdict
        self.assertEqual(lines[0], "451 4.1.8 Domain of sender address someone@slow.test does not resolve")
        self.assertEqual(a.cmd("NOOP")[0], 250)

    def test_hanging_lookups_do_not_hold_up_commits(self):
        import socket as _socket
        hole = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
        hole.bind(("127.0.0.1", 0))
        self.addCleanup(hole.close)
        m = self.new_mtad(start=False, mc_extra="define(`confRESOLVER', `127.0.0.1:%d')dnl\n"
                          "define(`confDELIVERY_MODE', `q')dnl\n" % hole.getsockname()[1])
        m.start("-O", "AcceptUnresolvableDomains=False")
        waiting = []
        for i in range(12):                 # more lookups than there are DNS threads
            c = m.connect(timeout=30)
            c.reply()
            c.cmd("EHLO w%d.example" % i)
            c.send("MAIL FROM:<x%d@slow.test>\r\n" % i)
            waiting.append(c)
        c = m.connect(timeout=3)            # a local sender needs no lookup
        c.reply()
        c.cmd("EHLO quick.example")
        self.assertEqual(c.cmd("MAIL FROM:<alice@mx.test.example>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<bob@mx.test.example>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: quick\r\n\r\nnot stuck behind DNS\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        for w in waiting:
            w.close()
