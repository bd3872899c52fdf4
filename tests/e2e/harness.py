"""Shared end-to-end test harness: real mtad processes on loopback.

Mtad(tmpdir) writes a .mc configuration under tmpdir (queue, log, mailboxes,
local users all inside it), starts `mtad -bD` listening on 127.0.0.1 on a
port the kernel picks (Port=0), and learns the port from the line mtad
prints on stderr when it is ready ("mtad: listening on ADDR port N (NAME)").
No sleeps are used for synchronisation: readiness comes from that line, and
asynchronous results (deliveries) are waited for by polling a condition
with a deadline (wait_for).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BINDIR = os.environ.get("MTA_BINDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "bin")
BINDIR = os.path.abspath(BINDIR)
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(os.path.dirname(TESTS_DIR), "data")


def binpath(name):
    return os.path.join(BINDIR, name)


def wait_for(cond, timeout=10.0, what="condition"):
    """Polls cond() until it returns a true value; fails after timeout."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


DEFAULT_USERS = ("alice", "bob", "carol", "postmaster", "root")


class Mtad:
    """One mtad instance with all of its state under a private directory."""

    def __init__(self, workdir, hostname="mx.test.example", users=DEFAULT_USERS,
                 mc_extra="", name="MTA", addr="127.0.0.1", tag="mtad-test", port=0):
        self.dir = workdir
        self.hostname = hostname
        self.tag = tag
        self.addr = addr
        self.fixed_port = port
        self.queue = os.path.join(workdir, "mqueue")
        self.mspqueue = os.path.join(workdir, "clientmqueue")
        self.maildir = os.path.join(workdir, "mail")
        self.logfile = os.path.join(workdir, "maillog")
        self.userfile = os.path.join(workdir, "local-users")
        self.mc = os.path.join(workdir, "mtad.mc")
        for d in (self.queue, self.mspqueue, self.maildir):
            os.makedirs(d, exist_ok=True)
        with open(self.userfile, "w") as f:
            f.write("\n".join(users) + "\n")
        with open(self.mc, "w") as f:
            f.write(self.mc_text(name, mc_extra))
        self.proc = None
        self.port = None
        self.stderr_lines = []

    def mc_text(self, name, extra):
        return (
            "dnl test configuration written by tests/e2e/harness.py\n"
            "define(`confDOMAIN_NAME', `%s')dnl\n"
            "define(`QUEUE_DIR', `%s')dnl\n"
            "define(`MSP_QUEUE_DIR', `%s')dnl\n"
            "define(`confLOG_FILE', `%s')dnl\n"
            "define(`confMAILBOX_DIR', `%s')dnl\n"
            "define(`confLOCAL_USER_FILE', `%s')dnl\n"
            "define(`confPID_FILE', `%s')dnl\n"
            "dnl no test asks the machine's resolver: remote domains defer\n"
            "define(`confRESOLVER', `127.0.0.1:1')dnl\n"
            "dnl so senders' domains need not resolve (tests for the check turn it off)\n"
            "FEATURE(`accept_unresolvable_domains')dnl\n"
            "dnl one process: tests of the privilege split set RunAsUser themselves\n"
            "define(`confRUN_AS_USER', `%s')dnl\n"
            "DAEMON_OPTIONS(`Port=%d, Addr=%s, Name=%s')dnl\n"
            "%s"
        ) % (self.hostname, self.queue, self.mspqueue, self.logfile, self.maildir,
             self.userfile, os.path.join(self.dir, "mtad.pid"), _current_user(), self.fixed_port,
             self.addr, name, extra)

    # -- running ---------------------------------------------------------
    def start(self, *extra_args, timeout=10.0):
        args = [binpath("mtad"), "-bD", "-C", self.mc, "-L", self.tag] + list(extra_args)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                raise AssertionError("mtad exited before listening: %s"
                                     % "".join(self.stderr_lines))
            self.stderr_lines.append(line)
            m = re.search(r"listening on (\S+) port (\d+)", line)
            if m:
                self.port = int(m.group(2))
                return self
        raise AssertionError("mtad did not start listening")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stderr:
            rest = self.proc.stderr.read()
            if rest:
                self.stderr_lines.append(rest)
            self.proc.stderr.close()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def run(self, *args, input=None, timeout=30, check=False, env=None):
        """Runs bin/mtad (or argv[0] from args[0] when it names a bin/ link)
        with this configuration."""
        argv = [binpath("mtad"), "-C", self.mc, "-L", self.tag] + list(args)
        return subprocess.run(argv, input=input, capture_output=True, timeout=timeout,
                              check=check, env=env,
                              text=not isinstance(input, bytes))

    # -- talking ---------------------------------------------------------
    def connect(self, source=None, timeout=10):
        s = socket.create_connection((self.addr, self.port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
        return SmtpConn(s)

    # -- looking -------------------------------------------------------------
    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_lines(self, needle=""):
        return [l for l in self.log().splitlines() if needle in l]

    def wait_log(self, regex, timeout=10.0):
        rx = re.compile(regex)
        return wait_for(lambda: next((l for l in self.log().splitlines() if rx.search(l)), None),
                        timeout, "log line /%s/" % regex)

    def mbox(self, user):
        try:
            with open(os.path.join(self.maildir, user), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def unlocked(self, qid):
        """True when no delivery holds the qf's lock (or it is gone)."""
        import fcntl
        try:
            fd = os.open(os.path.join(self.queue, "qf" + qid), os.O_RDONLY)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(fd)

    def wait_idle(self, qid, timeout=10.0):
        """Waits until the delivery attempt on qid is over (its lock released)."""
        return wait_for(lambda: self.unlocked(qid), timeout, "the lock on qf%s" % qid)

    def queue_files(self, prefix="qf"):
        out = []
        for root, _dirs, files in os.walk(self.queue):
            out += [f for f in files if f.startswith(prefix)]
        return sorted(out)


class SmtpConn:
    """A raw SMTP conversation over a socket: send exact bytes, read replies."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line.decode(errors="replace")
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def reply(self):
        """Reads one (possibly multi-line) reply; returns (code, [lines])."""
        lines = []
        while True:
            line = self.readline()
            if line is None:
                return (None, lines)
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        code = int(lines[0][:3]) if lines and lines[0][:3].isdigit() else None
        return (code, lines)

    def closed(self):
        """True when the server has closed the connection."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, OSError):
            return True


class MtadTestCase(unittest.TestCase):
    """Base class: a fresh temporary directory per test, mtads stopped after."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mtad-e2e-")
        self._mtads = []

    def tearDown(self):
        for m in self._mtads:
            m.stop()
        if os.environ.get("KEEP_TMP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def new_mtad(self, sub="mtad", start=True, **kw):
        d = os.path.join(self.tmp, sub)
        os.makedirs(d, exist_ok=True)
        m = Mtad(d, **kw)
        self._mtads.append(m)
        if start:
            m.start()
        return m


def send_message(m, rcpts, body, sender, source=None):
    """One SMTP transaction that must succeed: EHLO, MAIL, each RCPT, DATA
    with body (ending in CRLF.CRLF), QUIT; returns the queue ID of the 250."""
    c = m.connect(source=source)
    c.reply()
    c.cmd("EHLO client.example")
    code, lines = c.cmd("MAIL FROM:<%s>" % sender)
    assert code == 250, lines
    for r in rcpts:
        code, lines = c.cmd("RCPT TO:<%s>" % r)
        assert code == 250, (r, lines)
    assert c.cmd("DATA")[0] == 354
    c.send(body)
    code, lines = c.reply()
    c.cmd("QUIT")
    assert code == 250, lines
    return lines[0].split()[2]


def free_port(addr="127.0.0.1"):
    """A port that was free a moment ago, for a daemon that must come back
    on the same port after a restart."""
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Dnsmasq:
    """A real DNS server (Debian's dnsmasq) on a loopback port, answering
    only from the records given: authoritative for `domains`, so unknown
    names there get NXDOMAIN."""

    def __init__(self, workdir, mx=(), hosts=(), a=(), txt=(), domains=("test",)):
        import shutil as _sh
        self.exe = _sh.which("dnsmasq") or "/usr/sbin/dnsmasq"
        self.port = free_port()
        self.args = [self.exe, "--no-daemon", "--port=%d" % self.port,
                     "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                     "--no-hosts", "--conf-file=/dev/null", "--log-facility=-",
                     "--pid-file=", "--user=%s" % _current_user()]
        for d in domains:
            self.args.append("--local=/%s/" % d)
        for dom, host, pref in mx:
            self.args.append("--mx-host=%s,%s,%d" % (dom, host, pref))
        for name, ip in hosts:
            self.args.append("--host-record=%s,%s" % (name, ip))
        for name, ip in a:
            self.args.append("--address=/%s/%s" % (name, ip))
        for name, text in txt:
            self.args.append("--txt-record=%s,%s" % (name, text))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # ready when it answers: poll with a real query until it does
        import struct

        def answers():
            q = struct.pack(">HHHHHH", 1234, 0x0100, 1, 0, 0, 0) + b"\x04test\x00\x00\x01\x00\x01"
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.2)
            try:
                s.sendto(q, ("127.0.0.1", self.port))
                return s.recv(512)[:2] == q[:2]
            except OSError:
                return False
            finally:
                s.close()
        wait_for(answers, 10, "dnsmasq to answer")
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc.stderr.close()
            self.proc = None

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port


def _current_user():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name
