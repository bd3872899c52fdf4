"""End-to-end tests for hdrtrace: the real binary on messages, mboxes,
Maildirs and stdin.  The seeds' answers are asserted: testcase1 -> block
64.97.136.157; testcase2 -> backscatter with a forged HELO deer-run.com."""
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import unittest

from harness import DATA_DIR, MtadTestCase, binpath, wait_for

DATA = os.path.join(DATA_DIR, "hdrtrace")
MAN = os.path.join(os.path.dirname(DATA_DIR), "..", "man", "hdrtrace.1")


def data(name):
    return os.path.join(DATA, name)


def run(*args, input=None):
    return subprocess.run([binpath("hdrtrace")] + list(args), input=input,
                          capture_output=True, timeout=60)


def run_json(*args, input=None):
    p = run("--json", *args, input=input)
    lines = [l for l in p.stdout.decode().splitlines() if l.strip()]
    return p, [json.loads(l) for l in lines]


def codes(obj):
    return [v["code"] for v in obj["verdicts"]]


class Testcase1(unittest.TestCase):
    """Seed 002 exercise 4.2.1: which IP to block."""

    def test_block_ip_text(self):
        p = run("--trusted", "deer-run.com", data("testcase1.eml"))
        out = p.stdout.decode()
        self.assertIn("Block:      64.97.136.157", out)
        m = re.search(r"^!\s+(\d+)\s+n082\.sc1\.cp\.net\s+smtpout0157\.sc1\.cp\.net\s+"
                      r"64\.97\.136\.157\s+bullwinkle\.deer-run\.com", out, re.M)
        self.assertTrue(m, out)
        self.assertEqual(m.group(1), "3")

    def test_block_ip_only(self):
        p = run("-b", "-t", "deer-run.com", data("testcase1.eml"))
        self.assertEqual(p.stdout.decode(), "64.97.136.157\n")
        self.assertEqual(p.returncode, 0)

    def test_json_hops_and_first_untrusted(self):
        p, objs = run_json("-t", "deer-run.com", data("testcase1.eml"))
        self.assertEqual(len(objs), 1)
        o = objs[0]
        hops = o["hops"]
        self.assertEqual(len(hops), 4)      # one per Received: field
        self.assertEqual([h["from_ip"] for h in hops],
                         ["81.69.169.217", "64.97.139.2", "64.97.136.157", "10.66.1.2"])
        self.assertEqual(hops[0]["from_helo"], "Http Client")
        self.assertEqual(hops[0]["by"], "64.97.168.13")
        self.assertEqual(hops[1]["id"], "439FD7C80001502E")
        self.assertEqual(hops[2]["from_rdns"], "smtpout0157.sc1.cp.net")
        self.assertEqual(hops[2]["with"], "ESMTP")
        self.assertEqual(hops[2]["for"], "info@deer-run.com")
        self.assertEqual(hops[2]["date"], "2005-12-14T18:18:45Z")
        self.assertEqual(hops[2]["delay_s"], 28 * 60 + 36)
        self.assertIsNone(hops[0]["delay_s"])
        for k in ("from_helo", "from_rdns", "from_ip", "by", "with", "id", "for", "date",
                  "delay_s"):
            self.assertIn(k, hops[3])
        fu = o["first_untrusted"]
        self.assertEqual(fu["hop"], 3)
        self.assertEqual(fu["ip"], "64.97.136.157")
        self.assertEqual(fu["by"], "bullwinkle.deer-run.com")
        self.assertEqual(o["verdicts"], [])
        self.assertEqual(p.returncode, 0)

    def test_cidr_and_file_trust(self):
        # trusting cp.net's relay and its outbound block moves the boundary down
        p, objs = run_json("-t", "deer-run.com", "-t", "n082.sc1.cp.net",
                           "-t", "64.97.136.0/24", data("testcase1.eml"))
        self.assertEqual(objs[0]["first_untrusted"]["hop"], 2)
        self.assertEqual(objs[0]["first_untrusted"]["ip"], "64.97.139.2")
        # trusting only the inner host: its trusted client (rDNS deer.deer-run.com)
        # wrote the line below, whatever it calls itself there (bullwinkle)
        p, objs = run_json("-t", "deer.deer-run.com", data("testcase1.eml"))
        self.assertEqual(objs[0]["first_untrusted"]["hop"], 3)
        self.assertIn("trusted client deer.deer-run.com", objs[0]["trust_walk"]["steps"][2]["why"])
        # trusting only the outer host: the newest hop is not ours, no answer
        p, objs = run_json("-t", "bullwinkle.deer-run.com", data("testcase1.eml"))
        self.assertIsNone(objs[0]["first_untrusted"])
        self.assertIn("deer.deer-run.com", objs[0]["first_untrusted_note"])
        with tempfile.NamedTemporaryFile("w", suffix=".trust", delete=False) as f:
            f.write("# our hosts\ndeer-run.com\n10.66.0.0/16  # LAN\n")
        try:
            p, objs = run_json("--trusted-file", f.name, data("testcase1.eml"))
            self.assertEqual(objs[0]["first_untrusted"]["ip"], "64.97.136.157")
        finally:
            os.unlink(f.name)

    def test_no_trusted_means_no_first_untrusted_key(self):
        p, objs = run_json(data("testcase1.eml"))
        self.assertNotIn("first_untrusted", objs[0])
        self.assertTrue(objs[0]["trusted_assumed"])


class Testcase2(unittest.TestCase):
    """Seed 002 exercise 4.2.2: the bounce is backscatter."""

    def test_backscatter_and_forged_helo(self):
        p, objs = run_json("-t", "deer-run.com", data("testcase2.eml"))
        o = objs[0]
        self.assertEqual(p.returncode, 1)
        self.assertTrue(o["bounce"])
        c = codes(o)
        self.assertIn("backscatter", c)
        self.assertIn("helo-rdns-mismatch", c)
        self.assertIn("dynamic-rdns", c)
        helo = [v for v in o["verdicts"] if v["code"] == "helo-rdns-mismatch"][0]
        self.assertEqual(helo["chain"], "returned_message")
        self.assertEqual(helo["hop"], 1)
        self.assertIn("deer-run.com", helo["text"])
        self.assertIn("dialup.vsnl.net.in", helo["text"])
        bs = [v for v in o["verdicts"] if v["code"] == "backscatter"][0]
        self.assertIn("hal@deer-run.com", bs["text"])
        # the returned chain is kept apart from the message's own hops
        self.assertEqual(len(o["hops"]), 2)
        rh = o["returned_message"]["hops"]
        self.assertEqual(len(rh), 3)
        self.assertEqual(rh[0]["from_helo"], "deer-run.com")
        self.assertEqual(rh[0]["from_ip"], "219.64.185.5")
        self.assertEqual(rh[2]["envelope_from"], "hal@deer-run.com")
        self.assertEqual(rh[0]["date"], "2006-01-05T08:20:15Z")   # en dash zone
        self.assertTrue(rh[1]["zone_assumed"])
        self.assertEqual(rh[1]["date"], "2006-01-05T08:20:54Z")
        self.assertNotIn("time-reversal", c)

    def test_assumed_trust_gives_same_verdict(self):
        p, objs = run_json(data("testcase2.eml"))
        self.assertEqual(objs[0]["trusted"], "deer-run.com")
        self.assertIn("backscatter", codes(objs[0]))

    def test_not_backscatter_when_original_passed_through_us(self):
        # trusting metrogr.org makes the returned message "ours"
        p, objs = run_json("-t", "metrogr.org", "-t", "deer-run.com", data("testcase2.eml"))
        self.assertNotIn("backscatter", codes(objs[0]))

    def test_text_output(self):
        p = run("--no-color", data("testcase2.eml"))
        out = p.stdout.decode()
        self.assertIn("Returned message", out)
        self.assertRegex(out, r"backscatter\s+alert")
        self.assertNotIn("\033[", out)


class Inputs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hdrtrace-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_mbox_each_message(self):
        p, objs = run_json("-t", "sysiphus.com", "-t", "192.168.10.0/24", data("santa.mbox"))
        self.assertEqual([o["message"] for o in objs], [1, 2])
        self.assertEqual(objs[0]["subject"], "Ho Ho Ho")
        self.assertEqual(objs[0]["first_untrusted"]["ip"], "130.55.12.34")
        self.assertIn("message-id-by-relay", codes(objs[0]))
        self.assertIn("helo-rdns-mismatch", codes(objs[0]))
        self.assertIsNone(objs[1]["first_untrusted"])
        self.assertEqual(objs[1]["verdicts"], [])

    def test_stdin(self):
        with open(data("testcase1.eml"), "rb") as f:
            raw = f.read()
        p = run("-b", "-t", "deer-run.com", input=raw)
        self.assertEqual(p.stdout, b"64.97.136.157\n")
        p = run("-b", "-t", "deer-run.com", "-", input=raw.replace(b"\n", b"\r\n"))
        self.assertEqual(p.stdout, b"64.97.136.157\n")

    def test_maildir(self):
        md = os.path.join(self.tmp, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub))
        shutil.copy(data("testcase1.eml"), os.path.join(md, "new", "1.host"))
        shutil.copy(data("testcase2.eml"), os.path.join(md, "cur", "2.host:2,S"))
        with open(os.path.join(md, "tmp", "3.partial"), "w") as f:
            f.write("Received: from half.written\n")
        p, objs = run_json("-t", "deer-run.com", md)
        self.assertEqual(len(objs), 2)
        self.assertEqual(objs[0]["first_untrusted"]["ip"], "64.97.136.157")
        self.assertIn("backscatter", codes(objs[1]))
        self.assertEqual(p.returncode, 1)

    def test_forms_mbox(self):
        p, objs = run_json("-t", "example.net", data("forms.mbox"))
        self.assertEqual(len(objs), 3)
        gm, ex, qm = objs
        self.assertEqual(len(gm["hops"]), 3)
        self.assertEqual(len(gm["x_received"]), 1)          # not mixed into hops
        self.assertEqual(gm["hops"][2]["mta"], "postfix")
        self.assertEqual(gm["first_untrusted"]["ip"], "209.85.208.54")
        self.assertEqual(ex["hops"][1]["with"], "Microsoft SMTP Server")
        self.assertEqual(ex["hops"][2]["from_helo"], "NAM12-DM6-obe.outbound.protection.outlook.com")
        self.assertEqual(len(qm["hops"]), 4)
        self.assertFalse(qm["hops"][2]["parsed"])
        self.assertEqual(qm["hops"][2]["raw"], "this line is garbage")
        self.assertIn("unparsed-received", codes(qm))
        self.assertNotIn("time-reversal", codes(qm))     # one clock behind: skew
        skew = [v for v in qm["verdicts"] if v["code"] == "clock-skew"][0]
        self.assertEqual((skew["hop"], skew["line"]), (2, 4))
        self.assertIn("behind", skew["text"])
        self.assertIn("message-id-mismatch", codes(qm))
        self.assertNotIn("time-reversal", codes(gm))

    def test_tolerance(self):
        p, objs = run_json("--tolerance", "3600", data("forms.mbox"))
        self.assertNotIn("time-reversal", codes(objs[2]))
        self.assertIn("clock-skew", codes(objs[2]))

    def test_private_ip_in_untrusted_hop(self):
        msg = (b"Received: from a.example.org (a.example.org [198.51.100.7])\n"
               b"\tby mx.example.net (8.17.1/8.17.1) with ESMTP id 41ABCDEF000001\n"
               b"\tfor <u@example.net>; Mon, 1 Jan 2024 12:00:02 +0000\n"
               b"Received: from pc.example.org (dhcp-10.example.org [10.1.2.3])\n"
               b"\tby a.example.org (8.17.1/8.17.1) with ESMTP id 41ABCDEF000000;\n"
               b"\tMon, 1 Jan 2024 12:00:01 +0000\n"
               b"From: x@example.org\nMessage-Id: <1@example.org>\n\nbody\n")
        p, objs = run_json("-t", "example.net", input=msg)
        v = [x for x in objs[0]["verdicts"] if x["code"] == "private-ip-external"]
        self.assertEqual(len(v), 1)
        self.assertEqual(v[0]["hop"], 1)
        self.assertIn("10.1.2.3", v[0]["text"])

    def test_hostile_input_does_not_crash(self):
        big = b"Received: " + b"(" * 200000 + b"\n" + \
              b"Received: from " + b"a " * 100000 + b"by b; Mon, 1 Jan 2024 00:00:00 +0000\n" + \
              b"Received: \xff\xfe\x00garbage [::::::] [1.2.3.4.5] ;;;\n\nbody\n"
        p, objs = run_json(input=big)
        self.assertIn(p.returncode, (0, 1))
        self.assertEqual(len(objs[0]["hops"]), 3)
        json.dumps(objs)    # the \xff bytes came out as valid JSON text

    def test_exit_codes(self):
        p = run(os.path.join(self.tmp, "missing"))
        self.assertEqual(p.returncode, 66)
        self.assertIn(b"missing", p.stderr)
        p = run("--bogus-option")
        self.assertEqual(p.returncode, 64)
        p = run("-t", "not a domain!", data("testcase1.eml"))
        self.assertEqual(p.returncode, 64)
        p = run("--tolerance", "abc", data("testcase1.eml"))
        self.assertEqual(p.returncode, 64)
        p = run(input=b"")
        self.assertEqual(p.returncode, 66)
        p = run("-t", "deer-run.com", data("testcase1.eml"))
        self.assertEqual(p.returncode, 0)
        p = run(data("testcase2.eml"))
        self.assertEqual(p.returncode, 1)

    def test_color_only_when_asked(self):
        p = run(data("testcase2.eml"))
        self.assertNotIn(b"\033[", p.stdout)          # not a terminal
        p = run("--color=always", data("testcase2.eml"))
        self.assertIn(b"\033[", p.stdout)

    def test_columns_line_up(self):
        p = run("--no-color", "-t", "deer-run.com", data("testcase1.eml"))
        lines = p.stdout.decode().splitlines()
        head = next(i for i, l in enumerate(lines) if re.match(r"\s+#\s+HELO", l))
        header = lines[head]
        col = header.index("BY")
        for row in lines[head + 1:head + 5]:
            self.assertRegex(row[col:], r"^\S", row)
            self.assertEqual(row[col - 2:col], "  ")

    def test_dns_is_off_by_default_and_offline_safe(self):
        p, objs = run_json(data("testcase2.eml"))
        self.assertNotIn("dns", objs[0]["hops"][1])
        # a resolver that does not answer: lookups fail fast and are marked
        p, objs = run_json("--dns", "--resolver", "127.0.0.1:9", "--dns-timeout", "1",
                           "-t", "deer-run.com", data("testcase1.eml"))
        h = objs[0]["hops"][2]
        self.assertTrue(h["dns"]["live"])
        self.assertIsNotNone(h["dns"]["error"])


class ManPage(unittest.TestCase):
    def test_help_matches_man_page(self):
        p = run("--help")
        self.assertEqual(p.returncode, 0)
        help_flags = set(re.findall(r"--[a-z][a-z-]+", p.stdout.decode()))
        with open(MAN) as f:
            man = f.read().replace("\\-", "-")
        man_flags = set(re.findall(r"--[a-z][a-z-]+", man))
        self.assertTrue(help_flags)
        self.assertEqual(help_flags, man_flags)
        for code in ("helo-rdns-mismatch", "backscatter", "private-ip-external", "time-reversal",
                     "clock-skew", "unparsed-received", "dynamic-rdns", "message-id-mismatch",
                     "message-id-by-relay", "dnsbl-listed"):
            self.assertIn(code, man)


class ThroughMtad(MtadTestCase):
    """A message delivered by mtad: its own Received: field is parsed and
    trusted, the hops written before it are judged."""

    def test_mtad_delivery_chain(self):
        if not os.path.exists(binpath("mtad")):
            self.skipTest("mtad not built")
        m = self.new_mtad(hostname="mx.test.example")
        msg = ("Received: from relay.sender.example (relay.sender.example [198.51.100.20])\r\n"
               "\tby out.sender.example (8.17.1/8.17.1) with ESMTP id 41ABC0000001;\r\n"
               "\tMon, 1 Jan 2024 12:00:00 +0000\r\n"
               "From: a@sender.example\r\nTo: alice@mx.test.example\r\n"
               "Message-Id: <x1@sender.example>\r\nSubject: via mtad\r\n\r\nhello\r\n")
        with smtplib.SMTP("127.0.0.1", m.port, local_hostname="out.sender.example",
                          timeout=10) as s:
            s.sendmail("a@sender.example", ["alice"], msg)
        box = wait_for(lambda: m.mbox("alice"), what="delivery to alice")
        p, objs = run_json("-t", "mx.test.example", input=box)
        self.assertEqual(len(objs), 1)
        hops = objs[0]["hops"]
        self.assertEqual(len(hops), 2, hops)
        top = hops[-1]
        self.assertTrue(top["parsed"], top)
        self.assertEqual(top["by"], "mx.test.example")
        self.assertEqual(top["from_helo"], "out.sender.example")
        self.assertEqual(top["from_ip"], "127.0.0.1")
        self.assertIsNotNone(top["date"])
        self.assertTrue(top["id"])
        # mtad's queue ID is the one its log carries
        self.assertTrue(any(top["id"] in l for l in m.log_lines()), m.log())
        # loopback is the receiving host itself: trusted like it, so the
        # walk stops at the sender's own relay, which is not ours
        self.assertIsNone(objs[0]["first_untrusted"])
        self.assertIn("out.sender.example", objs[0]["first_untrusted_note"])



# ---------------------------------------------------------------------------
# Real chains: retrieval agents, DKIM/ARC signers, logs, and the corpus.

ORIGINAL = ("Received: from evil.example (evil.example [203.0.113.9])\r\n"
            "\tby out.sender.example (8.17.1/8.17.1) with ESMTP id 41ABC0000001;\r\n"
            "\tMon, 1 Jan 2024 12:00:00 +0000\r\n"
            "From: a@sender.example\r\nTo: alice@mx.test.example\r\n"
            "Message-Id: <r1@sender.example>\r\nSubject: fetched\r\n\r\nhello\r\n")


def roles(obj):
    """Trust-walk roles, newest first."""
    return [s["role"] for s in reversed(obj["trust_walk"]["steps"])]


class RetrievalAgents(MtadTestCase):
    """fetchmail and getmail (the Debian packages) fetch, over POP3, a
    message mtad delivered: their Received: lines are skipped as
    "retrieved", and the walk goes on to the hop where the message entered."""

    def delivered(self):
        m = self.new_mtad(hostname="mx.test.example")
        with smtplib.SMTP("127.0.0.1", m.port, local_hostname="out.sender.example",
                          timeout=10) as s:
            s.sendmail("a@sender.example", ["alice"], ORIGINAL)
        box = wait_for(lambda: m.mbox("alice"), what="delivery to alice")
        return box.split(b"\n", 1)[1]       # the mbox From_ line is not POP3's

    def check_chain(self, path, agent_with):
        p, objs = run_json("-t", "mx.test.example", "-t", "sender.example", path)
        o = objs[0]
        self.assertEqual(len(o["hops"]), 3, o["hops"])
        self.assertEqual(o["hops"][2]["with"].split()[0], agent_with)
        self.assertEqual(roles(o), ["retrieved", "local", "entry"], o["trust_walk"])
        self.assertEqual(o["first_untrusted"]["ip"], "203.0.113.9")
        tw = o["trust_walk"]
        self.assertEqual((tw["result"], tw["decided_hop"]), ("entry", 1))
        self.assertIn("by out.sender.example", tw["decided_field"])
        self.assertIn("matches --trusted sender.example", tw["why"])
        self.assertIn("203.0.113.9", tw["why"])
        # the line number names the field in the file's header block
        with open(path, "rb") as f:
            head = f.read().split(b"\n\n", 1)[0].decode().split("\n")
        self.assertTrue(head[tw["decided_line"] - 1].startswith("Received: from evil.example"))
        t = run("-t", "mx.test.example", "-t", "sender.example", path).stdout.decode()
        self.assertRegex(t, r"hop 3\s+retrieved\s+retrieved by \S+ from the mailbox server")
        self.assertIn("Decided by: hop 1, header line %d" % tw["decided_line"], t)
        self.assertIn("Block:      203.0.113.9", t)
        return o

    def test_fetchmail_hop_skipped(self):
        if not shutil.which("fetchmail"):
            self.skipTest("fetchmail not installed")
        from pop3d import Pop3Server
        pop = Pop3Server([self.delivered()])
        self.addCleanup(pop.close)
        home = os.path.join(self.tmp, "fm")
        os.makedirs(home)
        out = os.path.join(home, "fetched.eml")
        rc = os.path.join(home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('set no syslog\npoll 127.0.0.1 proto pop3 port %d user "alice" there '
                    'with password "pw" is alice here options keep sslproto "" '
                    'mda "/bin/sh -c \'cat > %s\'"\n' % (pop.port, out))
        os.chmod(rc, 0o600)
        p = subprocess.run(["fetchmail", "-f", rc, "-N", "--nosyslog"], capture_output=True,
                           text=True, timeout=60,
                           env=dict(os.environ, FETCHMAILHOME=home, HOME=home))
        self.assertEqual(p.returncode, 0, p.stderr)
        o = self.check_chain(out, "POP3")
        self.assertEqual(o["hops"][2]["mta"], "fetchmail")

    def test_getmail_hop_skipped(self):
        if not shutil.which("getmail"):
            self.skipTest("getmail6 not installed")
        from pop3d import Pop3Server
        pop = Pop3Server([self.delivered()])
        self.addCleanup(pop.close)
        home = os.path.join(self.tmp, "gm")
        md = os.path.join(home, "md")
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, d))
        extra = ""
        if os.getuid() == 0:
            # getmail refuses to deliver as root: it delivers as nobody
            extra = "user = nobody\n"
            for d in (self.tmp, home, md) + tuple(os.path.join(md, x) for x in ("cur", "new", "tmp")):
                os.chmod(d, 0o777)
        with open(os.path.join(home, "getmailrc"), "w") as f:
            f.write("[retriever]\ntype = SimplePOP3Retriever\nserver = 127.0.0.1\nport = %d\n"
                    "username = alice\npassword = pw\n\n[destination]\ntype = Maildir\n"
                    "path = %s/\n%s\n[options]\nread_all = true\ndelete = false\nverbose = 0\n"
                    % (pop.port, md, extra))
        p = subprocess.run(["getmail", "--getmaildir", home, "--rcfile", "getmailrc"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        new = os.listdir(os.path.join(md, "new"))
        self.assertEqual(len(new), 1)
        o = self.check_chain(os.path.join(md, "new", new[0]), "POP3")
        self.assertEqual(o["hops"][2]["mta"], "getmail")
        self.assertEqual(o["hops"][2]["id"], "u1")


class Walk(unittest.TestCase):
    """The walk on shapes the corpus has: local submission, by-less MUA
    lines, one organisation's relays under other names, IMAP retrieval."""

    def test_local_submission_and_mua_lines(self):
        msg = (b"Received: with local; Mon, 1 Jan 2024 12:00:09 +0000\n"
               b"Received: from mx.example.net (mx.example.net [192.0.2.1])\n"
               b"\tby imap.example.net (Postfix) with LMTP id AAAA1;\n"
               b"\tMon, 1 Jan 2024 12:00:08 +0000\n"
               b"Received: from relay.example-mail.com (relay.example-mail.com [198.51.100.3])\n"
               b"\tby mx.example.net (Postfix) with ESMTPS id BBBB2;\n"
               b"\tMon, 1 Jan 2024 12:00:07 +0000\n"
               b"Received: from out1.internal (unknown [10.9.9.9])\n"
               b"\tby relay-7.corp.lan (Postfix) with ESMTP id CCCC3;\n"
               b"\tMon, 1 Jan 2024 12:00:06 +0000\n"
               b"Received: from [203.0.113.50] (dsl-203-0-113-50.isp.example [203.0.113.50])\n"
               b"\tby out1.internal (Postfix) with ESMTPSA id DDDD4;\n"
               b"\tMon, 1 Jan 2024 12:00:05 +0000\n"
               b"Received: by laptop.home (Postfix, from userid 1000) id EEEE5;\n"
               b"\tMon, 1 Jan 2024 12:00:04 +0000\n"
               b"From: a@example-mail.com\nMessage-Id: <w1@example-mail.com>\n\nx\n")
        p, objs = run_json("-t", "example.net", "-t", "198.51.100.0/24", "-t", "10.0.0.0/8",
                           input=msg)
        o = objs[0]
        self.assertEqual(roles(o), ["local", "trusted", "trusted", "trusted", "entry", "beyond"])
        steps = {s["hop"]: s["why"] for s in o["trust_walk"]["steps"]}
        self.assertIn('no "by" part', steps[6])
        # relay-7.corp.lan matches nothing: its line was written by the trusted client
        self.assertIn("trusted client relay.example-mail.com of hop 4", steps[3])
        self.assertEqual(o["first_untrusted"]["hop"], 2)
        self.assertEqual(o["first_untrusted"]["ip"], "203.0.113.50")
        self.assertEqual(o["trust_walk"]["decided_line"], 11)

    def test_newest_not_ours_stops(self):
        msg = (b"Received: from a.example.org (a.example.org [192.0.2.7])\n"
               b"\tby mx.elsewhere.example (8.17.1/8.17.1) with ESMTP id 41ABCDEF000001;\n"
               b"\tMon, 1 Jan 2024 12:00:02 +0000\n\nx\n")
        p, objs = run_json("-t", "example.net", input=msg)
        o = objs[0]
        self.assertIsNone(o["first_untrusted"])
        self.assertEqual(o["trust_walk"]["result"], "stopped")
        self.assertIn("mx.elsewhere.example", o["trust_walk"]["why"])
        self.assertEqual(o["trust_walk"]["decided_line"], 1)

    def test_imap_retrieval_and_provider(self):
        msg = (b"Received: from imap.provider.example [192.0.2.40]\n"
               b"\tby localhost with IMAP (fetchmail-6.4.37)\n"
               b"\tfor <me@localhost> (single-drop); Mon, 1 Jan 2024 12:01:00 +0000\n"
               b"Received: from mx2.provider.example (mx2.provider.example [192.0.2.41])\n"
               b"\tby store.provider.example with LMTP id X1;\n"
               b"\tMon, 1 Jan 2024 12:00:10 +0000\n"
               b"Received: from spam.example (spam.example [198.51.100.66])\n"
               b"\tby mx2.provider.example with ESMTP id X2;\n"
               b"\tMon, 1 Jan 2024 12:00:09 +0000\n\nx\n")
        p, objs = run_json("-t", "my.home.example", input=msg)
        o = objs[0]
        self.assertEqual(roles(o), ["retrieved", "trusted", "entry"])
        self.assertEqual(o["first_untrusted"]["ip"], "198.51.100.66")

    def test_clock_skew_told_from_impossible_order(self):
        base = (b"Received: from b.example (b.example [192.0.2.2])\n"
                b"\tby c.example (Postfix) with ESMTP id C1; Mon, 1 Jan 2024 12:00:%s +0000\n"
                b"Received: from a.example (a.example [192.0.2.1])\n"
                b"\tby b.example (Postfix) with ESMTP id B1; Mon, 1 Jan 2024 %s +0000\n"
                b"Received: from o.example (o.example [192.0.2.9])\n"
                b"\tby a.example (Postfix) with ESMTP id A1; Mon, 1 Jan 2024 12:00:00 +0000\n\nx\n")
        # b.example's clock is an hour ahead: a and c agree with each other
        p, objs = run_json(input=base % (b"20", b"13:00:10"))
        v = [x for x in objs[0]["verdicts"] if x["code"] in ("clock-skew", "time-reversal")]
        self.assertEqual([(x["code"], x["hop"]) for x in v], [("clock-skew", 2)], v)
        self.assertIn("b.example runs about", v[0]["text"])
        self.assertIn("ahead", v[0]["text"])
        # one host writing two lines that go back in time: impossible
        same = (b"Received: from localhost (localhost [127.0.0.1])\n"
                b"\tby mx.example (Postfix) with ESMTP id M2; Mon, 1 Jan 2024 12:00:00 +0000\n"
                b"Received: from o.example (o.example [192.0.2.9])\n"
                b"\tby mx.example (Postfix) with ESMTP id M1; Mon, 1 Jan 2024 12:05:00 +0000\n\nx\n")
        p, objs = run_json(input=same)
        v = [x for x in objs[0]["verdicts"] if x["code"] == "time-reversal"]
        self.assertEqual(len(v), 1)
        self.assertIn("cannot run backwards", v[0]["text"])
        self.assertEqual(v[0]["line"], 1)
        # no single clock explains it: a step between two segments
        step = (b"Received: from b.example (b.example [192.0.2.2])\n"
                b"\tby c.example (Postfix) with ESMTP id C1; Mon, 1 Jan 2024 12:00:01 +0000\n"
                b"Received: from a.example (a.example [192.0.2.1])\n"
                b"\tby b.example (Postfix) with ESMTP id B1; Mon, 1 Jan 2024 12:00:00 +0000\n"
                b"Received: from o.example (o.example [192.0.2.9])\n"
                b"\tby a.example (Postfix) with ESMTP id A2; Mon, 1 Jan 2024 13:00:00 +0000\n"
                b"Received: from p.example (p.example [192.0.2.8])\n"
                b"\tby o.example (Postfix) with ESMTP id A1; Mon, 1 Jan 2024 12:59:59 +0000\n\nx\n")
        p, objs = run_json(input=step)
        codes_ = [(x["code"], x["hop"]) for x in objs[0]["verdicts"]
                  if x["code"] in ("clock-skew", "time-reversal")]
        self.assertEqual(codes_, [("time-reversal", 3)])


DKIM_DATA = "/usr/lib/python3/dist-packages/dkim/tests/data"

SIGNER = r'''
import dkim, sys
rsa = open(sys.argv[1], "rb").read()
ed = open(sys.argv[2], "rb").read()
msg = sys.stdin.buffer.read()
out = b""
for c in ((b"simple", b"simple"), (b"simple", b"relaxed"), (b"relaxed", b"simple"),
          (b"relaxed", b"relaxed")):
    out += dkim.sign(msg, b"sel", b"example.org", rsa, canonicalize=c,
                     include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    out += dkim.sign(msg, b"ed", b"example.org", ed, canonicalize=c,
                     signature_algorithm=b"ed25519-sha256",
                     include_headers=[b"from", b"to", b"subject"])
signed = out + b"Authentication-Results: mx.example.org; dkim=pass header.d=example.org\r\n" + msg
arc = dkim.arc_sign(signed, b"sel", b"example.org", rsa, b"mx.example.org",
                    include_headers=[b"from", b"to", b"subject"])
full = b"".join(arc) + signed
keys = {b"sel._domainkey.example.org.": open(sys.argv[3], "rb").read(),
        b"ed._domainkey.example.org.": open(sys.argv[4], "rb").read()}
ok = dkim.verify(full, dnsfunc=lambda n, timeout=5: keys.get(n))
sys.stdout.buffer.write(full)
sys.exit(0 if ok else 3)
'''

SIGNED_MSG = (b"Received: from client.example.org (client.example.org [192.0.2.5])\r\n"
              b"\tby mx.example.org (Postfix) with ESMTP id 4AB12\r\n"
              b"\tfor <bob@example.net>; Mon, 1 Jan 2024 12:00:00 +0000\r\n"
              b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
              b"Subject:   folded   \r\n  subject  here\r\n"
              b"Date: Mon, 1 Jan 2024 12:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\n"
              b"Hello  Bob,  \r\n\tsecond line\t \r\n\r\n\r\n")


class Signatures(unittest.TestCase):
    """DKIM and ARC signatures made by python3-dkim with opendkim-genkey
    keys (and RFC 8463's signed example), verified offline."""

    def setUp(self):
        if not os.path.exists("/usr/bin/python3") or subprocess.run(
                ["/usr/bin/python3", "-c", "import dkim, authres"]).returncode:
            self.skipTest("python3-dkim/python3-authres not installed")
        if not shutil.which("opendkim-genkey"):
            self.skipTest("opendkim-tools not installed")
        self.tmp = tempfile.mkdtemp(prefix="hdrtrace-dkim-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        subprocess.run(["opendkim-genkey", "-D", self.tmp, "-d", "example.org", "-s", "sel"],
                       check=True)
        with open(os.path.join(DKIM_DATA, "ed25519test.dns")) as f:
            self.ed_pub = "v=DKIM1; " + f.read().strip()
        self.ed_txt = os.path.join(self.tmp, "ed.txt")
        with open(self.ed_txt, "w") as f:
            f.write(self.ed_pub)
        rsa_rec = open(os.path.join(self.tmp, "sel.txt")).read()
        self.rsa_txt = os.path.join(self.tmp, "rsa.txt")
        with open(self.rsa_txt, "w") as f:
            f.write("".join(re.findall(r'"([^"]*)"', rsa_rec)))
        p = subprocess.run(["/usr/bin/python3", "-c", SIGNER, os.path.join(self.tmp, "sel.private"),
                            os.path.join(DKIM_DATA, "ed25519test.key"), self.rsa_txt, self.ed_txt],
                           input=SIGNED_MSG, capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.signed = p.stdout
        # the key file: opendkim-genkey's own .txt (relative name) + one zone line
        self.keys = os.path.join(self.tmp, "keys.zone")
        with open(self.keys, "w") as f:
            f.write(rsa_rec)
            f.write('ed._domainkey.example.org. IN TXT "%s"\n' % self.ed_pub)

    def sigs(self, *args, data=None):
        p, objs = run_json("-k", self.keys, *args, input=data or self.signed)
        return p, objs[0]

    def test_all_canonicalizations_and_arc_pass(self):
        p, o = self.sigs()
        res = [(s["header"], s["a"], s["c"], s["result"]) for s in o["signatures"]]
        self.assertEqual(len(res), 10, res)
        self.assertTrue(all(r[3] == "pass" for r in res), res)
        self.assertEqual({r[2] for r in res if r[0] == "DKIM-Signature"},
                         {"simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"})
        self.assertEqual({r[1] for r in res}, {"rsa-sha256", "ed25519-sha256"})
        self.assertEqual([r[0] for r in res[:2]], ["ARC-Seal", "ARC-Message-Signature"])
        self.assertEqual((o["arc"]["instances"], o["arc"]["result"]), (1, "pass"))
        self.assertIn("dkim=pass", o["arc"]["authentication_results"][0]["text"])
        self.assertEqual(o["verdicts"], [])
        self.assertEqual(p.returncode, 0)
        # the same on a LF-only copy (as mbox and Maildir store it)
        p, o = self.sigs(data=self.signed.replace(b"\r\n", b"\n"))
        self.assertTrue(all(s["result"] == "pass" for s in o["signatures"]))

    def test_tampered_body_and_header_fail_with_line(self):
        body = self.signed.replace(b"Hello  Bob", b"Hello  Eve")
        p, o = self.sigs(data=body)
        self.assertEqual(p.returncode, 1)
        fails = [v for v in o["verdicts"] if v["code"] in ("dkim-fail", "arc-fail")]
        bh = [v for v in fails if "body hash mismatch" in v["text"]]
        self.assertEqual(len(bh), 9)          # every signature but the seal covers the body
        chain = [v for v in fails if v["text"].startswith("ARC chain")]
        self.assertEqual(len(chain), 1, fails)
        self.assertIn("newest ARC-Message-Signature (i=1, header line", chain[0]["text"])
        self.assertEqual(len(fails), 10)
        self.assertTrue(all(s["body_hash_ok"] is False for s in o["signatures"]
                            if s["header"] != "ARC-Seal"))
        hdr = self.signed.replace(b"To: bob@example.net", b"To: eve@example.net")
        p, o = self.sigs(data=hdr)
        for s in o["signatures"]:
            if s["header"] == "ARC-Seal":
                continue
            self.assertEqual((s["result"], s["body_hash_ok"]), ("fail", True), s)
            self.assertIn("does not verify", s["why"])
        t = run("-k", self.keys, input=hdr).stdout.decode()
        self.assertRegex(t, r"dkim-fail\s+warning\s+DKIM-Signature d=example.org s=sel "
                            r"\(header line \d+\)")

    def test_body_length_limit_with_appended_text_is_a_warning(self):
        # l= (python3-dkim length=True): text added below the signed part
        # still verifies (RFC 6376 8.2) but must not pass unnoticed
        signer = ("import dkim, sys\n"
                  "msg = sys.stdin.buffer.read()\n"
                  "sys.stdout.buffer.write(dkim.sign(msg, b'ed', b'example.org', "
                  "open(sys.argv[1], 'rb').read(), signature_algorithm=b'ed25519-sha256', "
                  "include_headers=[b'from', b'to', b'subject'], length=True) + msg)\n")
        signed = subprocess.run(["/usr/bin/python3", "-c", signer,
                                 os.path.join(DKIM_DATA, "ed25519test.key")],
                                input=SIGNED_MSG, capture_output=True, check=True).stdout
        self.assertIn(b"l=", signed)
        p, o = self.sigs(data=signed)
        self.assertEqual(o["signatures"][0]["result"], "pass")
        self.assertEqual(o["verdicts"], [])
        p, o = self.sigs(data=signed + b"Unsigned: click http://phish.example/\r\n")
        self.assertEqual(o["signatures"][0]["result"], "pass")
        v = [x for x in o["verdicts"] if x["code"] == "dkim-partial-body"]
        self.assertEqual(len(v), 1, o["verdicts"])
        self.assertIn("not covered", v[0]["text"])
        self.assertEqual(v[0]["severity"], "warning")

    def test_no_key_is_neutral_not_a_verdict(self):
        p, objs = run_json(input=self.signed)
        self.assertTrue(all(s["result"] == "neutral" for s in objs[0]["signatures"]))
        self.assertEqual(objs[0]["arc"]["result"], "neutral")
        self.assertEqual(objs[0]["verdicts"], [])
        self.assertEqual(p.returncode, 0)

    def test_keys_from_dns(self):
        from harness import Dnsmasq
        dns = Dnsmasq(self.tmp, txt=[("sel._domainkey.example.org", open(self.rsa_txt).read()),
                                     ("ed._domainkey.example.org", self.ed_pub)],
                      domains=("example.org",)).start()
        self.addCleanup(dns.stop)
        p, objs = run_json("--dns", "--resolver", dns.server, "--dns-timeout", "2",
                           input=self.signed)
        self.assertTrue(all(s["result"] == "pass" for s in objs[0]["signatures"]),
                        objs[0]["signatures"])

    def test_rfc8463_example(self):
        p, objs = run_json("-k", os.path.join(DATA, "corpus", "rfc8463.keys"),
                           os.path.join(DATA, "corpus", "rfc8463-signed.eml"))
        self.assertEqual([(s["a"], s["result"]) for s in objs[0]["signatures"]],
                         [("ed25519-sha256", "pass"), ("rsa-sha256", "pass")])

    def test_bad_key_file(self):
        bad = os.path.join(self.tmp, "empty.zone")
        open(bad, "w").close()
        p = run("-k", bad, data("testcase1.eml"))
        self.assertEqual(p.returncode, 64)
        self.assertIn(b"no key record", p.stderr)


class LogLinks(MtadTestCase):
    """--log: each hop's queue ID linked to the log lines of that host,
    at least every line grep -F finds, the damaged ones marked."""

    def test_two_hops_linked_both_ways(self):
        box = self.new_mtad("box", hostname="mail.sysiphus.test",
                            mc_extra="define(`confCW_FILE', `%s')dnl\n" % self.cw())
        ext = self.new_mtad("ext", hostname="ext1.sysiphus.test",
                            mc_extra="define(`SMART_HOST', `relay:[127.0.0.1]:%d')dnl\n" % box.port)
        with smtplib.SMTP("127.0.0.1", ext.port, local_hostname="client.outside.test",
                          timeout=10) as s:
            s.sendmail("x@outside.test", ["bob@sysiphus.test"], "Subject: logs\r\n\r\nhi\r\n")
        mbox = wait_for(lambda: box.mbox("bob"), what="delivery to bob")
        damaged = os.path.join(self.tmp, "damaged.log")
        with open(ext.logfile) as f:
            ext_lines = f.read().splitlines()
        p, objs = run_json("--log", ext.logfile, "--log", box.logfile, input=mbox)
        o = objs[0]
        log = {h["hop"]: h for h in o["log"]}
        ext_hop, box_hop = o["hops"][0], o["hops"][1]
        self.assertEqual((ext_hop["by"], box_hop["by"]), ("ext1.sysiphus.test", "mail.sysiphus.test"))
        for hop, m in ((ext_hop, ext), (box_hop, box)):
            lines = log[hop["hop"]]["lines"]
            grep = [l for l in m.log_lines() if hop["id"] in l]
            qid = [l for l in lines if l["match"] == "qid"]
            self.assertTrue(qid, lines)
            self.assertTrue(all(l["file"] == m.logfile for l in qid))
            self.assertGreaterEqual(len([l for l in lines if l["file"] == m.logfile]), len(grep))
        # the box's ID is named by ext's "stat=Sent (ID ...)": the link back
        nh = [l for l in log[box_hop["hop"]]["lines"] if l["match"] == "next-hop"]
        self.assertEqual(len(nh), 1, log[box_hop["hop"]])
        self.assertEqual(nh[0]["file"], ext.logfile)
        # a damaged line (truncated prefix, web markup) is still shown, marked
        with open(damaged, "w") as f:
            f.write("\n".join(ext_lines) + "\n<td>%s: garbled line</td>\n" % ext_hop["id"])
        p, objs = run_json("--log", damaged, input=mbox)
        lines = {h["hop"]: h for h in objs[0]["log"]}[ext_hop["hop"]]["lines"]
        marked = [l for l in lines if not l["parsed"]]
        self.assertEqual(len(marked), 1)
        self.assertEqual(marked[0]["match"], "mention")
        t = run("--log", damaged, input=mbox).stdout.decode()
        self.assertIn("[mention, other host, unparsed] <td>", t)
        p = run("--log", os.path.join(self.tmp, "missing.log"), input=mbox)
        self.assertEqual(p.returncode, 66)

    def cw(self):
        path = os.path.join(self.tmp, "box-cw")
        with open(path, "w") as f:
            f.write("sysiphus.test\n")
        return path


class RelayChain(unittest.TestCase):
    """A chain written by real relays with their own addresses, in a
    private network namespace: client -> mtad -> Postfix -> mtad.  Root only
    (unshare -n, Postfix)."""

    def test_mtad_postfix_mtad(self):
        if os.getuid() != 0:
            self.skipTest("needs root (network namespace, Postfix)")
        for tool in ("unshare", "ip", "postfix"):
            if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
                self.skipTest(tool + " not installed")
        out = tempfile.mkdtemp(prefix="hdrtrace-chain-")
        self.addCleanup(shutil.rmtree, out, True)
        helper = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hdrtrace_relay_chain.py")
        env = dict(os.environ, MTA_BINDIR=os.path.dirname(binpath("hdrtrace")))
        p = subprocess.run(["unshare", "-n", sys.executable, helper, out], env=env,
                           capture_output=True, text=True, timeout=180)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        box = os.path.join(out, "alice.mbox")
        logs = [os.path.join(out, n) for n in ("ext.log", "postfix.log", "box.log")]
        # trusting only our MX: Postfix (not ours) is the client to block
        p, objs = run_json("-t", "mx.test.example", box)
        o = objs[0]
        self.assertEqual(roles(o), ["entry", "beyond", "beyond"])
        self.assertEqual(o["first_untrusted"]["ip"], "192.0.2.20")
        self.assertEqual(o["hops"][1]["mta"], "postfix")
        # trusting the relay's address: its line and the one below it are
        # believed whatever they call themselves; the client entered at mtad
        args = ["-t", "mx.test.example", "-t", "192.0.2.20"]
        for l in logs:
            args += ["--log", l]
        p, objs = run_json(*(args + [box]))
        o = objs[0]
        self.assertEqual(roles(o), ["trusted", "trusted", "entry"])
        self.assertEqual(o["first_untrusted"]["ip"], "192.0.2.99")
        self.assertEqual(o["first_untrusted"]["by"], "ext.sender.test")
        links = {h["hop"]: h["lines"] for h in o["log"]}
        pf_id = o["hops"][1]["id"]
        pf_lines = [l for l in links[2] if l["file"].endswith("postfix.log")]
        with open(logs[1]) as f:
            self.assertEqual(len(pf_lines), sum(1 for l in f if pf_id in l))
        self.assertTrue(all(l["match"] == "qid" and l["host_matches"] for l in pf_lines))
        # mtad's "stat=Sent (Ok: queued as ID)" and Postfix's "status=sent (250 ...
        # ID ...)" link each hop to the sending host's delivery line
        self.assertEqual([l["file"] for l in links[2] if l["match"] == "next-hop"], [logs[0]])
        self.assertEqual([l["file"] for l in links[3] if l["match"] == "next-hop"], [logs[1]])


class Corpus(unittest.TestCase):
    """Golden cases: real chains (sources in tests/data/hdrtrace/README),
    each with the arguments and the expected walk and verdicts in
    <name>.expect.json."""

    def test_golden(self):
        cdir = os.path.join(DATA, "corpus")
        cases = sorted(f for f in os.listdir(cdir) if f.endswith(".expect.json"))
        self.assertGreaterEqual(len(cases), 5)
        for case in cases:
            with open(os.path.join(cdir, case)) as f:
                spec = json.load(f)
            for run_ in spec["runs"]:
                args = [a.replace("@DIR@", cdir) for a in run_["args"]]
                p, objs = run_json(*args, os.path.join(cdir, spec["input"]))
                got = [summary(o) for o in objs]
                self.assertEqual(got, run_["expect"], "%s %s" % (case, args))


    def test_golden_text(self):
        """The whole text output of three chains, byte for byte."""
        cdir = os.path.join(DATA, "corpus")
        runs = {"sa-sample-nonspam": (["-t", "netnoteinc.com"], "sa-sample-nonspam.eml"),
                "fetchmail-6.4.37": (["-t", "sender.example"], "fetchmail-6.4.37.eml"),
                "mtad-postfix-mtad": (["-t", "mx.test.example", "-t", "192.0.2.20"],
                                      "mtad-postfix-mtad.mbox")}
        for name, (args, inp) in runs.items():
            p = subprocess.run([binpath("hdrtrace"), "--no-color"] + args + [inp], cwd=cdir,
                               capture_output=True, timeout=60)
            with open(os.path.join(cdir, name + ".expect.txt"), "rb") as f:
                self.assertEqual(p.stdout.decode(), f.read().decode(), name)


def summary(o):
    s = {"roles": roles(o), "result": o["trust_walk"]["result"],
         "decided_hop": o["trust_walk"]["decided_hop"],
         "decided_line": o["trust_walk"]["decided_line"],
         "verdicts": sorted("%s@%s" % (v["code"], v["hop"]) for v in o["verdicts"]),
         "signatures": [s["result"] for s in o["signatures"]]}
    if "first_untrusted" in o:
        fu = o["first_untrusted"]
        s["first_untrusted"] = fu and [fu["hop"], fu["ip"]]
    return s


if __name__ == "__main__":
    unittest.main()
