"""Shows (or, with --write, rewrites) the expectations of the hdrtrace
corpus cases in tests/data/hdrtrace/corpus/*.expect.json from the current
bin/hdrtrace, so that a change of behaviour is reviewed case by case:

    MTA_BINDIR=$PWD/bin python3 tests/e2e/hdrtrace_golden.py [--write] [NAME...]

Without --write it prints the runs whose output differs from the file."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DATA_DIR, binpath  # noqa: E402
from test_hdrtrace import summary  # noqa: E402

CDIR = os.path.join(DATA_DIR, "hdrtrace", "corpus")


def main(argv):
    write = "--write" in argv
    names = [a for a in argv if not a.startswith("--")]
    changed = 0
    for case in sorted(f for f in os.listdir(CDIR) if f.endswith(".expect.json")):
        if names and case[:-len(".expect.json")] not in names:
            continue
        path = os.path.join(CDIR, case)
        with open(path) as f:
            spec = json.load(f)
        for run in spec["runs"]:
            args = [a.replace("@DIR@", CDIR) for a in run["args"]]
            p = subprocess.run([binpath("hdrtrace"), "--json"] + args +
                               [os.path.join(CDIR, spec["input"])], capture_output=True, text=True)
            got = [summary(json.loads(l)) for l in p.stdout.splitlines() if l.strip()]
            if got != run["expect"]:
                changed += 1
                print("%s %s:\n  was %s\n  now %s" % (case, run["args"], run["expect"], got))
                run["expect"] = got
        if write:
            with open(path, "w") as f:
                json.dump(spec, f, indent=1)
                f.write("\n")
    return 1 if changed and not write else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
