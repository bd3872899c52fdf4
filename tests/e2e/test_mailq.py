"""End-to-end tests for bin/mailq: queues built by a real mtad in queue-only
mode (-odq), then mailq run as a process and its output, the queue files
and the mail log checked exactly."""
import fcntl
import json
import os
import re
import subprocess
import time

from harness import MtadTestCase, binpath

ENV = dict(os.environ, TZ="UTC")
HEADER = "-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------"
BODY = "Subject: x\n\nbody\n"          # df: "body\n", 5 bytes
EX_USAGE, EX_TEMPFAIL = 64, 75


def qtime(secs):
    return time.strftime("%a %b %e %H:%M", time.gmtime(secs))


class MailqCase(MtadTestCase):
    def setUp(self):
        super().setUp()
        self.m = self.new_mtad(start=False)

    def queue(self, *rcpts, sender=None, body=BODY):
        """Queues one message through mtad -odq; returns its queue ID."""
        before = set(self.m.queue_files())
        args = ["-odq"] + (["-f", sender] if sender else []) + list(rcpts)
        r = self.m.run(*args, input=body, env=ENV)
        self.assertEqual(r.returncode, 0, r.stderr)
        new = sorted(set(self.m.queue_files()) - before)
        self.assertEqual(len(new), 1)
        return new[0][2:]

    def mailq(self, *args, rc=0, input=None, stdin=None):
        p = subprocess.run([binpath("mailq"), "-C", self.m.mc] + list(args), input=input,
                           stdin=stdin, capture_output=True, text=True, timeout=30, env=ENV)
        if rc is not None:
            self.assertEqual(p.returncode, rc, p.stdout + p.stderr)
        return p

    def qf(self, qid, qdir=None):
        with open(os.path.join(qdir or self.m.queue, "qf" + qid)) as f:
            return f.read()

    def edit_qf(self, qid, fn):
        path = os.path.join(self.m.queue, "qf" + qid)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(fn(text))

    def ctime(self, qid):
        return int(re.search(r"^T(\d+)$", self.qf(qid), re.M).group(1))

    def entry(self, qid, sender, rcpts, mark=" ", size=5, extra=()):
        lines = ["%-14s%s%8d %s %s" % (qid, mark, size, qtime(self.ctime(qid)), sender)]
        lines += list(extra)
        lines += ["\t\t\t\t\t " + r for r in rcpts]
        return lines

    def listing(self, qdir, *entries):
        n = len(entries)
        out = ["\t\t%s (%d request%s)" % (qdir, n, "" if n == 1 else "s"), HEADER]
        for e in entries:
            out += e
        out.append("\t\tTotal requests: %d" % n)
        return "\n".join(out) + "\n"

    def three(self):
        """a: local, b: two recipients, c: from carol to a remote domain."""
        a = self.queue("alice@mx.test.example")
        b = self.queue("bob@mx.test.example", "friend@remote.example")
        c = self.queue("dave@Dead.Example", sender="carol@mx.test.example")
        return a, b, c


class TestListing(MailqCase):
    def test_empty_queue(self):
        p = self.mailq()
        self.assertEqual(p.stdout, "%s is empty\n\t\tTotal requests: 0\n" % self.m.queue)

    def test_listing_exact_and_same_as_mtad_bp(self):
        a, b, c = self.three()
        p = self.mailq()
        # priority order (sendmail's default QueueSortOrder): one recipient
        # weighs less than two; a and c tie and go by creation, then ID
        want = self.listing(self.m.queue,
                            self.entry(a, "<root@mx.test.example>", ["alice@mx.test.example"]),
                            self.entry(c, "<carol@mx.test.example>", ["dave@Dead.Example"]),
                            self.entry(b, "<root@mx.test.example>",
                                       ["bob@mx.test.example", "friend@remote.example"]))
        self.assertEqual(p.stdout, want)
        self.assertEqual(self.m.run("-bp", env=ENV).stdout, p.stdout)
        self.assertEqual(self.mailq("-bp").stdout, p.stdout)

    def test_deferral_reason_line(self):
        a, b, c = self.three()
        r = self.m.run("-q", env=ENV)           # a real queue run: local mail delivered
        self.assertEqual(r.returncode, 0, r.stderr)
        p = self.mailq()
        # sendmail's "\n    %10.10s   (%.60s)": no body type, 17 blanks
        why = "                 (Deferred: host map: lookup (%s): deferred)"
        self.assertEqual(why.index("("), 17)
        want = self.listing(self.m.queue,
                            self.entry(c, "<carol@mx.test.example>", ["dave@Dead.Example"],
                                       extra=[why % "Dead.Example"]),
                            self.entry(b, "<root@mx.test.example>", ["friend@remote.example"],
                                       extra=[why % "remote.example"]))
        self.assertEqual(p.stdout, want)
        self.assertEqual(self.m.run("-bp", env=ENV).stdout, p.stdout)

    def test_msp_queue_and_other_queue_dirs(self):
        a = self.queue("alice@mx.test.example")
        for f in ("qf", "df"):
            os.rename(os.path.join(self.m.queue, f + a), os.path.join(self.m.mspqueue, f + a))
        self.assertEqual(self.mailq().stdout, "%s is empty\n\t\tTotal requests: 0\n" % self.m.queue)
        want = self.listing(self.m.mspqueue,
                            ["%-14s %8d %s <root@mx.test.example>" % (a, 5, qtime(self.ctime_in(a))),
                             "\t\t\t\t\t alice@mx.test.example"])
        self.assertEqual(self.mailq("-Ac").stdout, want)
        self.assertEqual(self.mailq("-OQueueDirectory=" + self.m.mspqueue).stdout, want)
        self.assertEqual(self.mailq("-O", "QueueDirectory=" + self.m.mspqueue).stdout, want)
        self.assertEqual(self.mailq("-oQ" + self.m.mspqueue).stdout, want)

    def ctime_in(self, qid):
        return int(re.search(r"^T(\d+)$", self.qf(qid, self.m.mspqueue), re.M).group(1))

    def test_locked_message_is_starred(self):
        a = self.queue("alice@mx.test.example")
        with open(os.path.join(self.m.queue, "qf" + a)) as f:
            fcntl.flock(f, fcntl.LOCK_EX)       # what a delivery holds
            out = self.mailq().stdout
        self.assertEqual(out, self.listing(self.m.queue, self.entry(
            a, "<root@mx.test.example>", ["alice@mx.test.example"], mark="*")))
        # and the lock was not kept by mailq: a delivery can take it now
        with open(os.path.join(self.m.queue, "qf" + a)) as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def test_too_young_is_marked_dash(self):
        a = self.queue("friend@remote.example")
        self.m.run("-q", env=ENV)               # tried now: K is set
        p = self.mailq("-OMinQueueAge=1h")
        self.assertRegex(p.stdout.split("\n")[2], r"^%s-       5 " % a)
        self.assertRegex(self.mailq().stdout.split("\n")[2], r"^%s        5 " % a)

    def test_unreadable_and_hostile_files_are_named_and_skipped(self):
        a = self.queue("alice@mx.test.example")
        bad = "k0550J0U003615"
        with open(os.path.join(self.m.queue, "qf" + bad), "w") as f:
            f.write("V8\nT1136438825\nSroot\n")        # no "." terminator
        hostile = self.queue("bob@mx.test.example")
        self.edit_qf(hostile, lambda t: t.replace("S<root@mx.test.example>",
                                                  "S<evil\x1b[2J\x07@x.example>"))
        p = self.mailq()
        lines = p.stdout.split("\n")
        self.assertEqual(lines[0], "\t\t%s (3 requests)" % self.m.queue)
        self.assertEqual(lines[2:4], self.entry(a, "<root@mx.test.example>",
                                                ["alice@mx.test.example"]))
        self.assertEqual(lines[4:6], self.entry(hostile, "<evil\\033[2J\\007@x.example>",  # sendmail's prtstr()
                                                ["bob@mx.test.example"]))
        self.assertRegex(lines[6], r"^%s  \(unreadable queue file: .*/qf%s:\d+: .*\)$" % (bad, bad))
        self.assertEqual(lines[7], "\t\tTotal requests: 3")
        self.assertNotIn("\x1b", p.stdout)
        # scripts get the name on stderr
        p = self.mailq("--ids")
        self.assertIn("%s: skipped: " % bad, p.stderr)
        # only -qI can name a damaged file
        self.assertEqual(self.mailq("-qRalice", "--ids").stdout, a + "\n")


class TestSelection(MailqCase):
    def ids(self, *args):
        """The selected IDs, in ID order (which is queueing order here;
        the listing itself is in QueueSortOrder, priority by default)."""
        return sorted(self.mailq(*(list(args) + ["--ids"])).stdout.split())

    def test_selectors(self):
        a, b, c = self.three()
        self.assertEqual(self.ids(), [a, b, c])
        self.assertEqual(self.ids("-qI" + b[-6:]), [b])
        self.assertEqual(self.ids("-qI!" + b[-6:]), [a, c])
        self.assertEqual(self.ids("-qI", b), [b])           # separate argument
        self.assertEqual(self.ids("-qRremote.example"), [b])
        self.assertEqual(self.ids("-qRDEAD.example"), [c])   # case-insensitive
        self.assertEqual(self.ids("-qR!mx.test.example"), [b, c])  # some rcpt elsewhere
        self.assertEqual(self.ids("-qScarol"), [c])
        self.assertEqual(self.ids("-qS!carol"), [a, b])
        self.assertEqual(self.ids("-qI" + a, "-qI" + c), [a, c])   # same kind: OR
        self.assertEqual(self.ids("-qRmx.test", "-qSroot"), [a, b])  # kinds: AND
        self.assertEqual(self.ids("-qRdead", "-qSroot"), [])
        self.assertEqual(self.mailq("-qRremote", "--count").stdout, "1\n")
        self.assertEqual(self.mailq("--count").stdout, "3\n")

    def test_selected_listing_counts_the_selection(self):
        a, b, c = self.three()
        self.assertEqual(self.mailq("-qScarol").stdout, self.listing(
            self.m.queue, self.entry(c, "<carol@mx.test.example>", ["dave@Dead.Example"])))

    def test_older_younger(self):
        a, b, c = self.three()
        now = int(time.time())
        self.edit_qf(a, lambda t: re.sub(r"^T\d+$", "T%d" % (now - 3 * 3600), t, flags=re.M))
        self.edit_qf(b, lambda t: re.sub(r"^T\d+$", "T%d" % (now - 30 * 60), t, flags=re.M))
        self.assertEqual(self.ids("--older", "2h"), [a])
        self.assertEqual(self.ids("--older=10m"), [a, b])
        self.assertEqual(self.ids("--older", "20"), [a, b])        # bare: minutes
        self.assertEqual(self.ids("--younger", "1h"), [b, c])
        self.assertEqual(self.ids("--older", "10m", "--younger", "1h"), [b])

    def test_reason(self):
        a, b, c = self.three()
        self.m.run("-q", env=ENV)
        self.assertEqual(self.ids("--reason", "dead\\.example"), [c])
        self.assertEqual(self.ids("--reason", "^Deferred: host map"), [b, c])
        self.assertEqual(self.ids("--reason", "refused"), [])

    def test_held_selection(self):
        a, b, c = self.three()
        self.mailq("-qI" + b, "--hold", "spam review")
        self.mailq("-qI" + c, "--hold", "virus")
        self.assertEqual(self.ids("-qQ"), [b, c])
        self.assertEqual(self.ids("-qQspam"), [b])
        self.assertEqual(self.ids("-qQ!spam"), [c])

    def test_bad_usage(self):
        for args in (["--older", "soon"], ["--reason", "(x"], ["-qR"], ["-q30m"],
                     ["--frobnicate"], ["--ids", "--json"], ["--hold"], ["--yes"],
                     ["--count", "--delete"], ["-bd"]):
            p = self.mailq(*args, rc=EX_USAGE)
            self.assertIn("mailq", p.stderr)
            self.assertEqual(p.stdout, "")

    def test_bad_config(self):
        p = subprocess.run([binpath("mailq"), "-C", os.path.join(self.tmp, "nope.mc")],
                           capture_output=True, text=True, env=ENV)
        self.assertEqual(p.returncode, 78)
        p = subprocess.run([binpath("mailq"), "-OQueueDirectory=" + os.path.join(self.tmp, "nope")],
                           capture_output=True, text=True, env=ENV)
        self.assertEqual(p.returncode, 72)
        self.assertIn("cannot read queue directory", p.stderr)


class TestOutputs(MailqCase):
    def test_json_matches_files(self):
        a, b, c = self.three()
        self.m.run("-q", env=ENV)
        self.mailq("-qI" + c, "--hold", "check: dead")
        p = self.mailq("--json")
        objs = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([o["id"] for o in objs], [c, b])   # priority order
        oc, ob = objs
        self.assertEqual(ob["sender"], "<root@mx.test.example>")
        self.assertEqual(ob["size"], 5)
        self.assertEqual(ob["queued"], self.ctime(b))
        self.assertEqual(ob["queued_text"], qtime(self.ctime(b)))
        self.assertEqual(ob["tries"], 1)
        self.assertEqual(ob["status"], "deferred")
        self.assertEqual(ob["mark"], " ")
        self.assertFalse(ob["held"])
        self.assertEqual(ob["reason"], "Deferred: host map: lookup (remote.example): deferred")
        self.assertEqual(ob["queue"], self.m.queue)
        k = int(re.search(r"^K(\d+)$", self.qf(b), re.M).group(1))
        self.assertEqual(ob["last_attempt"], k)
        self.assertEqual(ob["recipients"], [{"address": "friend@remote.example", "state": "deferred",
                                             "tries": 1, "flags": "PFD", "orcpt": None}])
        self.assertEqual(oc["status"], "held")
        self.assertEqual(oc["mark"], " ")     # as sendmail: held is not a mark
        self.assertTrue(oc["held"])
        self.assertEqual(oc["hold_reason"], "check: dead")
        self.assertEqual(oc["sender"], "<carol@mx.test.example>")
        self.assertEqual(oc["recipients"][0]["state"], "held")

    def test_summary_table(self):
        a, b, c = self.three()
        d = self.queue("x@remote.example", "y@REMOTE.example")
        now = int(time.time())
        self.edit_qf(c, lambda t: re.sub(r"^T\d+$", "T%d" % (now - 2 * 86400), t, flags=re.M))
        self.edit_qf(d, lambda t: re.sub(r"^T\d+$", "T%d" % (now - 15 * 60), t, flags=re.M))
        p = self.mailq("--summary")
        row = lambda name, *n: ("%20s %6d" % (name, n[0])) + "".join(" %5d" % x for x in n[1:])
        want = [("%20s %6s" % ("", "T")) + "".join(" %5d" % x for x in
                                                  (5, 10, 20, 40, 80, 160, 320, 640, 1280)) + " 1280+",
                row("TOTAL", 4, 2, 0, 1, 0, 0, 0, 0, 0, 0, 1),
                row("mx.test.example", 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                row("remote.example", 2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0),
                row("dead.example", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)]
        self.assertEqual(p.stdout, "\n".join(want) + "\n")


class TestActions(MailqCase):
    def test_hold_and_release(self):
        a, b, c = self.three()
        p = self.mailq("-qRremote", "--hold", "Spam review")
        self.assertEqual(p.stdout, "%s: held (Spam review)\n" % b)
        self.assertIn("\nqSpam review\n", self.qf(b))
        self.assertNotIn("\nq", self.qf(a))
        self.assertEqual(self.mailq("-qI" + b).stdout, self.listing(self.m.queue, self.entry(
            b, "<root@mx.test.example>", ["bob@mx.test.example", "friend@remote.example"],
            extra=["     QUARANTINE: Spam review"])))
        self.m.wait_log(r"mailq\[\d+\]: %s: quarantine=Spam review$" % b)
        # a queue run leaves held mail alone
        self.m.run("-q", env=ENV)
        self.assertNotIn(b"Subject: x", self.m.mbox("bob"))
        self.assertIn(b"Subject: x", self.m.mbox("alice"))
        self.assertIn("qf" + b, self.m.queue_files())
        # release: only held mail is touched
        p = self.mailq("-qQ", "--release")
        self.assertEqual(p.stdout, "%s: released\n" % b)
        self.assertNotIn("\nq", self.qf(b))
        self.m.wait_log(r"mailq\[\d+\]: %s: unquarantine$" % b)
        self.m.run("-q", env=ENV)
        self.assertIn(b"Subject: x", self.m.mbox("bob"))
        self.assertEqual(self.mailq("--all", "--release").stdout, "")

    def test_locked_message_is_skipped_with_a_note(self):
        a, b, c = self.three()
        before = self.qf(b)
        with open(os.path.join(self.m.queue, "qf" + b)) as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            p = self.mailq("--all", "--hold", "x", rc=EX_TEMPFAIL)
            self.assertIn("%s: being delivered (queue file locked); skipped" % b, p.stderr)
            self.assertEqual(p.stdout, "%s: held (x)\n%s: held (x)\n" % (a, c))
            p = self.mailq("-qI" + b, "--delete", "--yes", rc=EX_TEMPFAIL)
            self.assertIn("%s: being delivered" % b, p.stderr)
        self.assertEqual(self.qf(b), before)
        self.assertIn("df" + b, os.listdir(self.m.queue))

    def test_delete_needs_yes_off_a_terminal(self):
        a, b, c = self.three()
        p = self.mailq("-qI" + a, "--delete", rc=EX_USAGE, stdin=subprocess.DEVNULL)
        self.assertIn("add --yes", p.stderr)
        self.assertIn("qf" + a, self.m.queue_files())
        p = self.mailq("-qRremote", "-qRdead", "--delete", "--yes")
        self.assertEqual(p.stdout, "%s: deleted\n%s: deleted\n" % (c, b))   # priority order
        self.assertEqual(self.m.queue_files(), ["qf" + a])
        self.assertEqual(self.m.queue_files("df"), ["df" + a])
        self.m.wait_log(r"mailq\[\d+\]: %s: removed by mailq: from=<root@mx.test.example>, "
                        r"size=5, nrcpts=2$" % b)
        self.m.wait_log(r"mailq\[\d+\]: %s: removed by mailq: from=<carol@mx.test.example>, "
                        r"size=5, nrcpts=1$" % c)

    def test_delete_asks_on_a_terminal(self):
        a, b, c = self.three()
        for answer, rc, left in (("n\n", 1, 3), ("y\n", 0, 2)):
            master, slave = os.openpty()
            try:
                os.write(master, answer.encode())
                p = self.mailq("-qI" + a, "--delete", rc=rc, stdin=slave)
            finally:
                os.close(slave)
                os.close(master)
            self.assertIn("delete 1 message from %s? [y/N]" % self.m.queue, p.stderr)
            self.assertEqual(len(self.m.queue_files()), left)
        self.assertNotIn("qf" + a, self.m.queue_files())

    def test_delete_damaged_file(self):
        bad = "k0550J0U003615"
        with open(os.path.join(self.m.queue, "qf" + bad), "w") as f:
            f.write("garbage\n")
        p = self.mailq("-qI" + bad, "--delete", "--yes")
        self.assertEqual(p.stdout, "%s: deleted\n" % bad)
        self.assertEqual(self.m.queue_files(), [])

    def test_flush_by_id(self):
        a, b, c = self.three()
        d = self.queue("carol@mx.test.example")
        p = self.mailq("-qI" + a, "--flush")
        self.assertEqual(p.stdout, "%s: no longer queued\n" % a)
        self.assertIn(b"Subject: x", self.m.mbox("alice"))
        # only the selection was delivered
        self.assertEqual(self.m.mbox("carol"), b"")
        self.assertEqual(self.m.queue_files(), sorted("qf" + x for x in (b, c, d)))
        p = self.mailq("-qRremote", "--flush")
        self.assertEqual(p.stdout, "%s: still queued (Deferred: host map: lookup "
                                   "(remote.example): deferred)\n" % b)
        self.assertIn(b"Subject: x", self.m.mbox("bob"))     # its local recipient
        self.assertEqual(self.m.mbox("carol"), b"")


class TestDocs(MailqCase):
    def test_help_and_man_page_name_every_flag(self):
        p = self.mailq("--help")
        flags = set(re.findall(r"(?<![\w-])(--[a-z]+|-[A-Za-z][a-z]?)", p.stdout))
        self.assertGreater(len(flags), 20)
        man = os.path.join(os.path.dirname(__file__), "..", "..", "man", "mailq.1")
        with open(man) as f:
            text = re.sub(r"\bFl (\S+)", r"-\1", f.read().replace("\\&", ""))
        for flag in sorted(flags):
            self.assertIn(flag, text, "man page lacks " + flag)


class TestSafeActions(MailqCase):
    def test_action_without_selection_needs_all(self):
        a, b, c = self.three()
        for action in (["--hold", "x"], ["--release"], ["--delete", "--yes"], ["--flush"],
                       ["--bounce", "--yes"]):
            p = self.mailq(*action, rc=EX_USAGE)
            self.assertIn("to act on the whole queue add --all", p.stderr)
        self.assertEqual(len(self.m.queue_files()), 3)
        self.assertNotIn("\nq", self.qf(a))
        p = self.mailq("--all", "--hold", "maintenance")
        self.assertEqual(sorted(p.stdout.split("\n")[:-1]),
                         sorted("%s: held (maintenance)" % x for x in (a, b, c)))
        self.assertIn("mailq: hold: 3 of 3 selected messages\n", p.stderr)

    def test_value_that_looks_like_a_flag_is_refused(self):
        a, b, c = self.three()
        p = self.mailq("--hold", "-qI" + a, rc=EX_USAGE)
        self.assertIn("-qI%s looks like a flag" % a, p.stderr)
        self.assertIn("--hold=-qI%s" % a, p.stderr)           # what to write if meant
        self.assertNotIn("\nq", self.qf(a))
        for opt in ("--older", "--younger", "--reason", "--show", "--mtad"):
            self.mailq(opt, "--ids", rc=EX_USAGE)
        p = self.mailq("-qI" + a, "--hold=-odd reason")           # explicit: taken
        self.assertIn("\nq-odd reason\n", self.qf(a))

    def test_dry_run_names_what_would_happen_and_changes_nothing(self):
        a, b, c = self.three()
        before = {f: self.qf(f[2:]) for f in self.m.queue_files()}
        for action, word in ((["--hold", "x"], "be held"), (["--delete"], "be deleted"),
                             (["--flush"], "be delivered now"),
                             (["--bounce"], "be returned to its sender")):
            p = self.mailq("-qRmx.test.example", *action, "--dry-run")
            self.assertEqual(sorted(p.stdout.split("\n")[:-1]),
                             sorted("%s: would %s" % (x, word) for x in (a, b)) if word != "be delivered now"
                             else sorted("%s: would be delivered now (held: skipped)" % x for x in (a, b)))
            self.assertIn("--dry-run: 2 messages in %s would" % self.m.queue, p.stderr)
            self.assertIn("nothing changed", p.stderr)
        self.assertEqual({f: self.qf(f[2:]) for f in self.m.queue_files()}, before)
        self.assertNotRegex(self.m.log(), r"mailq\[")
        self.mailq("--dry-run", rc=EX_USAGE)                    # without an action

    def test_every_action_logs_who_what_how_many(self):
        a, b, c = self.three()
        import pwd
        user = pwd.getpwuid(os.getuid()).pw_name
        self.mailq("-qRremote", "--hold", "Spam review")
        self.m.wait_log(r"mailq\[\d+\]: hold by %s \(uid %d\): 1 of 1 message, 0 skipped, 0 failed; "
                        r"selection: -qRremote; reason=Spam review$" % (re.escape(user), os.getuid()))
        self.mailq("-qQ", "--release")
        self.m.wait_log(r"mailq\[\d+\]: release by %s \(uid %d\): 1 of 1 message, 0 skipped, "
                        r"0 failed; selection: -qQ$" % (re.escape(user), os.getuid()))
        self.mailq("--all", "--delete", "--yes")
        self.m.wait_log(r"mailq\[\d+\]: delete by %s \(uid %d\): 3 of 3 messages, 0 skipped, "
                        r"0 failed; selection: --all$" % (re.escape(user), os.getuid()))

    def test_show_prints_envelope_headers_and_body(self):
        a = self.queue("alice@mx.test.example", body="Subject: shown\nX-Tag: t\n\nline one\nline two\n")
        p = self.mailq("--show", a)
        out = p.stdout
        self.assertTrue(out.startswith("*** ENVELOPE RECORDS %s/qf%s ***\n" % (self.m.queue, a)))
        self.assertIn("\nsender:       <root@mx.test.example>\n", out)
        self.assertIn("\nrecipient:    alice@mx.test.example", out)
        contents = out.split("*** MESSAGE CONTENTS %s/qf%s ***\n" % (self.m.queue, a))[1]
        self.assertIn("Subject: shown\nX-Tag: t\n", contents)
        self.assertTrue(contents.endswith("\n\nline one\nline two\n*** END OF MESSAGE %s ***\n" % a))
        p = self.mailq("--show", "k0550J0U003615", rc=66)         # EX_NOINPUT
        self.assertIn("not in %s" % self.m.queue, p.stderr)
        self.mailq("--show", "../../etc/passwd", rc=EX_USAGE)
        self.mailq("--show", a, "-qRx", rc=EX_USAGE)

    def test_json_is_valid_utf8_with_latin1_reasons(self):
        a = self.queue("friend@remote.example")
        self.edit_qf(a, lambda t: t.replace("\n.\n", "\n.\n"))  # (text mode round trip)
        path = os.path.join(self.m.queue, "qf" + a)
        with open(path, "rb") as f:
            raw = f.read()
        raw = raw.replace(b"\nS", b"\nMDeferred: 451 4.7.1 Nachricht zur\xfcckgestellt, sp\xe4ter\nS", 1)
        raw = raw.replace(b"\nN0\n", b"\nN2\n", 1).replace(b"\nK0\n", b"\nK1796361148\n", 1)
        with open(path, "wb") as f:
            f.write(raw)
        p = subprocess.run([binpath("mailq"), "-C", self.m.mc, "--json", "-OMinQueueAge=10m"],
                           capture_output=True, timeout=30, env=ENV)
        self.assertEqual(p.returncode, 0, p.stderr)
        line = p.stdout.decode("utf-8")                       # strict: valid UTF-8
        self.assertIn("zur\\u00fcckgestellt, sp\\u00e4ter", line)
        o = json.loads(line)
        self.assertEqual(o["reason"], "Deferred: 451 4.7.1 Nachricht zur\u00fcckgestellt, sp\u00e4ter")
        self.assertEqual(o["reason_class"], "4xx policy")
        # the retry schedule (issue 19): MinQueueAge doubled per try, so after
        # the second try 2 x 10m
        self.assertEqual((o["attempts"], o["last_attempt"], o["next_retry"]), (2, 1796361148, 1796362348))


class TestBounce(MtadTestCase):
    def test_bounce_returns_the_selection_to_its_senders(self):
        from harness import wait_for as _wait
        m = self.new_mtad(mc_extra="define(`confDELIVERY_MODE', `q')dnl\n")
        ids = []
        for rcpt in ("far@remote.example", "other@remote.example"):
            r = m.run("-odq", "-f", "carol", rcpt, input="Subject: stuck\n\nstuck mail\n")
            self.assertEqual(r.returncode, 0, r.stderr)
        ids = sorted(f[2:] for f in m.queue_files())
        self.assertEqual(len(ids), 2)
        # off a terminal, as --delete, it wants --yes
        p = subprocess.run([binpath("mailq"), "-C", m.mc, "-qI" + ids[0], "--bounce"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 64, p.stderr)
        self.assertIn("--bounce would bounce 1 message; standard input is not a terminal", p.stderr)
        self.assertEqual(len(m.queue_files()), 2)
        p = subprocess.run([binpath("mailq"), "-C", m.mc, "-qI" + ids[0], "--bounce", "--yes"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("mailq: bounce: 1 of 1 selected message\n", p.stderr)
        self.assertEqual(p.stdout, "%s: returned to its sender\n" % ids[0])
        self.assertEqual(m.queue_files(), ["qf" + ids[1]])          # only the selection
        box = m.mbox("carol").decode()
        self.assertIn("Subject: Returned mail: see transcript for details", box)
        self.assertIn("Final-Recipient: RFC822; far@remote.example", box)
        self.assertIn("Status: 5.0.0", box)
        self.assertRegex(m.log(), ids[0] + r": to=far@remote\.example, .*mailer=error, .*dsn=5\.0\.0, "
                                            r"stat=Bounced by the mail administrator")
        self.assertRegex(m.log(), ids[0] + r": \w+: DSN: Bounced by the mail administrator")
