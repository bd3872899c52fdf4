"""What every binary shares: one version string (--version), sysexits exit
codes for usage errors; and two mtad promises of issue 18: address test
mode (-bt) never writes the real log, and PrivacyOptions=goaway neither
advertises nor accepts EXPN and VERB."""
import os
import re
import subprocess

from harness import MtadTestCase, binpath

BINARIES = ("mtad", "sendmail", "mailq", "mtaconsole", "smtpprobe", "hdrtrace", "loggrep",
            "makemap", "mtapasswd")
EX_USAGE = 64


def run(name, *args, input=None):
    return subprocess.run([binpath(name)] + list(args), capture_output=True, text=True,
                          timeout=30, input=input, stdin=None if input is not None else subprocess.DEVNULL)


class TestConventions(MtadTestCase):
    def test_every_binary_has_version_and_the_same_one(self):
        versions = set()
        for b in BINARIES:
            with self.subTest(binary=b):
                p = run(b, "--version")
                self.assertEqual(p.returncode, 0, p.stderr)
                m = re.fullmatch(r"(\S+) (\d+\.\d+\.\d+)\n", p.stdout)
                self.assertTrue(m, p.stdout)
                self.assertEqual(m.group(1), "mtad" if b == "sendmail" else b)
                versions.add(m.group(2))
        self.assertEqual(len(versions), 1, versions)
        # and mtad's -d0.1 identity names the same version
        m = self.new_mtad(start=False)
        self.assertIn("Version %s" % versions.pop(), m.run("-d0.1").stdout)

    def test_usage_errors_are_ex_usage_and_say_what_to_do(self):
        # loggrep keeps grep's 2 for errors (see its man page)
        for b in BINARIES:
            if b == "loggrep":
                continue
            with self.subTest(binary=b):
                p = run(b, "--frobnicate")
                self.assertEqual(p.returncode, EX_USAGE, p.stderr)
                self.assertRegex(p.stderr, r"--help|[Uu]sage:")


class TestAddressTestModeDoesNotLog(MtadTestCase):
    def test_bt_session_leaves_the_log_alone(self):
        m = self.new_mtad(start=False)
        with open(m.logfile, "w") as f:
            f.write("before\n")
        r = m.run("-bt", input=(".D{client_addr}127.0.0.2\n"
                                "/relay x@far.example\n"
                                "/mail x@far.example\n"
                                "bob\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Relaying denied", r.stdout)     # a check that logs in a session ran
        self.assertNotIn("(null)", r.stdout)
        with open(m.logfile) as f:
            self.assertEqual(f.read(), "before\n", "-bt wrote to the LogFile")
        # while a real session's refusal is logged
        m.start()
        c = m.connect()
        c.reply()
        c.cmd("HELO x")
        c.cmd("MAIL FROM:<a@far.example>")
        c.cmd("RCPT TO:<x@far.example>")
        c.cmd("QUIT")
        c.close()
        self.assertTrue(os.path.exists(m.logfile))


class TestGoaway(MtadTestCase):
    def ehlo(self, m):
        c = m.connect()
        c.reply()
        code, lines = c.cmd("EHLO probe.example")
        self.assertEqual(code, 250)
        return c, [l[4:] for l in lines]

    def test_goaway_hides_and_refuses_expn_and_verb(self):
        m = self.new_mtad(mc_extra="define(`confPRIVACY_FLAGS', `goaway')dnl\n")
        c, ext = self.ehlo(m)
        self.assertNotIn("EXPN", ext)
        self.assertNotIn("VERB", ext)
        code, _ = c.cmd("VERB")
        self.assertEqual(code, 502)
        code, _ = c.cmd("EXPN postmaster")
        self.assertGreaterEqual(code, 500)
        c.close()

    def test_without_goaway_they_are_offered(self):
        m = self.new_mtad(mc_extra="define(`confPRIVACY_FLAGS', `authwarnings')dnl\n")
        c, ext = self.ehlo(m)
        self.assertIn("EXPN", ext)
        self.assertIn("VERB", ext)
        self.assertEqual(c.cmd("VERB")[0], 250)
        c.close()
