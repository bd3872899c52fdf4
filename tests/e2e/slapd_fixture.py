"""A real OpenLDAP slapd (Debian's `slapd` package) for the LDAP tests.

Slapd(workdir) writes a private slapd.conf (mdb backend, suffix
dc=example,dc=com, rootdn cn=admin,dc=example,dc=com / secret) that includes
Debian's core, cosine, inetorgperson, nis and misc schemas from
/etc/ldap/schema and sendmail's own schema, and runs
`slapd -h ldap://127.0.0.1:PORT/ -f slapd.conf -d 256` in the foreground as
whoever runs the tests (no root needed).  Readiness: ldapsearch answers.

sendmail.schema (sendmailMTA* attributes and object classes, used by
sendmail's default LDAP map and alias schema) is field data from Debian:
it ships as /usr/share/sendmail/examples/ldap/sendmail.schema.v2 in the
sendmail-base package (sendmail-cf does not carry it).  We do not install
sendmail: when sendmail-base is not installed, the .deb is fetched with
`apt-get download sendmail-base` and the file is taken out with
`dpkg-deb -x` into build/ldap/ (kept for later runs).  MTA_SENDMAIL_SCHEMA
names another copy.
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import free_port, wait_for

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SCHEMA_DIR = "/etc/ldap/schema"
SUFFIX = "dc=example,dc=com"
ROOTDN = "cn=admin," + SUFFIX
ROOTPW = "secret"
DEB_SCHEMA = "usr/share/sendmail/examples/ldap/sendmail.schema.v2"


def sendmail_schema():
    """The path of sendmail.schema, fetching it once if need be; None when
    it cannot be had (the tests then skip)."""
    for p in (os.environ.get("MTA_SENDMAIL_SCHEMA"), "/" + DEB_SCHEMA,
              os.path.join(REPO, "build", "ldap", "sendmail.schema")):
        if p and os.path.exists(p):
            return p
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        return None
    dest = os.path.join(REPO, "build", "ldap")
    os.makedirs(dest, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="schema.", dir=dest)
    try:
        subprocess.run(["apt-get", "download", "sendmail-base"], cwd=tmp, timeout=60,
                       capture_output=True)
        debs = glob.glob(os.path.join(tmp, "sendmail-base_*.deb"))
        if not debs:
            return None
        subprocess.run(["dpkg-deb", "-x", debs[0], os.path.join(tmp, "x")], check=True,
                       capture_output=True, timeout=60)
        src = os.path.join(tmp, "x", DEB_SCHEMA)
        if not os.path.exists(src):
            return None
        out = os.path.join(dest, "sendmail.schema")
        shutil.copyfile(src, out + ".new")
        os.rename(out + ".new", out)
        return out
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def have_slapd():
    return os.path.exists(SLAPD) and shutil.which("ldapadd") and all(
        os.path.exists(os.path.join(SCHEMA_DIR, s + ".schema"))
        for s in ("core", "cosine", "inetorgperson", "nis", "misc"))


class Slapd:
    def __init__(self, workdir, port=None):
        self.dir = os.path.join(workdir, "slapd")
        self.dbdir = os.path.join(self.dir, "db")
        os.makedirs(self.dbdir, exist_ok=True)
        self.port = port or free_port()
        self.uri = "ldap://127.0.0.1:%d" % self.port
        self.log = os.path.join(self.dir, "slapd.log")
        self.conf = os.path.join(self.dir, "slapd.conf")
        self.proc = None
        self.stopped = False
        schema = sendmail_schema()
        if schema is None:
            raise RuntimeError("sendmail.schema is not available")
        includes = "".join("include %s/%s.schema\n" % (SCHEMA_DIR, s)
                           for s in ("core", "cosine", "inetorgperson", "nis", "misc"))
        with open(self.conf, "w") as f:
            f.write(includes + "include %s\n" % schema +
                    "pidfile %s/slapd.pid\nargsfile %s/slapd.args\n" % (self.dir, self.dir) +
                    "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
                    "database mdb\nmaxsize 10485760\n"
                    'suffix "%s"\nrootdn "%s"\nrootpw %s\ndirectory %s\n'
                    "index objectClass eq\n" % (SUFFIX, ROOTDN, ROOTPW, self.dbdir))

    def start(self):
        logf = open(self.log, "a")
        # -d 256: stay in the foreground, log connections (conn=N ... ACCEPT)
        self.proc = subprocess.Popen([SLAPD, "-h", self.uri + "/", "-f", self.conf, "-d", "256"],
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        logf.close()
        wait_for(self.answers, 20, "slapd on port %d" % self.port)
        return self

    def answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("slapd exited: %s" % open(self.log).read()[-2000:])
        r = subprocess.run(["ldapsearch", "-x", "-H", self.uri, "-b", "", "-s", "base",
                            "-o", "nettimeout=2", "namingContexts"],
                           capture_output=True, timeout=10)
        return r.returncode == 0

    def add(self, ldif):
        r = subprocess.run(["ldapadd", "-x", "-H", self.uri, "-D", ROOTDN, "-w", ROOTPW],
                           input=ldif.encode(), capture_output=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError("ldapadd failed: %s %s" % (r.stdout, r.stderr))

    def accepts(self):
        """Connections slapd has accepted so far."""
        with open(self.log, errors="replace") as f:
            return sum(1 for l in f if " ACCEPT from " in l)

    def state(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.stopped = True
        wait_for(lambda: self.state() == "T", 10, "slapd stopped by SIGSTOP")

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
        self.stopped = False

    def stop(self):
        if self.proc is None:
            return
        if self.stopped:
            self.resume()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


if __name__ == "__main__":
    # scripts/deps.sh: fetch sendmail.schema once, before the tests need it
    import sys
    p = sendmail_schema()
    print("sendmail.schema: %s" % (p or "not available (the LDAP tests will skip)"), file=sys.stderr)
