"""Every .mc configuration printed in the seeds, loaded by mtad.

tests/data/mc/<seed>-L<line>-<name>.mc are the listings of the seeds
(/work/shared/seeds/*.txt), extracted as printed; what the PDF-to-text
conversion broke is repaired and each repair is named in a `dnl repaired:`
line at the top of the file, next to the `dnl seed:` line that says where
the listing is.

For each file `mtad -C FILE -bC -v -O QueueDirectory=/tmp/x` runs and the
tests check
  * the exit code,
  * the exact `O Name=value` lines (every parameter that differs from its
    default), derived from what the seed says the configuration does,
  * the exact stderr: every macro mtad does not support is reported with
    the file and line, and the m4 warnings the seeds quote
    (promiscuous_relay, greet_pause before access_db) appear.
Where mtad is known to get a value wrong, the lines it gets wrong are left
out of test_options and a separate test, marked expectedFailure with a
"BUG:" comment, asserts the right value.
"""
import functools
import glob
import os
import re
import subprocess
import tempfile
import unittest

import harness

MC_DIR = os.path.join(harness.DATA_DIR, "mc")
# the seeds sit in shared/ beside the checkout (as in CI), or at /work/shared
_BESIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "seeds")
SEEDS_DIR = os.environ.get("MTA_SEEDS_DIR") or (_BESIDE if os.path.isdir(_BESIDE) else "/work/shared/seeds")
QDIR = "/tmp/x"

PROMISCUOUS = ("*** WARNING: FEATURE(`promiscuous_relay') configures your system as open relay.  "
               "Do NOT use it on a server that is connected to the Internet!")
GREET_PAUSE = ("*** WARNING: FEATURE(`greet_pause') before FEATURE(`access_db')"
               "-- greet_pause will not use access_db!")


def mc_path(name):
    return os.path.join(MC_DIR, name)


def line_of(name, text, nth=1):
    """Number of the nth line of the file that contains text."""
    n = 0
    with open(mc_path(name), encoding="ascii") as f:
        for i, line in enumerate(f, 1):
            if text in line:
                n += 1
                if n == nth:
                    return i
    raise AssertionError("%s: no line %d containing %r" % (name, nth, text))


class W:
    """An mtad warning about the line of the file holding `at`."""

    def __init__(self, at, message, nth=1):
        self.at, self.message, self.nth = at, message, nth

    def render(self, name):
        return "mtad: warning: %s:%d: %s" % (mc_path(name), line_of(name, self.at, self.nth),
                                             self.message)


def undef(macro):
    return W("define(`%s'" % macro, "unsupported define `%s' (ignored)" % macro)


class Bug:
    """An `O` line mtad gets wrong: `correct` is what sendmail's m4 would
    configure; actual lines starting with `prefix` are left out of
    test_options and checked by an expectedFailure test instead."""

    def __init__(self, prefix, correct, why):
        self.prefix, self.correct, self.why = prefix, correct, why


class MissingWarning:
    """A warning mtad should print and does not (expectedFailure test)."""

    def __init__(self, pattern, why):
        self.pattern, self.why = pattern, why


class Case:
    def __init__(self, options=(), stderr=(), rc=0, bugs=(), missing=(), note=""):
        self.options = list(options)
        self.stderr = list(stderr)
        self.rc = rc
        self.bugs = list(bugs)
        self.missing = list(missing)
        self.note = note


# confCF_VERSION, __OSTYPE__, confTIME_ZONE and confDONT_INIT_GROUPS have no
# bearing on what mtad does and are accepted quietly
SUBMIT_DEFINES = []
MASQ_SYSIPHUS = ["MasqueradeAs=sysiphus.com", "AllMasquerade=True", "MasqueradeEnvelope=True",
                 "AlwaysAddDomain=True"]
MAILERTABLE = "MailerTable=hash -o /etc/mail/mailertable"
INTERNAL = ["MaxHopCount=50", "SendMimeErrors=False", MAILERTABLE, "PromiscuousRelay=True",
            "AcceptUnqualifiedSenders=True"]
EXTERNAL = ["MaxHopCount=50", "SendMimeErrors=False", MAILERTABLE,
            "MailHub=internal.sysiphus.com"]

PRIVACY_WHY = ("BUG: double-quoted define values keep their inner quotes: "
               "define(`confPRIVACY_FLAGS', ``noexpn,novrfy,noverb,noetrn'') gives "
               "PrivacyOptions=`noexpn,novrfy,noverb,noetrn' (with the quotes), so noexpn and "
               "the last flag are not recognised; m4 strips the inner quotes when cf.m4 "
               "expands the macro (seed 002:4177-4179, 4614-4616)")

CASES = {
    # ---- seed 000: home dial-up (Chapter 4) ----
    # only undefine(`BITNET_RELAY') survived; it needs nothing from mtad
    "000-L20-standalone.mc": Case(),
    "000-L57-ns1-access.mc": Case(["AccessDB=hash -o /etc/mail/access"]),
    "000-L202-mailertable.mc": Case([MAILERTABLE]),
    # ---- seed 001: NELUG dial-up hub for a LAN ----
    "001-L84-nullclient.mc": Case(["NullClient=moriah"]),
    "001-L101-dialup-hub.mc": Case([
        "SmartHost=smtp:mail.isp.example", "MasqueradeAs=isp.example",
        "MasqueradeDomain=lan.example", "AllMasquerade=True",
        "MasqueradeEntireDomain=True", "MasqueradeEnvelope=True"]),
    # ---- seed 002: SANS sendmail course ----
    "002-L2296-submit.mc": Case(["MSPHost=[127.0.0.1]"], [
        undef("_USE_DECNET_SYNTAX_")]),
    "002-L2314-submit-msp-internal.mc": Case(["MSPHost=internal.sysiphus.com"], [
        undef("_USE_DECNET_SYNTAX_")]),
    "002-L2437-internal-first.mc": Case([MAILERTABLE]),
    "002-L2756-mailertable-hash.mc": Case([MAILERTABLE]),
    # the dbm class is refused: lib/map reads hash and btree, and a mailertable
    # that cannot be read would change routing
    "002-L2787-mailertable-dbm.mc": Case([], [
        "mtad: error: %s:3: FEATURE(`mailertable'): map \"dbm -o /etc/mail/mailertable\": "
        "unsupported map class \"dbm\" (hash, btree and ldap are supported)" % mc_path("002-L2787-mailertable-dbm.mc"),
        "mtad: configuration not loaded; fix the line named above"], rc=78),
    "002-L2885-internal-options.mc": Case(INTERNAL, [PROMISCUOUS]),
    "002-L3014-masquerade.mc": Case(MASQ_SYSIPHUS),
    "002-L3102-internal-final.mc": Case(INTERNAL + MASQ_SYSIPHUS, [PROMISCUOUS]),
    "002-L3131-submit-masq-internal.mc": Case(
        ["MSPHost=internal.sysiphus.com"] + MASQ_SYSIPHUS, SUBMIT_DEFINES),
    "002-L3466-submit-masq-local.mc": Case(["MSPHost=[127.0.0.1]"] + MASQ_SYSIPHUS, SUBMIT_DEFINES),
    "002-L4017-external-simple.mc": Case(EXTERNAL),
    # confTO_IDENT `0s' is mtad's default (ident is never done): no O line;
    # ``noexpn,...'' loses its inner quotes as m4 would strip them
    "002-L4169-external-extras.mc": Case(
        EXTERNAL + ["SmtpGreetingMessage=mailer ready", "LocalShellPath=/dev/null",
                    "PrivacyOptions=noexpn,novrfy,noverb,noetrn"]),
    "002-L4604-external-final.mc": Case(
        EXTERNAL + ["SmtpGreetingMessage=mailer ready", "LocalShellPath=/dev/null",
                    "RunAsUser=sendmail:sendmail",
                    "PrivacyOptions=noexpn,novrfy,noverb,noetrn,noreceipts"]),
    "002-L4812-domaintable.mc": Case(["DomainTable=hash -o /etc/mail/domaintable"]),
    "002-L5399-run-as-user.mc": Case(["RunAsUser=sendmail:sendmail"]),
    "002-L5540-internal-domaintable.mc": Case(
        INTERNAL + ["DomainTable=hash -o /etc/mail/domaintable"] + MASQ_SYSIPHUS, [PROMISCUOUS]),
    # confTO_IDENT 0s, confTO_QUEUEWARN 4h and confTO_QUEUERETURN 5d are mtad's defaults
    "002-L8669-timeouts.mc": Case(["MinQueueAge=2h"]),
    "002-L8764-throttling.mc": Case([
        "QueueLA=8", "RefuseLA=12", "ConnectionRateThrottle=5", "MaxQueueChildren=2",
        "MaxDaemonChildren=24"]),
    "002-L9051-throttling-answer.mc": Case([
        "RefuseLA=20", "QueueLA=40", "ConnectionRateThrottle=10", "MaxQueueChildren=2"]),
    # The slide alone: as sendmail's access_db.m4, the warning comes only when
    # an access_db follows (see test_slides_in_course_order below)
    "002-L9553-greet-pause.mc": Case(["GreetPause=1000"]),
    "002-L9615-access-db.mc": Case([
        "AccessDB=hash -o -T<TMPF> /etc/mail/access", "DelayChecks=friend"]),
    "002-L9912-dnsbl.mc": Case([
        "DNSBL=bl.spamcop.net|Rejected- see http://spamcop.net/",
        "DNSBL=sbl-xbl.spamhaus.org|Rejected- see http://www.spamhaus.org",
        "DNSBL=dnsbl.njabl.org|Rejected- see http://njabl.org/",
        "DNSBL=list.dsbl.org|Rejected- see http://dsbl.org/",
        "DNSBL=relays.ordb.org|Rejected- see http://www.ordb.org/"]),
    "002-L9970-milter.mc": Case([
        "MailFilter=greylist, S=local:/var/greylist/greylist.sock, F=T",
        "MailFilter=mimedefang, S=unix:/var/Defang/defang.sock, F=T, T=S:1m;R:1m",
        "InputMailFilters=greylist, mimedefang",
        "Milter.macros.connect=j, {if_addr}", "Milter.macros.envfrom=i"]),
    # greet_pause after access_db, as the seed says to (002:10597): no warning
    "002-L10591-access-greet-pause.mc": Case([
        "AccessDB=hash -o -T<TMPF> /etc/mail/access", "DelayChecks=friend", "GreetPause=1500"]),
    # VIRTUSER_DOMAIN_FILE's -o (optional) is how mtad treats every such file
    "002-L11109-virtusertable.mc": Case([
        "VirtuserDomainFile=/etc/mail/vdoms", "VirtuserTable=hash -o /etc/mail/virtusertable"]),
    "002-L11515-virtual-domains.mc": Case([
        "VirtuserDomainFile=/etc/mail/virtuserdomains",
        "VirtuserTable=hash -o /etc/mail/virtusertable",
        "DomainTable=hash -o /etc/mail/domaintable"]),
    "002-L12019-def-user-id.mc": Case(["DefaultUser=archive:archive"]),
    # SMART_HOST(`host') as printed on the slide (m4 itself only knows
    # define(`SMART_HOST', ...)); mtad takes it as the seed means it
    "002-L12201-list-server.mc": Case([
        "MaxHopCount=50", "SendMimeErrors=False", "PromiscuousRelay=True",
        "SmartHost=internal.sysiphus.com"], [PROMISCUOUS]),
    "002-L12336-luser-relay.mc": Case(["LuserRelay=smtp:internal.sysiphus.com"]),
    "002-L13182-submit-lists.mc": Case(["MSPHost=[127.0.0.1]"], SUBMIT_DEFINES),
    # ---- seed 003: Linux Home Networking mail server ----
    "003-L75-virtusertable.mc": Case(["VirtuserTable=hash -o /etc/mail/virtusertable.db"]),
    # the dnl and '#' lines are not active; the last DAEMON_OPTIONS is
    "003-L161-dnl-comments.mc": Case(["DaemonPortOptions=Port=smtp,Addr=127.0.0.1, Name=MTA"]),
    # everything is commented out: the default listener, no smart host
    "003-L237-listen-all.mc": Case(),
    "003-L268-no-smart-host.mc": Case(),
    "003-L290-custom-sections.mc": Case(),
    "003-L508-genericstable.mc": Case(["GenericsTable=hash -o /etc/mail/genericstable.db"]),
    # the Spamcop message's $`'& loses its empty quote as m4 would remove it
    "003-L728-dnsbl.mc": Case(
        [
            'DNSBL=ipwhois.rfc-ignorant.org|"550 Mail from " $&{client_addr} " refused. '
            'Rejected for bad WHOIS info on IP of your SMTP server - see http://www.rfc-ignorant.org/"',
            'DNSBL=proxies.blackholes.easynet.nl|"550 5.7.1 ACCESS DENIED to OPEN PROXY SERVER "'
            '$&{client_name}" by easynet.nl DNSBL (http://proxies.blackholes.easynet.nl/errors.html)"',
            'DNSBL=relays.ordb.org|"550 Email rejected due to sending server misconfiguration - '
            'see http://www.ordb.org/faq/\\#why_rejected"',
            'DNSBL=bl.spamcop.net|"450 Mail from " $&{client_addr} " refused - see '
            'http://spamcop.net/bl.shtml"',
            "DNSBL=sbl.spamhaus.org|Rejected - see http://spamhaus.org/",
        ]),
    "003-L1116-milter-greylist.mc": Case([
        "Milter.macros.connect=j, {if_addr}", "Milter.macros.helo={verify}, {cert_subject}",
        "Milter.macros.envfrom=i, {auth_authen}", "Milter.macros.envrcpt={greylist}"]),
    # ---- seed 004: TrinityOS section 25 ----
    # FEATURE(use_cw_file) and PROCMAIL_MAILER_PATH /usr/bin/procmail are
    # mtad's defaults; FEATURE(access_db) without arguments is
    # hash /etc/mail/access
    "004-L140-trinityos-8.11.mc": Case([
        "NoUUCP=True", "LocalProcmail=/usr/bin/procmail",
        "MasqueradeAs=acme123.com", "MasqueradeDomain=acme123.com",
        "MasqueradeEntireDomain=True", "MasqueradeEnvelope=True", "AlwaysAddDomain=True",
        "DNSBL=bl.spamcop.net|Mail rejected - Open spam relay - see "
        "http://spamcop.net/bl.shtml? $&{client_addr}",
        "DNSBL=unconfirmed.dsbl.org|Rejected - See http://unconfirmed.dsbl.org/",
        "DNSBL=relays.ordb.org|Mail rejected - Open spam relay - see http://ordb.org/",
        "SmtpGreetingMessage=",
        "PrivacyOptions=authwarnings noexpn novrfy needmailhelo noetrn",
        "AccessDB=hash /etc/mail/access", "RelayMailFrom=True", "HelpFile="]),
    "004-L227-trinityos-8.9.mc": Case([
        "NoUUCP=True", "LocalProcmail=/usr/bin/procmail",
        "MasqueradeAs=acme123.com", "MasqueradeDomain=acme123.com",
        "MasqueradeEntireDomain=True", "MasqueradeEnvelope=True", "AlwaysAddDomain=True",
        "SmtpGreetingMessage=",
        "PrivacyOptions=authwarnings noexpn novrfy needmailhelo noetrn",
        "DNSBL=rbl.maps.vix.com"]),
    # /usr/bin/procmail is mtad's ProcmailPath default: nothing differs
    "004-L334-procmail-path.mc": Case(),
}


@functools.lru_cache(maxsize=None)
def run_mtad(path, qdir=QDIR):
    p = subprocess.run([harness.binpath("mtad"), "-C", path, "-bC", "-v", "-O",
                        "QueueDirectory=" + qdir],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def o_lines(stdout):
    out = []
    for line in stdout.splitlines():
        if not line.startswith("O "):
            raise AssertionError("unexpected stdout line %r" % line)
        out.append(line[2:])
    return out


def by_name(lines):
    """name -> values in order (repeatable options keep their order)."""
    d = {}
    for l in lines:
        name, _, value = l.partition("=")
        d.setdefault(name, []).append(value)
    return d


class SeedMcBase(unittest.TestCase):
    name = None
    case = None

    def result(self):
        return run_mtad(mc_path(self.name))

    def expected_options(self):
        if self.case.rc:
            return []       # a configuration that does not load prints nothing
        return self.case.options + ["QueueDirectory=" + QDIR]

    def test_exit_code(self):
        rc, out, err = self.result()
        self.assertEqual(rc, self.case.rc, err)

    def test_options(self):
        rc, out, err = self.result()
        bad = [b.prefix for b in self.case.bugs]
        actual = [l for l in o_lines(out) if not l.startswith(tuple(bad))] if bad else o_lines(out)
        expected = [l for l in self.expected_options()
                    if l not in [b.correct for b in self.case.bugs]]
        self.assertEqual(by_name(actual), by_name(expected), out)

    def test_stderr(self):
        rc, out, err = self.result()
        lines = err.splitlines()
        for m in self.case.missing:
            lines = [l for l in lines if not re.search(m.pattern, l)]
        expected = [w.render(self.name) if isinstance(w, W) else w for w in self.case.stderr]
        self.assertEqual(lines, expected)
        # every mtad warning and error names the file and the line
        for l in lines:
            if l.startswith("mtad: warning: ") or l.startswith("mtad: error: "):
                self.assertRegex(l, r"^mtad: (warning|error): " + re.escape(mc_path(self.name)) + r":\d+: ")

    def test_provenance(self):
        with open(mc_path(self.name), encoding="ascii") as f:
            head = f.readline()
        seed, line = self.name.split("-")[0], int(self.name.split("-")[1][1:])
        self.assertRegex(head, r"^dnl seed: %s_[0-9a-f]+\.txt line %d(-\d+)?: " % (seed, line))


def _bug_test(bug):
    def test(self):
        rc, out, err = self.result()
        got = [l for l in o_lines(out) if l.startswith(bug.prefix)]
        self.assertEqual(got, [bug.correct], bug.why)
    test.__doc__ = bug.why
    return unittest.expectedFailure(test)


def _missing_test(m):
    def test(self):
        rc, out, err = self.result()
        self.assertTrue(any(re.search(m.pattern, l) for l in err.splitlines()), m.why)
    test.__doc__ = m.why
    return unittest.expectedFailure(test)


def _class_name(name):
    return "Seed_" + re.sub(r"[^0-9A-Za-z]", "_", name[:-3])


for _name, _case in sorted(CASES.items()):
    _attrs = {"name": _name, "case": _case}
    for _i, _b in enumerate(_case.bugs):
        _attrs["test_bug_%d_%s" % (_i + 1, re.sub(r"\W", "", _b.prefix))] = _bug_test(_b)
    for _i, _m in enumerate(_case.missing):
        _attrs["test_bug_missing_warning_%d" % (_i + 1)] = _missing_test(_m)
    globals()[_class_name(_name)] = type(_class_name(_name), (SeedMcBase,), _attrs)
del SeedMcBase          # only the generated classes hold tests


class SeedMcCorpus(unittest.TestCase):
    def test_every_file_has_expectations(self):
        files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(MC_DIR, "*.mc")))
        self.assertEqual(files, sorted(CASES))

    def test_files_match_the_seeds(self):
        """A file without `dnl repaired:` lines is the seed's lines verbatim."""
        if not os.path.isdir(SEEDS_DIR):
            self.skipTest("seeds not found in " + SEEDS_DIR)
        seeds = {os.path.basename(p)[:3]: p for p in glob.glob(os.path.join(SEEDS_DIR, "*.txt"))}
        for name in sorted(CASES):
            with open(mc_path(name), encoding="ascii") as f:
                lines = f.read().split("\n")[:-1]
            m = re.match(r"dnl seed: (\S+) line (\d+)(?:-(\d+))?: ", lines[0])
            self.assertIsNotNone(m, name)
            head = 1 + sum(1 for l in lines[1:] if l.startswith("dnl repaired: "))
            self.assertTrue(all(l.startswith("dnl repaired: ") for l in lines[1:head]), name)
            with open(seeds[name[:3]], encoding="utf-8") as f:
                seed_lines = f.read().split("\n")
            a, b = int(m.group(2)), int(m.group(3) or m.group(2))
            self.assertEqual(os.path.basename(seeds[name[:3]]), m.group(1), name)
            if head == 1:
                self.assertEqual(lines[head:], seed_lines[a - 1:b], name)
            else:
                self.assertEqual(len(lines) - head, b - a + 1, name)

    def test_slides_in_course_order_warn_greet_pause_before_access_db(self):
        """Seed 002:9800-9811: greet_pause (slide 9553) declared before
        access_db (slide 9615) draws m4's warning; both still apply."""
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "external.mc")
            with open(path, "w") as out:
                for name in ("002-L9553-greet-pause.mc", "002-L9615-access-db.mc"):
                    with open(mc_path(name)) as f:
                        out.write(f.read())
            rc, out, err = run_mtad(path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.splitlines(), [GREET_PAUSE])
        self.assertEqual(by_name(o_lines(out)), by_name([
            "QueueDirectory=" + QDIR, "GreetPause=1000",
            "AccessDB=hash -o -T<TMPF> /etc/mail/access", "DelayChecks=friend"]))

    def test_access_db_before_greet_pause_no_warning(self):
        """The order the seed recommends (002:10597): no warning."""
        rc, out, err = run_mtad(mc_path("002-L10591-access-greet-pause.mc"))
        self.assertNotIn(GREET_PAUSE, err)

    def test_promiscuous_relay_warning_as_quoted(self):
        """The seed prints m4's warning wrapped over three lines (002:2974-2976)."""
        quoted = ("*** WARNING: FEATURE(`promiscuous_relay') configures  \n"
                  "    your system as open relay.  Do NOT use it on a  \n"
                  "    server that is connected to the Internet! ")
        unwrapped = re.sub(r" *\n +", " ", quoted).strip()
        self.assertEqual(unwrapped, PROMISCUOUS)
        rc, out, err = run_mtad(mc_path("002-L3102-internal-final.mc"))
        self.assertIn(PROMISCUOUS, err.splitlines())


if __name__ == "__main__":
    unittest.main()
