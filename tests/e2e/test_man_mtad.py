"""The mtad man pages cannot drift from the code: every flag that
`mtad --help` prints is documented in man/mtad.8, and every parameter of
lib/config.c's table (its -O name, and its .mc name when that is a plain
macro name) is documented in man/mtad.mc.5, and so is every FEATURE of that
table, as FEATURE(`name'), with the default argument mtad/conf_load.c gives
a bare FEATURE(`name').  The pages are also checked to render without groff
warnings when groff is installed."""
import os
import re
import shutil
import subprocess
import unittest

from harness import binpath

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MAN = os.path.join(ROOT, "man")
CONFIG_C = os.path.join(ROOT, "lib", "config.c")
CONF_LOAD_C = os.path.join(ROOT, "lib", "conf_mc.c")
PAGES = ("mtad.8", "mtad.log.5", "mtad.qf.5", "mtad.mc.5")

# A font change (or a join of alternating-font macro arguments) is kept as
# this mark, so that "\fB\-qR\fIsubstr" reads as "-qR" + MARK + "substr":
# a flag must then be a whole bold/roman token, not the prefix of a longer one.
MARK = "\x00"
ALTERNATING = {"BR", "BI", "RB", "RI", "IB", "IR"}


def split_args(rest):
    """Splits a macro line's arguments as troff does (double quotes group)."""
    args, cur, quoted, i = [], "", False, 0
    while i < len(rest):
        c = rest[i]
        if c == '"':
            if quoted and i + 1 < len(rest) and rest[i + 1] == '"':
                cur += '"'
                i += 2
                continue
            quoted = not quoted
        elif c == " " and not quoted:
            if cur:
                args.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    if cur:
        args.append(cur)
    return args


def unescape(text):
    text = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", MARK, text)
    text = text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    text = text.replace("\\(dq", '"').replace("\\ ", " ").replace("\\(bu", "*")
    return text


def man_text(name):
    """The words of a page, with macro names dropped and fonts marked."""
    out = []
    with open(os.path.join(MAN, name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(('.\\"', "'\\\"")):
                continue
            if line.startswith("."):
                m = re.match(r"\.(\S+)\s*(.*)", line)
                if not m:
                    continue
                macro, rest = m.group(1), m.group(2)
                args = split_args(rest)
                if macro in ALTERNATING:
                    line = MARK.join(args)
                else:
                    line = " ".join(args)
            out.append(unescape(line))
    return "\n".join(out)


def help_flags():
    """Every flag named in the flag column of `mtad --help`."""
    p = subprocess.run([binpath("mtad"), "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    flags = []
    for line in p.stdout.splitlines():
        if not re.match(r"  -", line):
            continue
        column = re.split(r"\s{2,}", line.strip())[0]  # "-qR/-qS/-qI[!]sub", "-Ac / -Am"
        for word in re.split(r"[\s,/]+", column):
            word = re.sub(r"[\[<].*$", "", word)  # "-q[time]" -> "-q", "-o<x>[value]" -> "-o"
            if re.match(r"--?[A-Za-z]", word):
                flags.append(word)
    return flags


def config_params():
    """(-O name, .mc name) of every entry of lib/config.c's table."""
    with open(CONFIG_C, encoding="utf-8") as f:
        text = f.read()
    return re.findall(r'\{\s*C_[A-Z0-9_]+\s*,\s*"([^"]+)"\s*,\s*"([^"]+)"', text)


def feature_defaults():
    """(name, default argument) of conf_load.c's feature_defaults table."""
    with open(CONF_LOAD_C, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"feature_defaults\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    assert m, "feature_defaults table not found in mtad/conf_load.c"
    return re.findall(r'\{\s*"([^"]+)"\s*,\s*"([^"]*)"\s*\}', m.group(1))


def documented(flag, text):
    return re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w.-])", text) is not None


class ManMtad(unittest.TestCase):
    def test_help_flags_in_mtad_8(self):
        flags = help_flags()
        self.assertGreater(len(flags), 15, flags)
        for must in ("-bd", "-bD", "-bs", "-bm", "-bp", "-bC", "-q", "-d0.1", "-C", "-O",
                     "-o", "-L", "-f", "-F", "-t", "-i", "-v", "-Ac", "-Am", "--help",
                     "--version"):
            self.assertIn(must, flags, "flag parsing of --help lost %s" % must)
        text = man_text("mtad.8")
        missing = [f for f in flags if not documented(f, text)]
        self.assertEqual(missing, [], "flags in `mtad --help` missing from man/mtad.8")

    def test_config_params_in_mtad_mc_5(self):
        params = config_params()
        self.assertGreater(len(params), 25, "could not read the table of lib/config.c")
        text = man_text("mtad.mc.5")
        missing = [o for o, _ in params if not documented(o, text)]
        self.assertEqual(missing, [], "-O names of lib/config.c missing from man/mtad.mc.5")
        missing = [mc for _, mc in params
                   if re.fullmatch(r"\w+", mc) and not documented(mc, text)]
        self.assertEqual(missing, [], ".mc names of lib/config.c missing from man/mtad.mc.5")

    def test_features_in_mtad_mc_5(self):
        features = [m.group(1) for _, mc in config_params()
                    for m in [re.fullmatch(r"FEATURE\((\w+)\)", mc)] if m]
        self.assertGreater(len(features), 15, "could not read the FEATUREs of lib/config.c")
        text = man_text("mtad.mc.5")
        missing = [f for f in features if "FEATURE(`%s')" % f not in text]
        self.assertEqual(missing, [], "FEATUREs of lib/config.c missing from man/mtad.mc.5 "
                                      "(written FEATURE(`name'))")
        defaults = feature_defaults()
        self.assertGreater(len(defaults), 5, "could not read conf_load.c's feature_defaults")
        missing = [(n, d) for n, d in defaults
                   if not documented(n, text) or not documented(d, text)]
        self.assertEqual(missing, [], "default FEATURE arguments of mtad/conf_load.c missing "
                                      "from man/mtad.mc.5")

    def test_pages_render_without_warnings(self):
        groff = shutil.which("groff")
        if groff is None:
            self.skipTest("groff not installed")
        for page in PAGES:
            p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", os.path.join(MAN, page)],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual((p.returncode, p.stderr), (0, ""), page)


if __name__ == "__main__":
    unittest.main()
