"""End-to-end tests for bin/smtpprobe.

The real smtpprobe binary talks to real servers over loopback:
  - Postfix's smtp-sink (when the postfix package is installed),
  - small SMTP servers written here on purpose: a strict one (refuses
    relaying, ends DATA only at CRLF.CRLF, can be told to refuse any
    phase) and a naive one (open relay, ends DATA at any "." line, as the
    servers hit by SMTP smuggling did),
  - mtad itself, when it starts (skipped until it does).
No sleeps: servers are ready when their socket listens; results are read
from the tool's exit status, transcript and JSON, and from what the
servers recorded.
"""
import json
import os
import re
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import unittest

from harness import MtadTestCase, binpath, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
MAN = os.path.join(HERE, "..", "..", "man", "smtpprobe.1")
SMTP_SINK = "/usr/sbin/smtp-sink"


def probe(*args, input=None, timeout=60):
    return subprocess.run([binpath("smtpprobe")] + [str(a) for a in args], input=input,
                          capture_output=True, text=True, timeout=timeout)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- servers written for the tests ------------------------------------

class TestServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, handler, naive=False, refuse=None, name="mx.probe.test", tls=None):
        super().__init__(("127.0.0.1", 0), handler)
        self.tls = tls             # an ssl.SSLContext: offer STARTTLS
        self.tls_used = False
        self.naive = naive
        self.refuse = refuse or {}
        self.name = name
        self.messages = []      # (sender, [rcpts], data bytes)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server_address[1]

    def handle_error(self, request, client_address):
        # a client hanging up mid-session (--quit-after data) is normal here
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def stop(self):
        self.shutdown()
        self.server_close()


class SmtpHandler(socketserver.StreamRequestHandler):
    """A small SMTP server.  Strict mode: only CRLF.CRLF ends DATA, foreign
    recipients are refused, VRFY says 252, EXPN 502.  Naive mode: any line
    that is "." once CR is stripped ends DATA, every recipient is taken,
    VRFY tells users apart."""
    LOCAL = ("postmaster", "alice")

    def say(self, line):
        # bytes go out as they are (a latin-1 reply), text as UTF-8
        self.wfile.write((line if isinstance(line, bytes) else line.encode()) + b"\r\n")
        self.wfile.flush()

    def refused(self, phase):
        r = self.server.refuse.get(phase)
        if r:
            self.say(r)
            return True
        return False

    def local_rcpt(self, addr):
        m = re.fullmatch(r"<([A-Za-z0-9.]+)@([A-Za-z0-9.-]+)>", addr.strip())
        return bool(m) and m.group(2).lower() == self.server.name and \
            m.group(1).lower() in self.LOCAL

    def read_data_strict(self):
        data = b""
        while True:
            line = self.rfile.readline(100000)
            if not line:
                return None
            data += line
            if data == b".\r\n" or data.endswith(b"\r\n.\r\n"):
                return data[:-3]

    def read_data_naive(self):
        data = b""
        while True:
            line = self.rfile.readline(100000)
            if not line:
                return None
            if line.rstrip(b"\r\n") == b".":
                return data
            data += line

    def handle(self):
        srv = self.server
        if self.refused("banner"):
            return
        self.say("220 %s ESMTP test server" % srv.name)
        sender, rcpts = None, []
        while True:
            raw = self.rfile.readline(100000)
            if not raw:
                return
            line = raw.decode("latin-1").rstrip("\r\n")
            verb = line[:4].upper()
            if verb == "EHLO":
                if not self.refused("ehlo"):
                    self.say("250-%s hello" % srv.name)
                    self.say("250-PIPELINING")
                    self.say("250-SIZE 100000")
                    if srv.tls and not srv.tls_used:
                        self.say("250-STARTTLS")
                    self.say("250 8BITMIME")
            elif verb == "HELO":
                if not self.refused("helo"):
                    self.say("250 %s" % srv.name)
            elif line.upper().startswith("MAIL FROM:"):
                if not self.refused("mail"):
                    sender, rcpts = line[10:], []
                    m = re.search(r"SIZE=(\d+)", line, re.I)
                    if m and int(m.group(1)) > 100000:
                        self.say("552 5.3.4 message too big")
                    else:
                        self.say("250 2.1.0 ok")
            elif line.upper().startswith("RCPT TO:"):
                addr = line[8:]
                if self.refused("rcpt"):
                    continue
                if srv.naive or self.local_rcpt(addr):
                    rcpts.append(addr)
                    self.say("250 2.1.5 ok")
                elif re.search(r"@%s>$" % re.escape(srv.name), addr, re.I) and \
                        "%" not in addr and "!" not in addr and "\"" not in addr:
                    self.say("550 5.1.1 no such user")
                else:
                    self.say("550 5.7.1 relaying denied")
            elif verb == "DATA":
                if self.refused("data"):
                    continue
                if not rcpts:
                    self.say("503 5.5.1 no recipients")
                    continue
                self.say("354 go ahead")
                data = self.read_data_naive() if srv.naive else self.read_data_strict()
                if data is None:
                    return
                if self.refused("dot"):
                    continue
                with srv.lock:
                    srv.messages.append((sender, rcpts, data))
                self.say("250 2.0.0 queued")
                sender, rcpts = None, []
            elif line.upper() == "STARTTLS" and srv.tls:
                self.say("220 2.0.0 ready to start TLS")
                conn = srv.tls.wrap_socket(self.connection, server_side=True)
                self.connection = conn
                self.rfile = conn.makefile("rb")
                self.wfile = conn.makefile("wb")
                srv.tls_used = True
                sender, rcpts = None, []
            elif verb == "RSET":
                sender, rcpts = None, []
                self.say("250 2.0.0 ok")
            elif verb == "VRFY":
                if srv.naive:
                    user = line[5:].split("@")[0].strip().lower()
                    self.say("250 2.1.5 <%s>" % user if user in self.LOCAL
                             else "550 5.1.1 unknown")
                else:
                    self.say("252 2.5.2 cannot VRFY, but will accept")
            elif verb == "EXPN":
                self.say("502 5.5.1 EXPN disabled")
            elif verb == "NOOP":
                self.say("250 2.0.0 ok" if len(raw) <= 514 else "500 5.5.2 line too long")
            elif verb == "QUIT":
                self.say("221 2.0.0 bye")
                return
            else:
                self.say("500 5.5.1 unknown command")


class SmtpSink:
    """Postfix's smtp-sink on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        argv = [SMTP_SINK]
        if os.getuid() == 0:
            argv += ["-u", "nobody"]
        argv += ["127.0.0.1:%d" % self.port, "10"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError("smtp-sink exited")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 10, "smtp-sink to listen")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def cases(report, battery):
    for b in report["batteries"]:
        if b["name"] == battery:
            return {c["name"]: c for c in b["cases"]}
    raise AssertionError("no battery %s in report" % battery)


# ---- tests that need no server ----------------------------------------

class CliTest(unittest.TestCase):
    def test_help_and_man_page_list_the_same_options(self):
        r = probe("--help")
        self.assertEqual(r.returncode, 0)
        help_opts = set(re.findall(r"--[a-z][a-z-]+", r.stdout))
        with open(MAN) as f:
            man = f.read().replace("\\-", "-")
        man_opts = set(re.findall(r"--[a-z][a-z-]+", man))
        self.assertTrue(help_opts)
        self.assertEqual(help_opts - man_opts, set(), "in --help but not in the man page")
        # every exit code in --help is documented in the man page
        for code in re.findall(r"\b(\d+) [a-z]", r.stdout.split("Exit:")[1]):
            self.assertRegex(man, r"\.IP %s\b" % code)

    def test_usage_errors(self):
        self.assertEqual(probe().returncode, 64)                   # sysexits EX_USAGE
        self.assertEqual(probe("--quit-after", "never", "127.0.0.1").returncode, 64)
        self.assertEqual(probe("--test", "nosuch", "127.0.0.1:1").returncode, 64)
        self.assertEqual(probe("--body", "x", "--data", "y", "--to", "a@b",
                               "127.0.0.1").returncode, 64)

    def test_port_out_of_range_refused(self):
        for port in ("0", "65536", "99999999999999999999", "-1", "2x5", ""):
            for args in (["127.0.0.1:" + port], ["-p", port, "127.0.0.1"]):
                if port == "" and args[0] != "-p":
                    continue        # "127.0.0.1:" keeps the default port
                r = probe("--quit-after", "connect", *args)
                self.assertEqual(r.returncode, 64, (args, r.stderr))
                self.assertRegex(r.stderr, r"port .*(out of range|neither a number)|empty port")
                self.assertIn("1-65535", r.stderr)
        self.assertEqual(probe("--quit-after", "connect", "[::1]:70000").returncode, 64)

    def test_connect_refused_is_exit_69(self):
        port = free_port()
        r = probe("--json", "--to", "a@b", "127.0.0.1:%d" % port)
        self.assertEqual(r.returncode, 69)                         # EX_UNAVAILABLE
        j = json.loads(r.stdout)
        self.assertEqual(j["failed_phase"], "connect")
        self.assertIn("refused", j["error"])


# ---- against the test servers -----------------------------------------

class ServerTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smtpprobe-e2e-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, **kw):
        s = TestServer(SmtpHandler, **kw)
        self.servers.append(s)
        return s

    def path(self, name):
        return os.path.join(self.tmp, name)


class QuickSendTest(ServerTestCase):
    def test_send_with_transcript_and_dot_stuffing(self):
        s = self.server()
        tr = self.path("transcript")
        r = probe("--to", "alice@mx.probe.test", "--from", "me@outside.test",
                  "--header", "Subject: hello probe", "--body", "line one\\n.starts with dot",
                  "--transcript", tr, "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(s.messages), 1)
        sender, rcpts, data = s.messages[0]
        self.assertEqual(sender, "<me@outside.test>")
        self.assertEqual(rcpts, ["<alice@mx.probe.test>"])
        self.assertIn(b"Subject: hello probe\r\n", data)
        self.assertEqual(data.count(b"Subject:"), 1)    # --header replaced the default
        self.assertIn(b"\r\n..starts with dot\r\n", data)
        self.assertNotIn(b"\n\n", data.replace(b"\r\n", b""))
        with open(tr) as f:
            t = f.read()
        # timestamp, elapsed time, direction mark, text
        self.assertRegex(t, r"(?m)^\d\d:\d\d:\d\d\.\d{3} \+\d+\.\d{3}s > MAIL FROM:<me@outside.test>$")
        self.assertRegex(t, r"(?m)^\S+ \S+ < 250 2\.0\.0 queued$")
        self.assertRegex(t, r"(?m)^\S+ \S+ > QUIT$")
        # the console shows the transcript too
        self.assertIn("> RCPT TO:<alice@mx.probe.test>", r.stdout)

    def test_exit_code_per_failing_phase(self):
        expect = {"banner": ("554 5.3.2 go away", 21), "mail": ("553 5.1.8 bad sender", 23),
                  "rcpt": ("550 5.1.1 nobody", 24), "data": ("554 5.5.1 no data", 25),
                  "dot": ("554 5.7.1 spam", 26)}
        for phase, (reply, code) in expect.items():
            with self.subTest(phase=phase):
                s = self.server(refuse={phase: reply})
                r = probe("--json", "--to", "alice@mx.probe.test", "127.0.0.1:%d" % s.port)
                self.assertEqual(r.returncode, code, r.stdout + r.stderr)
                j = json.loads(r.stdout)
                self.assertEqual(j["failed_phase"], phase)
                self.assertEqual(j["steps"][-1]["code"], int(reply[:3]))
                self.assertEqual(j["steps"][-1]["result"], "permanent")
        s = self.server(refuse={"ehlo": "502 5.5.1 no", "helo": "501 5.5.4 no"})
        self.assertEqual(probe("--to", "a@b", "127.0.0.1:%d" % s.port).returncode, 22)
        s = self.server(refuse={"mail": "451 4.3.0 later"})
        r = probe("--json", "--to", "alice@mx.probe.test", "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 23)
        self.assertEqual(json.loads(r.stdout)["steps"][-1]["result"], "temporary")

    def test_json_is_valid_utf8_with_a_latin1_reply(self):
        s = self.server(refuse={"rcpt": b"550 5.1.1 Empf\xe4nger unbekannt, zur\xfcck"})
        r = subprocess.run([binpath("smtpprobe"), "--json", "--to", "alice@mx.probe.test",
                            "127.0.0.1:%d" % s.port], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 24)
        text = r.stdout.decode("utf-8")                        # strict: valid UTF-8
        self.assertIn("Empf\\u00e4nger unbekannt, zur\\u00fcck", text)
        j = json.loads(text)
        self.assertIn("Empf\u00e4nger unbekannt, zur\u00fcck", j["steps"][-1]["text"])

    def test_helo_fallback_and_json(self):
        s = self.server(refuse={"ehlo": "502 5.5.1 EHLO not implemented"})
        r = probe("--json", "--to", "alice@mx.probe.test", "--to", "x@elsewhere.test",
                  "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        j = json.loads(r.stdout)
        self.assertFalse(j["esmtp"])
        phases = [st["phase"] for st in j["steps"]]
        self.assertEqual(phases, ["banner", "helo", "mail", "rcpt", "rcpt", "data", "dot"])
        rc = [st for st in j["steps"] if st["phase"] == "rcpt"]
        self.assertEqual([(x["address"], x["code"]) for x in rc],
                         [("alice@mx.probe.test", 250), ("x@elsewhere.test", 550)])
        self.assertEqual(rc[1]["esc"], "5.7.1")
        self.assertEqual(len(s.messages), 1)

    def test_pipeline_sends_the_envelope_in_one_go(self):
        s = self.server()
        tr = self.path("t")
        r = probe("--pipeline", "-q", "--transcript", tr, "--to", "alice@mx.probe.test",
                  "--to", "postmaster@mx.probe.test", "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(tr) as f:
            marks = [l.split()[2] + " " + l.split()[3] for l in f if len(l.split()) > 3]
        i = marks.index("> MAIL")
        self.assertEqual(marks[i:i + 5], ["> MAIL", "> RCPT", "> RCPT", "> DATA", "< 250"])
        self.assertEqual(r.stdout, "")     # --quiet
        self.assertEqual(len(s.messages[0][1]), 2)

    def test_quit_after(self):
        s = self.server()
        for phase, last in (("connect", None), ("banner", "< 220"), ("helo", "< 250"),
                            ("mail", "> MAIL"), ("rcpt", "> RCPT"), ("data", "< 354")):
            with self.subTest(phase=phase):
                r = probe("--quit-after", phase, "--to", "alice@mx.probe.test",
                          "127.0.0.1:%d" % s.port)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertNotIn("> DATA" if phase != "data" else "queued", r.stdout)
                if last:
                    self.assertIn(last, r.stdout)
        self.assertEqual(s.messages, [])

    def test_data_from_file(self):
        s = self.server()
        msg = self.path("msg")
        with open(msg, "wb") as f:
            f.write(b"Subject: from a file\n\n.\nbody\n")
        r = probe("--data", "@" + msg, "--to", "alice@mx.probe.test", "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(s.messages[0][2], b"Subject: from a file\r\n\r\n..\r\nbody\r\n")


@unittest.skipUnless(shutil.which("openssl"), "no openssl command")
class StartTlsTest(ServerTestCase):
    def tls_context(self):
        import ssl
        key, crt = self.path("key.pem"), self.path("crt.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=mx.probe.test", "-days", "1", "-keyout", key,
                        "-out", crt], check=True, capture_output=True, timeout=60)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        return ctx

    def test_starttls_send(self):
        s = self.server(tls=self.tls_context())
        tr = self.path("t")
        r = probe("--starttls", "--json", "--transcript", tr, "--to", "alice@mx.probe.test",
                  "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(s.tls_used)
        self.assertEqual(len(s.messages), 1)
        j = json.loads(r.stdout)
        self.assertEqual([x["phase"] for x in j["steps"]][:4],
                         ["banner", "ehlo", "starttls", "ehlo"])
        with open(tr) as f:
            t = f.read()
        self.assertRegex(t, r"\* TLS established: TLSv1\.[23] .*certificate not verified")
        # after TLS the EHLO reply no longer offers STARTTLS, and the
        # transaction went through the TLS layer
        self.assertNotIn("STARTTLS", j["steps"][3]["text"])

    def test_starttls_not_offered_is_exit_29(self):
        s = self.server()
        r = probe("--starttls", "--to", "alice@mx.probe.test", "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 29)
        self.assertIn("does not offer STARTTLS", r.stdout)
        self.assertEqual(s.messages, [])


class ScriptTest(ServerTestCase):
    SCRIPT = """# replay
< 220 /test server/
> EHLO script.test
< 2xx /^250-PIPELINING$/
> MAIL FROM:<a@b>
< 250
> RCPT TO:<alice@mx.probe.test>
< 2
>> DATA\\r\\n
< 354
>> Subject: raw\\r\\n\\r\\nx\\x41\\r\\n.\\r\\n
< 250 /queued/
> QUIT
< 221
expect close
"""

    def write(self, text):
        p = self.path("script")
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_script_passes(self):
        s = self.server()
        r = probe("-q", "--script", self.write(self.SCRIPT), "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(s.messages[0][2], b"Subject: raw\r\n\r\nxA\r\n")

    def test_first_unmet_expectation_and_its_line(self):
        s = self.server()
        bad = self.SCRIPT.replace("< 250 /queued/", "< 250 /accepted/")
        p = self.write(bad)
        r = probe("-q", "--script", p, "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 30)
        self.assertIn("%s:12: expected /accepted/, got: 250 2.0.0 queued" % p, r.stderr)
        bad = self.SCRIPT.replace("< 221\n", "< 250\n")
        r = probe("-q", "--script", self.write(bad), "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 30)
        self.assertIn(":14: expected 250, got: 221", r.stderr)
        bad = self.SCRIPT.replace("> QUIT\n< 221\n", "> NOOP\n< 250\n")
        r = probe("-q", "--timeout", "0.5", "--script", self.write(bad), "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 30)
        self.assertIn(":15: expected the server to close", r.stderr)

    def test_json_failure_gives_expected_and_got(self):
        s = self.server()
        p = self.write(self.SCRIPT.replace("< 250 /queued/", "< 250 /accepted/"))
        r = probe("--json", "--script", p, "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 30)
        j = json.loads(r.stdout)
        self.assertEqual((j["result"], j["line"]), ("failed", 12))
        self.assertEqual(j["expected"], "250 /accepted/")
        self.assertEqual(j["got"], "250 2.0.0 queued")
        r = probe("--json", "--script", self.write(self.SCRIPT.replace("< 221\n", "< 250\n")),
                  "127.0.0.1:%d" % s.port)
        j = json.loads(r.stdout)
        self.assertEqual((j["line"], j["expected"], j["got"]), (14, "250", "221 2.0.0 bye"))
        # a failure that is not a reply mismatch has neither
        r = probe("--json", "--script", self.write(self.SCRIPT + "frobnicate\n"),
                  "127.0.0.1:%d" % s.port)
        j = json.loads(r.stdout)
        self.assertNotIn("expected", j)

    def test_record_then_replay(self):
        s = self.server()
        rec = self.path("rec")
        session = ("EHLO me\nMAIL FROM:<a@b>\nRCPT TO:<alice@mx.probe.test>\nDATA\n"
                   "Subject: typed\n\n.dot\n.\nQUIT\n")
        r = probe("--record", rec, "127.0.0.1:%d" % s.port, input=session)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("< 354 go ahead", r.stdout)
        with open(rec) as f:
            text = f.read()
        self.assertIn(">> Subject: typed\\r\\n\\r\\n..dot\\r\\n.\\r\\n\n< 250\n", text)
        r = probe("-q", "--script", rec, "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([m[2] for m in s.messages], [b"Subject: typed\r\n\r\n..dot\r\n"] * 2)


class BatteryTest(ServerTestCase):
    def run_battery(self, server, *tests, extra=()):
        args = ["--json", "--timeout", "10"]
        for t in tests:
            args += ["--test", t]
        r = probe(*(args + list(extra) + ["127.0.0.1:%d" % server.port]))
        self.assertTrue(r.stdout, r.stderr)
        return r.returncode, json.loads(r.stdout)

    def test_relay_safe_server(self):
        s = self.server()
        rc, rep = self.run_battery(s, "relay")
        self.assertEqual(rc, 0)
        c = cases(rep, "relay")
        self.assertGreaterEqual(len(c), 15)
        self.assertEqual({x["verdict"] for x in c.values()}, {"safe"})
        self.assertIn("RCPT TO:<relaytest%example.net@mx.probe.test>", c["percent-hack"]["sent"])
        self.assertIn("550 5.7.1", c["plain"]["received"])

    def test_relay_open_server(self):
        s = self.server(naive=True)
        rc, rep = self.run_battery(s, "relay", extra=["--relay-domain", "foreign.test"])
        self.assertEqual(rc, 40)
        c = cases(rep, "relay")
        self.assertEqual({x["verdict"] for x in c.values()}, {"VULNERABLE"})
        self.assertIn("<@mx.probe.test:relaytest@foreign.test>", c["source-route"]["sent"])
        self.assertEqual(rep["vulnerable"], len(c))
        self.assertEqual(s.messages, [])    # the battery never sends DATA

    def test_smuggling_naive_server_is_vulnerable(self):
        s = self.server(naive=True)
        rc, rep = self.run_battery(s, "smuggling", extra=["--rcpt", "alice@mx.probe.test"])
        self.assertEqual(rc, 40)
        c = cases(rep, "smuggling")
        for name in ("lf-dot-lf", "lf-dot-crlf", "crlf-dot-lf", "lf-lf-dot-lf-lf"):
            self.assertEqual(c[name]["verdict"], "VULNERABLE", name)
            self.assertIn("smuggled message accepted", c[name]["received"])
        for name in ("cr-dot-cr", "crlf-nul-dot-crlf"):
            self.assertEqual(c[name]["verdict"], "safe", name)
        # cross-check with what the server really did
        smuggled = [m for m in s.messages if m[0] == "<smuggled@outside-example.net>"]
        self.assertEqual(len(smuggled), 1 + 4 + 1)   # control + 4 LF variants + "\n.\r"

    def test_smuggling_strict_server_is_safe(self):
        s = self.server()
        rc, rep = self.run_battery(s, "smuggling", extra=["--rcpt", "alice@mx.probe.test"])
        self.assertEqual(rc, 0)
        c = cases(rep, "smuggling")
        self.assertGreaterEqual(len(c), 13)
        del c["control-crlf-dot-crlf"]
        self.assertEqual({x["verdict"] for x in c.values()}, {"safe"})
        # one message per case (the smuggled text stayed inside it), plus the control's two
        self.assertEqual(len(s.messages), len(c) + 2)

    def test_harvest_forgery_limits_greetpause(self):
        strict, naive = self.server(), self.server(naive=True)
        rc, rep = self.run_battery(strict, "harvest", "limits")
        self.assertEqual(rc, 0, rep)
        self.assertEqual(cases(rep, "harvest")["vrfy"]["verdict"], "safe")
        self.assertEqual(cases(rep, "harvest")["rcpt"]["verdict"], "distinguishable")
        lim = cases(rep, "limits")
        self.assertEqual(lim["long-command"]["verdict"], "refused")
        self.assertEqual(lim["size"]["verdict"], "refused")
        self.assertIn("SIZE=100001", lim["size"]["sent"])
        self.assertEqual(lim["survived"]["verdict"], "safe")
        rc, rep = self.run_battery(naive, "harvest")
        self.assertEqual(rc, 40)
        self.assertEqual(cases(rep, "harvest")["vrfy"]["verdict"], "VULNERABLE")
        rc, rep = self.run_battery(naive, "forgery", "greetpause")
        self.assertEqual(rc, 40)
        f = cases(rep, "forgery")
        self.assertEqual(f["full-forgery"]["verdict"], "VULNERABLE")
        self.assertIn("MAIL FROM:<postmaster@mx.probe.test>", f["full-forgery"]["sent"])
        self.assertEqual(cases(rep, "greetpause")["talk-before-greeting"]["verdict"],
                         "VULNERABLE")

    def test_text_report(self):
        s = self.server(naive=True)
        r = probe("--test", "relay", "127.0.0.1:%d" % s.port)
        self.assertEqual(r.returncode, 40)
        self.assertRegex(r.stdout, r"(?m)^relay +plain +VULNERABLE$")
        self.assertRegex(r.stdout, r"(?m)^relay +\d+ cases, \d+ vulnerable$")


@unittest.skipUnless(os.path.exists(SMTP_SINK), "postfix (smtp-sink) is not installed")
class SmtpSinkTest(unittest.TestCase):
    def setUp(self):
        self.sink = SmtpSink()
        self.addr = "127.0.0.1:%d" % self.sink.port

    def tearDown(self):
        self.sink.stop()

    def test_quick_send(self):
        r = probe("--json", "--pipeline", "--to", "a@sink.test", "--to", "b@sink.test", self.addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        j = json.loads(r.stdout)
        self.assertTrue(j["extensions"]["PIPELINING"])
        self.assertEqual([s["phase"] for s in j["steps"]],
                         ["banner", "ehlo", "mail", "rcpt", "rcpt", "data", "dot"])
        self.assertEqual(j["steps"][-1]["code"], 250)

    def test_open_relay_and_smuggling_verdicts(self):
        r = probe("--json", "--test", "relay", "--test", "smuggling", self.addr)
        self.assertEqual(r.returncode, 40)    # smtp-sink takes any recipient
        rep = json.loads(r.stdout)
        self.assertEqual({c["verdict"] for c in cases(rep, "relay").values()}, {"VULNERABLE"})
        # Postfix's SMTP reader does not end DATA early
        sm = cases(rep, "smuggling")
        del sm["control-crlf-dot-crlf"]
        self.assertEqual({c["verdict"] for c in sm.values()}, {"safe"})


class MtadProbeTest(MtadTestCase):
    """Against our own mtad (skipped while it cannot start)."""

    def setUp(self):
        super().setUp()
        if not os.path.exists(binpath("mtad")):
            self.skipTest("no mtad binary")
        try:
            self.m = self.new_mtad()
        except (AssertionError, OSError) as e:
            self.skipTest("mtad does not start: %s" % str(e)[:60])
        self.addr = "127.0.0.1:%d" % self.m.port

    def test_quick_send_delivers(self):
        r = probe("--json", "--to", "alice@mx.test.example", "--header",
                  "Subject: probe to mtad", self.addr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: b"Subject: probe to mtad" in self.m.mbox("alice"), 10,
                 "delivery to alice")

    def test_mtad_is_not_vulnerable_to_smuggling(self):
        r = probe("--json", "--test", "smuggling", "--rcpt", "alice@mx.test.example",
                  self.addr)
        rep = json.loads(r.stdout)
        sm = cases(rep, "smuggling")
        del sm["control-crlf-dot-crlf"]
        self.assertNotIn("VULNERABLE", {c["verdict"] for c in sm.values()}, sm)
        self.assertNotIn("error", {c["verdict"] for c in sm.values()}, sm)
        self.assertEqual(r.returncode, 0)

    def test_relay_battery_from_an_outside_address(self):
        # 127.0.0.1 is mtad's own host (trusted, as in sendmail); 127.0.0.2
        # is another loopback address, so an outside client.
        r = probe("--json", "--from-ip", "127.0.0.2", "--test", "relay", "--test", "harvest",
                  self.addr)
        rep = json.loads(r.stdout)
        relay = cases(rep, "relay")
        self.assertGreaterEqual(len(relay), 15)
        self.assertEqual({c["verdict"] for c in relay.values()}, {"safe"}, relay)
        self.assertRegex(relay["plain"]["received"], r"\| 5\d\d ")
        self.assertEqual(cases(rep, "harvest")["vrfy"]["verdict"], "safe")
        self.assertEqual(cases(rep, "harvest")["expn"]["verdict"], "safe")
        self.assertEqual(r.returncode, 0)

    def test_relay_battery_finds_promiscuous_relay(self):
        m = self.new_mtad(sub="open", mc_extra="FEATURE(`promiscuous_relay')dnl\n")
        if any("unsupported FEATURE(`promiscuous_relay')" in l for l in m.stderr_lines):
            self.skipTest("mtad does not support promiscuous_relay yet")
        r = probe("--json", "--from-ip", "127.0.0.2", "--test", "relay",
                  "127.0.0.1:%d" % m.port)
        self.assertEqual(r.returncode, 40)
        self.assertEqual(cases(json.loads(r.stdout), "relay")["plain"]["verdict"], "VULNERABLE")


if __name__ == "__main__":
    unittest.main()
