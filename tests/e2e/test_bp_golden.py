"""`mtad -bp` and `mailq` against queues that Debian's sendmail 8.17 wrote,
compared byte for byte with sendmail's own `-bp` listings of them
(tests/data/bp, made by scripts/bp-golden.sh; see its README).  sendmail is
not needed here: the queue files and the listings are golden data."""
import os
import shlex
import shutil
import subprocess
import tempfile
import unittest

from harness import binpath

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "bp")
ENV = dict(os.environ, TZ="UTC")


def cases():
    with open(os.path.join(DATA, "cases.out")) as f:
        for line in f:
            name, _, args = line.rstrip("\n").partition(" ")
            yield name, shlex.split(args)


class GoldenBp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bp-golden-")
        self.q = os.path.join(self.tmp, "q")
        shutil.copytree(os.path.join(DATA, "queue"), self.q)
        self.mc = os.path.join(self.tmp, "empty.mc")
        open(self.mc, "w").close()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def expected(self, name):
        with open(os.path.join(DATA, name), "rb") as f:
            return f.read().replace(b"@QDIR@", self.q.encode())

    def run_tool(self, tool, args):
        argv = [binpath(tool), "-C", self.mc, "-O", "QueueDirectory=" + self.q]
        if tool == "mtad":
            argv.append("-bp")
        p = subprocess.run(argv + args, capture_output=True, timeout=30, env=ENV)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_cases_are_there(self):
        names = [n for n, _ in cases()]
        self.assertGreaterEqual(len(names), 10)
        for n in names:
            self.assertTrue(os.path.exists(os.path.join(DATA, n)), n)

    def test_mtad_bp_equals_sendmail(self):
        for name, args in cases():
            with self.subTest(case=name, args=args):
                self.assertEqual(self.run_tool("mtad", args), self.expected(name))

    def test_mailq_equals_sendmail(self):
        for name, args in cases():
            with self.subTest(case=name, args=args):
                self.assertEqual(self.run_tool("mailq", args), self.expected(name))

    def test_split_queue_is_named_as_sendmail_names_it(self):
        """A queue with qf/, df/ and xf/ subdirectories: sendmail calls it
        "<dir>/df" in the header and in "is empty"."""
        q = os.path.join(self.tmp, "split")
        shutil.copytree(os.path.join(DATA, "queue-split"), q)
        os.makedirs(os.path.join(q, "xf"), exist_ok=True)      # git keeps no empty directory
        for name, args in (("split-bp.out", []), ("split-bp-qQ.out", ["-qQ"])):
            with open(os.path.join(DATA, name), "rb") as f:
                want = f.read().replace(b"@QDIR@", q.encode())
            for tool in ("mtad", "mailq"):
                argv = [binpath(tool), "-C", self.mc, "-O", "QueueDirectory=" + q]
                argv += ["-bp"] if tool == "mtad" else []
                p = subprocess.run(argv + args, capture_output=True, timeout=30, env=ENV)
                self.assertEqual((tool, name, p.stdout), (tool, name, want))

    def listed_ids(self, out):
        return [l.split()[0] for l in out.decode().splitlines()
                if l[:1].isalnum() and not l.startswith("Total")]

    def test_queue_sort_order(self):
        by_prio = self.listed_ids(self.expected("bp.out"))
        self.assertEqual(self.listed_ids(self.run_tool("mtad", [])), by_prio)
        self.assertNotEqual(by_prio, sorted(by_prio))      # the data tells the orders apart
        for order in ("filename", "Filename", "none"):
            out = self.run_tool("mtad", ["-O", "QueueSortOrder=" + order])
            self.assertEqual(self.listed_ids(out), sorted(by_prio))
            self.assertEqual(sorted(out.splitlines()), sorted(self.expected("bp.out").splitlines()))
        out = self.run_tool("mailq", ["-O", "QueueSortOrder=priority", "--ids"])
        self.assertEqual(out.decode().split(), by_prio)
        p = subprocess.run([binpath("mtad"), "-C", self.mc, "-O", "QueueDirectory=" + self.q,
                            "-O", "QueueSortOrder=bogus", "-bp"], capture_output=True, env=ENV)
        self.assertEqual(p.stdout, self.expected("bp.out"))
        self.assertIn(b"QueueSortOrder=bogus is not an order", p.stderr)

    def test_sendmail_qf_files_parse(self):
        """Every file sendmail wrote is read, none listed as unreadable."""
        out = self.run_tool("mailq", []) + self.run_tool("mailq", ["-qQ"])
        self.assertNotIn(b"unreadable", out)
        ids = self.run_tool("mailq", ["--ids"]).split() + self.run_tool("mailq", ["--ids", "-qQ"]).split()
        want = sorted(f[2:].encode() for f in os.listdir(self.q) if f[:2] in ("qf", "hf"))
        self.assertEqual(sorted(ids), want)


if __name__ == "__main__":
    unittest.main()
