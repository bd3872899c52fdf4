"""The root local delivery agent without a worker per delivery (issue 20,
lever 5): as Postfix's local(8), the agent switches only its effective ids
for a mailbox, a file or a .forward, and returns to root after each; a
program still runs in a forked process that becomes the user entirely.
passwd answers are kept 2 s (lib/pwcache.h).  Root only (real passwd users
made with useradd, removed after); the same paths unprivileged are run by
every other suite that delivers locally.

What each test proves:
- after mailbox deliveries to many users the agent is root again (every
  id, its own groups), reaped no worker (cminflt in /proc/PID/stat is 0:
  the faults of reaped children land there), and every mailbox belongs to
  its user (user:mail 0600);
- a .forward that is a symbolic link, dangling or not, is refused and
  logged (the check that skips absent ones must not skip it);
- headers that fit travel inside the request, larger ones in a memfd;
  both arrive whole;
- an agent that cannot return to root (seteuid(0) refused by a preloaded
  shim, tests/e2e/fail_seteuid.c) stops with a SYSERR line: nothing more
  is delivered, every recipient is deferred;
- a .forward in a private home (0700: the delivery process cannot see it,
  the agent must) is honoured, and a user without one in such a home gets
  the mailbox;
- a user removed from passwd is refused at RCPT within the cache's life,
  and a message queued for them before is not written to their mailbox;
- (MailboxSyncAsDeployed) with QueueSync=syncfs, a queue run as root
  makes the new mailboxes of three passwd users durable with one syncfs
  and one fsync of the spool, done by the delivery process as RunAsUser
  mail; if that fsync fails the three stay queued and are delivered
  again; with QueueSync=fsync the spool is fsynced once for each new
  mailbox and not for appends to existing ones;
- (KeptRunner, also unprivileged) the delivery process for new mail takes
  the next message too, is let go when idle, and goes with the daemon."""
import os
import re
import subprocess
import time
import unittest

from harness import MtadTestCase, wait_for, binpath
from test_privsep import RootCase, have_mail_user, children, send, ps_table, IS_ROOT

CACHE_LIFE = 2.0        # lib/pwcache.h PWCACHE_TTL_MS


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return f.read()


def status_line(text, key):
    return re.search(r"^%s:[ \t]*(.*)$" % key, text, re.M).group(1).split()


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def cminflt(pid):
    """Minor faults of the children pid has reaped (proc(5), field 11)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[8])


@unittest.skipUnless(IS_ROOT and have_mail_user(), "needs root and a mail user (the system MTA's case)")
class AgentSwitchesBack(RootCase):
    def slow_program(self):
        """An smrsh program that holds the delivery until the gate opens."""
        smrsh = os.path.join(self.tmp, "smrsh")
        os.makedirs(smrsh, exist_ok=True)
        gate = os.path.join(self.tmp, "gate")
        prog = os.path.join(smrsh, "slow")
        with open(prog, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\nwhile [ ! -e %s ]; do sleep 0.05; done\n" % gate)
        os.chmod(prog, 0o755)
        return smrsh, prog, gate

    def test_agent_root_again_after_many_users_no_worker_forked(self):
        users = [self.add_user() for _ in range(12)]
        last = self.add_user()
        smrsh, prog, gate = self.slow_program()
        fwd = os.path.join(last.pw_dir, ".forward")
        with open(fwd, "w") as f:
            f.write('"|slow"\n')
        os.chown(fwd, last.pw_uid, last.pw_gid)
        m = self.mtad(extra="define(`confDELIVERY_MODE', `q')dnl\ndefine(`confSMRSH_DIRECTORY', `%s')dnl\n"
                      % smrsh)
        qid = send(m, [u.pw_name + "@mx.test.example" for u in users] + [last.pw_name + "@mx.test.example"],
                   "Subject: many\r\n\r\nto every user\r\n.\r\n")
        runner = subprocess.Popen([binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q"])
        try:
            # the mailboxes come first, then the .forward program holds the agent
            def slow_running():
                out = subprocess.run(["ps", "-e", "-o", "user:12,args"], capture_output=True, text=True).stdout
                return re.search(r"^%s\s+/bin/sh %s" % (last.pw_name, re.escape(prog)), out, re.M)
            wait_for(slow_running, what="the .forward program running as the user")
            agents = [k for k in children(runner.pid) if comm(k) == "mtad-local"]
            self.assertEqual(len(agents), 1, children(runner.pid))
            agent = agents[0]
            st, mine = status(agent), status(os.getpid())
            print("\nagent %d after %d mailboxes: Uid %s Gid %s Groups %s" % (
                agent, len(users), status_line(st, "Uid"), status_line(st, "Gid"), status_line(st, "Groups")))
            self.assertEqual(status_line(st, "Uid"), ["0", "0", "0", "0"])
            self.assertEqual(status_line(st, "Gid"), status_line(mine, "Gid"))
            self.assertEqual(status_line(st, "Groups"), status_line(mine, "Groups"))
            self.assertEqual(cminflt(agent), 0, "the agent reaped a worker: a fork per delivery again")
            for u in users:
                box = os.path.join(m.maildir, u.pw_name)
                s = os.stat(box)
                self.assertEqual((s.st_uid, s.st_gid, s.st_mode & 0o777), (u.pw_uid, self.mailgid, 0o600), box)
                with open(box, "rb") as f:
                    self.assertIn(b"to every user", f.read())
            self.assertFalse([f for f in os.listdir(m.maildir) if f.endswith(".lock")])
        finally:
            open(gate, "w").close()
            runner.wait(timeout=20)
        m.wait_log(qid + r": to=\|slow, .*mailer=prog, .*stat=Sent")
        for u in users:
            m.wait_log(qid + r": to=<%s@mx\.test\.example>, .*mailer=local, .*stat=Sent" % u.pw_name)

    def test_persistent_runner_gives_each_worker_its_own_agent(self):
        """sendmail -q1s as root: its first run (one message, no worker)
        starts the agent and gives up root; a later run with workers must
        give each an agent of its own.  Sharing the first one's socket, a
        worker could read another's answer (Sent for a failure).  Each .forward
        program writes the agent that ran it (its grandparent)."""
        smrsh, prog, gate = self.slow_program()
        board = os.path.join(self.tmp, "board")
        os.makedirs(board)
        os.chmod(board, 0o1777)
        out = os.path.join(board, "parents")
        open(out, "w").close()
        os.chmod(out, 0o666)                # every user appends
        rec = os.path.join(smrsh, "rec")
        with open(rec, "w") as f:
            # its parent is the agent's worker become the user; the agent is the one above
            f.write("#!/bin/sh\ncat >/dev/null\ncut -d' ' -f4 /proc/$PPID/stat >>%s\n" % out)
        os.chmod(rec, 0o755)
        first = self.add_user()
        users = [self.add_user() for _ in range(4)]
        for u, what in [(first, '"|slow"')] + [(u, '"|rec"') for u in users]:
            fwd = os.path.join(u.pw_dir, ".forward")
            with open(fwd, "w") as f:
                f.write(what + "\n")
            os.chown(fwd, u.pw_uid, u.pw_gid)
        m = self.mtad(extra="define(`confDELIVERY_MODE', `q')dnl\ndefine(`confSMRSH_DIRECTORY', `%s')dnl\n"
                      "define(`confMAX_RUNNERS_PER_QUEUE', `4')dnl\n"
                      "define(`confDESTINATION_CONCURRENCY', `4')dnl\n" % smrsh)
        q0 = send(m, [first.pw_name + "@mx.test.example"], "Subject: first\r\n\r\nfirst\r\n.\r\n")
        runner = subprocess.Popen([binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q1s"])
        try:
            def slow_running():
                return re.search(r"/bin/sh %s" % re.escape(prog), ps_table())
            wait_for(slow_running, what="the first run's program (one message: no worker)")
            agents = [k for k in children(runner.pid) if comm(k) == "mtad-local"]
            self.assertEqual(len(agents), 1, children(runner.pid))
            # queued while the first run is held: the next run sees all twelve
            qids = [send(m, [u.pw_name + "@mx.test.example"], "Subject: w\r\n\r\nw\r\n.\r\n")
                    for u in users for _ in range(3)]
            open(gate, "w").close()
            m.wait_log(q0 + r": to=\|slow, .*stat=Sent")
            for q in qids:
                m.wait_log(q + r": to=\|rec, .*stat=Sent", timeout=30)
        finally:
            open(gate, "w").close()
            runner.terminate()
            runner.wait(timeout=20)
        with open(out) as f:
            parents = f.read().split()
        print("\nfirst agent %d; the workers' programs ran under %s" % (agents[0], sorted(set(parents))))
        self.assertEqual(len(parents), 12)
        self.assertNotIn(str(agents[0]), parents, "a worker used the runner's own agent")
        self.assertGreater(len(set(parents)), 1, "the workers shared one agent")

    def test_agent_that_cannot_return_to_root_stops(self):
        """seteuid(0) refused (tests/e2e/fail_seteuid.c, LD_PRELOAD): the
        agent logs it and exits instead of serving the next request as the
        user; the deliveries are deferred, none is logged Sent, and no
        process is left with the user's effective uid and root's real one."""
        shim = os.path.join(self.tmp, "fail_seteuid.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", shim,
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "fail_seteuid.c"), "-ldl"],
                       check=True)
        u, v = self.add_user(), self.add_user()
        m = self.mtad(extra="define(`confDELIVERY_MODE', `q')dnl\n")
        qid = send(m, [u.pw_name + "@mx.test.example", v.pw_name + "@mx.test.example"],
                   "Subject: stuck\r\n\r\nagent cannot come back\r\n.\r\n")
        env = dict(os.environ, LD_PRELOAD=shim)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").strip(":")
        subprocess.run([binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q"], env=env, timeout=30)
        m.wait_log(r"SYSERR: local delivery agent cannot return to root \(Operation not permitted\): it stops")
        m.wait_log(qid + r": to=<%s@mx\.test\.example>, .*stat=Deferred: local delivery agent gone" % u.pw_name)
        m.wait_log(qid + r": to=<%s@mx\.test\.example>, .*stat=Deferred: local delivery agent" % v.pw_name)
        self.assertFalse(re.search(r"stat=Sent", m.log()))
        self.assertFalse(os.path.exists(os.path.join(m.maildir, v.pw_name)))   # never served as u
        def half_switched():
            found = []
            for p in os.listdir("/proc"):
                if p.isdigit():
                    try:
                        st = status(int(p))
                        uid = status_line(st, "Uid")
                    except (FileNotFoundError, ProcessLookupError, AttributeError):
                        continue
                    if uid[0] == "0" and uid[1] in (str(u.pw_uid), str(v.pw_uid)) and "State:\tZ" not in st:
                        found.append((p, status_line(st, "Name"), status_line(st, "State")))
            return found
        # the agent exits right after its log line: give it the moment
        wait_for(lambda: not half_switched(), timeout=5,
                 what="no process with root's real uid and a user's effective one (%s)" % half_switched())

    def test_forward_in_private_home_honoured(self):
        u = self.add_user()
        plain = self.add_user()
        os.chmod(u.pw_dir, 0o700)           # mail cannot look in: the agent must
        os.chmod(plain.pw_dir, 0o700)
        saved = os.path.join(u.pw_dir, "saved.mbox")
        fwd = os.path.join(u.pw_dir, ".forward")
        with open(fwd, "w") as f:
            f.write("\\%s, %s\n" % (u.pw_name, saved))
        os.chown(fwd, u.pw_uid, u.pw_gid)
        m = self.mtad()
        qid = send(m, [u.pw_name + "@mx.test.example", plain.pw_name + "@mx.test.example"],
                   "Subject: private\r\n\r\nbehind 0700\r\n.\r\n")
        wait_for(lambda: os.path.exists(saved) and m.mbox(u.pw_name) and m.mbox(plain.pw_name),
                 what="the .forward file, the user's and the other user's mailboxes")
        m.wait_log(qid + r": to=%s, .*mailer=\*file\*, .*stat=Sent" % re.escape(saved))
        self.assertEqual(os.stat(saved).st_uid, u.pw_uid)
        with open(saved, "rb") as f:
            self.assertIn(b"behind 0700", f.read())
        for who in (u, plain):
            self.assertEqual(os.stat(os.path.join(m.maildir, who.pw_name)).st_uid, who.pw_uid)
            self.assertIn(b"behind 0700", m.mbox(who.pw_name))

    def test_forward_symlinks_refused_and_logged(self):
        """A .forward that is a symbolic link (to a file, or dangling) is
        an entry: looked at, refused and logged; the mail goes to the
        mailbox and nothing the link names is written."""
        u = self.add_user()
        v = self.add_user()
        never = os.path.join(self.tmp, "never-written")
        target = os.path.join(self.tmp, "forward-target")
        with open(target, "w") as f:
            f.write(never + "\n")
        os.symlink(target, os.path.join(u.pw_dir, ".forward"))
        os.symlink(os.path.join(self.tmp, "no-such-file"), os.path.join(v.pw_dir, ".forward"))
        m = self.mtad()
        send(m, [u.pw_name + "@mx.test.example", v.pw_name + "@mx.test.example"],
             "Subject: links\r\n\r\nnot through a link\r\n.\r\n")
        wait_for(lambda: m.mbox(u.pw_name) and m.mbox(v.pw_name), what="both mailboxes")
        for who in (u, v):
            m.wait_log(r"%s: %s: a symbolic link; ignored" % (who.pw_name, re.escape(who.pw_dir + "/.forward")))
        self.assertFalse(os.path.exists(never))

    def test_headers_inline_and_large_headers_whole(self):
        """Headers that fit go inside the request, larger ones through a
        memfd: both arrive whole."""
        u = self.add_user()
        m = self.mtad()
        rcpt = u.pw_name + "@mx.test.example"
        big = "".join("X-Big-%02d: %s\r\n" % (i, ("%02d" % i) * 400) for i in range(30))   # ~24 KB
        send(m, [rcpt], "Subject: small\r\n\r\nsmall one\r\n.\r\n")
        send(m, [rcpt], "Subject: large\r\n" + big + "\r\nlarge one\r\n.\r\n")
        wait_for(lambda: b"large one" in m.mbox(u.pw_name) and b"small one" in m.mbox(u.pw_name),
                 what="both messages in the mailbox")
        box = m.mbox(u.pw_name).decode()
        for i in range(30):
            self.assertIn("X-Big-%02d: %s\n" % (i, ("%02d" % i) * 400), box)
        self.assertEqual(box.count("\nSubject: "), 2)

    def test_deleted_user_refused_within_the_cache_life(self):
        u = self.add_user()
        m = self.mtad(extra="define(`confDELIVERY_MODE', `q')dnl\n")
        rcpt = u.pw_name + "@mx.test.example"
        qid = send(m, [rcpt], "Subject: before\r\n\r\nqueued while the user was there\r\n.\r\n")
        subprocess.run(["userdel", u.pw_name], check=True, capture_output=True)
        t0 = time.monotonic()

        def refused():
            c = m.connect()
            try:
                c.reply()
                c.cmd("HELO client.example")
                c.cmd("MAIL FROM:<s@example.org>")
                code, _ = c.cmd("RCPT TO:<%s>" % rcpt)
                c.cmd("QUIT")
                return code == 550
            finally:
                c.close()
        wait_for(refused, timeout=CACHE_LIFE + 8, what="RCPT refused after userdel")
        took = time.monotonic() - t0
        print("\nrefused %.2f s after userdel (cache life %.0f s)" % (took, CACHE_LIFE))
        self.assertLess(took, CACHE_LIFE + 3)   # the life, and slack for a loaded machine
        subprocess.run([binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q"], check=True, timeout=30)
        m.wait_log(qid + r": to=<%s>, .*dsn=5\.1\.1, stat=User unknown" % re.escape(rcpt))
        self.assertFalse(os.path.exists(os.path.join(m.maildir, u.pw_name)))


def delivered_by(m, qid):
    """The pid of the process that logged qid's local delivery."""
    line = m.wait_log(r"\[\d+\]: %s: to=.*mailer=local, .*stat=Sent" % qid)
    return int(re.search(r"\[(\d+)\]: ", line).group(1))


def alive(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return "State:\tZ" not in f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False


@unittest.skipUnless(IS_ROOT and have_mail_user(), "needs root and a mail user (the system MTA's case)")
class MailboxSyncAsDeployed(RootCase):
    """Mailbox appends made durable as deployed: a queue run started as
    root delivers to the new mailboxes of real passwd users (each created
    by the agent as its user).  QueueSync=syncfs: the delivery process,
    running as RunAsUser mail, makes the group durable with one syncfs and
    one fsync of the spool (root:mail 2775) before it removes the queue
    files; if that fsync fails the messages stay queued and the next run
    delivers them again.  QueueSync=fsync: the agent, as the user, fsyncs
    the spool after the first append to each new mailbox, and only then."""

    def run_queue(self, m, spec):
        from test_reliability import fault_env_in, syncfs_reports_errors
        if not syncfs_reports_errors():
            self.skipTest("kernel older than 5.17")
        env, log = fault_env_in(self, self.tmp, spec)
        r = subprocess.run([binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q"], env=dict(os.environ, **env),
                           timeout=60, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(log) as f:
            lines = f.read().splitlines()
        spool = " %s -> " % m.maildir
        return ([l for l in lines if " syncfs " in l and spool in l],
                [l for l in lines if " fsync " in l and spool in l])

    def queue_three(self, m, tag):
        users = [self.add_user() for _ in range(3)]
        for u in users:
            send(m, [u.pw_name + "@mx.test.example"], "Subject: %s\r\n\r\n%s-%s\r\n.\r\n" % (tag, tag, u.pw_name))
        for u in users:
            self.assertFalse(os.path.exists(os.path.join(m.maildir, u.pw_name)))
        self.assertEqual(len(m.queue_files()), 3)
        return users

    def copies(self, m, u, tag):
        with open(os.path.join(m.maildir, u.pw_name), "rb") as f:
            return f.read().count(("%s-%s" % (tag, u.pw_name)).encode())

    def test_new_mailboxes_synced_once_for_the_group(self):
        m = self.mtad(extra="define(`confDELIVERY_MODE', `q')dnl\ndefine(`confQUEUE_SYNC', `syncfs')dnl\n")
        users = self.queue_three(m, "grp")
        syncs, fsyncs = self.run_queue(m, "syncfs:*:*:delay1;fsync:%s$:*:delay1" % m.maildir)
        self.assertEqual(len(syncs), 1, syncs)
        self.assertEqual(len(fsyncs), 1, fsyncs)    # one for the group, not one a mailbox
        for u in users:
            st = os.stat(os.path.join(m.maildir, u.pw_name))
            self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (u.pw_uid, self.mailgid, 0o600))
            self.assertEqual(self.copies(m, u, "grp"), 1)
        self.assertEqual(m.queue_files(), [])
        self.assertEqual(m.queue_files("df"), [])

    def test_failed_spool_fsync_keeps_the_group_queued(self):
        m = self.mtad(extra="define(`confDELIVERY_MODE', `q')dnl\ndefine(`confQUEUE_SYNC', `syncfs')dnl\n")
        users = self.queue_three(m, "keep")
        _syncs, fsyncs = self.run_queue(m, "fsync:%s$:1:EIO" % m.maildir)
        self.assertEqual(len(fsyncs), 1, fsyncs)
        self.assertRegex(m.log(), r"SYSERR: fsync of %s: Input/output error: the mailbox appends of 3 "
                                  r"messages may not be on disk; they stay queued" % re.escape(m.maildir))
        self.assertEqual(len(m.queue_files()), 3)
        r = subprocess.run([binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q"], timeout=60,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(m.queue_files(), [])
        self.assertEqual([self.copies(m, u, "keep") for u in users], [2, 2, 2])   # a duplicate, never a loss

    def test_fsync_mode_syncs_the_spool_for_new_mailboxes_only(self):
        m = self.mtad(extra="define(`confDELIVERY_MODE', `q')dnl\ndefine(`confQUEUE_SYNC', `fsync')dnl\n")
        users = self.queue_three(m, "first")
        syncs, fsyncs = self.run_queue(m, "syncfs:*:*:delay1;fsync:%s$:*:delay1" % m.maildir)
        self.assertEqual(syncs, [])
        self.assertEqual(len(fsyncs), 3, fsyncs)    # one a new mailbox
        for u in users:
            st = os.stat(os.path.join(m.maildir, u.pw_name))
            self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (u.pw_uid, self.mailgid, 0o600))
            self.assertEqual(self.copies(m, u, "first"), 1)
        for u in users:                 # the mailboxes exist now: no spool fsync
            send(m, [u.pw_name + "@mx.test.example"], "Subject: again\r\n\r\nagain-%s\r\n.\r\n" % u.pw_name)
        syncs, fsyncs = self.run_queue(m, "syncfs:*:*:delay1;fsync:%s$:*:delay1" % m.maildir)
        self.assertEqual((syncs, fsyncs), ([], []))
        self.assertEqual([self.copies(m, u, "again") for u in users], [1, 1, 1])
        self.assertEqual(m.queue_files(), [])


class KeptRunner(MtadTestCase):
    """A delivery process for new mail takes the next batch too (no fork
    and no new agent per batch), is let go after 5 s idle, and goes when
    the daemon stops.  Root and unprivileged alike."""

    def test_next_message_to_the_same_process_then_let_go_when_idle(self):
        m = self.new_mtad()
        first = send(m, ["alice@mx.test.example"], "Subject: one\r\n\r\nfirst\r\n.\r\n")
        pid = delivered_by(m, first)
        second = send(m, ["bob@mx.test.example"], "Subject: two\r\n\r\nsecond\r\n.\r\n")
        self.assertEqual(delivered_by(m, second), pid, "a new delivery process for the second message")
        self.assertIn(b"second", m.mbox("bob"))
        t0 = time.monotonic()
        self.assertTrue(alive(pid), "the delivery process left after its second batch")
        wait_for(lambda: not alive(pid), timeout=15, what="the idle delivery process let go")
        took = time.monotonic() - t0
        print("\nidle delivery process %d gone %.1f s after its last message" % (pid, took))
        self.assertGreater(took, 3.0)   # kept while idle (5 s), not let go at once
        third = send(m, ["carol@mx.test.example"], "Subject: three\r\n\r\nthird\r\n.\r\n")
        self.assertNotEqual(delivered_by(m, third), pid)      # a new one after that
        self.assertIn(b"third", m.mbox("carol"))

    def test_kept_process_goes_with_the_daemon(self):
        m = self.new_mtad()
        qid = send(m, ["alice@mx.test.example"], "Subject: one\r\n\r\nfirst\r\n.\r\n")
        pid = delivered_by(m, qid)
        self.assertTrue(alive(pid))
        m.stop()
        wait_for(lambda: not alive(pid), timeout=5, what="the kept delivery process gone with the daemon")


if __name__ == "__main__":
    unittest.main()
