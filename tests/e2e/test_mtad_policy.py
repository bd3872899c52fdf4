"""mtad's policy at SMTP time and its local-name features, through real
sessions: the access map (seed 002 L9606-9832 and the exercise at
L10588-10756), delay_checks, greet_pause with the seed's early-talker
transcript (L10657-10669), DNSBLs answered by a real DNS server, relay-domains,
aliases, the virtusertable and masquerading."""
import os
import re
import shutil
import subprocess
import unittest

from harness import MtadTestCase, Dnsmasq, free_port, wait_for, binpath

HAVE_DNSMASQ = shutil.which("dnsmasq") or os.path.exists("/usr/sbin/dnsmasq")


def makemap(path, text, kind="hash"):
    r = subprocess.run([binpath("makemap"), kind, path], input=text, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return path


class PolicyCase(MtadTestCase):
    def write(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def session(self, m, source=None, helo="EHLO client.example"):
        c = m.connect(source=source)
        self.assertEqual(c.reply()[0], 220)
        if helo:
            self.assertEqual(c.cmd(helo)[0], 250)
        return c


class AccessDb(PolicyCase):
    ACCESS = (
        "Connect:127.0.0.3 REJECT\n"
        "Connect:127.0.0.4 RELAY\n"
        "From:insidertrading.test REJECT\n"
        "From:zecpax@yahoo.test ERROR: You annoy me\n"
        "From:biz ERROR:550 Move out of biz\n"
        "From:friend@some.biz RELAY\n"
        "From:junk.test DISCARD\n"
        "From:later.test ERROR:4.7.1:451 Try again tomorrow\n"
        "To:blocked@mx.test.example REJECT\n"
    )

    def setUp(self):
        super().setUp()
        db = makemap(os.path.join(self.tmp, "access"), self.ACCESS)
        self.m = self.new_mtad(mc_extra="FEATURE(`access_db', `hash -o %s')dnl\n" % db)

    def test_from_entries_most_specific_wins(self):
        c = self.session(self.m, source="127.0.0.2")
        self.assertEqual(c.cmd("MAIL FROM:<x@insidertrading.test>")[1][0],
                         "550 5.7.1 <x@insidertrading.test>... Access denied")
        self.assertEqual(c.cmd("MAIL FROM:<zecpax@yahoo.test>")[1][0],
                         "550 5.7.1 <zecpax@yahoo.test>... You annoy me")
        self.assertEqual(c.cmd("MAIL FROM:<spam@foo.biz>")[1][0],
                         "550 5.7.1 <spam@foo.biz>... Move out of biz")
        self.assertEqual(c.cmd("MAIL FROM:<x@later.test>")[1][0],
                         "451 4.7.1 <x@later.test>... Try again tomorrow")
        self.assertEqual(c.cmd("MAIL FROM:<friend@some.biz>")[1][0],
                         "250 2.1.0 <friend@some.biz>... Sender ok")
        self.assertIn("ruleset=check_mail, arg1=<x@insidertrading.test>, relay=[127.0.0.2], "
                      "reject=550 5.7.1 <x@insidertrading.test>... Access denied", self.m.log())

    def test_connect_reject_and_relay(self):
        c = self.session(self.m, source="127.0.0.3")
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[1][0], "550 5.7.1 <a@example.org>... Access denied")
        c = self.session(self.m, source="127.0.0.4")
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<x@far.example>")[0], 250)       # Connect: RELAY
        c = self.session(self.m, source="127.0.0.2")
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<x@far.example>")[1][0], "550 5.7.1 <x@far.example>... Relaying denied")

    def test_to_reject_and_discard(self):
        c = self.session(self.m, source="127.0.0.2")
        c.cmd("MAIL FROM:<a@example.org>")
        self.assertEqual(c.cmd("RCPT TO:<blocked@mx.test.example>")[1][0],
                         "550 5.7.1 <blocked@mx.test.example>... Access denied")
        c.cmd("RSET")
        self.assertEqual(c.cmd("MAIL FROM:<spammer@junk.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@mx.test.example>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: junk\r\n\r\njunk\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250)
        qid = lines[0].split()[2]
        self.m.wait_log(qid + r": discarded: from=<spammer@junk\.test>")
        self.assertEqual(self.m.queue_files(), [])
        self.assertEqual(self.m.mbox("alice"), b"")


class DelayChecks(PolicyCase):
    def test_seed_exercise_friend(self):
        # seed 002 L10609-10610 and the sessions at L10711-10749
        db = makemap(os.path.join(self.tmp, "access"), "Spam:abuse@mx.test.example FRIEND\nFrom:foo.biz   REJECT\n")
        m = self.new_mtad(users=("hal", "abuse", "postmaster"), mc_extra=(
            "FEATURE(`access_db', `hash -o -T<TMPF> %s')dnl\nFEATURE(`delay_checks', `friend')dnl\n" % db))
        c = self.session(m, source="127.0.0.2", helo="helo outside.example")
        self.assertEqual(c.cmd("mail from: spam@foo.biz")[1][0], "250 2.1.0 spam@foo.biz... Sender ok")
        self.assertEqual(c.cmd("rcpt to: hal@mx.test.example")[1][0],
                         "550 5.7.1 hal@mx.test.example... Access denied")
        self.assertEqual(c.cmd("rcpt to: abuse@mx.test.example")[1][0],
                         "250 2.1.5 abuse@mx.test.example... Recipient ok")


class GreetPause(PolicyCase):
    def test_seed_early_talker_transcript(self):
        m = self.new_mtad(mc_extra="FEATURE(`greet_pause', `700')dnl\n")
        c = m.connect(source="127.0.0.2")
        # the whole session at once, as `cat smtp-session | nc` sends it
        c.send("helo outside.example\r\nmail from: hal@deer-run.test\r\nrcpt to: alice@mx.test.example\r\n"
               "data\r\nFrom: hal@deer-run.test\r\n\r\nhello\r\n.\r\nquit\r\n")
        replies = []
        while True:
            code, lines = c.reply()
            if code is None:
                break
            replies.append(lines[0])
            if code == 221:
                break
        self.assertEqual(replies, [
            "554 mx.test.example ESMTP not accepting messages",
            "250 mx.test.example Hello [127.0.0.2], pleased to meet you",
            "550 5.0.0 Command rejected",
            "550 5.0.0 Command rejected",
            "550 5.0.0 Command rejected",
            '500 5.5.1 Command unrecognized: "From: hal@deer-run.test"',
            '500 5.5.1 Command unrecognized: ""',
            '500 5.5.1 Command unrecognized: "hello"',
            '500 5.5.1 Command unrecognized: "."',
            "221 2.0.0 mx.test.example closing connection",
        ])
        m.wait_log(r"NOQUEUE: rejecting commands from \[127\.0\.0\.2\] due to pre-greeting traffic after 0 seconds")
        self.assertEqual(m.queue_files(), [])

    def test_polite_client_is_greeted_after_the_pause(self):
        m = self.new_mtad(mc_extra="FEATURE(`greet_pause', `300')dnl\n")
        c = m.connect(source="127.0.0.2")
        code, lines = c.reply()
        self.assertEqual(code, 220)
        self.assertEqual(c.cmd("HELO x.example")[0], 250)

    def test_access_greetpause_zero_exempts_a_network(self):
        db = makemap(os.path.join(self.tmp, "access"), "GreetPause:127.0.0 0\n")
        m = self.new_mtad(mc_extra=("FEATURE(`access_db', `hash %s')dnl\n"
                                    "FEATURE(`greet_pause', `600000')dnl\n") % db)
        c = m.connect(source="127.0.0.2", timeout=10)   # a 10-minute pause would time this out
        self.assertEqual(c.reply()[0], 220)

    def test_m4_warning_when_greet_pause_before_access_db(self):
        p = self.write("x.mc", "FEATURE(`greet_pause', `1000')dnl\nFEATURE(`access_db')dnl\n")
        r = subprocess.run([binpath("mtad"), "-C", p, "-bC"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("*** WARNING: FEATURE(`greet_pause') before FEATURE(`access_db')-- greet_pause "
                      "will not use access_db!", r.stderr)


@unittest.skipUnless(HAVE_DNSMASQ, "dnsmasq is not installed")
class DnsChecks(PolicyCase):
    def setUp(self):
        super().setUp()
        self.dns = Dnsmasq(self.tmp, a=[("2.0.0.127.bl.test", "127.0.0.2")],
                           mx=[("real.test", "mx.real.test", 10)], hosts=[("mx.real.test", "127.0.0.9")]).start()

    def tearDown(self):
        super().tearDown()
        self.dns.stop()

    def test_dnsbl_hit_with_custom_message(self):
        m = self.new_mtad(mc_extra=("define(`confRESOLVER', `%s')dnl\n"
                                    "FEATURE(`dnsbl', `bl.test', `\"Rejected: $&{client_addr} is listed at bl.test\"')dnl\n")
                          % self.dns.server)
        c = self.session(m, source="127.0.0.2")
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[1][0],
                         '550 5.7.1 Rejected: 127.0.0.2 is listed at bl.test')
        m.wait_log(r"\[127\.0\.0\.2\] listed at bl\.test \(127\.0\.0\.2\)")
        c = self.session(m, source="127.0.0.3")     # not listed
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)

    def test_dnsbl_message_with_its_own_code(self):
        # seed 003 L742: `"450 Mail from " $`'&{client_addr} " refused - see ..."'
        m = self.new_mtad(mc_extra=("define(`confRESOLVER', `%s')dnl\n"
                                    "FEATURE(`dnsbl', `bl.test', `\"450 Mail from \" $`'&{client_addr} "
                                    "\" refused - see http://bl.test/\"')dnl\n") % self.dns.server)
        c = self.session(m, source="127.0.0.2")
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[1][0],
                         "450 4.7.1 Mail from 127.0.0.2 refused - see http://bl.test/")

    def test_dnsbl_default_message(self):
        m = self.new_mtad(mc_extra="define(`confRESOLVER', `%s')dnl\nFEATURE(`dnsbl', `bl.test')dnl\n"
                          % self.dns.server)
        c = self.session(m, source="127.0.0.2")
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[1][0],
                         "550 5.7.1 Rejected: 127.0.0.2 listed at bl.test")

    def test_pipelined_commands_wait_for_the_sender_lookup(self):
        # MAIL's answer waits for DNS: the RCPT and DATA pipelined behind it
        # must still see the sender (no 503)
        m = self.new_mtad(start=False, mc_extra="define(`confRESOLVER', `%s')dnl\n" % self.dns.server)
        m.start("-O", "AcceptUnresolvableDomains=False")
        c = self.session(m, source="127.0.0.2")
        c.send("MAIL FROM:<a@real.test>\r\nRCPT TO:<alice@mx.test.example>\r\nDATA\r\n")
        self.assertEqual([c.reply()[0] for _ in range(3)], [250, 250, 354])
        c.send("Subject: p\r\n\r\npipelined\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)

    def test_unresolvable_sender_domains(self):
        m = self.new_mtad(start=False, mc_extra="define(`confRESOLVER', `%s')dnl\n" % self.dns.server)
        m.start("-O", "AcceptUnresolvableDomains=False")
        c = self.session(m, source="127.0.0.2")
        self.assertEqual(c.cmd("MAIL FROM:<a@nowhere.test>")[1][0],
                         "553 5.1.8 <a@nowhere.test>... Domain of sender address a@nowhere.test does not exist")
        self.assertEqual(c.cmd("MAIL FROM:<a@real.test>")[0], 250)
        m2 = self.new_mtad("m2", start=False)          # its resolver does not answer
        m2.start("-O", "AcceptUnresolvableDomains=False")
        c = self.session(m2, source="127.0.0.2")
        self.assertEqual(c.cmd("MAIL FROM:<a@real.test>")[1][0],
                         "451 4.1.8 Domain of sender address a@real.test does not resolve")


class RelayControl(PolicyCase):
    def test_relay_domains_exact_domains_and_octet_prefixes(self):
        rd = self.write("relay-domains", "other.test\n127.0.0.5\n")
        m = self.new_mtad(mc_extra="define(`confCR_FILE', `%s')dnl\n" % rd)
        c = self.session(m, source="127.0.0.2")
        c.cmd("MAIL FROM:<a@example.org>")
        self.assertEqual(c.cmd("RCPT TO:<x@other.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<x@sub.other.test>")[0], 550)      # not subdomains
        self.assertEqual(c.cmd("RCPT TO:<x@far.example>")[0], 550)
        c = self.session(m, source="127.0.0.5")                              # our network
        c.cmd("MAIL FROM:<a@example.org>")
        self.assertEqual(c.cmd("RCPT TO:<x@far.example>")[0], 250)

    def test_promiscuous_relay_warns_and_relays(self):
        p = self.write("x.mc", "FEATURE(`promiscuous_relay')dnl\n")
        r = subprocess.run([binpath("mtad"), "-C", p, "-bC"], capture_output=True, text=True)
        self.assertIn("*** WARNING: FEATURE(`promiscuous_relay') configures your system as open relay.", r.stderr)
        m = self.new_mtad(mc_extra="FEATURE(`promiscuous_relay')dnl\n")
        c = self.session(m, source="127.0.0.2")
        c.cmd("MAIL FROM:<a@example.org>")
        self.assertEqual(c.cmd("RCPT TO:<x@far.example>")[0], 250)

    def test_unqualified_senders(self):
        m = self.new_mtad()
        c = self.session(m, source="127.0.0.2")
        self.assertEqual(c.cmd("MAIL FROM:<joe>")[0], 553)
        m2 = self.new_mtad("m2", mc_extra="FEATURE(`accept_unqualified_senders')dnl\n")
        c = self.session(m2, source="127.0.0.2")
        self.assertEqual(c.cmd("MAIL FROM:<joe>")[0], 250)

    def test_nouucp(self):
        m = self.new_mtad(mc_extra="FEATURE(`nouucp')dnl\n")
        c = self.session(m)
        c.cmd("MAIL FROM:<a@example.org>")
        self.assertEqual(c.cmd("RCPT TO:<host!user@mx.test.example>")[1][0],
                         "553 5.7.1 <host!user@mx.test.example>... UUCP address syntax not supported")


class Aliases(PolicyCase):
    def setUp(self):
        super().setUp()
        # programs run as DefaultUser when mtad runs as root: let it in
        os.chmod(self.tmp, 0o755)
        outdir = os.path.join(self.tmp, "out")
        os.makedirs(outdir)
        os.chmod(outdir, 0o1777)
        self.include = self.write("list.txt", "carol\nalice\n")
        # files named in root's aliases are written as DefaultUser too
        self.archive = os.path.join(self.tmp, "out", "archive.mbox")
        self.progout = os.path.join(self.tmp, "out", "prog.out")
        self.script = self.write("prog.sh", "#!/bin/sh\ncat > %s\necho \"$SENDER $RECIPIENT\" >> %s\n"
                                 % (self.progout, self.progout))
        os.chmod(self.script, 0o755)
        self.aliases = self.write("aliases", (
            "postmaster: alice\n"
            "staff: alice,\n  bob\n"
            "list: :include:%s\n"
            "owner-list: postmaster\n"
            "archive: %s\n"
            "robot: \"|%s\"\n"
            "loop1: loop2\nloop2: loop1\n") % (self.include, self.archive, self.script))
        self.m = self.new_mtad(mc_extra="define(`ALIAS_FILE', `%s')dnl\n" % self.aliases)

    def send(self, rcpts, subject):
        c = self.session(self.m)
        self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
        for r in rcpts:
            self.assertEqual(c.cmd("RCPT TO:<%s>" % r)[0], 250)
        c.cmd("DATA")
        c.send("Subject: %s\r\n\r\nbody of %s\r\n.\r\n" % (subject, subject))
        code, lines = c.reply()
        self.assertEqual(code, 250)
        return lines[0].split()[2]

    def test_newaliases_builds_the_database(self):
        r = self.m.run("-bi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"%s: 8 aliases, longest \d+ bytes, \d+ bytes total" % re.escape(self.aliases))
        self.assertTrue(os.path.exists(self.aliases + ".db"))
        r = subprocess.run([binpath("newaliases"), "-C", self.m.mc], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_list_include_owner_file_and_program(self):
        self.m.run("-bi")
        q = self.send(["staff@mx.test.example", "list@mx.test.example", "archive@mx.test.example",
                       "robot@mx.test.example"], "team")
        wait_for(lambda: os.path.exists(self.progout) and len(self.m.log_lines(q + ": to=")) >= 5,
                 what="all deliveries")
        self.m.wait_idle(q)
        self.assertEqual(self.m.mbox("alice").count(b"body of team"), 1)      # once, though in two lists
        self.assertIn(b"body of team", self.m.mbox("bob"))
        self.assertIn(b"body of team", self.m.mbox("carol"))
        with open(self.archive, "rb") as f:
            self.assertIn(b"body of team", f.read())
        with open(self.progout) as f:
            out = f.read()
        self.assertIn("Subject: team", out)
        self.assertIn("s@example.org |%s" % self.script, out)
        log = self.m.log()
        self.assertRegex(log, q + r": to=%s, .*mailer=\*file\*, .*stat=Sent" % re.escape(self.archive))
        self.assertRegex(log, q + r": to=\|%s, .*mailer=prog, .*stat=Sent" % re.escape(self.script))
        # the list's owner becomes the envelope sender of its copies
        self.assertTrue(self.m.mbox("carol").startswith(b"From owner-list@mx.test.example "))
        self.assertTrue(self.m.mbox("bob").startswith(b"From s@example.org "))
        self.assertEqual(self.m.queue_files(), [])

    def test_unknown_and_loop(self):
        c = self.session(self.m)
        c.cmd("MAIL FROM:<carol@mx.test.example>")
        self.assertEqual(c.cmd("RCPT TO:<nosuch@mx.test.example>")[0], 550)
        self.assertEqual(c.cmd("RCPT TO:<loop1@mx.test.example>")[0], 250)
        c.cmd("DATA")
        c.send("Subject: loop\r\n\r\nx\r\n.\r\n")
        q = c.reply()[1][0].split()[2]
        self.m.wait_log(q + r": to=<loop1@mx\.test\.example>, .*dsn=5\.3\.0, stat=554 aliasing loop")
        wait_for(lambda: b"aliasing loop" in self.m.mbox("carol"), what="the DSN to the sender")

    def test_programs_refused_when_local_shell_is_dev_null(self):
        m = self.new_mtad("m2", mc_extra="define(`ALIAS_FILE', `%s')dnl\ndefine(`LOCAL_SHELL_PATH', `/dev/null')dnl\n"
                          % self.aliases)
        c = self.session(m)
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<robot@mx.test.example>")
        c.cmd("DATA")
        c.send("Subject: p\r\n\r\nx\r\n.\r\n")
        q = c.reply()[1][0].split()[2]
        m.wait_log(q + r": to=\|.*mailer=prog, .*dsn=5\.3\.0, stat=program delivery is disabled")
        self.assertFalse(os.path.exists(self.progout))


class Virtusertable(PolicyCase):
    def test_user_catch_all_nested_and_error(self):
        vdoms = self.write("virtuserdomains", "virtual.test\nresponder.test\n")
        vt = makemap(os.path.join(self.tmp, "virtusertable"), (
            "bob@virtual.test alice\n"
            "support@virtual.test support@responder.test\n"
            "nouser@virtual.test error:nouser No such user here\n"
            "@virtual.test carol\n"
            "@responder.test bob@mx.test.example\n"))
        m = self.new_mtad(mc_extra=("VIRTUSER_DOMAIN_FILE(`-o %s')dnl\n"
                                    "FEATURE(`virtusertable', `hash -o %s')dnl\n") % (vdoms, vt))
        c = self.session(m, source="127.0.0.2")          # an outsider: virtual domains are ours
        c.cmd("MAIL FROM:<s@example.org>")
        self.assertEqual(c.cmd("RCPT TO:<nouser@virtual.test>")[1][0],
                         "550 5.1.1 <nouser@virtual.test>... No such user here")
        for r in ("bob@virtual.test", "random@virtual.test", "support@virtual.test"):
            self.assertEqual(c.cmd("RCPT TO:<%s>" % r)[0], 250)
        c.cmd("DATA")
        c.send("To: bob@virtual.test\r\nSubject: v\r\n\r\nvirtual\r\n.\r\n")
        q = c.reply()[1][0].split()[2]
        wait_for(lambda: len(m.log_lines(q + ": to=")) == 3, what="three deliveries")
        self.assertIn(b"virtual", m.mbox("alice"))     # bob@virtual.test
        self.assertIn(b"virtual", m.mbox("carol"))     # catch-all
        self.assertIn(b"virtual", m.mbox("bob"))       # nested: support -> responder catch-all
        self.assertIn(b"To: bob@virtual.test", m.mbox("alice"))   # headers untouched
        self.assertIn(q + ": to=<bob@virtual.test>,", m.log())    # logs keep the original


class Masquerading(PolicyCase):
    def test_header_and_envelope_masquerade_with_exposed_root(self):
        hubport = free_port()
        hub = self.new_mtad("hub", hostname="hub.sysiphus.test", port=hubport,
                            mc_extra="define(`confCW_FILE', `%s')dnl\n" % self.write("cw", "sysiphus.test\n"))
        m = self.new_mtad("client", hostname="ws1.sysiphus.test", start=False, mc_extra=(
            "define(`SMART_HOST', `[127.0.0.1]:%d')dnl\n"
            "MASQUERADE_AS(`sysiphus.test')dnl\n"
            "FEATURE(`allmasquerade')dnl\n"
            "FEATURE(`masquerade_envelope')dnl\n") % hubport)
        r = m.run("-odi", "-f", "alice", "bob@sysiphus.test",
                  input="From: alice\nTo: carol, dave@ws1.sysiphus.test\nSubject: m\n\nmasq\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        box = wait_for(lambda: hub.mbox("bob"), what="delivery at the hub").decode()
        self.assertIn("\nFrom: alice@sysiphus.test\n", box)
        self.assertIn("\nTo: carol@sysiphus.test, dave@sysiphus.test\n", box)
        self.assertTrue(box.startswith("From alice@sysiphus.test "))          # envelope too
        hub.wait_log(r"from=<alice@sysiphus\.test>")
        r = m.run("-odi", "-f", "root", "bob@sysiphus.test", input="From: root\nSubject: r\n\nsecond-message-body\n")
        wait_for(lambda: b"second-message-body" in hub.mbox("bob"), what="second delivery")
        self.assertIn(b"\nFrom: root@ws1.sysiphus.test\n", hub.mbox("bob"))   # EXPOSED_USER root


class AddressTesting(PolicyCase):
    def setUp(self):
        super().setUp()
        aliases = self.write("aliases", "postmaster: alice\nstaff: alice, bob, far@remote.test\n"
                                        "archive: /var/tmp/archive\n")
        mt = makemap(os.path.join(self.tmp, "mailertable"), "remote.test esmtp:[127.0.0.1]:2526\n")
        db = makemap(os.path.join(self.tmp, "access"), "Connect:127.0.0.9 RELAY\nFrom:bad.test REJECT\n")
        self.m = self.new_mtad(start=False, mc_extra=(
            "define(`ALIAS_FILE', `%s')dnl\nFEATURE(`mailertable', `hash %s')dnl\n"
            "FEATURE(`access_db', `hash %s')dnl\nMASQUERADE_AS(`corp.test')dnl\n") % (aliases, mt, db))

    def test_bv(self):
        r = self.m.run("-bv", "staff", "carol@mx.test.example", "nosuch", "x@elsewhere.test")
        self.assertEqual(r.returncode, 67)
        self.assertEqual(r.stdout.splitlines(), [
            "alice... deliverable: mailer local, user alice",
            "bob... deliverable: mailer local, user bob",
            "far@remote.test... deliverable: mailer esmtp, host [127.0.0.1], port 2526, user far@remote.test",
            "carol@mx.test.example... deliverable: mailer local, user carol",
            "nosuch... User unknown",
            "x@elsewhere.test... deliverable: mailer esmtp, host elsewhere.test, user x@elsewhere.test",
        ])
        self.assertEqual(self.m.run("-bv", "alice").returncode, 0)

    def test_bt_session(self):
        r = self.m.run("-bt", input=(
            "3,0 staff\n"
            "/map mailertable remote.test\n"
            "/map access From:bad.test\n"
            "/map aliases postmaster\n"
            "/try esmtp alice\n"
            ".D{client_addr}127.0.0.2\n"
            "/relay x@far.example\n"
            "/mail x@bad.test\n"
            ".D{client_addr}127.0.0.9\n"
            "/relay x@far.example\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertIn("bob... deliverable: mailer local, user bob", out)
        self.assertIn("map_lookup: mailertable (remote.test) returns esmtp:[127.0.0.1]:2526", out)
        self.assertIn("map_lookup: access (From:bad.test) returns REJECT", out)
        self.assertIn("map_lookup: aliases (postmaster) returns alice", out)
        self.assertIn("alice as mailer esmtp sends it: alice@corp.test", out)
        self.assertIn("client 127.0.0.2 (not trusted): 550 5.7.1 <x@far.example>... Relaying denied", out)
        self.assertIn("client 127.0.0.2 (not trusted): 550 5.7.1 <x@bad.test>... Access denied", out)
        self.assertIn("client 127.0.0.9 (not trusted): recipient accepted", out)
