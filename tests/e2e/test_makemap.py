"""End-to-end tests for bin/makemap: real runs on temporary directories.

The maps are read back with Berkeley DB's own db5.3_dump (Debian's
db5.3-util), so the check is on the bytes that sendmail reads: the expected
records below are what sendmail 8.17.1's makemap (Debian sendmail-bin)
stores for the same input.  When a sendmail makemap binary is available
(MTA_SENDMAIL_MAKEMAP, or /usr/sbin/makemap from sendmail-bin), the tests
also build every map with it and compare, in both directions.  Debian's
sendmail-bin conflicts with postfix (which the test suite uses), so it is
normally not installed; see the skip message.
"""
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import binpath

MAKEMAP = binpath("makemap")
DB_DUMP = shutil.which("db5.3_dump") or shutil.which("db_dump")

# Sample input: comments, a blank line, trailing spaces kept in the value,
# a tab separator, a key with a colon, a leading-space line (error), a key
# without a value (error) and a duplicate (error unless -r).
INPUT = (
    "# access map\n"
    "\n"
    "Foo  Bar baz  \n"
    "foo2\tx\n"
    "y:z val\n"
    "  lead x\n"
    "novalue\n"
    "Foo again\n"
)


def sendmail_makemap():
    cand = os.environ.get("MTA_SENDMAIL_MAKEMAP")
    if cand:
        return cand
    for p in ("/usr/sbin/makemap", "/usr/libexec/sendmail/makemap"):
        if os.path.exists(p) and os.path.realpath(p) != os.path.realpath(MAKEMAP):
            try:
                out = subprocess.run([p, "-l"], capture_output=True, text=True, timeout=10)
            except OSError:
                continue
            if "hash" in out.stdout:
                return p
    return None


def db_dump(path):
    """Records of a Berkeley DB file as (key, value) byte strings, in the
    file's order, decoded from db_dump -p's printable format."""
    out = subprocess.run([DB_DUMP, "-p", path], capture_output=True, check=True).stdout
    lines = out.split(b"\n")
    i = lines.index(b"HEADER=END") + 1
    vals = []
    while lines[i] != b"DATA=END":
        vals.append(unescape(lines[i][1:]))  # each line starts with a space
        i += 1
    return list(zip(vals[0::2], vals[1::2]))


def db_type(path):
    out = subprocess.run([DB_DUMP, "-p", path], capture_output=True, check=True).stdout
    for line in out.split(b"\n"):
        if line.startswith(b"type="):
            return line[5:].decode()
    return None


def unescape(b):
    res = bytearray()
    i = 0
    while i < len(b):
        if b[i:i + 1] == b"\\":
            if b[i + 1:i + 2] == b"\\":
                res.append(0x5C)
                i += 2
            else:
                res.append(int(b[i + 1:i + 3], 16))
                i += 3
        else:
            res.append(b[i])
            i += 1
    return bytes(res)


class MakemapTest(unittest.TestCase):
    def setUp(self):
        if not DB_DUMP:
            self.skipTest("db5.3_dump not installed (package db5.3-util)")
        self.dir = tempfile.mkdtemp(prefix="test_makemap.")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_mm(self, args, text="", prog=MAKEMAP):
        return subprocess.run([prog] + args, input=text.encode(), capture_output=True,
                              cwd=self.dir, timeout=30)

    # -- building ------------------------------------------------------

    def test_hash_records_as_sendmail_stores_them(self):
        r = self.run_mm(["hash", "access"], INPUT)
        self.assertEqual(r.returncode, 65, r.stderr)  # EX_DATAERR, map still built
        self.assertEqual(r.stderr.decode().splitlines(), [
            "makemap: stdin:6: syntax error (leading space)",
            "makemap: stdin:7: no RHS for LHS novalue",
            "makemap: stdin:8: key foo: duplicate key",
        ])
        db = self.path("access.db")
        self.assertEqual(db_type(db), "hash")
        self.assertEqual(sorted(db_dump(db)), [
            (b"foo", b"Bar baz  "),  # folded key, first value kept, value verbatim
            (b"foo2", b"x"),
            (b"y:z", b"val"),
        ])
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o640)
        self.assertEqual(sorted(os.listdir(self.dir)), ["access.db"])  # no temp left

    def test_btree_sorted_and_db_suffix_not_doubled(self):
        r = self.run_mm(["btree", "m.db"], "c 3\nb 2\na 1\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(db_type(self.path("m.db")), "btree")
        self.assertEqual(db_dump(self.path("m.db")), [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")])
        self.assertFalse(os.path.exists(self.path("m.db.db")))

    def test_N_stores_the_nul(self):
        r = self.run_mm(["-N", "hash", "virtusertable"],
                        "info@Example.COM\tjoe\n@example.com\terror:nouser 550 No such user\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(db_dump(self.path("virtusertable.db"))), [
            (b"@example.com\0", b"error:nouser 550 No such user\0"),
            (b"info@example.com\0", b"joe\0"),
        ])

    def test_f_keeps_case(self):
        r = self.run_mm(["-f", "hash", "m"], "MixedCase Value\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(db_dump(self.path("m.db")), [(b"MixedCase", b"Value")])

    def test_r_replaces_duplicates(self):
        r = self.run_mm(["-r", "hash", "m"], "k first\nK second\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        self.assertEqual(db_dump(self.path("m.db")), [(b"k", b"second")])

    def test_duplicate_is_an_error_naming_the_line(self):
        r = self.run_mm(["btree", "m"], "a 1\nb 2\n\n# c\nA 3\n")
        self.assertEqual(r.returncode, 65)
        self.assertEqual(r.stderr.decode(), "makemap: stdin:5: key a: duplicate key\n")
        self.assertEqual(db_dump(self.path("m.db")), [(b"a", b"1"), (b"b", b"2")])

    def test_delimiter_empty_values_comment_char_append(self):
        r = self.run_mm(["-t", ":", "hash", "d"], "a:b c\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(db_dump(self.path("d.db")), [(b"a", b"b c")])
        r = self.run_mm(["-e", "hash", "e"], "k\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(db_dump(self.path("e.db")), [(b"k", b"")])
        r = self.run_mm(["-D", "%", "hash", "c"], "%comment\n#notcomment x\n")
        self.assertEqual(db_dump(self.path("c.db")), [(b"#notcomment", b"x")])
        # -o adds to the existing map
        r = self.run_mm(["-o", "hash", "d"], "n new\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(db_dump(self.path("d.db"))), [(b"a", b"b c"), (b"n", b"new")])

    def test_rebuild_replaces_the_file_atomically(self):
        self.run_mm(["hash", "m"], "k old\n")
        before = os.stat(self.path("m.db"))
        os.chmod(self.path("m.db"), 0o644)
        r = self.run_mm(["hash", "m"], "k new\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        after = os.stat(self.path("m.db"))
        # a new file renamed over the old one (readers holding the old one
        # keep a complete map), with the old file's mode kept
        self.assertNotEqual(before.st_ino, after.st_ino)
        self.assertEqual(stat.S_IMODE(after.st_mode), 0o644)
        self.assertEqual(db_dump(self.path("m.db")), [(b"k", b"new")])
        self.assertEqual(sorted(os.listdir(self.dir)), ["m.db"])

    # -- dumping -------------------------------------------------------

    def test_u_round_trip(self):
        text = "alice@example.com\tRELAY\nconnect:10.0.0\tREJECT\nspam.example\tERROR:550 go away\n"
        for flags in ([], ["-N"]):
            for t in ("hash", "btree"):
                name = "rt_%s_%d" % (t, len(flags))
                r = self.run_mm(flags + [t, name], text)
                self.assertEqual(r.returncode, 0, r.stderr)
                r = self.run_mm(flags + ["-u", t, name])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(sorted(r.stdout.decode().splitlines()),
                                 sorted(text.splitlines()), (flags, t))
                # and the dump rebuilds the same records
                r2 = self.run_mm(flags + [t, name + "_2"], r.stdout.decode())
                self.assertEqual(r2.returncode, 0, r2.stderr)
                self.assertEqual(sorted(db_dump(self.path(name + ".db"))),
                                 sorted(db_dump(self.path(name + "_2.db"))))
        r = self.run_mm(["-u", "-t", "|", "btree", "rt_btree_0"])
        self.assertEqual(r.stdout.decode().splitlines()[0], "alice@example.com|RELAY")

    def test_errors_and_exit_codes(self):
        r = self.run_mm(["-u", "hash", "missing"])
        self.assertEqual(r.returncode, 73)
        self.assertIn("missing.db: No such file or directory", r.stderr.decode())
        self.run_mm(["btree", "bt"], "a b\n")
        r = self.run_mm(["-u", "hash", "bt"])
        self.assertEqual(r.returncode, 73)
        self.assertIn("bt.db: not a hash map", r.stderr.decode())
        r = self.run_mm(["dbm", "x"], "a b\n")
        self.assertEqual(r.returncode, 64)
        self.assertIn("Unknown database type dbm", r.stderr.decode())
        r = self.run_mm(["hash"])
        self.assertEqual(r.returncode, 64)
        self.assertIn("Usage: makemap", r.stderr.decode())
        r = self.run_mm(["-x", "hash", "m"])
        self.assertEqual(r.returncode, 64)
        r = self.run_mm(["hash", os.path.join(self.dir, "nodir", "m")], "a b\n")
        self.assertEqual(r.returncode, 73)
        self.assertIn("nodir/m.db: No such file or directory", r.stderr.decode())
        r = self.run_mm(["-l"])
        self.assertEqual(r.stdout.decode().split(), ["hash", "btree"])
        r = subprocess.run([MAKEMAP, "--help"], capture_output=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("-N", r.stdout.decode())

    # -- sendmail's own makemap ------------------------------------------

    def test_against_sendmail_makemap(self):
        sm = sendmail_makemap()
        if not sm:
            self.skipTest("sendmail's makemap not available: Debian's sendmail-bin conflicts "
                          "with postfix (mail-transport-agent), so it is not installed; set "
                          "MTA_SENDMAIL_MAKEMAP to a sendmail makemap binary (e.g. extracted "
                          "with apt-get download sendmail-bin; dpkg-deb -x)")
        cf = self.path("empty.cf")
        open(cf, "w").close()
        for flags in ([], ["-N"], ["-f"], ["-r"], ["-N", "-f", "-r"], ["-e"], ["-t", ":"]):
            for t in ("hash", "btree"):
                a = self.run_mm(["-C", cf] + flags + [t, "sm"], INPUT, prog=sm)
                b = self.run_mm(flags + [t, "ours"], INPUT)
                self.assertEqual(a.returncode, b.returncode, (flags, t))
                # same messages, with our stdin:LINE for sendmail's "NAME: line N"
                self.assertEqual(a.stderr.decode().replace("sm: line ", "stdin:"),
                                 b.stderr.decode(), (flags, t))
                self.assertEqual(db_type(self.path("sm.db")), db_type(self.path("ours.db")))
                self.assertEqual(sorted(db_dump(self.path("sm.db"))), sorted(db_dump(self.path("ours.db"))),
                                 (flags, t))
                # each reads the other's map
                ua = self.run_mm(["-C", cf] + flags + ["-u", t, "ours"], prog=sm)
                ub = self.run_mm(flags + ["-u", t, "sm"])
                self.assertEqual(ua.returncode, 0, ua.stderr)
                self.assertEqual(sorted(ua.stdout.splitlines()), sorted(ub.stdout.splitlines()))
                for f in ("sm.db", "ours.db"):
                    os.unlink(self.path(f))


if __name__ == "__main__":
    unittest.main()
