"""STARTTLS on both sides and SMTP AUTH: openssl s_client, smtplib and
swaks against mtad with a certificate the test makes; the STARTTLS
plain-text injection (CVE-2011-0411 class); AUTH PLAIN/LOGIN against a
mtapasswd map, relaying after AUTH, the failure limit; the Received: and
log fields; two mtads relaying with opportunistic TLS; TLS_Srv:."""
import base64
import glob
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import unittest

from harness import MtadTestCase, SmtpConn, binpath, free_port, wait_for

HAVE_OPENSSL = shutil.which("openssl") is not None
HAVE_SWAKS = shutil.which("swaks") is not None


def make_cert(d, cn="mx.test.example"):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
                    "-days", "2", "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def makemap(path, text):
    subprocess.run([binpath("makemap"), "hash", path], input=text, check=True, capture_output=True, text=True)
    return path


def passwd(db, user, password):
    r = subprocess.run([binpath("mtapasswd"), db, user], input=password + "\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_mc(cert, key, extra=""):
    return ("define(`confSERVER_CERT', `%s')dnl\ndefine(`confSERVER_KEY', `%s')dnl\n" % (cert, key)) + extra


def qf_text(m):
    out = []
    for p in glob.glob(os.path.join(m.queue, "**", "qf*"), recursive=True):
        with open(p, errors="replace") as f:
            out.append(f.read())
    return "\n".join(out)


@unittest.skipUnless(HAVE_OPENSSL, "openssl is not installed")
class TlsServer(MtadTestCase):
    def setUp(self):
        super().setUp()
        self.cert, self.key = make_cert(self.tmp)
        self.db = os.path.join(self.tmp, "authdb")
        passwd(self.db, "bob", "s3cret pass")
        self.m = self.new_mtad(mc_extra=tls_mc(self.cert, self.key,
                               "define(`confAUTH_PASSWD_DB', `hash %s')dnl\n"
                               "define(`confDELIVERY_MODE', `q')dnl\n" % self.db))

    def ehlo_keywords(self, lines):
        return [l[4:].split()[0].upper() for l in lines[1:]]

    def test_openssl_s_client_handshake_and_no_second_starttls(self):
        r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:%d" % self.m.port,
                            "-crlf", "-ign_eof"], input="EHLO client.example\nQUIT\n",
                           capture_output=True, text=True, timeout=30)
        self.assertRegex(r.stdout, r"New, TLSv1\.[23], Cipher is")
        after = r.stdout[r.stdout.index("250-mx.test.example"):]
        self.assertNotIn("STARTTLS", after)
        self.assertIn("250-AUTH LOGIN PLAIN", after)
        self.assertIn("221 2.0.0", after)
        self.m.wait_log(r"STARTTLS=server, relay=.*127\.0\.0\.1\], version=TLSv1\.[23], verify=NO, cipher=\S+, bits=\d+/\d+")

    def test_plain_ehlo_offers_starttls_but_no_auth(self):
        c = self.m.connect()
        c.reply()
        code, lines = c.cmd("EHLO client.example")
        kw = self.ehlo_keywords(lines)
        self.assertIn("STARTTLS", kw)
        self.assertNotIn("AUTH", kw)
        self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(b"\0bob\0s3cret pass").decode())[0], 538)
        self.assertEqual(c.cmd("STARTTLS extra")[0], 501)
        c.close()

    def test_injected_plaintext_after_starttls_is_discarded(self):
        c = self.m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        c.send("STARTTLS\r\nNOOP\r\n")          # one packet
        code, lines = c.reply()
        self.assertEqual(code, 220)
        self.assertEqual(c.buf, b"", "bytes after the 220 in the clear")
        tls = no_verify().wrap_socket(c.sock, server_hostname="mx.test.example")
        tls.sendall(b"EHLO again.example\r\n")
        f = tls.makefile("rb")
        first = f.readline().decode()
        # the NOOP, had it been kept, would be answered first ("250 2.0.0 OK")
        self.assertTrue(first.startswith("250-mx.test.example"), first)
        lines = [first]
        while lines[-1][3] == "-":
            lines.append(f.readline().decode())
        self.assertNotIn("STARTTLS", "".join(lines))
        tls.sendall(b"NOOP\r\n")
        self.assertEqual(f.readline().decode().strip(), "250 2.0.0 OK")
        tls.close()

    def test_pipelined_records_inside_tls_are_all_answered(self):
        # each command its own TLS record, sent back to back: records that
        # OpenSSL has read but not handed out while DATA's queue file is
        # being made must still be read (epoll never announces them)
        c = self.m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        self.assertEqual(c.cmd("STARTTLS")[0], 220)
        tls = no_verify().wrap_socket(c.sock, server_hostname="mx.test.example")
        f = tls.makefile("rb")
        tls.sendall(b"EHLO again.example\r\n")
        line = f.readline()
        while line[3:4] == b"-":
            line = f.readline()
        for rec in (b"MAIL FROM:<bob@mx.test.example>\r\n", b"RCPT TO:<alice@mx.test.example>\r\n",
                    b"DATA\r\n", b"Subject: records\r\n\r\nin records\r\n.\r\n", b"NOOP\r\n"):
            tls.sendall(rec)
        codes = [f.readline()[:3] for _ in range(5)]
        self.assertEqual(codes, [b"250", b"250", b"354", b"250", b"250"])
        tls.close()

    def test_session_starts_over_after_tls(self):
        c = self.m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example>")[0], 250)
        self.assertEqual(c.cmd("STARTTLS")[0], 220)
        tls = no_verify().wrap_socket(c.sock, server_hostname="mx.test.example")
        f = tls.makefile("rb")
        tls.sendall(b"RCPT TO:<bob@mx.test.example>\r\n")
        self.assertTrue(f.readline().startswith(b"503"), "the MAIL before STARTTLS was forgotten")
        tls.close()

    def test_smtplib_starttls_login_relays_from_untrusted_address(self):
        s = smtplib.SMTP("127.0.0.1", self.m.port, source_address=("127.0.0.2", 0))
        s.ehlo("laptop.example")
        s.mail("bob@mx.test.example")
        code, _ = s.rcpt("someone@elsewhere.example")
        self.assertEqual(code, 550, "no relaying before AUTH")
        s.rset()
        s.starttls(context=no_verify())
        s.ehlo("laptop.example")
        self.assertIn("auth", s.esmtp_features)
        s.login("bob", "s3cret pass")           # smtplib prefers CRAM-MD5, then PLAIN
        s.sendmail("bob@mx.test.example", ["someone@elsewhere.example"],
                   "Subject: relayed\r\n\r\nhello\r\n")
        s.quit()
        line = self.m.wait_log(r"from=<bob@mx\.test\.example>.*proto=ESMTPSA")
        self.assertRegex(line, r"tls_verify=NO, tls_version=TLSv1\.[23], tls_cipher=\S+, auth=bob, relay=")
        self.m.wait_log(r"AUTH=server, relay=.*127\.0\.0\.2\], authid=bob, mech=PLAIN, bits=0")
        qf = qf_text(self.m)
        self.assertRegex(qf, r"(?m)^Abob$")
        self.assertRegex(qf, r"\(authenticated bits=0\)\n\tby mx\.test\.example \(mtad [^)]*\) with ESMTPSA id \S+\n"
                             r"\t\(version=TLSv1\.[23] cipher=\S+ bits=\d+ verify=NO\)")

    def test_wrong_password_535_then_421_and_per_address_limit(self):
        def attempt(pw):
            s = smtplib.SMTP("127.0.0.1", self.m.port)
            s.starttls(context=no_verify())
            try:
                s.login("bob", pw)
                return s, None
            except smtplib.SMTPAuthenticationError as e:
                return s, e.smtp_code
            except smtplib.SMTPServerDisconnected:
                return s, "closed"
        s, code = attempt("wrong-1")
        self.assertEqual(code, 535)
        for pw in ("wrong-2", "wrong-3"):
            try:
                s.login("bob", pw)
                self.fail("accepted a wrong password")
            except smtplib.SMTPAuthenticationError as e:
                last = e.smtp_code
            except smtplib.SMTPServerDisconnected:
                last = "closed"
        self.assertIn(last, (421, "closed"))
        self.assertTrue(s.sock is None or s.sock.recv(1) == b"")
        self.m.wait_log(r"possible SMTP attack: command=AUTH, count=3")
        self.assertNotIn("wrong-", self.m.log())
        self.assertRegex(self.m.log(), r"AUTH failure \((PLAIN|LOGIN)\): authentication failure, user=bob")
        # two more sessions' worth, and the address is turned away even
        # with the right password
        for i in range(2):
            s, code = attempt("bad-%d" % i)
            for _ in range(2):
                try:
                    s.login("bob", "bad")
                except (smtplib.SMTPAuthenticationError, smtplib.SMTPServerDisconnected):
                    pass
        s, code = attempt("s3cret pass")
        self.assertIn(code, (421, "closed"))
        self.m.wait_log(r"AUTH refused: too many failures from this address")

    @unittest.skipUnless(HAVE_SWAKS, "swaks is not installed")
    def test_swaks_tls_auth_plain_and_login(self):
        for mech in ("PLAIN", "LOGIN"):
            r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.m.port, "--tls", "--auth", mech,
                                "--auth-user", "bob", "--auth-password", "s3cret pass",
                                "--from", "bob@mx.test.example", "--to", "carol@elsewhere.example",
                                "--helo", "swaks.example"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("235 2.0.0", r.stdout)
            self.m.wait_log(r"authid=bob, mech=%s" % mech)

    def test_login_with_wrong_user_and_abort(self):
        c = self.m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        c.cmd("STARTTLS")
        tls = no_verify().wrap_socket(c.sock, server_hostname="mx.test.example")
        f = tls.makefile("rb")

        def cmd(line):
            tls.sendall(line.encode() + b"\r\n")
            out = f.readline().decode()
            while out[3:4] == "-":
                out = f.readline().decode()
            return out
        cmd("EHLO x.example")
        self.assertTrue(cmd("AUTH LOGIN").startswith("334 VXNlcm5hbWU6"))
        self.assertTrue(cmd("*").startswith("501"))
        self.assertTrue(cmd("AUTH CRAM-MD5").startswith("504"))
        self.assertTrue(cmd("AUTH PLAIN " + base64.b64encode(b"\0nobody\0s3cret pass").decode()).startswith("535"))
        self.assertTrue(cmd("AUTH PLAIN " + base64.b64encode(b"alice\0bob\0s3cret pass").decode()).startswith("535"))
        self.assertTrue(cmd("AUTH PLAIN").startswith("334"))
        self.assertTrue(cmd(base64.b64encode(b"\0BOB\0s3cret pass").decode()).startswith("235"))
        self.assertTrue(cmd("AUTH PLAIN").startswith("503"))
        tls.close()


    def test_tls_clt_requires_tls_from_a_client(self):
        db = makemap(os.path.join(self.tmp, "access"), "TLS_Clt:127.0.0.2 ENCR:128\n")
        m = self.new_mtad("m2", mc_extra=tls_mc(self.cert, self.key, "FEATURE(`access_db', `hash %s')dnl\n" % db))
        c = m.connect(source="127.0.0.2")
        c.reply()
        c.cmd("EHLO x.example")
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example>")[0], 403)
        m.wait_log(r"ruleset=tls_client, arg1=MAIL, relay=.*127\.0\.0\.2\], reject=403 4\.7\.0 TLS required")
        c.close()
        c = m.connect()                          # 127.0.0.1 has no entry
        c.reply()
        c.cmd("EHLO x.example")
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example>")[0], 250)
        c.close()
        s = smtplib.SMTP("127.0.0.1", m.port, source_address=("127.0.0.2", 0))
        s.starttls(context=no_verify())
        s.ehlo("x.example")
        self.assertEqual(s.mail("a@b.example")[0], 250)
        s.quit()

    def test_smtpprobe_starttls(self):
        r = subprocess.run([binpath("smtpprobe"), "--starttls", "--helo", "probe.example", "--from", "a@b.example",
                            "--to", "bob@mx.test.example", "127.0.0.1:%d" % self.m.port],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout + r.stderr, r"TLS established: TLSv1\.[23] \S+, certificate not verified")
        self.m.wait_log(r"from=<a@b\.example>.*proto=ESMTPS, daemon=MTA, tls_verify=NO")

    def test_smtpprobe_auth_plain_and_login_relay_from_outside(self):
        pwfile = os.path.join(self.tmp, "pw")
        with open(pwfile, "w") as f:
            f.write("s3cret pass\n")
        for mech in ("PLAIN", "LOGIN"):
            r = subprocess.run([binpath("smtpprobe"), "--from-ip", "127.0.0.2", "--starttls", "--auth", mech,
                                "--auth-user", "bob", "--auth-password-file", pwfile, "--helo", "probe.example",
                                "--from", "bob@mx.test.example", "--to", "carol@elsewhere.example",
                                "127.0.0.1:%d" % self.m.port], capture_output=True, text=True, timeout=60)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 0, out)
            self.assertIn("235 2.0.0", out)
            self.assertNotIn("s3cret", out)
            self.assertNotIn("czNjcmV0", out)         # nor its base64
            self.m.wait_log(r"authid=bob, mech=%s" % mech)
        env = dict(os.environ, SMTPPROBE_PASSWORD="wrong")
        r = subprocess.run([binpath("smtpprobe"), "--starttls", "--auth", "PLAIN", "--auth-user", "bob",
                            "--to", "bob@mx.test.example", "127.0.0.1:%d" % self.m.port],
                           capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(r.returncode, 27, r.stdout + r.stderr)

    def test_mtapasswd_list_replace_delete(self):
        passwd(self.db, "Carol", "first")
        passwd(self.db, "carol", "second")      # replaces: one key, lower case
        r = subprocess.run([binpath("mtapasswd"), "-l", self.db], capture_output=True, text=True)
        self.assertEqual(sorted(r.stdout.split()), ["bob", "carol"])
        raw = subprocess.run([binpath("makemap"), "-u", "hash", self.db], capture_output=True, text=True).stdout
        self.assertNotIn("second", raw)
        self.assertRegex(raw, r"carol\s+\$6\$")
        s = smtplib.SMTP("127.0.0.1", self.m.port)
        s.starttls(context=no_verify())
        s.login("carol", "second")              # the running mtad sees the new map
        s.quit()
        r = subprocess.run([binpath("mtapasswd"), "-d", self.db, "carol"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([binpath("mtapasswd"), "-d", self.db, "carol"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 67)
        s = smtplib.SMTP("127.0.0.1", self.m.port)
        s.starttls(context=no_verify())
        with self.assertRaises(smtplib.SMTPAuthenticationError):
            s.login("carol", "second")
        s.quit()


@unittest.skipUnless(HAVE_OPENSSL, "openssl is not installed")
class SubmissionListener(MtadTestCase):
    def test_M_a_requires_auth_and_no_cert_means_no_starttls(self):
        port2 = free_port()
        m = self.new_mtad(mc_extra="DAEMON_OPTIONS(`Port=%d, Addr=127.0.0.1, Name=MSA, M=Ea')dnl\n" % port2)
        c = m.connect()
        c.reply()
        code, lines = c.cmd("EHLO x.example")
        self.assertNotIn("STARTTLS", "\n".join(lines))
        self.assertEqual(c.cmd("STARTTLS")[0], 500)
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example>")[0], 250, "the MTA listener needs no AUTH")
        c.close()
        s = socket.create_connection(("127.0.0.1", port2))
        c = SmtpConn(s)
        c.reply()
        c.cmd("EHLO x.example")
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example>")[0], 530)
        c.close()


@unittest.skipUnless(HAVE_OPENSSL, "openssl is not installed")
class TlsRelay(MtadTestCase):
    """a relays to b through SMART_HOST; b has a certificate (or not)."""

    def relay_pair(self, b_cert=True, access="", a_extra=""):
        self.bport = free_port()
        bdir = os.path.join(self.tmp, "bcert")
        os.makedirs(bdir)
        cert, key = make_cert(bdir, "mx.b.test")
        self.bcert = cert
        cw = os.path.join(self.tmp, "b-cw")
        with open(cw, "w") as f:
            f.write("b.test\n")
        self.b = self.new_mtad("b", hostname="mx.b.test", port=self.bport, mc_extra=(
            (tls_mc(cert, key) if b_cert else "") + "define(`confCW_FILE', `%s')dnl\n" % cw))
        mc = "define(`SMART_HOST', `[127.0.0.1]:%d')dnl\n" % self.bport + a_extra
        if access:
            mc += "FEATURE(`access_db', `hash %s')dnl\n" % makemap(os.path.join(self.tmp, "access"), access)
        self.a = self.new_mtad("a", hostname="mx.a.test", mc_extra=mc)

    def send(self, rcpt="bob@b.test"):
        s = smtplib.SMTP("127.0.0.1", self.a.port)
        s.sendmail("alice@a.test", [rcpt], "Subject: t\r\n\r\nbody\r\n")
        s.quit()

    def test_opportunistic_tls_between_two_mtads(self):
        self.relay_pair()
        self.send()
        to = self.a.wait_log(r"to=<bob@b\.test>.*stat=Sent")
        self.assertRegex(to, r"relay=\[127\.0\.0\.1\] \[127\.0\.0\.1\], tls_verify=FAIL, tls_version=TLSv1\.[23], "
                             r"tls_cipher=\S+, dsn=2\.0\.0")
        self.a.wait_log(r"STARTTLS=client, relay=\[127\.0\.0\.1\], version=TLSv1\.[23], verify=FAIL")
        self.b.wait_log(r"from=<alice@a\.test>.*proto=ESMTPS.*tls_version=TLSv1")
        box = wait_for(lambda: self.b.mbox("bob"), what="bob's mailbox on b")
        box = box.decode(errors="replace") if isinstance(box, bytes) else box
        self.assertRegex(box, r"with ESMTPS id \S+\n\t\(version=TLSv1\.[23] cipher=\S+ bits=\d+ verify=NO\)")

    def test_tls_srv_requires_tls_towards_host_without_it_defers(self):
        self.relay_pair(b_cert=False, access="TLS_Srv:127.0.0.1 ENCR:128\n")
        self.send()
        to = self.a.wait_log(r"to=<bob@b\.test>.*stat=Deferred")
        self.assertIn("dsn=4.7.0", to)
        self.assertIn("does not offer STARTTLS", to)
        self.assertNotIn("tls_verify=", to)

    def test_tls_srv_verify_fails_on_self_signed_then_ok_with_cacert(self):
        self.relay_pair(access="TLS_Srv:127.0.0.1 VERIFY\n")
        self.send()
        to = self.a.wait_log(r"to=<bob@b\.test>.*stat=Deferred")
        self.assertIn("requires a verified certificate", to)
        # trusting b's certificate as a CA makes it verify
        self.a.stop()
        with open(self.a.mc, "a") as f:
            f.write("define(`confCACERT', `%s')dnl\n" % self.bcert)
        self.a.start()
        r = self.a.run("-q")
        self.assertEqual(r.returncode, 0, r.stderr)
        to = self.a.wait_log(r"to=<bob@b\.test>.*stat=Sent")
        self.assertIn("tls_verify=OK", to)

    def test_no_tls_when_not_offered(self):
        self.relay_pair(b_cert=False)
        self.send()
        to = self.a.wait_log(r"to=<bob@b\.test>.*stat=Sent")
        self.assertNotIn("tls_", to)

    def test_verbose_transcript_says_tls(self):
        self.relay_pair(a_extra="define(`confDELIVERY_MODE', `q')dnl\n")
        self.send()
        r = self.a.run("-q", "-v")
        self.assertIn("STARTTLS: TLSv1.", r.stdout)
        self.assertIn(">>> STARTTLS", r.stdout)


if __name__ == "__main__":
    unittest.main()
