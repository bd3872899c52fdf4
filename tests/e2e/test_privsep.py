"""The privilege model as the system MTA runs it (issue 16): mtad started as
root with RunAsUser=mail, real passwd users made for the test (useradd,
removed again in tearDown even when the test fails), a Debian-style spool
(root:mail 2775).  Root only: the whole class skips itself otherwise.
What it proves, one test each: which process runs as whom (ps), mailbox
delivery as the recipient, .forward to a file and an smrsh program as the
user, a tampered qf planted as user mail that root never acts on, kill -9
of the parent and an immediate restart."""
import grp
import os
import pwd
import re
import signal
import subprocess
import time
import unittest
import uuid

from harness import MtadTestCase, wait_for, binpath, free_port, send_message

IS_ROOT = os.geteuid() == 0


def have_mail_user():
    try:
        pwd.getpwnam("mail")
        grp.getgrnam("mail")
        return True
    except KeyError:
        return False


def send(m, rcpts, body, sender="s@example.org"):
    return send_message(m, rcpts, body, sender)


def ps_table():
    return subprocess.run(["ps", "-e", "-o", "user:12,pid,ppid,args"], capture_output=True,
                          text=True).stdout


def proc_uids(pid):
    with open("/proc/%d/status" % pid) as f:
        return {int(u) for u in re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", f.read(), re.M).groups()}


def smtp_server_of(parent, uid):
    """The SMTP server among parent's children: uid, with worker threads (a
    delivery or handover process may be there too: one thread)."""
    for k in children(parent):
        try:
            with open("/proc/%d/status" % k) as f:
                st = f.read()
            uids = {int(u) for u in re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", st, re.M).groups()}
            if uids == {uid} and int(re.search(r"^Threads:\s+(\d+)", st, re.M).group(1)) > 1:
                return k
        except (FileNotFoundError, ProcessLookupError, AttributeError):
            pass
    return None


def gone(pid):
    """The process has exited (reaped, or a zombie)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return "State:\tZ" in f.read()
    except (FileNotFoundError, ProcessLookupError):
        return True


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


class RootCase(MtadTestCase):
    """Throw-away users and an mtad with RunAsUser=mail over a Debian spool."""

    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)
        self.users = []
        self.addCleanup(self.remove_users)
        self.mail = pwd.getpwnam("mail")
        self.mailgid = grp.getgrnam("mail").gr_gid

    def add_user(self):
        name = "h16" + uuid.uuid4().hex[:8]
        home = os.path.join(self.tmp, "home-" + name)
        subprocess.run(["useradd", "-M", "-d", home, "-s", "/bin/sh", "-U", name], check=True,
                       capture_output=True)
        self.users.append(name)
        pw = pwd.getpwnam(name)
        os.makedirs(home)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        os.chmod(home, 0o755)
        return pw

    def remove_users(self):
        for name in self.users:
            subprocess.run(["userdel", name], capture_output=True)

    def mtad(self, extra="", start=True, sub="mtad", port=None):
        kw = {"port": port} if port else {}
        m = self.new_mtad(sub, start=False, mc_extra="define(`confRUN_AS_USER', `mail')dnl\n" + extra, **kw)
        os.chmod(m.dir, 0o755)
        # the Debian spool: root:mail 2775
        os.chown(m.maildir, 0, self.mailgid)
        os.chmod(m.maildir, 0o2775)
        if start:
            m.start()
        return m


@unittest.skipUnless(IS_ROOT and have_mail_user(), "needs root and a mail user (the system MTA's case)")
class RootPrivsep(RootCase):
    def test_ps_table_and_mailbox_written_as_the_recipient(self):
        u = self.add_user()
        m = self.mtad()
        qid = send(m, [u.pw_name + "@mx.test.example"], "Subject: priv\r\n\r\nto the spool\r\n.\r\n")
        box = os.path.join(m.maildir, u.pw_name)
        wait_for(lambda: b"to the spool" in m.mbox(u.pw_name), what="delivery into the spool")
        m.wait_log(qid + r": to=<%s@mx\.test\.example>, .*mailer=local, .*stat=Sent" % u.pw_name)
        st = os.stat(box)
        self.assertEqual((st.st_uid, st.st_gid), (u.pw_uid, self.mailgid))   # user:mail, as mail.local
        self.assertEqual(st.st_mode & 0o777, 0o600)
        # which process runs as whom
        parent = m.proc.pid
        smtp = wait_for(lambda: smtp_server_of(parent, self.mail.pw_uid), what="the SMTP server (mail)")
        kids = [smtp]
        self.assertEqual(proc_uids(parent), {0})
        table = ps_table()
        mine = [l for l in table.splitlines()[1:] if int(l.split()[1]) in [parent] + kids]
        print("\n" + table.splitlines()[0] + "\n" + "\n".join(mine))
        self.assertTrue(any(l.split()[0] == "root" and int(l.split()[1]) == parent for l in mine))
        self.assertTrue(any(l.split()[0] == "mail" for l in mine))

    def test_delivery_process_is_mail_and_agent_root(self):
        """A queue run started as root: the runner drops to mail, the agent
        keeps root (ps while a slow .forward program holds the delivery)."""
        u = self.add_user()
        smrsh = os.path.join(self.tmp, "smrsh")
        os.makedirs(smrsh)
        gate = os.path.join(self.tmp, "gate")
        prog = os.path.join(smrsh, "slow")
        with open(prog, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\nwhile [ ! -e %s ]; do sleep 0.05; done\n" % gate)
        os.chmod(prog, 0o755)
        with open(os.path.join(u.pw_dir, ".forward"), "w") as f:
            f.write('"|slow"\n')
        os.chown(os.path.join(u.pw_dir, ".forward"), u.pw_uid, u.pw_gid)
        m = self.mtad(extra="define(`confDELIVERY_MODE', `q')dnl\ndefine(`confSMRSH_DIRECTORY', `%s')dnl\n"
                      % smrsh)
        qid = send(m, [u.pw_name + "@mx.test.example"], "Subject: q\r\n\r\nqueued\r\n.\r\n")
        runner = subprocess.Popen([binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q"])
        try:
            def slow_running():
                out = subprocess.run(["ps", "-e", "-o", "user:12,pid,ppid,args"], capture_output=True,
                                     text=True).stdout
                return out if re.search(r"^%s\s+\d+\s+\d+\s+/bin/sh %s" % (u.pw_name, re.escape(prog)),
                                        out, re.M) else None
            table = wait_for(slow_running, what="the .forward program running as the user")
            rows = [l for l in table.splitlines() if str(runner.pid) in l.split()[1:3] or "slow" in l]
            print("\n" + table.splitlines()[0] + "\n" + "\n".join(rows))
            self.assertEqual(proc_uids(runner.pid), {self.mail.pw_uid})     # the -q process itself
            agent = [k for k in children(runner.pid)]
            self.assertTrue(any(proc_uids(k) == {0} for k in agent), "a root agent under the runner")
        finally:
            open(gate, "w").close()
            runner.wait(timeout=20)
        m.wait_log(qid + r": to=\|slow, .*mailer=prog, .*stat=Sent")

    def test_forward_to_file_and_smrsh_program_as_the_user(self):
        u = self.add_user()
        smrsh = os.path.join(self.tmp, "smrsh")
        os.makedirs(smrsh)
        prog = os.path.join(smrsh, "record")
        with open(prog, "w") as f:
            f.write("#!/bin/sh\n{ id -u; pwd; echo \"HOME=$HOME USER=$USER PATH=$PATH SENDER=$SENDER\"; "
                    "env | wc -l; grep -E '^(SigIgn|SigBlk)' /proc/self/status; cat; } > \"$HOME/prog.out\"\n")
        os.chmod(prog, 0o755)
        saved = os.path.join(u.pw_dir, "saved.mbox")
        fwd = os.path.join(u.pw_dir, ".forward")
        with open(fwd, "w") as f:
            f.write('\\%s, %s, "|/usr/local/bin/record arg"\n' % (u.pw_name, saved))
        os.chown(fwd, u.pw_uid, u.pw_gid)
        os.chmod(fwd, 0o644)
        m = self.mtad(extra="define(`confSMRSH_DIRECTORY', `%s')dnl\n" % smrsh)
        qid = send(m, [u.pw_name + "@mx.test.example"], "Subject: fwd\r\n\r\nforwarded body\r\n.\r\n")
        out = os.path.join(u.pw_dir, "prog.out")
        wait_for(lambda: os.path.exists(out) and os.path.exists(saved) and m.mbox(u.pw_name),
                 what="the three .forward deliveries")
        m.wait_log(qid + r": to=\|/usr/local/bin/record arg, .*mailer=prog, .*stat=Sent")
        with open(out) as f:
            text = f.read()
        lines = text.splitlines()
        self.assertEqual(lines[0], str(u.pw_uid))                # as the user
        self.assertEqual(lines[1], u.pw_dir)                     # in the home directory
        self.assertIn("HOME=%s USER=%s PATH=/usr/bin:/bin SENDER=s@example.org" % (u.pw_dir, u.pw_name), text)
        self.assertLessEqual(int(lines[3]), 10)                  # a fixed, small environment
        # default dispositions: nothing blocked, SIGPIPE (13) not ignored
        # (32 and 33 are glibc's own, out of reach of signal(2))
        self.assertRegex(text, r"SigBlk:\s+0+\n")
        ign = int(re.search(r"SigIgn:\s+([0-9a-f]+)", text).group(1), 16)
        self.assertEqual(ign & ~0x180000000, 0, hex(ign))
        self.assertIn("forwarded body", text)
        self.assertEqual(os.stat(saved).st_uid, u.pw_uid)        # the file: written as the user
        self.assertIn(b"forwarded body", open(saved, "rb").read())
        self.assertIn(b"forwarded body", m.mbox(u.pw_name))      # \user keeps a copy
        self.assertEqual(os.stat(os.path.join(m.maildir, u.pw_name)).st_uid, u.pw_uid)

    def test_forward_program_outside_smrsh_refused_and_unsafe_forward_ignored(self):
        u = self.add_user()
        v = self.add_user()
        smrsh = os.path.join(self.tmp, "smrsh")
        os.makedirs(smrsh)
        marker = os.path.join(self.tmp, "ran")
        fwd = os.path.join(u.pw_dir, ".forward")
        with open(fwd, "w") as f:
            f.write('"|/bin/touch %s"\n' % marker)
        os.chown(fwd, u.pw_uid, u.pw_gid)
        fwd2 = os.path.join(v.pw_dir, ".forward")              # world-writable: ignored
        with open(fwd2, "w") as f:
            f.write("/tmp/never-%s\n" % v.pw_name)
        os.chown(fwd2, v.pw_uid, v.pw_gid)
        os.chmod(fwd2, 0o666)
        m = self.mtad(extra="define(`confSMRSH_DIRECTORY', `%s')dnl\n" % smrsh)
        qid = send(m, [u.pw_name + "@mx.test.example", v.pw_name + "@mx.test.example"],
                   "Subject: x\r\n\r\nx\r\n.\r\n")
        m.wait_log(qid + r": to=\|/bin/touch .*dsn=5\.3\.0, stat=program /bin/touch is not in %s"
                   % re.escape(smrsh))
        wait_for(lambda: m.mbox(v.pw_name), what="the unsafe .forward's user gets the mail itself")
        m.wait_log(r"%s: .*\.forward is unsafe" % v.pw_name)
        self.assertFalse(os.path.exists(marker))
        self.assertFalse(os.path.exists("/tmp/never-" + v.pw_name))

    def test_tampered_qf_written_as_mail_never_acted_on_by_root(self):
        u = self.add_user()
        victim = os.path.join(self.tmp, "root-wrote-this")
        ran = os.path.join(self.tmp, "root-ran-this")
        aliases = os.path.join(self.tmp, "aliases")
        with open(aliases, "w") as f:
            f.write("postmaster: root\n")
        m = self.mtad(extra="define(`confDELIVERY_MODE', `q')dnl\ndefine(`ALIAS_FILE', `%s')dnl\n" % aliases)
        qid = send(m, [u.pw_name + "@mx.test.example"], "Subject: t\r\n\r\ntampered\r\n.\r\n")
        m.stop()
        qf = [os.path.join(r, f) for r, _d, fs in os.walk(m.queue) for f in fs if f == "qf" + qid][0]
        with open(qf) as f:
            text = f.read()
        evil = ("Qrfc822;postmaster@mx.test.example\nRPA:|/bin/touch %s\n"
                "Qrfc822;%s@mx.test.example\nRPA:%s\n"
                "RPA:|/bin/sh -c 'touch %s'\n" % (ran, u.pw_name, victim, ran))
        text = re.sub(r"^(R[^\n]*\n)", lambda mo: mo.group(1) + evil, text, count=1, flags=re.M)
        # the attacker is the unprivileged side: the file is written as mail
        pid = os.fork()
        if pid == 0:
            try:
                os.setgid(self.mail.pw_gid)
                os.setuid(self.mail.pw_uid)
                with open(qf, "w") as f:
                    f.write(text)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        self.assertEqual(os.stat(qf).st_uid, self.mail.pw_uid)
        r = m.run("-q")                                    # a queue run, started as root
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(ran), "root ran a program named in a qf")
        self.assertFalse(os.path.exists(victim), "a file named in a qf was written")
        log = m.log()
        self.assertRegex(log, r"SYSERR: program /bin/touch \S+ is not what postmaster expands to")
        self.assertRegex(log, r"SYSERR: file %s is not what %s expands to" % (re.escape(victim), u.pw_name))
        self.assertRegex(log, qid + r": to=%s, .*mailer=\*file\*, .*dsn=5\.3\.0" % re.escape(victim))
        self.assertIn(b"tampered", m.mbox(u.pw_name))   # the real recipient still gets it

    def test_kill9_parent_then_restart_at_once(self):
        port = free_port()
        m = self.mtad(port=port)
        parent = m.proc.pid
        kids = [wait_for(lambda: smtp_server_of(parent, self.mail.pw_uid), what="the SMTP server")]
        m.kill9()
        # the SMTP server notices and goes, so the port is free again
        wait_for(lambda: all(gone(k) for k in kids),
                 timeout=1.5, what="the SMTP server to exit with its parent")
        t0 = time.monotonic()
        m.start()
        self.assertLess(time.monotonic() - t0, 3.0)
        u = self.add_user()
        send(m, [u.pw_name + "@mx.test.example"], "Subject: again\r\n\r\nafter restart\r\n.\r\n")
        wait_for(lambda: b"after restart" in m.mbox(u.pw_name), what="delivery after the restart")

    def test_kill9_smtp_server_parent_stops_restart_at_once(self):
        port = free_port()
        m = self.mtad(port=port)
        smtp = wait_for(lambda: smtp_server_of(m.proc.pid, self.mail.pw_uid), what="the SMTP server")
        os.kill(smtp, signal.SIGKILL)
        m.proc.wait(timeout=5)                          # the parent notices and stops
        m.wait_log(r"SYSERR: the SMTP server \(pid %d\) exited; stopping" % smtp)
        m.stop()
        m.start()
        u = self.add_user()
        send(m, [u.pw_name + "@mx.test.example"], "Subject: again\r\n\r\nafter\r\n.\r\n")
        wait_for(lambda: b"after" in m.mbox(u.pw_name), what="delivery after the restart")

    def test_second_daemon_refused_by_the_pid_file_lock(self):
        m = self.mtad()
        pidfile = os.path.join(m.dir, "mtad.pid")
        wait_for(lambda: os.path.exists(pidfile) and open(pidfile).read().strip() == str(m.proc.pid),
                 what="the pid file")
        r = subprocess.run([binpath("mtad"), "-bD", "-C", m.mc, "-O", "DaemonPortOptions=Port=0,Addr=127.0.0.1"],
                           capture_output=True, text=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"pid file \S+ is locked: another mtad \(pid %d\) is running" % m.proc.pid)


def makemap(path, text, *flags):
    r = subprocess.run([binpath("makemap")] + list(flags) + ["hash", path], input=text, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return path


def as_mail_can_read(path):
    """Whether user mail (RunAsUser) can read path: test -r run as mail."""
    return subprocess.run(["setpriv", "--reuid=mail", "--regid=mail", "--clear-groups", "test", "-r", path],
                          capture_output=True).returncode == 0


def replace_unreadable(path):
    """Swaps path for a copy that only root can read (a new inode, as a
    rebuild would make), so a running daemon opens it anew."""
    tmp = path + ".new"
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        dst.write(src.read())
    os.chown(tmp, 0, 0)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


@unittest.skipUnless(IS_ROOT and have_mail_user(), "needs root and a mail user (the system MTA's case)")
class RootDatabases(RootCase):
    def test_makemap_and_bi_as_root_make_files_mail_can_read(self):
        amap = makemap(os.path.join(self.tmp, "access"), "From:bad.test REJECT\n")
        st = os.stat(amap + ".db")
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (0, self.mailgid, 0o640))
        self.assertTrue(as_mail_can_read(amap + ".db"))
        # an existing map keeps its owner, group and mode through a rebuild
        os.chown(amap + ".db", self.mail.pw_uid, 0)
        os.chmod(amap + ".db", 0o604)
        makemap(amap, "From:bad.test REJECT\nFrom:worse.test REJECT\n")
        st = os.stat(amap + ".db")
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (self.mail.pw_uid, 0, 0o604))
        aliases = os.path.join(self.tmp, "aliases")
        with open(aliases, "w") as f:
            f.write("postmaster: root\n")
        m = self.mtad(start=False, extra="define(`ALIAS_FILE', `%s')dnl\n" % aliases)
        r = m.run("-bi")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = os.stat(aliases + ".db")
        self.assertEqual((st.st_gid, st.st_mode & 0o777), (self.mailgid, 0o640))
        self.assertTrue(as_mail_can_read(aliases + ".db"))

    def test_unreadable_alias_db_stops_start_and_bE_with_78(self):
        aliases = os.path.join(self.tmp, "aliases")
        with open(aliases, "w") as f:
            f.write("postmaster: root\nstaff: root\n")
        m = self.mtad(start=False, extra="define(`ALIAS_FILE', `%s')dnl\n" % aliases)
        self.assertEqual(m.run("-bi").returncode, 0)
        os.chmod(aliases + ".db", 0o600)
        os.chown(aliases + ".db", 0, 0)
        r = m.run("-bE")
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertRegex(r.stderr, r"ALIAS_FILE %s: .*as mail \(uid %d\); fix: chgrp \S+ %s\.db"
                         % (re.escape(aliases), self.mail.pw_uid, re.escape(aliases)))
        r = subprocess.run([binpath("mtad"), "-bD", "-C", m.mc], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 78)
        self.assertIn(aliases, r.stderr)
        self.assertIn("not started", r.stderr)
        self.assertEqual(m.run("-bC").returncode, 0)     # the configuration itself is fine

    def test_unwritable_queue_stops_start_with_78_naming_it(self):
        m = self.mtad(start=False)
        locked = os.path.join(self.tmp, "locked")
        os.makedirs(locked)
        os.chmod(locked, 0o700)                         # mail cannot get through
        q = os.path.join(locked, "mqueue")
        os.makedirs(q)
        r = m.run("-bE", "-O", "QueueDirectory=" + q)
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertRegex(r.stderr, r"QUEUE_DIR %s: cannot be reached .*, as mail \(uid %d\); fix: .*searchable"
                         % (re.escape(q), self.mail.pw_uid))
        self.assertEqual(r.stderr.count("QUEUE_DIR"), 1, r.stderr)   # one line for one problem
        os.chmod(locked, 0o755)
        os.chown(q, 0, 0)
        os.chmod(q, 0o755)
        r = m.run("-bE", "-O", "QueueDirectory=" + q)
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertRegex(r.stderr, r"QUEUE_DIR %s: not writable, as mail .*; fix: chown mail %s"
                         % (re.escape(q), re.escape(q)))

    def test_unreadable_maps_at_run_time_give_451_and_a_log_line(self):
        aliases = os.path.join(self.tmp, "aliases")
        with open(aliases, "w") as f:
            f.write("postmaster: root\nstaff: root\n")
        amap = makemap(os.path.join(self.tmp, "access"), "From:bad.test REJECT\n")
        m = self.mtad(start=False, extra="define(`ALIAS_FILE', `%s')dnl\nFEATURE(`access_db', `hash %s')dnl\n"
                      % (aliases, amap))
        self.assertEqual(m.run("-bi").returncode, 0)
        m.start()
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        self.assertEqual(c.cmd("MAIL FROM:<a@bad.test>")[0], 550)   # the map works
        c.cmd("RSET")
        self.assertEqual(c.cmd("MAIL FROM:<a@good.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<staff@mx.test.example>")[0], 250)
        c.cmd("QUIT")
        replace_unreadable(aliases + ".db")
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        c.cmd("MAIL FROM:<a@good.test>")
        code, lines = c.cmd("RCPT TO:<staff@mx.test.example>")
        self.assertEqual(lines[0][:9], "451 4.3.0", lines)          # never 550 User unknown
        m.wait_log(r"SYSERR: aliases: .*%s" % re.escape(aliases))
        c.cmd("QUIT")
        replace_unreadable(amap + ".db")
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        code, lines = c.cmd("MAIL FROM:<a@bad.test>")
        # never a skipped check: a 4xx (the first lookup to fail may be a
        # TLS_Clt one, answered 403 4.7.0, "cannot tell: be strict")
        self.assertEqual(code // 100, 4, lines)
        m.wait_log(r"SYSERR: access_db hash %s: .*; answering 4xx until it can be read" % re.escape(amap))


class QueueEntries(MtadTestCase):
    """Run as root or not: what is not a regular file in the queue is
    logged and skipped, never followed or waited on."""

    def test_fifo_and_symlink_in_queue_skipped_by_bp_mailq_and_runs(self):
        m = self.new_mtad(mc_extra="define(`confDELIVERY_MODE', `q')dnl\n")
        qid = send(m, ["alice@mx.test.example"], "Subject: q\r\n\r\nbehind the fifo\r\n.\r\n")
        qdir = os.path.dirname([os.path.join(r, f) for r, _d, fs in os.walk(m.queue) for f in fs
                                if f == "qf" + qid][0])
        os.mkfifo(os.path.join(qdir, "qfAAAAAAAA000001"))
        secret = os.path.join(self.tmp, "secret")
        with open(secret, "w") as f:
            f.write("V8\n")
        os.symlink(secret, os.path.join(qdir, "qfAAAAAAAA000002"))
        for argv in ([binpath("mtad"), "-C", m.mc, "-bp"], [binpath("mailq"), "-C", m.mc]):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)   # no hang
            self.assertIn(qid, r.stdout + r.stderr)
            self.assertRegex(r.stdout + r.stderr, r"qfAAAAAAAA000001: is a FIFO, not a regular file")
            self.assertRegex(r.stdout + r.stderr, r"qfAAAAAAAA000002: is a symbolic link")
        r = m.run("-q", timeout=15)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"behind the fifo", m.mbox("alice"))
        m.wait_log(r"SYSERR: .*qfAAAAAAAA000001: is a FIFO, not a regular file; queue file renamed")
        m.wait_log(r"SYSERR: .*qfAAAAAAAA000002: is a symbolic link; queue file renamed")
        self.assertTrue(os.path.exists(secret))


def threads(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^Threads:\s+(\d+)", f.read(), re.M).group(1))


class OneUser(MtadTestCase):
    """Not root (or RunAsUser root): still two processes, so that the one
    that forks delivery processes has no threads (the SMTP server's
    workers); the helper goes with the daemon."""

    def test_delivery_starter_has_no_threads_and_dies_with_the_daemon(self):
        m = self.new_mtad()
        parent = m.proc.pid
        kids = wait_for(lambda: children(parent), what="the delivery starter")
        self.assertEqual(len(kids), 1)
        wait_for(lambda: threads(parent) > 1, what="the SMTP server's worker threads")
        self.assertEqual(threads(kids[0]), 1)           # forks without threads
        qid = send(m, ["alice@mx.test.example"], "Subject: t\r\n\r\nthreads\r\n.\r\n")
        wait_for(lambda: b"threads" in m.mbox("alice"), what="delivery")
        self.assertTrue(qid.endswith("%06d" % parent))   # accepted by the daemon's own process
        m.kill9()
        wait_for(lambda: gone(kids[0]), timeout=1.5,
                 what="the delivery starter to go with the daemon")


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Install(MtadTestCase):
    """make install DESTDIR=... PREFIX=/usr: binaries and the sendmail,
    newaliases and mailq names, man pages, /etc/mail, the queue owned by
    mail (as root), the Debian spool, a systemd unit; the installed daemon
    passes its own start checks with the installed configuration."""

    def test_make_install_destdir(self):
        os.chmod(self.tmp, 0o755)
        dest = os.path.join(self.tmp, "dest")
        r = subprocess.run(["make", "-C", REPO, "--no-print-directory", "install", "DESTDIR=" + dest,
                            "PREFIX=/usr"], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        for f in ("usr/sbin/mtad", "usr/bin/mailq", "usr/bin/makemap", "usr/share/man/man8/mtad.8",
                  "usr/share/man/man5/mtad.mc.5", "etc/mail/mtad.mc", "etc/mail/aliases",
                  "etc/mail/smrsh/README", "usr/lib/systemd/system/mtad.service"):
            self.assertTrue(os.path.exists(os.path.join(dest, f)), f)
        for name, target in (("sendmail", "mtad"), ("newaliases", "mtad"), ("mailq", "../bin/mailq"),
                             ("hoststat", "mtad"), ("purgestat", "mtad")):
            self.assertEqual(os.readlink(os.path.join(dest, "usr/sbin", name)), target)
        unit = open(os.path.join(dest, "usr/lib/systemd/system/mtad.service")).read()
        self.assertIn("ExecStart=/usr/sbin/mtad -C /etc/mail/mtad.mc -bD -q30m", unit)
        self.assertIn("ExecStartPre=/usr/sbin/mtad -C /etc/mail/mtad.mc -bE", unit)
        q = os.path.join(dest, "var/spool/mqueue")
        spool = os.path.join(dest, "var/mail")
        self.assertEqual(os.stat(q).st_mode & 0o7777, 0o750)
        self.assertEqual(os.stat(spool).st_mode & 0o7777, 0o2775)
        self.assertEqual(os.stat(os.path.join(dest, "var/spool/clientmqueue")).st_mode & 0o7777, 0o2770)
        if IS_ROOT and have_mail_user():
            self.assertEqual(os.stat(q).st_uid, pwd.getpwnam("mail").pw_uid)
            self.assertEqual(os.stat(spool).st_gid, grp.getgrnam("mail").gr_gid)
        # an existing configuration is kept
        with open(os.path.join(dest, "etc/mail/aliases"), "a") as f:
            f.write("local-change: root\n")
        r = subprocess.run(["make", "-C", REPO, "--no-print-directory", "install", "DESTDIR=" + dest,
                            "PREFIX=/usr"], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertIn("local-change", open(os.path.join(dest, "etc/mail/aliases")).read())
        # the installed daemon's start checks, relocated into DESTDIR
        mtad = os.path.join(dest, "usr/sbin/mtad")
        args = [mtad, "-C", os.path.join(dest, "etc/mail/mtad.mc"), "-bE",
                "-O", "QueueDirectory=" + q, "-O", "AliasFile=" + os.path.join(dest, "etc/mail/aliases"),
                "-O", "MailboxDirectory=" + spool]
        if not IS_ROOT:
            args += ["-O", "RunAsUser="]
        r = subprocess.run(args, capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(subprocess.run([mtad, "-C", os.path.join(dest, "etc/mail/mtad.mc"), "-bC"],
                                        capture_output=True).returncode, 0)


class ProgramLimits(MtadTestCase):
    """Run as root or not: an alias program that never ends is killed with
    its process group after Timeout.program and the recipient deferred."""

    def test_program_killed_after_timeout(self):
        os.chmod(self.tmp, 0o755)
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        os.chmod(out, 0o1777)
        pidfile = os.path.join(out, "pid")
        script = os.path.join(self.tmp, "hang.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho $$ > %s\nsleep 60 &\nwait\n" % pidfile)
        os.chmod(script, 0o755)
        aliases = os.path.join(self.tmp, "aliases")
        with open(aliases, "w") as f:
            f.write("hang: \"|%s\"\n" % script)
        m = self.new_mtad(mc_extra="define(`ALIAS_FILE', `%s')dnl\ndefine(`confTO_PROGRAM', `1s')dnl\n" % aliases)
        t0 = time.monotonic()
        qid = send(m, ["hang@mx.test.example"], "Subject: h\r\n\r\nhang\r\n.\r\n")
        m.wait_log(qid + r": to=\|%s, .*mailer=prog, .*dsn=4\.3\.0, stat=Deferred: program %s timed out"
                   % (re.escape(script), re.escape(script)), timeout=15)
        self.assertLess(time.monotonic() - t0, 10)
        pid = int(open(pidfile).read())
        wait_for(lambda: gone(pid), what="the program to be killed")
        self.assertEqual(len(m.queue_files()), 1)          # deferred, still queued


@unittest.skipUnless(IS_ROOT and have_mail_user(), "needs root and a mail user (the system MTA's case)")
class RootMsp(RootCase):
    """sendmail installed setgid (group smmsp in make install; a throw-away
    group here): a user's `sendmail -oi -t` (cron's, mail(1)'s) with no
    daemon running queues into the MSP queue; the daemon hands it over when
    it starts.  A -C file the user controls gives the group up."""

    def test_user_submission_queued_then_handed_over_at_start(self):
        if "/asan/" in binpath("mtad"):
            # a set-group-ID process is not dumpable: LeakSanitizer cannot run there
            self.skipTest("a set-group-ID copy of the sanitizer build cannot run")
        group = "h16m" + uuid.uuid4().hex[:6]
        subprocess.run(["groupadd", group], check=True, capture_output=True)
        self.addCleanup(lambda: subprocess.run(["groupdel", group], capture_output=True))
        gid = grp.getgrnam(group).gr_gid
        bindir = os.path.join(self.tmp, "sbin")
        os.makedirs(bindir)
        sendmail = os.path.join(bindir, "sendmail")
        with open(binpath("mtad"), "rb") as src, open(sendmail, "wb") as dst:
            dst.write(src.read())
        os.chown(sendmail, 0, gid)
        os.chmod(sendmail, 0o2755)
        mq = os.path.join(self.tmp, "clientmqueue")
        os.makedirs(mq)
        os.chown(mq, 0, gid)
        os.chmod(mq, 0o2770)
        u, v = self.add_user(), self.add_user()
        m = self.mtad(start=False, extra="define(`MSP_QUEUE_DIR', `%s')dnl\n" % mq)
        msg = "To: %s@mx.test.example\nSubject: msp\n\nfrom cron, no daemon\n" % v.pw_name
        as_u = ["setpriv", "--reuid=%d" % u.pw_uid, "--regid=%d" % u.pw_gid, "--init-groups"]
        r = subprocess.run(as_u + [sendmail, "-C", m.mc, "-oi", "-odq", "-t"], input=msg,
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        qfs = [f for f in os.listdir(mq) if f.startswith("qf")]
        self.assertEqual(len(qfs), 1)
        st = os.stat(os.path.join(mq, qfs[0]))
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (u.pw_uid, gid, 0o660))
        # a configuration the user controls: the group is given up
        mine = os.path.join(u.pw_dir, "my.mc")
        with open(m.mc) as src, open(mine, "w") as dst:
            dst.write(src.read())
        os.chown(mine, u.pw_uid, u.pw_gid)
        r = subprocess.run(as_u + [sendmail, "-C", mine, "-oi", "-odq", "-t"], input=msg,
                           capture_output=True, text=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len([f for f in os.listdir(mq) if f.startswith("qf")]), 1)
        # the daemon starts: the MSP queue is handed over and delivered
        m.start()
        wait_for(lambda: b"from cron, no daemon" in m.mbox(v.pw_name), what="the handed-over message")
        wait_for(lambda: not [f for f in os.listdir(mq) if f.startswith(("qf", "df"))],
                 what="the MSP queue to empty")


if __name__ == "__main__":
    unittest.main()
