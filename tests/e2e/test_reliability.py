"""Reliability and security, quick forms (issue 11; tests/README.md has the
table of scenarios).  The long forms are tests/stress/stress.py (`make stress`).

What is proved here, against real mtad processes:
  * crash safety: kill -9 of the daemon during sessions and of a queue runner
    during a run; every message that got a 250 is delivered afterwards
    (duplicates counted and bounded, losses zero); planted damaged queue
    files are quarantined with a log line and never crash or hang a run;
  * disk faults: fsync/write/rename/open failures (injected with the
    LD_PRELOAD shim tests/fault/libfault.c) and a full tmpfs never give 250;
  * injection: CR, LF, NUL and control characters in HELO/MAIL/RCPT and
    ESMTP parameters never reach a qf record, a log line or a header raw;
    shell metacharacters in addresses run nothing;
  * abuse: no relay from an outside address (smtpprobe battery), unknown
    users refused at RCPT without backscatter, VRFY/EXPN leak nothing, idle
    clients dropped at their timeouts, session floods refused while a normal
    client gets through, memory bounded under 1 MiB lines and 10,000 RCPTs;
  * privileges (RunAsUser) and ConnectionRateThrottle: not implemented yet,
    written as expected failures.

A test marked expectedFailure with a "BUG:" comment shows a defect in mtad
that is reported to the lead; it turns into an unexpected success (and must
then lose the marker) once fixed.
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

from harness import BINDIR, Mtad, MtadTestCase, binpath, wait_for

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
QUEUE_ONLY = "define(`confDELIVERY_MODE', `q')dnl\n"
DOMAIN = "mx.test.example"
ASAN = "asan" in BINDIR


def fault_lib():
    """The shim built for the variant under test (make builds it with `all`)."""
    variant = "asan" if ASAN else "release"
    path = os.path.join(TOP, "build", variant, "tests", "libfault.so")
    return path if os.path.exists(path) else None


class EnvMtad(Mtad):
    """An Mtad whose daemon starts with extra environment (LD_PRELOAD...)."""
    env = None

    def start(self, *args, **kw):
        if not self.env:
            return super().start(*args, **kw)
        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            return super().start(*args, **kw)
        finally:
            os.environ.clear()
            os.environ.update(saved)


def vm_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def body_for(token):
    return ("Subject: t %s\r\nX-Token: %s\r\n\r\nbody of %s\r\nEND %s\r\n" % (token, token, token, token))


def delivered_tokens(m, users=("alice", "bob", "carol")):
    """token -> number of complete copies in the mailboxes."""
    counts = {}
    for u in users:
        for t in re.findall(rb"\nEND (\S+)\n", m.mbox(u)):
            t = t.decode()
            counts[t] = counts.get(t, 0) + 1
    return counts


def session_send(m, token, rcpt="alice@" + DOMAIN, conn=None):
    """One complete transaction; returns the reply code to the final dot
    (None when the connection broke before it)."""
    try:
        c = conn or m.connect()
        if conn is None:
            c.reply()
            c.cmd("EHLO client.example")
        if c.cmd("MAIL FROM:<s@example.org>")[0] != 250:
            return None
        if c.cmd("RCPT TO:<%s>" % rcpt)[0] != 250:
            return None
        if c.cmd("DATA")[0] != 354:
            return None
        c.send(body_for(token) + ".\r\n")
        return c.reply()[0]
    except OSError:
        return None


def fault_env_in(case, tmp, spec):
    """The environment that runs a process under libfault with SPEC, and
    the log it appends to (an empty file anyone may write: a run started
    as root has processes that gave root up).  Skips case without it."""
    lib = fault_lib()
    if lib is None:
        case.skipTest("build/<variant>/tests/libfault.so not built (make all)")
    log = os.path.join(tmp, "faults.log")
    open(log, "w").close()
    os.chmod(log, 0o666)
    env = {"LD_PRELOAD": lib, "MTA_FAULT": spec, "MTA_FAULT_LOG": log}
    if ASAN:
        env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    return env, log


def syncfs_reports_errors():
    rel = os.uname().release.split(".")
    return (int(rel[0]), int(rel[1].split("-")[0])) >= (5, 17)


def queue_listing(m):
    out = []
    for root, _dirs, files in os.walk(m.queue):
        out += files
    return sorted(out)


def partial_df_written(m, at_least=65536):
    """A df without its qf (a message still arriving) of at_least bytes."""
    for root, _dirs, files in os.walk(m.queue):
        for f in files:
            if f.startswith("df") and not os.path.exists(os.path.join(root, "qf" + f[2:])):
                try:
                    if os.path.getsize(os.path.join(root, f)) >= at_least:
                        return True
                except OSError:
                    pass        # delivered and removed meanwhile
    return False


def orphans(m):
    """df/tf files that have no qf beside them."""
    files = set(queue_listing(m))
    return sorted(f for f in files if f[:2] in ("df", "tf") and "qf" + f[2:] not in files)


CTRL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class ReliabilityCase(MtadTestCase):
    def mtad(self, sub="mtad", env=None, start=True, start_args=(), **kw):
        d = os.path.join(self.tmp, sub)
        os.makedirs(d, exist_ok=True)
        m = EnvMtad(d, **kw)
        m.env = env
        self._mtads.append(m)
        if start:
            m.start(*start_args)
        return m

    def fault_env(self, spec):
        return fault_env_in(self, self.tmp, spec)


# ---------------------------------------------------------------------------
class CrashSafety(ReliabilityCase):
    def test_kill9_during_sessions_every_250_delivered(self):
        """Four rounds; in each, sessions are left at every stage (250 read,
        final dot sent but reply unread, mid-DATA, mid-RCPT) and the daemon
        is killed with SIGKILL; after a restart everything acked arrives."""
        m = self.mtad()
        acked, maybe, partial = set(), set(), set()
        kills = 0
        for rnd in range(4):
            for i in range(3):
                t = "r%dn%d" % (rnd, i)
                if session_send(m, t) == 250:
                    acked.add(t)
            # a session whose final dot is sent but whose reply is never read
            c1 = m.connect()
            c1.reply()
            c1.cmd("EHLO c1.example")
            c1.cmd("MAIL FROM:<s@example.org>")
            c1.cmd("RCPT TO:<bob@%s>" % DOMAIN)
            c1.cmd("DATA")
            t1 = "r%dmaybe" % rnd
            c1.send(body_for(t1) + ".\r\n")
            maybe.add(t1)
            # one mid-DATA, one mid-RCPT
            c2 = m.connect()
            c2.reply()
            c2.cmd("EHLO c2.example")
            c2.cmd("MAIL FROM:<s@example.org>")
            c2.cmd("RCPT TO:<carol@%s>" % DOMAIN)
            c2.cmd("DATA")
            t2 = "r%dpartial" % rnd
            # over 64 KiB, so that the daemon writes it to a df before the
            # dot (a smaller body waits in memory for the commit)
            c2.send("Subject: partial\r\nX-Token: %s\r\n\r\nhalf a body\r\n" % t2 +
                    "filler line\r\n" * 6000 + "END %s\r\n" % t2)
            partial.add(t2)
            c3 = m.connect()
            c3.reply()
            c3.cmd("EHLO c3.example")
            c3.cmd("MAIL FROM:<s@example.org>")
            c3.send("RCPT TO:<alice@%s>" % DOMAIN)      # no CRLF yet
            # the daemon must have read the partial body before the kill
            wait_for(lambda: partial_df_written(m), what="df of the open session")
            m.kill9()
            kills += 1
            for c in (c1, c2, c3):
                c.close()
            m.start("-q1s")
        wait_for(lambda: acked <= set(delivered_tokens(m)), timeout=30,
                 what="every acked message delivered after %d kills" % kills)
        got = delivered_tokens(m)
        lost = acked - set(got)
        dups = sum(n - 1 for n in got.values())
        self.assertEqual(lost, set())
        self.assertLessEqual(dups, kills, got)
        # a message that never saw its final dot is never delivered
        self.assertEqual(partial & set(got), set())
        # nothing is delivered twice within one run
        self.assertGreaterEqual(len(acked), 12)

    # BUG: mtad never removes the df (or tf) left behind by a daemon killed
    # in the middle of a DATA transfer: not at start-up and not in a queue
    # run (mtad/queue_run.c queue_run only looks at qf files, lib/qfile.c
    # qf_scan).  The orphan stays forever and accumulates with every crash.
    # Suggested fix: in queue_run (or at daemon start), remove df/tf files
    # that have no qf and are older than a threshold, or whose creating pid
    # (the last six digits of the queue ID) is no longer alive, with a log
    # line "removed orphan df<ID>".  The test ages the orphan by two days so
    # that either rule removes it.
    def test_kill9_mid_data_orphans_removed_by_next_run(self):
        m = self.mtad()
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<alice@%s>" % DOMAIN)
        c.cmd("DATA")
        # over 64 KiB: a smaller body stays in memory until the commit
        # creates its df (as sendmail's DataFileBufferSize)
        c.send("Subject: cut\r\n\r\n" + "partial line\r\n" * 8000)
        wait_for(lambda: orphans(m), what="df being written")
        m.kill9()
        c.close()
        left = orphans(m)
        self.assertTrue(left)
        old = time.time() - 2 * 86400
        for f in left:
            os.utime(os.path.join(m.queue, f), (old, old))
        r = m.run("-q", timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(m.mbox("alice"), b"")
        self.assertEqual(orphans(m), [], "orphans left after a queue run")

    def kill9_queue_runner(self, mode):
        """A foreground queue run (-q) is killed with SIGKILL part way (not
        inside a mailbox append: see the stress test for that); the next run
        delivers the rest: no loss; returns the duplicates."""
        m = self.mtad(mc_extra=QUEUE_ONLY + "define(`confQUEUE_SYNC', `%s')dnl\n" % mode)
        users = ("alice", "bob", "carol")
        tokens = ["q%02d" % i for i in range(30)]
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        for i, t in enumerate(tokens):
            self.assertEqual(session_send(m, t, "%s@%s" % (users[i % 3], DOMAIN), conn=c), 250)
        c.cmd("QUIT")
        m.stop()
        argv = [binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q"]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: len(m.log_lines("stat=Sent")) >= 8 or p.poll() is not None,
                     what="first deliveries")
            killed = False
            deadline = time.monotonic() + 10
            while p.poll() is None and time.monotonic() < deadline:
                os.kill(p.pid, signal.SIGSTOP)
                in_mbox = any(f.endswith(".lock") for f in os.listdir(m.maildir))
                if not in_mbox:
                    os.kill(p.pid, signal.SIGKILL)
                    killed = True
                    break
                os.kill(p.pid, signal.SIGCONT)
            p.wait(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        sent_before = len(m.log_lines("stat=Sent"))
        self.assertTrue(killed or sent_before == len(tokens))
        r = m.run("-q", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = delivered_tokens(m)
        self.assertEqual(set(tokens) - set(got), set(), "lost")
        self.assertEqual(m.queue_files(), [])
        self.assertEqual(m.queue_files("tf"), [])
        return sum(n - 1 for n in got.values())

    def test_kill9_queue_runner_no_loss(self):
        """QueueSync=fsync: each mailbox append is fsynced and its queue
        files removed at once: at most the message in hand twice."""
        self.assertLessEqual(self.kill9_queue_runner("fsync"), 1)

    def test_kill9_queue_runner_no_loss_group_sync(self):
        """QueueSync=syncfs: the appends of a group are made durable
        together and their queue files removed then; a kill before that
        delivers the group again (never loses it)."""
        if not syncfs_reports_errors():
            self.skipTest("kernel older than 5.17")
        self.assertLessEqual(self.kill9_queue_runner("syncfs"), 30)

    def test_planted_damaged_queue_files_quarantined_daemon_survives(self):
        m = self.mtad(mc_extra=QUEUE_ONLY)
        self.assertEqual(session_send(m, "good1"), 250)
        m.stop()
        q = m.queue
        planted = {
            "ZZZZZZZZ000101": b"",                                          # zero length
            "ZZZZZZZZ000102": b"V8\nT1\n\x00\x01\xff junk\nRP:<alice@mx.test.example>\n.\n",
            "ZZZZZZZZ000103": b"V8\nT1\nX unknown record\nS<a@b.example>\nRP:<alice@mx.test.example>\n.\n",
            "ZZZZZZZZ000104": b"V8\nT1\nS<a@b.example>\nRP:<alice@mx.test.example>\nH??Subject: half",
            "ZZZZZZZZ000105": os.urandom(4096),
            "ZZZZZZZZ000106": b"V8\nT1\nS<a@b.example>\nRP:<alice@mx.test.example>\nH??Subject: no df\n.\n",
        }
        for qid, text in planted.items():
            with open(os.path.join(q, "qf" + qid), "wb") as f:
                f.write(text)
            if qid != "ZZZZZZZZ000106":
                with open(os.path.join(q, "df" + qid), "wb") as f:
                    f.write(b"never delivered\n")
        # a half-written tf image from a crash, without qf
        with open(os.path.join(q, "tfZZZZZZZZ000107"), "wb") as f:
            f.write(b"V8\nT1\nS<a@b")
        m.start("-q1s")
        for qid in planted:
            wait_for(lambda: os.path.exists(os.path.join(q, "Qf" + qid)), timeout=15,
                     what="Qf%s" % qid)
            self.assertTrue(m.log_lines(qid + ": SYSERR: "), qid)
        wait_for(lambda: "good1" in delivered_tokens(m), what="the good message")
        self.assertTrue(m.alive())
        self.assertNotIn(b"never delivered", m.mbox("alice"))
        self.assertNotIn(b"no df", m.mbox("alice"))
        self.assertEqual(session_send(m, "good2"), 250)
        # one start before the planting, one after: never restarted by a crash
        self.assertEqual(len(m.log_lines("starting daemon")), 2)

    # BUG: a FIFO named like a queue file hangs the queue runner for ever:
    # mtad/deliver.c open_locked() opens qf<ID> with open(O_RDWR) (which
    # succeeds at once on a FIFO) and read_fd() then blocks; every later
    # message in the queue waits behind it.  Suggested fix: open with
    # O_NOFOLLOW|O_NONBLOCK, fstat and refuse anything but a regular file
    # (log "SYSERR: not a regular file", skip or quarantine it).
    def test_fifo_in_queue_does_not_hang_runner(self):
        m = self.mtad(mc_extra=QUEUE_ONLY)
        self.assertEqual(session_send(m, "behind-fifo"), 250)
        m.stop()
        os.mkfifo(os.path.join(m.queue, "qf00000000000001"))
        try:
            r = m.run("-q", timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("queue run hung on a FIFO in the queue")
        self.assertEqual(r.returncode, 0)
        self.assertIn("behind-fifo", delivered_tokens(m))

    # BUG: symlinks in the queue are followed.  mtad/deliver.c open_locked()
    # and deliver_message() open qf<ID> and df<ID> without O_NOFOLLOW and
    # without checking S_ISREG, so a df that is a symlink to any file the
    # daemon can read (here a "secret" outside the queue) is delivered as
    # the message body.  Suggested fix: O_NOFOLLOW on every open of a queue
    # file (lib/qfile.c qf_read, deliver.c open_locked and the df open),
    # fstat + S_ISREG, and quarantine with a SYSERR log line otherwise.
    def test_symlinks_in_queue_refused(self):
        m = self.mtad(mc_extra=QUEUE_ONLY, start=False)
        secret = os.path.join(self.tmp, "secret")
        with open(secret, "w") as f:
            f.write("TOP-SECRET-CONTENT\n")
        outside_qf = os.path.join(self.tmp, "outside-qf")
        with open(outside_qf, "w") as f:
            f.write("V8\nT1\nS<a@b.example>\nRP:<alice@mx.test.example>\nH??Subject: via-link\n.\n")
        q = m.queue
        with open(os.path.join(q, "qfZZZZZZZZ000201"), "w") as f:
            f.write("V8\nT1\nS<a@b.example>\nRP:<alice@mx.test.example>\nH??Subject: symdf\n.\n")
        os.symlink(secret, os.path.join(q, "dfZZZZZZZZ000201"))
        os.symlink(outside_qf, os.path.join(q, "qfZZZZZZZZ000202"))
        with open(os.path.join(q, "dfZZZZZZZZ000202"), "w") as f:
            f.write("body through a linked qf\n")
        m.run("-q", timeout=20)
        box = m.mbox("alice")
        self.assertNotIn(b"TOP-SECRET-CONTENT", box)
        self.assertNotIn(b"via-link", box)


# ---------------------------------------------------------------------------
class DiskFaults(ReliabilityCase):
    # QueueSync=fsync: every file of the commit is fsynced
    FAULTS = [
        ("fsync:/df:1", 451),            # body fsync
        ("write:/tf:1", 451),            # qf image write
        ("fsync:/tf:1", 451),            # qf image fsync
        ("rename:/tf:1", 451),           # tf -> qf
        ("fsync:mqueue$:1", 451),        # the directory fsync after the rename
        ("open:/tf:1", 451),             # tf cannot be created
        ("fsync:/tf:1:ENOSPC", 452),     # space runs out at the qf commit
    ]
    # QueueSync=syncfs (the default where the kernel reports its errors):
    # one syncfs makes df and tf durable
    FAULTS_SYNCFS = [
        ("syncfs:*:1", 451),             # the file system's writeback failed
        ("syncfs:*:1:ENOSPC", 452),
        # this file's own writeback failed, an error that syncfs's descriptor
        # missed (with syncfs the only sync_file_range of each file is that
        # check: its writeback is not started early, syncfs submits it)
        ("syncrange:/df:1", 451),
        ("syncrange:/tf:1", 451),
        ("write:/tf:1", 451),
        ("rename:/tf:1", 451),
        ("fsync:mqueue$:1", 451),        # the directory fsync after the rename
        ("open:/tf:1", 451),
    ]

    def check_faults(self, mode, faults):
        for i, (spec, want) in enumerate(faults):
            with self.subTest(mode=mode, fault=spec):
                env, log = self.fault_env(spec)
                m = self.mtad(sub="%s%d" % (mode, i), env=env, mc_extra=QUEUE_ONLY +
                              "define(`confQUEUE_SYNC', `%s')dnl\n" % mode)
                code = session_send(m, "faulted%d" % i)
                self.assertEqual(code, want)
                self.assertEqual(queue_listing(m), [], "files left after a refused message")
                with open(log) as f:
                    self.assertIn("libfault: pid %d:" % m.proc.pid, f.read())
                self.assertRegex(m.log(), r"SYSERR: queue write failed: ")
                # the fault was one-shot: the next message is accepted and durable
                self.assertEqual(session_send(m, "after%d" % i), 250)
                self.assertEqual(len(m.queue_files()), 1)
                m.stop()
                os.unlink(log)

    def test_injected_io_errors_never_give_250(self):
        self.check_faults("fsync", self.FAULTS)

    def test_injected_io_errors_never_give_250_syncfs(self):
        if not syncfs_reports_errors():
            self.skipTest("kernel older than 5.17: QueueSync=syncfs falls back to fsync")
        self.check_faults("syncfs", self.FAULTS_SYNCFS)

    def test_df_subdirectory_fsynced_with_syncfs(self):
        """A queue with qf/ and df/ subdirectories (sendmail's layout):
        with QueueSync=syncfs too the df/ directory is fsynced for the new
        df's entry before the qf is renamed into place (a syncfs on ext4
        without a journal writes directory blocks after its flush); if
        that fsync fails the message is refused and nothing is left."""
        if not syncfs_reports_errors():
            self.skipTest("kernel older than 5.17: QueueSync=syncfs falls back to fsync")
        env, log = self.fault_env("fsync:/df$:1")
        m = self.mtad(env=env, start=False, mc_extra=QUEUE_ONLY + "define(`confQUEUE_SYNC', `syncfs')dnl\n")
        for sub in ("qf", "df"):
            os.makedirs(os.path.join(m.queue, sub), exist_ok=True)
        m.start()
        self.assertEqual(session_send(m, "subdir-faulted"), 451)
        self.assertEqual(queue_listing(m), [])
        with open(log) as f:
            self.assertRegex(f.read(), r"fsync \S+/df -> ")
        self.assertRegex(m.log(), r"SYSERR: queue write failed: fsync of directory \S+/df: ")
        self.assertEqual(session_send(m, "subdir-after"), 250)
        self.assertEqual(len([f for f in queue_listing(m) if f.startswith("qf")]), 1)
        self.assertTrue(os.listdir(os.path.join(m.queue, "df")))

    def test_write_error_mid_stream_refused_after_the_dot(self):
        """The df is flushed every 64 KiB while DATA is still arriving: an
        error there must hold until the final dot, then 4xx, nothing left."""
        env, _log = self.fault_env("write:/df:1")
        m = self.mtad(env=env, mc_extra=QUEUE_ONLY)
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<alice@%s>" % DOMAIN)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: big\r\n\r\n" + ("x" * 78 + "\r\n") * 3000 + ".\r\n")
        code, lines = c.reply()
        self.assertEqual(code // 100, 4, lines)
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.assertEqual(queue_listing(m), [])

    # BUG: a body write that fails with ENOSPC (the common disk-full case)
    # is answered "451 4.3.0 Error writing queue file" instead of "452 4.3.1
    # Insufficient disk space": mtad/enqueue.c enqueue_commit() calls
    # enqueue_abort() on the eq->failed path without keeping errno, and
    # qf_path() inside it stats "<queue>/df" (ENOENT), so the errno test in
    # mtad/smtpd_data.c data_finish() sees ENOENT.  Still a 4xx (no loss),
    # but the client is told the wrong reason.  Suggested fix: store the
    # errno of the failed write/fsync in struct enqueue (eq->err_errno) and
    # have data_finish() use it instead of the global errno.
    def test_body_write_enospc_gives_452(self):
        env, _log = self.fault_env("write:/df:*:ENOSPC")
        m = self.mtad(env=env, mc_extra=QUEUE_ONLY)
        self.assertEqual(session_send(m, "nospace"), 452)

    def test_full_tmpfs_gives_4xx_and_recovers(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        m = self.mtad(mc_extra=QUEUE_ONLY, start=False)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", m.queue],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount tmpfs: " + r.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", m.queue], capture_output=True)
        m.start()
        acked = set()
        for i in range(3):
            self.assertEqual(session_send(m, "pre%d" % i), 250)
            acked.add("pre%d" % i)
        # fill the file system, leaving less room than the next message needs
        filler = os.path.join(m.queue, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        st = os.statvfs(m.queue)
        free = st.f_bavail * st.f_frsize
        refused = 0
        for i in range(3):
            c = m.connect()
            c.reply()
            c.cmd("EHLO client.example")
            c.cmd("MAIL FROM:<s@example.org>")
            c.cmd("RCPT TO:<alice@%s>" % DOMAIN)
            code = c.cmd("DATA")[0]
            if code == 354:
                c.send("Subject: full\r\nX-Token: full%d\r\n\r\n" % i + ("y" * 78 + "\r\n") * 2000
                       + "END full%d\r\n.\r\n" % i)
                code = c.reply()[0]
            self.assertIn(code // 100, (4,), "disk full (free %d bytes) but reply %s" % (free, code))
            refused += 1
            self.assertEqual(c.cmd("NOOP")[0], 250)
            c.close()
        self.assertEqual(orphans(m), [], "partial files left on the full disk")
        self.assertTrue(m.alive())
        os.unlink(filler)
        self.assertEqual(session_send(m, "post"), 250)
        acked.add("post")
        m.stop()
        r = m.run("-q", timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = delivered_tokens(m)
        self.assertEqual(acked - set(got), set())
        self.assertFalse([t for t in got if t.startswith("full")])
        self.assertEqual(refused, 3)


# ---------------------------------------------------------------------------
class GroupCommit(ReliabilityCase):
    """Commits that wait while the disk is busy are made durable together
    (one syncfs, or the fsyncs of all, then one directory fsync), and each
    message of a batch still gets its own answer."""

    N = 8

    def open_at_data(self, m):
        """N sessions, each up to DATA's 354."""
        conns = []
        for i in range(self.N):
            c = m.connect()
            c.reply()
            c.cmd("EHLO client.example")
            self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            conns.append(c)
        return conns

    def send_together(self, m):
        """N sessions up to DATA; then every body and dot at once; returns
        the replies to the dots."""
        conns = self.open_at_data(m)
        for i, c in enumerate(conns):
            c.send(body_for("batch%d" % i) + ".\r\n")
        return [c.reply()[0] for c in conns]

    def check(self, mode, spec):
        # the disk is slow: the sync that each batch makes once (syncfs,
        # or the directory fsync after the renames) takes 1.5 s, so the
        # dots sent meanwhile find both commit threads busy and wait as one
        # batch; libfault reports each delayed call
        env, log = self.fault_env(spec)
        m = self.mtad(sub=mode, env=env, mc_extra=QUEUE_ONLY + "define(`confQUEUE_SYNC', `%s')dnl\n" % mode)
        self.assertEqual(self.send_together(m), [250] * self.N)
        files = queue_listing(m)
        self.assertEqual(len([f for f in files if f.startswith("qf")]), self.N)
        self.assertEqual(orphans(m), [])
        self.assertEqual([f for f in files if f.startswith("tf")], [])
        with open(log) as f:
            batches = f.read().count("(delayed 1500 ms)")
        # two threads take the first dots one by one; the rest wait together
        self.assertGreaterEqual(batches, 1)
        self.assertLessEqual(batches, 4, "commits were not grouped")

    def test_slow_disk_commits_grouped_syncfs(self):
        if not syncfs_reports_errors():
            self.skipTest("kernel older than 5.17: QueueSync=syncfs falls back to fsync")
        self.check("syncfs", "syncfs:*:*:delay1500")

    def test_slow_disk_commits_grouped_fsync(self):
        self.check("fsync", "fsync:mqueue$:*:delay1500")

    def test_one_failed_sync_fails_its_whole_batch_only(self):
        """A syncfs that fails takes every message that waited for it (all
        4xx, nothing left of them); the syncs before and after are
        unaffected.

        Who shares the failed syncfs is left to the two commit threads,
        so the test holds on what is certain: the first dot's syncfs is
        slow (1.5 s) and the other seven dots are sent only once it has
        begun, so they cannot be covered by it; the second syncfs fails,
        and some of them (with, perhaps, the first dot's rename) waited
        for it; a ninth message sent after every reply meets only later,
        working syncs.  Each 451 is one SYSERR, each 250 one qf."""
        if not syncfs_reports_errors():
            self.skipTest("kernel older than 5.17")
        env, log = self.fault_env("syncfs:*:1:delay1500;syncfs:*:1:EIO;syncfs:*:*:delay300")
        m = self.mtad(env=env, mc_extra=QUEUE_ONLY + "define(`confQUEUE_SYNC', `syncfs')dnl\n")
        conns = self.open_at_data(m)

        def first_sync_begun():
            return os.path.exists(log) and "syncfs (delayed 1500 ms)" in open(log).read()

        conns[0].send(body_for("batch0") + ".\r\n")
        wait_for(first_sync_begun, what="the first batch's syncfs")
        for i, c in enumerate(conns[1:], 1):
            c.send(body_for("batch%d" % i) + ".\r\n")
        codes = [c.reply()[0] for c in conns]
        self.assertIn(451, codes[1:], "the dots that waited for the failed syncfs")
        self.assertLessEqual(set(codes), {250, 451})
        codes.append(session_send(m, "after"))
        self.assertEqual(codes[-1], 250, "a message after the failure")
        files = queue_listing(m)
        self.assertEqual(len([f for f in files if f.startswith("qf")]), codes.count(250))
        self.assertEqual(orphans(m), [])
        self.assertEqual(len(re.findall(r"SYSERR: queue write failed: syncfs of (the queue file system|directory)",
                                        m.log())), codes.count(451))


class DeliveryGroupSync(ReliabilityCase):
    """QueueSync=syncfs: a queue run makes the mailbox appends of its
    messages durable with one syncfs of the mailbox directory's file system
    per group, and removes their queue files only then."""

    def queue_ten(self, mode):
        m = self.mtad(mc_extra=QUEUE_ONLY + "define(`confQUEUE_SYNC', `%s')dnl\n" % mode)
        users = ("alice", "bob", "carol")
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        tokens = ["g%02d" % i for i in range(10)]
        for i, t in enumerate(tokens):
            self.assertEqual(session_send(m, t, "%s@%s" % (users[i % 3], DOMAIN), conn=c), 250)
        c.cmd("QUIT")
        m.stop()
        return m, tokens

    def run_with(self, m, spec):
        env, log = self.fault_env(spec)
        r = m.run("-q", timeout=60, env=dict(os.environ, **env))
        self.assertEqual(r.returncode, 0, r.stderr)
        text = ""
        if os.path.exists(log):
            with open(log) as f:
                text = f.read()
            os.unlink(log)
        return text.splitlines()

    def spool_syncs(self, m, lines):
        return [l for l in lines if " syncfs " in l and " %s -> " % m.maildir in l]

    def test_one_sync_for_a_queue_run(self):
        if not syncfs_reports_errors():
            self.skipTest("kernel older than 5.17")
        m, tokens = self.queue_ten("syncfs")
        # every syncfs is reported (delayed 1 ms); those of the mail spool
        # are the group's
        syncs = self.spool_syncs(m, self.run_with(m, "syncfs:*:*:delay1"))
        self.assertEqual(len(syncs), 1, syncs)
        self.assertEqual(set(delivered_tokens(m)), set(tokens))
        self.assertEqual(m.queue_files(), [])
        self.assertEqual(m.queue_files("df"), [])

    def test_failed_sync_keeps_the_group_queued(self):
        """The spool's syncfs fails: the group's messages stay queued (a
        SYSERR says so) and the next run delivers them again; none lost."""
        if not syncfs_reports_errors():
            self.skipTest("kernel older than 5.17")
        m, tokens = self.queue_ten("syncfs")
        failed = self.spool_syncs(m, self.run_with(m, "syncfs:%s$:1:EIO" % m.maildir))
        self.assertEqual(len(failed), 1, failed)
        self.assertRegex(m.log(), r"SYSERR: syncfs of .*: Input/output error: the mailbox appends of 10 "
                                  r"messages may not be on disk; they stay queued")
        self.assertEqual(len(m.queue_files()), 10)
        r = m.run("-q", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = delivered_tokens(m)
        self.assertEqual(set(got), set(tokens))
        self.assertEqual(sorted(got.values()), [2] * 10)     # each twice: the price, never a loss
        self.assertEqual(m.queue_files(), [])

    def test_group_synced_before_the_next_destination(self):
        """A queue run that goes on to a destination that hangs (it never
        greets) has made its mailbox deliveries durable and removed their
        queue files first: they are not held through the timeout."""
        if not syncfs_reports_errors():
            self.skipTest("kernel older than 5.17")
        from test_relay_ops import HangingPeer, mailertable
        peer = HangingPeer()
        self.addCleanup(peer.close)
        m = self.mtad(mc_extra=QUEUE_ONLY + "define(`confQUEUE_SYNC', `syncfs')dnl\n"
                      "define(`confMAX_RUNNERS_PER_QUEUE', `1')dnl\n"
                      "define(`confTO_INITIAL', `60s')dnl\n" + mailertable(self, [("hang.test", peer.port)]))
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        local = ["h%02d" % i for i in range(3)]
        for t in local:                 # older: their group goes first
            self.assertEqual(session_send(m, t, "alice@%s" % DOMAIN, conn=c), 250)
        self.assertEqual(session_send(m, "far", "someone@hang.test", conn=c), 250)
        c.cmd("QUIT")
        m.stop()
        run = subprocess.Popen([binpath("mtad"), "-C", m.mc, "-L", m.tag, "-q"])
        try:
            wait_for(lambda: peer.conns, what="the run at the hanging destination")
            # while it waits there, the local group is on disk and gone from the queue
            wait_for(lambda: len(m.queue_files()) == 1, timeout=5,
                     what="only the hanging destination's message still queued (%s)" % m.queue_files())
            self.assertEqual(set(delivered_tokens(m)), set(local))
        finally:
            peer.close()
            run.wait(timeout=90)

    def test_new_mailbox_name_synced_in_a_group(self):
        """A mailbox that the delivery creates has its name made durable
        before the message leaves the queue, in syncfs mode too: after
        its syncfs the group fsyncs the spool directory once (on ext4
        without a journal the syncfs writes directory blocks and inodes
        after its flush).  If that fsync fails the group stays queued and
        the next run delivers it again: a duplicate, never a loss."""
        if not syncfs_reports_errors():
            self.skipTest("kernel older than 5.17")
        m = self.mtad(mc_extra=QUEUE_ONLY + "define(`confQUEUE_SYNC', `syncfs')dnl\n")
        users = ("alice", "bob", "carol")
        for u in users:
            self.assertFalse(os.path.exists(os.path.join(m.maildir, u)))
            self.assertEqual(session_send(m, "new-" + u, "%s@%s" % (u, DOMAIN)), 250)
        m.stop()
        lines = self.run_with(m, "syncfs:*:*:delay1;fsync:%s$:1:EIO" % m.maildir)
        failed = [l for l in lines if " fsync %s -> " % m.maildir in l]
        self.assertEqual(len(failed), 1, lines)     # (only the failed call is logged)
        self.assertEqual(len(self.spool_syncs(m, lines)), 1, lines)
        self.assertRegex(m.log(), r"SYSERR: fsync of %s: Input/output error: the mailbox appends of 3 "
                                  r"messages may not be on disk; they stay queued" % re.escape(m.maildir))
        self.assertEqual(len(m.queue_files()), 3, "still queued")
        r = m.run("-q", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = delivered_tokens(m)
        self.assertEqual(sorted(got), sorted("new-" + u for u in users))
        self.assertEqual(sorted(got.values()), [2, 2, 2])
        self.assertEqual(m.queue_files(), [])

    def test_fsync_mode_syncs_a_new_mailbox_with_its_directory(self):
        """Without a group (QueueSync=fsync) a mailbox the append creates
        is fsynced with its directory: if that fails the append is undone
        and the message deferred, so the next run delivers it once."""
        m = self.mtad(mc_extra=QUEUE_ONLY + "define(`confQUEUE_SYNC', `fsync')dnl\n")
        self.assertEqual(session_send(m, "newbox"), 250)
        m.stop()
        lines = self.run_with(m, "fsync:%s$:1:EIO" % m.maildir)
        self.assertTrue([l for l in lines if " fsync %s -> " % m.maildir in l], lines)
        self.assertEqual(len(m.queue_files()), 1, "deferred, still queued")
        self.assertNotIn("newbox", delivered_tokens(m))
        r = m.run("-q", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(delivered_tokens(m), {"newbox": 1})
        self.assertEqual(m.queue_files(), [])

    def test_fsync_mode_syncs_each_append(self):
        m, tokens = self.queue_ten("fsync")
        lines = self.run_with(m, "syncfs:*:*:delay1;fsync:%s/:*:delay1" % m.maildir)
        self.assertEqual(self.spool_syncs(m, lines), [])
        self.assertEqual(len([l for l in lines if " fsync (delayed" in l]), 10, lines)
        self.assertEqual(set(delivered_tokens(m)), set(tokens))
        self.assertEqual(m.queue_files(), [])


# ---------------------------------------------------------------------------
class Injection(ReliabilityCase):
    QF_RECORD = re.compile(rb"^(?:[VTKNPIMFqBZASCQrR$.]|H\?[DFM]?\?)")

    def check_qf(self, path):
        with open(path, "rb") as f:
            data = f.read()
        in_header = False
        for line in data.split(b"\n")[:-1]:
            self.assertIsNone(CTRL.search(line), "control byte in %s: %r" % (path, line))
            if line[:1] in (b" ", b"\t"):
                self.assertTrue(in_header, "continuation outside a header in %s: %r" % (path, line))
                continue
            self.assertRegex(line, self.QF_RECORD, "not a record in %s" % path)
            in_header = line.startswith(b"H?")
        return data

    def test_control_characters_never_reach_qf_log_or_headers(self):
        m = self.mtad(mc_extra=QUEUE_ONLY)
        hostile = [
            # (greeting, MAIL argument, RCPT argument)
            (b"EHLO evil\rInjected: yes", b"<a@example.org>", b"<alice@mx.test.example>"),
            (b"EHLO x\x1b[2J\x07\x7fy", b"<a@example.org>", b"<alice@mx.test.example>"),
            (b"EHLO ok.example", b"<a\rRinjected@example.org>", b"<alice@mx.test.example>"),
            (b"EHLO ok.example", b"<a\x01b@example.org>", b"<alice@mx.test.example>"),
            (b"EHLO ok.example", b"<a@example.org> ENVID=x+0D+0AH??Bcc:+20evil@x", b"<alice@mx.test.example>"),
            (b"EHLO ok.example", b"<a@example.org> ENVID=x+00+01+1B", b"<alice@mx.test.example>"),
            (b"EHLO ok.example", b"<a@example.org> AUTH=x+0D+0ARP:<evil@example.net>", b"<alice@mx.test.example>"),
            (b"EHLO ok.example", b"<a@example.org>",
             b"<alice@mx.test.example> ORCPT=rfc822;alice+0D+0ARP:<evil@example.net>"),
            (b"EHLO ok.example", b"<a@example.org>", b"<alice@mx.test.example> NOTIFY=SUCCESS\rRP:<evil@x>"),
            (b"EHLO ok.example", b"<a@example.org>", b"<alice\x00@mx.test.example>"),
            (b"EHLO ok.example", b"<a@example.org>", b"<\"alice\\\rRP:<evil\"@mx.test.example>"),
        ]
        accepted = 0
        for i, (helo, mail, rcpt) in enumerate(hostile):
            c = m.connect()
            c.reply()
            c.send(helo + b"\r\n")
            if c.reply()[0] != 250:
                c.cmd("EHLO fallback.example")
            c.send(b"MAIL FROM:" + mail + b"\r\n")
            if c.reply()[0] != 250:
                c.close()
                continue
            c.send(b"RCPT TO:" + rcpt + b"\r\n")
            if c.reply()[0] != 250:
                c.close()
                continue
            if c.cmd("DATA")[0] == 354:
                c.send("Subject: inj%d\r\n\r\nEND inj%d\r\n.\r\n" % (i, i))
                if c.reply()[0] == 250:
                    accepted += 1
            c.cmd("QUIT")
            c.close()
        for qf in m.queue_files():
            data = self.check_qf(os.path.join(m.queue, qf))
            rcpts = [l for l in data.split(b"\n") if l.startswith(b"R")]
            for r in rcpts:
                self.assertRegex(r, rb"^R[A-Z]*:<alice@mx\.test\.example>$")
            self.assertNotIn(b"\nH??Bcc:", data)
            self.assertNotIn(b"\nInjected:", data)
        with open(m.logfile, "rb") as f:
            for line in f.read().split(b"\n")[:-1]:
                self.assertIsNone(CTRL.search(line), "control byte in the log: %r" % line)
                self.assertRegex(line, rb"^\w{3} [ \d]\d \d\d:\d\d:\d\d ", "forged log line: %r" % line)
        m.stop()
        r = m.run("-q", timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        box = m.mbox("alice")
        self.assertEqual(box.count(b"\nEND inj"), accepted)
        headers = [blk.split(b"\n\n", 1)[0] for blk in box.split(b"\nFrom ")]
        for h in headers:
            for line in h.split(b"\n"):
                self.assertIsNone(CTRL.search(line), "control byte in a header: %r" % line)
            self.assertNotRegex(h, rb"(?m)^(Injected|Bcc|RP):")
        self.assertFalse(os.path.exists(os.path.join(m.maildir, "evil")))
        self.assertEqual(sorted(m.queue_files()), [])

    def test_shell_metacharacters_in_addresses_run_nothing(self):
        m = self.mtad()
        marker = os.path.join(self.tmp, "pwned")
        evil = [
            "<;touch %s;@example.org>" % marker,
            "<`touch %s`@example.org>" % marker,
            "<$(touch %s)@example.org>" % marker,
        ]
        evil_rcpts = [
            "<|touch %s@%s>" % (marker, DOMAIN),
            "<\"|touch %s\"@%s>" % (marker, DOMAIN),
            "<%s@%s>" % (marker, DOMAIN),
            "<../../../../%s@%s>" % (marker.lstrip("/"), DOMAIN),
            "<$(touch %s)@%s>" % (marker, DOMAIN),
            "<${run{/bin/touch %s}}@%s>" % (marker, DOMAIN),
        ]
        for s in evil:
            c = m.connect()
            c.reply()
            c.cmd("EHLO client.example")
            if c.cmd("MAIL FROM:" + s)[0] == 250:
                c.cmd("RCPT TO:<alice@%s>" % DOMAIN)
                if c.cmd("DATA")[0] == 354:
                    c.send("Subject: x\r\n\r\nEND shell\r\n.\r\n")
                    c.reply()
            c.close()
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<s@example.org>")
        codes = [c.cmd("RCPT TO:" + r)[0] for r in evil_rcpts]
        for code in codes:
            self.assertEqual(code // 100, 5, codes)
        m.run("-q", timeout=30)
        wait_for(lambda: m.queue_files() == [], timeout=15, what="queue drained")
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(sorted(os.listdir(self.tmp)), ["mtad"])
        self.assertTrue(set(os.listdir(m.maildir)) <= {"alice"})

    def test_starttls_buffered_plaintext_never_executed(self):
        m = self.mtad()
        c = m.connect()
        c.reply()
        code, lines = c.cmd("EHLO client.example")
        if "250-STARTTLS" in lines or "250 STARTTLS" in lines:
            self.skipTest("STARTTLS is offered now: extend this test with an ssl handshake")
        c.send("STARTTLS\r\nMAIL FROM:<x@example.org>\r\n")
        self.assertNotEqual(c.reply()[0], 220)
        # the pipelined command is answered in plaintext, in order, as itself
        self.assertIn(c.reply()[0], (250, 503, 554))


# ---------------------------------------------------------------------------
class Abuse(ReliabilityCase):
    def probe(self, m, battery):
        import json
        r = subprocess.run([binpath("smtpprobe"), "--test", battery, "--from-ip", "127.0.0.2", "--json",
                            "--timeout", "10", "-p", str(m.port), "--local-domain", DOMAIN,
                            "--rcpt", "alice@" + DOMAIN, "127.0.0.1"],
                           capture_output=True, text=True, timeout=120)
        return r.returncode, json.loads(r.stdout)

    def test_relay_battery_from_outside_finds_no_relay(self):
        m = self.mtad(mc_extra=QUEUE_ONLY)
        rc, rep = self.probe(m, "relay")
        self.assertEqual(rc, 0, rep)
        self.assertEqual(rep["vulnerable"], 0)
        cases = rep["batteries"][0]["cases"]
        self.assertGreaterEqual(len(cases), 6)
        for case in cases:
            self.assertEqual(case["verdict"], "safe", case)
        for qf in m.queue_files():
            with open(os.path.join(m.queue, qf)) as f:
                for line in f:
                    if line.startswith("R"):
                        self.assertRegex(line, r"@%s>?$" % re.escape(DOMAIN))

    def test_unknown_users_refused_at_rcpt_no_backscatter(self):
        m = self.mtad(mc_extra=QUEUE_ONLY)
        c = m.connect(source="127.0.0.2")
        c.reply()
        c.cmd("EHLO outside.example")
        self.assertEqual(c.cmd("MAIL FROM:<forged@victim.example>")[0], 250)
        for u in ("nosuchuser", "root2", "alice.smith", "postmaster+x"):
            code, lines = c.cmd("RCPT TO:<%s@%s>" % (u, DOMAIN))
            self.assertEqual(code, 550, lines)
            self.assertIn("5.1.1", lines[0])
        self.assertEqual(c.cmd("DATA")[0], 503)
        self.assertEqual(c.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: x\r\n\r\nEND ok\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        c.cmd("QUIT")
        m.stop()
        m.run("-q", timeout=30)
        self.assertEqual(m.queue_files(), [], "a DSN was queued for the forged sender")
        self.assertEqual(m.mbox("postmaster"), b"")
        self.assertNotIn("DSN", m.log())

    def test_vrfy_expn_leak_nothing(self):
        m = self.mtad()
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        vr = {u: c.cmd("VRFY " + u) for u in ("alice", "root", "nosuchuser", "<alice@%s>" % DOMAIN)}
        ex = {u: c.cmd("EXPN " + u) for u in ("alice", "postmaster", "nosuchuser")}
        self.assertEqual(len({tuple(v[1]) for v in vr.values()}), 1, vr)
        self.assertEqual(len({tuple(v[1]) for v in ex.values()}), 1, ex)
        self.assertNotIn(b"alice", repr(vr["alice"]).encode().replace(b"VRFY", b""))
        self.assertEqual(ex["alice"][0] // 100, 5)
        rc, rep = self.probe(m, "harvest")
        self.assertEqual(rc, 0, rep)
        verdicts = {cs["name"]: cs["verdict"] for cs in rep["batteries"][0]["cases"]}
        self.assertEqual(verdicts["vrfy"], "safe")
        self.assertEqual(verdicts["expn"], "safe")

    def test_idle_client_dropped_in_data(self):
        m = self.mtad(mc_extra="define(`confTO_DATABLOCK', `1s')dnl\n")
        c = m.connect(timeout=15)
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<alice@%s>" % DOMAIN)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: stalled\r\n\r\nsome")
        t0 = time.monotonic()
        code, lines = c.reply()
        self.assertEqual(code, 421, lines)
        self.assertTrue(c.closed())
        self.assertLess(time.monotonic() - t0, 5)
        wait_for(lambda: queue_listing(m) == [], what="df of the timed-out session removed")
        self.assertEqual(m.mbox("alice"), b"")

    # BUG (hardening): Timeout.command is re-armed by every read
    # (mtad/daemon.c conn_event sets c->deadline after each recv), so a
    # client that drips one byte per (timeout - epsilon) holds a session for
    # ever (slowloris); the command never completes.  Suggested fix: arm the
    # deadline when a command (or a DATA block) starts and re-arm it only
    # when a complete line has been read.
    def test_slow_drip_command_dropped_at_timeout(self):
        m = self.mtad(mc_extra="define(`confTO_COMMAND', `1s')dnl\n")
        c = m.connect(timeout=15)
        c.reply()
        t0 = time.monotonic()
        dropped = False
        for ch in "EHLO slow.example.without.end":
            try:
                c.send(ch)
            except OSError:
                dropped = True
                break
            time.sleep(0.4)     # traffic shaping, not synchronisation
            if time.monotonic() - t0 > 4:
                break
        if not dropped:
            dropped = c.closed()
        self.assertTrue(dropped, "a client dripping bytes was never dropped")

    def test_session_flood_refused_normal_client_gets_through(self):
        m = self.mtad(mc_extra="define(`confMAX_DAEMON_CHILDREN', `5')dnl\n")
        idle = []
        for _ in range(5):
            c = m.connect()
            self.assertEqual(c.reply()[0], 220)
            idle.append(c)
        refused = 0
        for _ in range(20):
            c = m.connect()
            code, lines = c.reply()
            self.assertEqual(code, 421, lines)
            self.assertTrue(c.closed())
            c.close()
            refused += 1
        self.assertEqual(refused, 20)
        for c in idle:
            c.cmd("QUIT")
            c.close()
        wait_for(lambda: session_send(m, "after-flood") == 250, what="a normal session after the flood")
        wait_for(lambda: "after-flood" in delivered_tokens(m), what="delivery")
        self.assertTrue(m.alive())

    # ConnectionRateThrottle: at most N connections accepted in any second.
    def test_connection_rate_throttle(self):
        m = self.mtad(mc_extra="define(`confCONNECTION_RATE_THROTTLE', `2')dnl\n")
        t0 = time.monotonic()
        conns = []
        for _ in range(6):
            c = m.connect(timeout=10)
            c.reply()
            conns.append(c)
        # 6 connections at 2 per second take at least 2 seconds to be served
        self.assertGreaterEqual(time.monotonic() - t0, 2.0)

    def test_memory_bounded_long_lines_and_10000_rcpts(self):
        m = self.mtad(mc_extra=QUEUE_ONLY)
        pid = m.proc.pid
        self.assertEqual(session_send(m, "warm"), 250)
        base = vm_kib(pid)
        limit = 4096 if not ASAN else 65536     # KiB of growth allowed
        # (a) 1 MiB command line without CRLF, then the CRLF
        c = m.connect()
        c.reply()
        c.cmd("EHLO client.example")
        c.send("MAIL FROM:<" + "a" * (1 << 20))
        c.send(">\r\n")
        code, lines = c.reply()
        self.assertEqual(code // 100, 5, lines)
        grew = vm_kib(pid) - base
        self.assertLess(grew, limit, "1 MiB command line: RSS grew %d KiB" % grew)
        # (b) a 1 MiB line in DATA, on the same session
        self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@%s>" % DOMAIN)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: long\r\n\r\n" + "b" * (1 << 20) + "\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 552, lines)
        grew = vm_kib(pid) - base
        self.assertLess(grew, limit, "1 MiB body line: RSS grew %d KiB" % grew)
        # (c) 10,000 RCPTs, pipelined in batches of 500
        self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
        codes = {}
        for b in range(20):
            c.send("".join("RCPT TO:<alice@%s>\r\n" % DOMAIN for _ in range(500)))
            for _ in range(500):
                code = c.reply()[0]
                codes[code] = codes.get(code, 0) + 1
        self.assertEqual(codes.get(250), 100, codes)
        self.assertEqual(codes.get(452), 9900, codes)
        grew = vm_kib(pid) - base
        self.assertLess(grew, limit, "10,000 RCPTs: RSS grew %d KiB" % grew)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: many\r\n\r\nEND many\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        with open(os.path.join(m.queue, m.queue_files()[-1])) as f:
            self.assertLessEqual(sum(1 for l in f if l.startswith("R")), 100)
        self.assertTrue(m.alive())


# ---------------------------------------------------------------------------
class Privileges(ReliabilityCase):
    def test_queue_files_private(self):
        m = self.mtad(mc_extra=QUEUE_ONLY)
        self.assertEqual(session_send(m, "modes"), 250)
        for f in queue_listing(m):
            mode = os.stat(os.path.join(m.queue, f)).st_mode
            self.assertEqual(mode & 0o077, 0, "%s is mode %o" % (f, mode & 0o777))
        for f in os.listdir(m.maildir):
            mode = os.stat(os.path.join(m.maildir, f)).st_mode
            self.assertEqual(mode & 0o077, 0, "%s is mode %o" % (f, mode & 0o777))

    # Started as root, the SMTP server (the process that reads the network)
    # runs as RunAsUser; its parent keeps root only to start deliveries.
    def test_root_daemon_drops_to_run_as_user(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root")      # expectedFailure still reports the skip
        import pwd
        nobody = pwd.getpwnam("nobody")
        m = self.mtad(mc_extra="define(`confRUN_AS_USER', `nobody')dnl\n", start=False)
        for d in (m.dir, m.queue, m.mspqueue, m.maildir):
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
        os.chmod(self.tmp, 0o755)
        m.start()
        c = m.connect()
        c.reply()
        c.cmd("EHLO x.example")
        c.cmd("MAIL FROM:<s@example.org>")
        c.cmd("RCPT TO:<alice@mx.test.example>")
        c.cmd("DATA")
        c.send("Subject: x\r\n\r\nas nobody\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250)
        server = lines[0].split()[2][-6:]      # queue IDs end in the pid that accepted them
        with open("/proc/%d/status" % int(server)) as f:
            uids = next(l for l in f if l.startswith("Uid:")).split()[1:]
        self.assertEqual({int(u) for u in uids}, {nobody.pw_uid})


if __name__ == "__main__":
    unittest.main()
