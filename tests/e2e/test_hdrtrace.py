"""End-to-end tests for hdrtrace: the real binary on messages, mboxes,
Maildirs and stdin.  The seeds' answers are asserted: testcase1 -> block
64.97.136.157; testcase2 -> backscatter with a forged HELO deer-run.com."""
import json
import os
import re
import shutil
import smtplib
import subprocess
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


if __name__ == "__main__":
    unittest.main()
