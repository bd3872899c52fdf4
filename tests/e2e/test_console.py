"""mtaconsole driven through a real terminal: tmux runs the console on a
real mtad's configuration (queue-only delivery, so messages stay queued),
keys go in with send-keys and the screen comes back with capture-pane.
Every wait polls the screen or the queue with a deadline (wait_for)."""
import os
import re
import shutil
import subprocess
import unittest

from harness import MtadTestCase, wait_for, binpath

QUEUE_ONLY = "define(`confDELIVERY_MODE', `q')dnl\n"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HAVE_TMUX = shutil.which("tmux") is not None


@unittest.skipUnless(HAVE_TMUX, "tmux is not installed")
class ConsoleCase(MtadTestCase):
    def setUp(self):
        super().setUp()
        self.sock = "mtaconsole-test-%d-%s" % (os.getpid(), self.id().rsplit(".", 1)[-1])
        self.tmux_started = False
        self.quit_checked = False

    def tearDown(self):
        try:
            if self.tmux_started and not self.quit_checked:
                # every session ends cleanly: SIGINT quits, the terminal is
                # restored and the exit status is 0 (under ASan: no leak)
                self.keys("C-c")
                s = self.wait_text("TTY-")
                self.assertIn("TTY-RESTORED rc=0", s)
        finally:
            if self.tmux_started:
                self.tmux("kill-server", check=False)
            super().tearDown()

    # -- tmux -----------------------------------------------------------------
    def tmux(self, *args, check=True):
        r = subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"] + list(args),
                           capture_output=True, text=True, timeout=10)
        if check and r.returncode != 0:
            raise AssertionError("tmux %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def start_console(self, m, *extra, x=80, y=24):
        """Runs the console in a fresh tmux server.  The shell around it
        prints whether the terminal settings after it exited are the ones it
        found, then waits on cat so that the pane stays readable."""
        argv = " ".join("'%s'" % a for a in [binpath("mtaconsole"), "-C", m.mc] + list(extra))
        script = ('trap : INT; a=$(stty -g); %s; rc=$?; b=$(stty -g); '
                  'if [ "$a" = "$b" ]; then echo "TTY-RESTORED rc=$rc"; '
                  'else echo "TTY-CHANGED rc=$rc"; fi; exec cat' % argv)
        self.tmux("new-session", "-d", "-s", "c", "-x", str(x), "-y", str(y),
                  "sh", "-c", script)
        self.tmux_started = True
        self.tmux("set-option", "-t", "c", "status", "off")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "c")

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "c", *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", "c", "-l", "--", text)

    def wait_screen(self, pred, what, timeout=10.0):
        last = [""]

        def check():
            last[0] = self.screen()
            return last[0] if pred(last[0]) else None
        try:
            return wait_for(check, timeout, what)
        except AssertionError:
            raise AssertionError("timed out waiting for %s; screen:\n%s" % (what, last[0]))

    def wait_text(self, *texts, timeout=10.0):
        """Waits until every text is on screen at once (a capture may catch
        the console between two updates, so all are checked together)."""
        return self.wait_screen(lambda s: all(t in s for t in texts), repr(texts), timeout)

    # -- the queue ------------------------------------------------------------
    def queue_mail(self, m, rcpt, subject, body="body\n"):
        before = set(m.queue_files())
        r = m.run("-odq", rcpt, input="Subject: %s\n\n%s" % (subject, body))
        self.assertEqual(r.returncode, 0, r.stderr)
        new = set(m.queue_files()) - before
        self.assertEqual(len(new), 1, new)
        return new.pop()[2:]

    def setup_queue(self):
        m = self.new_mtad(mc_extra=QUEUE_ONLY)
        ids = {}
        for rcpt in ("alice", "bob", "carol"):
            ids[rcpt] = self.queue_mail(m, rcpt, "to %s" % rcpt, "the body for %s\n" % rcpt)
        return m, ids

    def qf_text(self, m, qid):
        with open(os.path.join(m.queue, "qf" + qid)) as f:
            return f.read()

    def select(self, qid):
        """Narrows the queue pane to one message through the filter."""
        self.keys("/")
        self.wait_text("filter (")
        self.keys("C-u")
        self.type("I:" + qid)
        self.keys("Enter")
        self.wait_text("1/")


class ConsoleQueue(ConsoleCase):
    def test_queue_lists_ids_and_enter_opens_the_message(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_screen(lambda s: all(i in s for i in ids.values()) and "3/3 msgs" in s and
                         "queued" in s, "the three IDs")
        # the oldest first: Home then Enter opens alice's message
        self.keys("Home", "Enter")
        s = self.wait_text("Message " + ids["alice"], "Recipients (1)", "Subject: to alice",
                           "Sender")
        self.assertRegex(s, r"(?m)^\s+alice\s")
        # further down: the hops and the log history (from=, through logparse)
        self.keys("End")
        s = self.wait_text("Log history", "from=")
        self.assertNotIn("the body for alice", s)  # only on request
        self.keys("B")
        self.wait_text("the body for alice")
        self.keys("Escape")
        self.wait_text("3/3 msgs")

    def test_filter_narrows_and_clears(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_screen(lambda s: all(i in s for i in ids.values()), "the three IDs")
        self.keys("/")
        self.type("R:bob")
        self.keys("Enter")
        self.wait_screen(lambda s: "1/3 msgs" in s and ids["bob"] in s and
                         ids["alice"] not in s and ids["carol"] not in s, "only bob")
        # negation: everything but bob
        self.keys("/", "C-u")
        self.type("R:!bob")
        self.keys("Enter")
        self.wait_screen(lambda s: "2/3 msgs" in s and ids["alice"] in s and
                         ids["carol"] in s and ids["bob"] not in s, "all but bob")
        # plain text matches a recipient too; a bad selector is refused
        self.keys("/", "C-u")
        self.type("carol")
        self.keys("Enter")
        self.wait_screen(lambda s: "1/3 msgs" in s and ids["carol"] in s and
                         ids["alice"] not in s, "only carol")
        self.keys("/", "C-u", "Enter")
        self.wait_text("3/3 msgs")

    def test_live_refresh_shows_new_mail(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_text("3/3 msgs")
        new = self.queue_mail(m, "alice", "later")
        self.wait_text(new, "4/4 msgs")

    def test_sort_by_size_puts_the_largest_first(self):
        m, ids = self.setup_queue()
        big = self.queue_mail(m, "bob", "big", "x" * 5000 + "\n")
        self.start_console(m)
        self.wait_text(big)
        rows = lambda s: [l for l in s.splitlines() if re.match(r"^[0-9A-Za-z]{14}", l)]
        self.assertNotEqual(rows(self.screen())[0][:14], big)
        self.keys("s")
        self.wait_screen(lambda s: "sort:size" in s and rows(s) and rows(s)[0][:14] == big,
                         "the big message first")
        self.keys("r")
        self.wait_screen(lambda s: "sort:size(rev)" in s and len(rows(s)) == 4 and
                         rows(s)[-1][:14] == big, "the big message last")


class ConsoleActions(ConsoleCase):
    def test_hold_asks_and_holds_through_mailq(self):
        m, ids = self.setup_queue()
        self.start_console(m, x=200)     # room for the whole command line
        self.wait_text(ids["bob"])
        self.select(ids["bob"])
        self.keys("h")
        self.wait_text("hold, reason:")
        self.type("-looks like a flag")
        self.keys("Enter")
        self.wait_text("(y/n)", "mailq -C %s -qI%s '--hold=-looks like a flag'" % (m.mc, ids["bob"]))
        self.assertNotIn("\nq", self.qf_text(m, ids["bob"]))  # nothing yet
        self.keys("y")
        wait_for(lambda: re.search(r"(?m)^q-looks like a flag$", self.qf_text(m, ids["bob"])), 10,
                 "the q record with the reason typed")
        self.wait_text("held:")
        r = subprocess.run([binpath("mailq"), "-C", m.mc, "-qQ", "--ids"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.stdout.split(), [ids["bob"]])
        # the others are untouched
        self.assertNotRegex(self.qf_text(m, ids["alice"]), r"(?m)^q")
        # and u releases it
        self.keys("u")
        self.wait_text("(y/n)")
        self.keys("y")
        wait_for(lambda: not re.search(r"(?m)^q", self.qf_text(m, ids["bob"])), 10,
                 "the q record removed")

    def test_hold_without_a_reason_is_cancelled(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_text(ids["alice"])
        self.keys("H")
        self.wait_text("hold every filtered message, reason:")
        self.keys("Enter")
        self.wait_text("hold cancelled: a reason is needed")
        self.assertFalse(any(re.search(r"(?m)^q", self.qf_text(m, i)) for i in ids.values()))

    def test_bounce_key_returns_the_message_to_its_sender(self):
        m, ids = self.setup_queue()
        self.start_console(m, x=200)     # room for the whole command line
        self.wait_text(ids["carol"])
        self.select(ids["carol"])
        self.keys("b")
        self.wait_text("BOUNCE %s? (y/n)" % ids["carol"], "-qI%s --bounce --yes" % ids["carol"])
        self.assertIn("qf" + ids["carol"], m.queue_files())     # nothing yet
        self.keys("y")
        wait_for(lambda: "qf" + ids["carol"] not in m.queue_files(), 20, "carol's qf gone")
        self.wait_text("--bounce --yes: done")
        # alice and bob stay (the DSN itself may be queued beside them)
        self.assertTrue({"qf" + ids["alice"], "qf" + ids["bob"]} <= set(m.queue_files()))
        wait_for(lambda: re.search(ids["carol"] + r": \w+: DSN: Bounced by the mail administrator",
                                   m.log()), 10, "the DSN log line")

    def test_colon_action_is_confirmed_with_its_count(self):
        m, ids = self.setup_queue()
        self.start_console(m, x=200)     # room for the whole command line
        self.wait_text(ids["alice"])
        self.keys(":")
        self.wait_screen(lambda s: s.rstrip().endswith(":mailq"), "the : prompt")
        self.type("-qR!alice --hold 'spam review'")
        self.keys("Enter")
        self.wait_text("on 2 messages? (y/n)")
        self.assertFalse(any(re.search(r"(?m)^q", self.qf_text(m, i)) for i in ids.values()))
        self.keys("y")
        wait_for(lambda: all(re.search(r"(?m)^qspam review$", self.qf_text(m, ids[u]))
                             for u in ("bob", "carol")), 10, "bob and carol held")
        self.assertNotRegex(self.qf_text(m, ids["alice"]), r"(?m)^q")
        # an action mailq refuses is named, and nothing is asked
        self.keys(":")
        self.wait_screen(lambda s: s.rstrip().endswith(":mailq"), "the : prompt")
        self.type("--delete")
        self.keys("Enter")
        self.wait_text("add --all")
        self.assertEqual(len(m.queue_files()), 3)
        # one that selects nothing is named too
        self.keys(":")
        self.wait_screen(lambda s: s.rstrip().endswith(":mailq"), "the : prompt")
        self.type("-qRnobody-here --flush")
        self.keys("Enter")
        self.wait_text("no message selected")

    def test_damaged_files_stay_visible_under_a_filter(self):
        m, ids = self.setup_queue()
        bad = "k0550J0U003615"
        with open(os.path.join(m.queue, "qf" + bad), "w") as f:
            f.write("V8\nT1136438825\nSroot\n")            # no "." terminator
        self.start_console(m)
        self.wait_text(bad, ids["alice"], "DAMAGED FILES")
        self.keys("/")
        self.type("R:bob")
        self.keys("Enter")
        self.wait_screen(lambda s: bad in s and ids["bob"] in s and ids["alice"] not in s and
                         "2/4 msgs" in s and "DAMAGED FILES" in s, "bob and the damaged file")

    def test_no_does_nothing(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_text(ids["alice"])
        self.select(ids["alice"])
        self.keys("d")
        self.wait_text("DELETE %s? (y/n)" % ids["alice"])
        self.keys("n")
        self.wait_text("cancelled")
        self.assertIn("qf" + ids["alice"], m.queue_files())
        self.assertEqual(len(m.queue_files()), 3)

    def test_flush_delivers_exactly_the_selected_message(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_text(ids["carol"])
        self.select(ids["carol"])
        self.keys("f")
        self.wait_text("(y/n)", "-qI%s --flush" % ids["carol"])
        self.keys("y")
        wait_for(lambda: "qf" + ids["carol"] not in m.queue_files(), 20, "carol's qf gone")
        self.assertIn(b"the body for carol", m.mbox("carol"))
        self.assertEqual(m.mbox("alice"), b"")
        self.assertEqual(sorted(m.queue_files()), sorted("qf" + ids[u] for u in ("alice", "bob")))
        self.wait_text("0/2 msgs")  # the filter still names carol's ID

    def test_delete_filtered_messages(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_text(ids["bob"])
        self.keys("/")
        self.type("R:!alice")
        self.keys("Enter")
        self.wait_text("2/3 msgs")
        self.keys("D")
        self.wait_text("DELETE 2 messages? (y/n)")
        self.keys("y")
        wait_for(lambda: m.queue_files() == ["qf" + ids["alice"]], 10, "only alice left")


    def test_colon_runs_mailq_and_shows_its_output(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_text(ids["alice"])
        self.keys(":")
        self.wait_screen(lambda s: s.rstrip().endswith(":mailq"), "the : prompt")
        self.type("-qRcarol --ids")
        self.keys("Enter")
        s = self.wait_text("mailq output", ids["carol"])
        lines = [l.strip() for l in s.splitlines()]
        self.assertIn(ids["carol"], lines)
        self.assertNotIn(ids["alice"], lines)
        self.keys("Escape")
        self.wait_text("3/3 msgs")


class ConsoleScreen(ConsoleCase):
    def test_quit_restores_the_terminal(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_text(ids["alice"])
        self.assertEqual(self.tmux("display", "-p", "-t", "c", "#{alternate_on}").strip(), "1")
        self.keys("q")
        s = self.wait_text("TTY-RESTORED rc=0")
        self.quit_checked = True
        self.assertNotIn(ids["alice"], s)
        self.assertEqual(self.tmux("display", "-p", "-t", "c", "#{alternate_on}").strip(), "0")
        self.assertEqual(self.tmux("display", "-p", "-t", "c", "#{cursor_flag}").strip(), "1")

    def test_resize_keeps_it_usable(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_text(ids["alice"])
        for (x, y) in ((120, 40), (60, 15), (80, 24)):
            self.tmux("resize-window", "-t", "c", "-x", str(x), "-y", str(y))
            s = self.wait_screen(lambda s: len(s.splitlines()) >= y - 2 and
                                 "3/3 msgs" in s.splitlines()[y - 2] and ids["carol"] in s,
                                 "the layout at %dx%d" % (x, y))
            self.assertIn("mtaconsole", s.splitlines()[0])
        self.keys("Enter")
        self.wait_text("Recipients (1)")

    def colour_codes(self):
        """The SGR colour parameters (30-37, 40-47, 38;5, 48;5) on screen."""
        raw = self.tmux("capture-pane", "-p", "-e", "-t", "c")
        codes = set()
        for params in re.findall(r"\x1b\[([0-9;]*)m", raw):
            for p in params.split(";"):
                if p.isdigit() and (30 <= int(p) <= 48 or 90 <= int(p) <= 107) and \
                        int(p) not in (39, 49):  # 39/49: the default colours
                    codes.add(int(p))
        return codes

    def test_colour_only_when_wanted_and_available(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_text(ids["alice"])
        self.assertTrue(self.colour_codes(), "no colour on a colour terminal")
        self.keys("q")
        self.wait_text("TTY-RESTORED rc=0")
        self.quit_checked = True
        self.tmux("kill-server")
        for extra, env in ((["--no-color"], ""), ([], "TERM=vt100 ")):
            self.sock += "x"
            argv = " ".join("'%s'" % a for a in [binpath("mtaconsole"), "-C", m.mc] + extra)
            self.tmux("new-session", "-d", "-s", "c", "-x", "80", "-y", "24",
                      "sh", "-c", "%s%s; echo EXIT=$?; exec cat" % (env, argv))
            self.wait_text(ids["alice"])
            self.assertEqual(self.colour_codes(), set(), "colours with %s%s" % (env, extra))
            self.keys("q")
            self.wait_text("EXIT=0")  # vt100 has no alternate screen to leave
            self.tmux("kill-server")
        self.tmux_started = False

    def test_panes_and_help(self):
        m, ids = self.setup_queue()
        self.start_console(m)
        self.wait_text(ids["alice"])
        self.keys("2")
        self.wait_screen(lambda s: re.search(r"(?m)^TOTAL\s+3\s+3\b", s), "the TOTAL row")
        self.keys("3")
        self.wait_text("from=")
        self.keys("4")
        self.wait_screen(lambda s: re.search(r"Daemon +pid \d+ running", s) and
                         re.search(r"received\s+\d+\s+[1-9]", s), "the daemon pane")
        self.keys("?")
        s = self.wait_text("Actions")
        self.keys("x")
        self.wait_screen(lambda s: "Actions (asked" not in s, "help closed")
        self.keys("Tab")
        self.wait_text("3/3 msgs")


class ConsoleCommandLine(unittest.TestCase):
    def test_help_lists_every_flag_and_key_in_the_man_page(self):
        r = subprocess.run([binpath("mtaconsole"), "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        with open(os.path.join(ROOT, "man", "mtaconsole.1")) as f:
            man = f.read().replace("\\-", "-").replace("\\(aq", "'")
        man = re.sub(r"\bFl\s+", "-", man)  # mdoc: "Fl -help" is --help
        flags = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", r.stdout))
        for fl in flags:
            self.assertTrue(fl in man, "flag %s of --help is not in the man page" % fl)
        keys = re.findall(r"(?m)^  (\S.*?)\s{2,}", r.stdout.split("Keys:", 1)[1])
        self.assertGreater(len(keys), 15)
        for k in keys:
            for word in re.split(r",\s*|\s*/\s*|\s+", k):
                if word:
                    self.assertTrue(word in man, "key %r of --help is not in the man page" % word)

    def test_refuses_without_a_terminal_and_on_bad_config(self):
        r = subprocess.run([binpath("mtaconsole"), "-O", "QueueDirectory=/tmp"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 64)
        self.assertIn("terminal", r.stderr)
        r = subprocess.run([binpath("mtaconsole"), "-O", "NoSuchOption=1"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 78)
        self.assertIn("NoSuchOption", r.stderr)


if __name__ == "__main__":
    unittest.main()
