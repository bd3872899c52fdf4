"""End-to-end tests for bin/loggrep: real binary, generated log files
(plain, rotated, gzipped, stdin), exact output."""
import gzip
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import DATA_DIR, binpath

DATA = os.path.join(DATA_DIR, "loggrep")
ENV = dict(os.environ, TZ="UTC")


def stamp(y, mo, d, h=12, mi=0):
    return time.mktime((y, mo, d, h, mi, 0, 0, 0, -1))


def read_data(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read().decode("utf-8", "surrogateescape")


def grep_f(text, needle):
    """What grep -F needle prints: loggrep ID prints at least these lines."""
    return [l for l in text.splitlines() if needle in l]


def summary_ids(out):
    """The queue IDs of --summary lines (the "# " lines after them skipped)."""
    return [l.split()[4] for l in out.splitlines() if not l.startswith("#")]


def lines_with(text, needle):
    """The lines whose queue ID (after "tag[pid]: ") is needle ("QID: ")."""
    return [l for l in text.splitlines() if "]: " + needle in l]


class LoggrepCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="loggrep-e2e-")
        os.environ["TZ"] = "UTC"
        time.tzset()
        self.lists = self.put("lists.maillog", read_data("lists.maillog"), stamp(2006, 1, 6))
        self.int1 = self.put("int1.maillog", read_data("int1.maillog"), stamp(2006, 1, 6))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def put(self, name, text, mtime=None, gz=False):
        path = os.path.join(self.tmp, name)
        data = text.encode("utf-8", "surrogateescape")
        if gz:
            with gzip.open(path, "wb") as f:
                f.write(data)
        else:
            with open(path, "wb") as f:
                f.write(data)
        if mtime:
            os.utime(path, (mtime, mtime))
        return path

    def run_lg(self, *args, stdin=None, env=None, rc=None, names=False):
        """names=False: --no-filename, the lines as they are."""
        pre = [] if names else ["--no-filename"]
        p = subprocess.run([binpath("loggrep")] + pre + list(args), input=stdin,
                           capture_output=True, text=True, timeout=30,
                           env=env or ENV, errors="surrogateescape")
        if rc is not None:
            self.assertEqual(p.returncode, rc, p.stderr)
        return p

    def expect(self, out, *groups):
        """groups: lists of lines; blank line between groups."""
        want = "\n\n".join("\n".join(g) for g in groups) + "\n"
        self.assertEqual(out, want)


class TestQueries(LoggrepCase):
    def test_queue_id_whole_transaction(self):
        p = self.run_lg("k0679Vv6002665", self.lists, rc=0)
        self.expect(p.stdout, grep_f(read_data("lists.maillog"), "k0679Vv6002665"))

    def test_two_ids_two_transactions_blank_between(self):
        p = self.run_lg("k0679Vv6002665", "k0679ZZz002700", self.lists, rc=0)
        text = read_data("lists.maillog")
        self.expect(p.stdout, grep_f(text, "k0679Vv6002665"),
                    lines_with(text, "k0679ZZz002700: "))

    def test_lines_sorted_by_time(self):
        # int1.maillog has a retry line written out of order
        p = self.run_lg("k05E0K0T004746", self.int1, rc=0)
        got = p.stdout.splitlines()
        self.assertEqual(len(got), 5)
        self.assertIn("23:39:33", got[-1])
        self.assertEqual(sorted(got, key=lambda l: l[:15]), got)

    def test_address_matches_sender_and_recipient(self):
        text = read_data("lists.maillog")
        p = self.run_lg("alice@deer-run.com", self.lists, rc=0)
        self.expect(p.stdout, lines_with(text, "k0679VXa002668: "),
                    lines_with(text, "k0679VXb002668: "))

    def test_address_case_insensitive_and_brackets(self):
        p1 = self.run_lg("Alice@Deer-Run.COM", self.lists, rc=0)
        p2 = self.run_lg("<alice@deer-run.com>", self.lists, rc=0)
        p3 = self.run_lg("alice@deer-run.com", self.lists, rc=0)
        self.assertEqual(p1.stdout, p3.stdout)
        self.assertEqual(p2.stdout, p3.stdout)

    def test_domain_with_subdomains(self):
        p = self.run_lg("--summary", "@sysiphus.com", self.lists, self.int1, rc=0)
        ids = summary_ids(p.stdout)
        self.assertEqual(ids, ["k0679VWl002666", "k0679VXa002668", "k05E0K0T004746"])
        p = self.run_lg("--summary", "@elsewhere.org", self.lists, rc=0)
        self.assertEqual(summary_ids(p.stdout), ["k0679ZZz002700"])

    def test_msgid(self):
        p = self.run_lg("--summary", "<200601060709.k0679Vv6002665@lists.sysiphus.com>",
                        self.lists, self.int1, rc=0)
        ids = summary_ids(p.stdout)
        self.assertEqual(ids, ["k0679Vv6002665", "k0679VWl002666", "k05E0K0T004746"])

    def test_client_ip_rejection_and_lost_input(self):
        text = read_data("lists.maillog")
        p = self.run_lg("198.51.100.7", self.lists, rc=0)
        self.expect(p.stdout, lines_with(text, "k0679ZZz002700: "))

    def test_did_not_issue_by_ip(self):
        p = self.run_lg("--summary", "ip:127.0.0.1", self.lists, rc=0)
        self.assertEqual(p.stdout.splitlines()[-1],
                         "Jan  5 23:10:05 lists k067A5aa002701 from=- to=- stat=no MAIL")

    def test_host_name(self):
        p = self.run_lg("--summary", "mail.deer-run.com", self.lists, rc=0)
        ids = summary_ids(p.stdout)
        self.assertEqual(ids, ["k0679VXa002668", "k0679VXb002668"])

    def test_junk_lines_do_not_break_transactions(self):
        text = read_data("lists.maillog")
        self.assertIn("binary junk", text)
        p = self.run_lg("k0679VWl002666", self.lists, rc=0)
        self.expect(p.stdout, grep_f(text, "k0679VWl002666"))

    def test_no_match_exit_1(self):
        p = self.run_lg("nobody@nowhere.example", self.lists, rc=1)
        self.assertEqual(p.stdout, "")

    def test_quiet(self):
        p = self.run_lg("-q", "k0679Vv6002665", self.lists, rc=0)
        self.assertEqual(p.stdout, "")
        self.run_lg("-q", "k0000000000000", self.lists, rc=1)

    def test_errors_exit_2(self):
        p = self.run_lg("k0679Vv6002665", os.path.join(self.tmp, "missing.log"), rc=66)
        self.assertIn("missing.log", p.stderr)
        self.run_lg("--since=yesterdayish", "k0679Vv6002665", self.lists, rc=64)
        self.run_lg(self.lists, rc=64)
        self.run_lg("--bogus", "k0679Vv6002665", self.lists, rc=64)
        # a match plus an unreadable file: still 2, but the match is printed
        p = self.run_lg("k0679Vv6002665", self.lists, os.path.join(self.tmp, "nope"), rc=66)
        self.assertIn("k0679Vv6002665", p.stdout)


class TestInputs(LoggrepCase):
    def rotated(self):
        text = read_data("lists.maillog").splitlines(True)
        d = os.path.join(self.tmp, "log")
        os.makedirs(d)
        # one transaction spread over three generations
        self.put("log/mail.log.2.gz", "".join(text[0:3]), stamp(2006, 1, 6), gz=True)
        self.put("log/mail.log.1", "".join(text[3:6]), stamp(2006, 1, 6))
        self.put("log/mail.log", "".join(text[6:]), stamp(2006, 1, 6))
        self.put("log/syslog", "".join(text), stamp(2006, 1, 6))   # not read: mail.log wins
        return d

    def test_rotated_default_places(self):
        d = self.rotated()
        env = dict(ENV, LOGGREP_LOGDIR=d)
        p = self.run_lg("k0679VWl002666", env=env, rc=0)
        self.expect(p.stdout, grep_f(read_data("lists.maillog"), "k0679VWl002666"))

    def test_rotated_files_named_in_any_order(self):
        d = self.rotated()
        p = self.run_lg("k0679VWl002666", os.path.join(d, "mail.log"),
                        os.path.join(d, "mail.log.1"), os.path.join(d, "mail.log.2.gz"), rc=0)
        self.expect(p.stdout, grep_f(read_data("lists.maillog"), "k0679VWl002666"))

    def test_gz_by_content(self):
        path = self.put("compressed", read_data("int1.maillog"), stamp(2006, 1, 6), gz=True)
        p = self.run_lg("k05E0K0T004746", path, rc=0)
        self.assertEqual(len(p.stdout.splitlines()), 5)

    def test_stdin(self):
        p = self.run_lg("k0679Vv6002665", "-", stdin=read_data("lists.maillog"), rc=0)
        self.expect(p.stdout, grep_f(read_data("lists.maillog"), "k0679Vv6002665"))

    def test_no_default_logs_exit_2(self):
        env = dict(ENV, LOGGREP_LOGDIR=self.tmp + "/empty")
        os.makedirs(self.tmp + "/empty")
        p = self.run_lg("k0679Vv6002665", env=env, rc=66)
        self.assertIn("no mail log", p.stderr)

    def test_long_line_and_no_final_newline(self):
        big = "x" * (9 << 20)
        text = ("Feb  1 10:00:00 h sm-mta[1]: k11A0000000001: from=<a@b.example>, size=1, "
                "class=0, nrcpts=1, msgid=<%s@b>, proto=ESMTP, daemon=MTA, relay=c [192.0.2.1]\n"
                "Feb  1 10:00:01 h sm-mta[1]: k11A0000000001: to=<c@d.example>, stat=Sent" % big)
        path = self.put("big.log", text, stamp(2006, 2, 2))
        p = self.run_lg("--summary", "k11A0000000001", path, rc=0)
        self.assertEqual(p.stdout,
                         "Feb  1 10:00:00 h k11A0000000001 from=<a@b.example> to=c@d.example stat=Sent\n")


class TestFollow(LoggrepCase):
    MSP = "k0679Vv6002665"
    MTA = "k0679VWl002666"
    NEXT = "k05E0K0T004746"

    def test_msp_mta_next_host(self):
        text = read_data("lists.maillog")
        other = read_data("int1.maillog")
        p = self.run_lg("--follow", self.MSP, self.lists, self.int1, rc=0)
        int1_lines = sorted(lines_with(other, self.NEXT + ": "), key=lambda l: l[:15])
        self.expect(
            p.stdout,
            lines_with(text, self.MSP + ": "),
            ["# link k0679Vv6002665 on lists -> k0679VWl002666 on lists: hand-off, "
             "stat=Sent (k0679VWl002666 Message accepted for delivery)"]
            + lines_with(text, self.MTA + ": "),
            ["# link k0679VWl002666 on lists -> k05E0K0T004746 on int1: hand-off, "
             "stat=Sent (k05E0K0T004746 Message accepted for delivery)"] + int1_lines)
        for l in p.stdout.splitlines():
            self.assertTrue(l == "" or l.startswith("# ") or l in text or l in other, l)

    def test_follow_upstream_from_last_hop(self):
        p = self.run_lg("--follow", "--summary", self.NEXT, self.lists, self.int1, rc=0)
        ids = summary_ids(p.stdout)
        self.assertEqual(ids, [self.MSP, self.MTA, self.NEXT])

    def test_without_follow_only_the_id(self):
        p = self.run_lg("--summary", self.MSP, self.lists, self.int1, rc=0)
        self.assertEqual(len(p.stdout.splitlines()), 1)

    def test_dsn_child_and_unresolved_next_hop(self):
        text = read_data("lists.maillog")
        p = self.run_lg("--follow", "k0679VXa002668", self.lists, rc=0)
        self.expect(
            p.stdout,
            lines_with(text, "k0679VXa002668: "),
            ["# link k0679VXa002668 on lists -> k0679VXb002668 on lists: DSN, "
             "k0679VXb002668: DSN: User unknown"]
            + lines_with(text, "k0679VXb002668: ")
            + ["# link k0679VXb002668 on lists -> k067AAAA009999: not in the logs read; "
               "hand-off, stat=Sent (k067AAAA009999 Message accepted for delivery)"])

    def test_msgid_link_without_handoff(self):
        # the MSP line says only "stat=Sent": the msgid is the only link
        log = ("Mar  1 10:00:00 h sendmail[10]: k21A000a000010: from=root, size=5, class=0, "
               "nrcpts=1, msgid=<m1@h.example>, relay=root@localhost\n"
               "Mar  1 10:00:00 h sm-mta[11]: k21A000b000011: from=<root@h.example>, size=300, "
               "class=0, nrcpts=1, msgid=<m1@h.example>, proto=ESMTP, daemon=MTA, "
               "relay=localhost [127.0.0.1]\n"
               "Mar  1 10:00:00 h sendmail[10]: k21A000a000010: to=bob, ctladdr=root (0/0), "
               "delay=00:00:00, mailer=relay, pri=30005, relay=[127.0.0.1], dsn=2.0.0, stat=Sent\n")
        path = self.put("m.log", log, stamp(2006, 3, 2))
        p = self.run_lg("--follow", "k21A000a000010", path, rc=0)
        self.assertIn("# link k21A000a000010 on h -> k21A000b000011 on h: same msgid=<m1@h.example>\n",
                      p.stdout)

    def test_postfix_queued_as_across_hosts(self):
        a = ("Jan 10 08:00:00 pfa postfix/smtpd[100]: 3F2A51E0A3: client=mail.a.example[192.0.2.10]\n"
             "Jan 10 08:00:00 pfa postfix/cleanup[101]: 3F2A51E0A3: message-id=<abc@a.example>\n"
             "Jan 10 08:00:00 pfa postfix/qmgr[102]: 3F2A51E0A3: from=<s@a.example>, size=1234, nrcpt=1 (queue active)\n"
             "Jan 10 08:00:01 pfa postfix/smtp[103]: 3F2A51E0A3: to=<r@b.example>, relay=mx.b.example[192.0.2.20]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4B1C2D3E4F)\n"
             "Jan 10 08:00:01 pfa postfix/qmgr[102]: 3F2A51E0A3: removed\n")
        b = ("Jan 10 08:00:01 mxb postfix/smtpd[200]: 4B1C2D3E4F: client=pfa.a.example[192.0.2.1]\n"
             "Jan 10 08:00:01 mxb postfix/cleanup[201]: 4B1C2D3E4F: message-id=<abc@a.example>\n"
             "Jan 10 08:00:01 mxb postfix/local[203]: 4B1C2D3E4F: to=<r@b.example>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)\n")
        pa = self.put("a.log", a, stamp(2006, 1, 11))
        pb = self.put("b.log", b, stamp(2006, 1, 11))
        p = self.run_lg("--follow", "s@a.example", pa, pb, rc=0)
        self.assertEqual(p.stdout, a + "\n# link 3F2A51E0A3 on pfa -> 4B1C2D3E4F on mxb: hand-off, "
                         "status=sent (250 2.0.0 Ok: queued as 4B1C2D3E4F)\n" + b)


class TestTime(LoggrepCase):
    def wrap_log(self):
        log = ("Dec 31 23:59:00 h sm-mta[1]: kBVNx0aa000001: from=<a@x.example>, size=1, class=0, nrcpts=1, msgid=<1@x>, proto=ESMTP, daemon=MTA, relay=c [192.0.2.1]\n"
               "Dec 31 23:59:01 h sm-mta[2]: kBVNx0aa000001: to=<b@y.example>, delay=00:00:01, mailer=esmtp, dsn=2.0.0, stat=Sent\n"
               "Jan  1 00:00:05 h sm-mta[3]: k0100005b000003: from=<a@x.example>, size=1, class=0, nrcpts=1, msgid=<2@x>, proto=ESMTP, daemon=MTA, relay=c [192.0.2.1]\n"
               "Jan  1 00:00:06 h sm-mta[4]: k0100005b000003: to=<b@y.example>, delay=00:00:01, mailer=esmtp, dsn=2.0.0, stat=Sent\n")
        return self.put("wrap.log", log, stamp(2024, 1, 2))

    def ids(self, *args):
        p = self.run_lg("--summary", *args)
        return summary_ids(p.stdout)

    def test_year_inferred_across_new_year(self):
        path = self.wrap_log()
        self.assertEqual(self.ids("--since=2024-01-01", "a@x.example", path), ["k0100005b000003"])
        self.assertEqual(self.ids("--until=2023-12-31", "a@x.example", path), ["kBVNx0aa000001"])
        self.assertEqual(self.ids("--since=2023-12-31 23:59:01", "--until=2024-01-01 00:00:05",
                                  "a@x.example", path), ["kBVNx0aa000001", "k0100005b000003"])
        self.assertEqual(self.ids("--since=2024-01-02", "a@x.example", path), [])

    def test_json_times_carry_inferred_year(self):
        path = self.wrap_log()
        p = self.run_lg("--json", "a@x.example", path, rc=0)
        objs = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([o["start"] for o in objs],
                         ["2023-12-31T23:59:00+0000", "2024-01-01T00:00:05+0000"])

    def test_forced_year(self):
        path = self.wrap_log()
        self.assertEqual(self.ids("--year=2030", "--since=2030-12-31", "a@x.example", path),
                         ["kBVNx0aa000001"])

    def test_until_whole_day_and_syslog_style_time(self):
        self.assertEqual(self.ids("--year=2006", "--until=2006-01-05", "@sysiphus.com",
                                  self.lists), ["k0679VWl002666", "k0679VXa002668"])
        self.assertEqual(self.ids("--year=2006", "--since=Jan 5 23:10", "198.51.100.7",
                                  self.lists), ["k0679ZZz002700"])
        self.assertEqual(self.ids("--year=2006", "--since=Jan 5 23:11", "198.51.100.7",
                                  self.lists), [])


class TestOutputs(LoggrepCase):
    def test_json(self):
        p = self.run_lg("--json", "--follow", "k0679VWl002666", self.lists, self.int1, rc=0)
        objs = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([o["id"] for o in objs],
                         ["k0679Vv6002665", "k0679VWl002666", "k05E0K0T004746"])
        mta = objs[1]
        self.assertTrue(mta["matched"])
        self.assertFalse(objs[0]["matched"])
        self.assertEqual(mta["host"], "lists")
        self.assertEqual(mta["from"], "<root@lists.sysiphus.com>")
        self.assertEqual(mta["size"], 329)
        self.assertEqual(mta["client"]["ip"], "127.0.0.1")
        self.assertEqual([r["to"] for r in mta["recipients"]],
                         ["/var/spool/mail-archives/buddies", "bob", "carol", "ted", "alice"])
        self.assertEqual(mta["recipients"][1]["relay"]["name"], "int1.sysiphus.com")
        links = {(l["type"], l["direction"], l["id"]) for l in mta["links"]}
        self.assertEqual(links, {("handoff", "in", "k0679Vv6002665"),
                                 ("handoff", "out", "k05E0K0T004746")})
        ted = [r for r in objs[2]["recipients"] if r["to"] == "ted@sysiphus.com"][0]
        self.assertEqual((ted["attempts"], ted["status"], ted["dsn"]), (2, "Sent", "2.0.0"))
        self.assertEqual(len(objs[2]["lines"]), 5)

    def test_summary(self):
        p = self.run_lg("--summary", "k0679VXa002668", "k0679ZZz002700", self.lists, rc=0)
        self.assertEqual(p.stdout,
                         "Jan  5 23:09:31 lists k0679VXa002668 from=<alice@deer-run.com> "
                         "to=nobody@lists.sysiphus.com stat=User unknown\n"
                         "Jan  5 23:10:01 lists k0679ZZz002700 from=- to=- stat=ruleset "
                         "reject=550 5.7.1 <x@elsewhere.org>... Relaying denied\n")

    def test_summary_mixed_status(self):
        log = ("Mar  1 10:00:00 h sm-mta[1]: k21A0000000001: from=<a@b.example>, size=1, class=0, nrcpts=2, msgid=<q@b>, proto=ESMTP, daemon=MTA, relay=c [192.0.2.1]\n"
               "Mar  1 10:00:01 h sm-mta[2]: k21A0000000001: to=<x@y.example>, mailer=esmtp, dsn=2.0.0, stat=Sent (ok)\n"
               "Mar  1 10:00:01 h sm-mta[2]: k21A0000000001: to=<z@y.example>, mailer=esmtp, dsn=4.0.0, stat=Deferred: Connection refused by y.example\n")
        path = self.put("mixed.log", log, stamp(2006, 3, 2))
        p = self.run_lg("--summary", "k21A0000000001", path, rc=0)
        self.assertEqual(p.stdout, "Mar  1 10:00:00 h k21A0000000001 from=<a@b.example> "
                         "to=x@y.example,z@y.example stat=mixed(x@y.example:Sent,"
                         "z@y.example:Deferred[connection refused])\n"
                         "# deferred attempts by class:\n"
                         "#   connection refused     1: k21A0000000001\n")

    def test_json_and_summary_exclusive(self):
        self.run_lg("--json", "--summary", "k0679VXa002668", self.lists, rc=64)


class TestPostedLogs(LoggrepCase):
    """Names and marks, context, JSON sources, links from damaged lines."""

    def test_file_names_and_marks(self):
        text = read_data("lists.maillog")
        p = self.run_lg("k0679Vv6002665", self.lists, self.int1, names=True, rc=0)
        out = p.stdout.splitlines()
        own = [self.lists + ": " + l for l in lines_with(text, "k0679Vv6002665: ")]
        mention = [self.lists + ":~ " + l for l in grep_f(text, "k0679Vv6002665")
                   if "]: k0679Vv6002665: " not in l]
        other = read_data("int1.maillog")
        mention += [self.int1 + ":~ " + l for l in grep_f(other, "k0679Vv6002665")]
        self.assertEqual(sorted(out), sorted(own + mention))
        # in time order, the int1 line (23:09:32) after the lists lines (23:09:31)
        self.assertTrue(out[-1].startswith(self.int1 + ":~ "), out)

    def test_unparsed_line_marked_and_rotated_gz(self):
        log1 = ("Mar  1 10:00:00 h sm-mta[1]: k21A0000000007: from=<a@b.example>, size=1, class=0, "
                "nrcpts=1, msgid=<q7@b>, proto=ESMTP, daemon=MTA, relay=c [192.0.2.1]\n")
        log0 = ("<br>Mar  1 10:0</br> garbled k21A0000000007 retry\n"
                "Mar  1 10:30 h sm-mta[2]: k21A0000000007: to=<x@y.example>, mailer=esmtp, dsn=2.0.0, stat=Sent (ok)\n")
        old = self.put("mail.log.1.gz", log1, stamp(2006, 3, 2), gz=True)
        new = self.put("mail.log", log0, stamp(2006, 3, 2))
        p = self.run_lg("k21A0000000007", new, old, names=True, rc=0)
        self.assertEqual(p.stdout.splitlines(), [
            old + ": " + log1.rstrip("\n"),
            new + ":? <br>Mar  1 10:0</br> garbled k21A0000000007 retry",
            new + ": Mar  1 10:30 h sm-mta[2]: k21A0000000007: to=<x@y.example>, mailer=esmtp, dsn=2.0.0, stat=Sent (ok)",
        ])
        p = self.run_lg("--summary", "k21A0000000007", new, old, rc=0)
        self.assertEqual(p.stdout, "Mar  1 10:00:00 h k21A0000000007 from=<a@b.example> "
                         "to=x@y.example stat=Sent\n")

    def test_context(self):
        p = self.run_lg("-C", "1", "k0679ZZz002700", self.lists, names=True, rc=0)
        text = read_data("lists.maillog").splitlines()
        i = [k for k, l in enumerate(text) if "k0679ZZz002700" in l]
        self.assertEqual(p.stdout.splitlines(), [
            self.lists + "- " + text[i[0] - 1],
            self.lists + ": " + text[i[0]],
            "--",
            self.lists + ": " + text[i[1]],
            self.lists + "- " + text[i[1] + 1],
        ])
        p = self.run_lg("-C", "2", "k0679ZZz002700", self.lists, names=True, rc=0)
        self.assertEqual(p.stdout.splitlines(), [
            self.lists + "- " + text[i[0] - 2],
            self.lists + "- " + text[i[0] - 1],
            self.lists + ": " + text[i[0]],
            "--",
            self.lists + ": " + text[i[1]],
            self.lists + "- " + text[i[1] + 1],
        ])
        self.run_lg("-C", "x", "k0679ZZz002700", self.lists, rc=64)

    def test_json_sources(self):
        log = ("Mar  1 10:00:00 h sm-mta[1]: k21A0000000008: \n"
               "from=<a@b.example>, size=1, class=0, nrcpts=1, \n"
               "msgid=<q8@b>, relay=c [192.0.2.1]\n"
               "Mar  1 10:00:01 h sm-mta[2]: k21A0000000008: to=<x@y.example>, dsn=4.0.0, "
               "stat=Deferred: Connection refused by y.example.\n"
               "see k21A0000000008 above\n")
        path = self.put("w.log", log, stamp(2006, 3, 2))
        p = self.run_lg("--json", "k21A0000000008", path, rc=0)
        obj = json.loads(p.stdout)
        self.assertEqual(obj["host"], "h")
        self.assertEqual(obj["from"], "<a@b.example>")
        self.assertEqual([(x["kind"], x["repaired"]) for x in obj["sources"]],
                         [("line", ["joined"]), ("line", []), ("unparsed", [])])
        self.assertEqual({x["file"] for x in obj["sources"]}, {path})
        self.assertEqual({x["host"] for x in obj["sources"]}, {"h"})
        self.assertEqual(obj["recipients"][0]["class"], "connection refused")
        self.assertEqual(obj["deferrals"], {"connection refused": 1})

    def test_dsn_child_to_parent_and_return_to_sender(self):
        log = ("Mar  1 10:00:00 h sm-mta[1]: KAA00001: from=<a@b.example>, size=1, class=0, nrcpts=1, msgid=<r1@b>, relay=c [192.0.2.1]\n"
               "Mar  1 10:00:01 h sm-mta[1]: KAA00001: to=<nobody@h.example>, mailer=local, stat=User unknown\n"
               "Mar  1 10:00:01 h sm-mta[1]: KAA00001: KAA00002: return to sender: User unknown\n"
               "Mar  1 10:00:02 h sm-mta[1]: KAA00002: to=<a@b.example>, delay=00:00:01, mailer=esmtp, stat=Sent\n")
        path = self.put("rts.log", log, stamp(2006, 3, 2))
        p = self.run_lg("--follow", "--summary", "KAA00002", path, rc=0)
        self.assertEqual(summary_ids(p.stdout), ["KAA00001", "KAA00002"])
        p = self.run_lg("--follow", "KAA00002", path, rc=0)
        self.assertIn("# link KAA00001 on h -> KAA00002 on h: DSN, "
                      "KAA00002: return to sender: User unknown\n", p.stdout)

    def test_wrapped_record_across_read_blocks(self):
        # loggrep reads 4 MB blocks: a record wrapped across two stays whole
        target = 4 << 20
        first = "Jan  5 10:00:01 h sm-mta[2]: k05BBBBB000002: \n"
        rest = "from=<a@b>, size=1, class=0, \nmsgid=<zz@q>, relay=c [192.0.2.4]\n"
        filler = "Jan  5 10:00:00 h sm-mta[1]: k05AAAAA000001: to=<x@y>, stat=Sent\n"
        need = target - len(first) - 5
        body = filler * (need // len(filler))
        body += "y" * (need - len(body) - 1) + "\n" + first + rest + filler
        path = self.put("blocks.log", body, stamp(2006, 1, 6))
        p = self.run_lg("--summary", "k05BBBBB000002", path, rc=0)
        self.assertEqual(p.stdout, "Jan  5 10:00:01 h k05BBBBB000002 from=<a@b> to=- stat=-\n")

    def test_follow_from_a_damaged_line(self):
        # the hand-off line lost its prefix; the link is still found
        a = ("Jan 10 08:00:00 pfa sm-mta[100]: k1A80000000100: from=<s@a.example>, size=5, class=0, nrcpts=1, msgid=<d1@a>, relay=c [192.0.2.9]\n"
             "0:01 pfa sm-mta[101]: k1A80000000100: to=<r@b.example>, mailer=esmtp, relay=mx.b.example. [192.0.2.20], dsn=2.0.0, stat=Sent (k1A80001000200 Message accepted for delivery)\n")
        b = ("Jan 10 08:00:01 mxb sm-mta[200]: k1A80001000200: from=<s@a.example>, size=300, class=0, nrcpts=1, msgid=<d1@a>, proto=ESMTP, daemon=MTA, relay=pfa [192.0.2.1]\n")
        pa = self.put("a.log", a, stamp(2006, 1, 11))
        pb = self.put("b.log", b, stamp(2006, 1, 11))
        p = self.run_lg("--follow", "--summary", "k1A80000000100", pa, pb, rc=0)
        self.assertEqual(summary_ids(p.stdout), ["k1A80000000100", "k1A80001000200"])


class TestTail(LoggrepCase):
    def readline(self, proc, timeout=10):
        deadline = time.monotonic() + timeout
        buf = b""
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no output from loggrep -f: %r" % buf)
            r, _, _ = select.select([proc.stdout], [], [], left)
            if r:
                c = os.read(proc.stdout.fileno(), 1)
                if not c:
                    raise AssertionError("loggrep -f exited")
                buf += c
        return buf.decode()

    def test_tail_prints_new_lines_of_known_and_new_transactions(self):
        path = self.put("live.log", read_data("lists.maillog"), stamp(2006, 1, 6))
        proc = subprocess.Popen([binpath("loggrep"), "-f", "alice@deer-run.com", path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
        try:
            first = self.readline(proc)
            self.assertIn("k0679VXa002668: from=<alice@deer-run.com>", first)
            for _ in range(5):   # the rest of the batch output
                self.readline(proc)
            new = [
                "Jan  6 00:00:01 lists sm-mta[3000]: k0680001z003000: to=<x@y>, stat=Sent\n",
                "Jan  6 00:00:02 lists sm-mta[2668]: k0679VXa002668: to=<late@x>, stat=Sent\n",
                "Jan  6 00:00:03 lists sm-mta[3001]: k0680003q003001: from=<alice@deer-run.com>, size=1, class=0, nrcpts=1\n",
                "Jan  6 00:00:04 lists sm-mta[3001]: k0680003q003001: to=<bob@x>, stat=Sent\n",
            ]
            with open(path, "a") as f:
                f.writelines(new)
            self.assertEqual(self.readline(proc), path + ": " + new[1])
            self.assertEqual(self.readline(proc), path + ": " + new[2])
            self.assertEqual(self.readline(proc), path + ": " + new[3])
            with open(path, "a") as f:   # a damaged line of a selected transaction
                f.write("<br>Jan  6 00:0 k0680003q003001 retried\n")
            self.assertEqual(self.readline(proc),
                             path + ":? <br>Jan  6 00:0 k0680003q003001 retried\n")
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_tail_stdin(self):
        p = self.run_lg("-f", "k0679Vv6002665", "-", stdin=read_data("lists.maillog"), rc=0)
        self.assertEqual(p.stdout.splitlines(),
                         grep_f(read_data("lists.maillog"), "k0679Vv6002665"))


GOLDEN = os.path.join(DATA, "golden")


class TestGolden(unittest.TestCase):
    """tests/data/loggrep/golden: logs as people post them (README.md there).
    Regenerate: for d in */; do (cd $d && TZ=UTC loggrep --year=2006
    $(cat args) input.log > expected.out); done"""

    def run_case(self, name):
        d = os.path.join(GOLDEN, name)
        with open(os.path.join(d, "args")) as f:
            args = f.read().split("\n")
        args = [a for a in args if a]
        p = subprocess.run([binpath("loggrep"), "--year=2006"] + args + ["input.log"],
                           cwd=d, capture_output=True, timeout=30, env=ENV)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(d, "expected.out"), "rb") as f:
            self.assertEqual(p.stdout.decode("utf-8", "replace"),
                             f.read().decode("utf-8", "replace"), name)
        # the superset rule: every line grep -F ID prints is in the output
        with open(os.path.join(d, "input.log"), "rb") as f:
            text = f.read().decode("utf-8", "surrogateescape")
        shown = set()
        for l in p.stdout.decode("utf-8", "surrogateescape").splitlines():
            m = re.match(r"input\.log(?::[?~+]?|-) (.*)$", l)
            if m:
                shown.add(m.group(1))
        if "--summary" in args or "--json" in args:
            return
        for a in args:
            if a.startswith("-") or "@" in a:
                continue
            for l in grep_f(text, a):
                if l.startswith("{"):   # a journal record is shown as a syslog line
                    msg = json.loads(l)["MESSAGE"]
                    self.assertTrue(any(x.endswith(": " + msg) for x in shown), msg)
                    continue
                self.assertIn(l, shown, "%s: grep -F %s line missing" % (name, a))

    def test_cases(self):
        names = sorted(n for n in os.listdir(GOLDEN)
                       if os.path.isdir(os.path.join(GOLDEN, n)))
        self.assertGreaterEqual(len(names), 8)
        for n in names:
            with self.subTest(case=n):
                self.run_case(n)


# ---- property: loggrep ID prints at least what grep -F ID prints ----------

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def gen_log(rnd):
    """A sendmail log of a few dozen transactions, then damaged at random
    the ways posted logs are.  Returns (text, ids)."""
    ids, recs = [], []
    for n in range(rnd.randint(5, 40)):
        qid = "".join(rnd.choice(ALNUM) for _ in range(8)) + "%06d" % rnd.randint(0, 999999)
        ids.append(qid)
        host = rnd.choice(["int1", "lists", "mx.example.org", "ext1"])
        t = rnd.randint(0, 86400 * 300)
        mon, day = MONTHS[(t // 86400) % 12], 1 + (t // 86400) % 28
        hh, mm, ss = (t // 3600) % 24, (t // 60) % 60, t % 60
        nxt = "".join(rnd.choice(ALNUM) for _ in range(8)) + "%06d" % rnd.randint(0, 999999)
        if ids[:-1] and rnd.random() < 0.3:
            nxt = rnd.choice(ids[:-1])
        msgs = [
            "%s: from=<a%d@x.example>, size=%d, class=0, nrcpts=1, msgid=<%s.%s@%s>, proto=ESMTP, daemon=MTA, relay=c.example [192.0.2.%d]"
            % (qid, n, rnd.randint(1, 99999), rnd.randint(1, 9999), qid, host, rnd.randint(1, 254)),
            "%s: to=<b%d@y.example>, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120000, relay=mx.y.example. [198.51.100.%d], dsn=%s, stat=%s"
            % (qid, n, rnd.randint(1, 254), *rnd.choice([
                ("2.0.0", "Sent (%s Message accepted for delivery)" % nxt),
                ("4.0.0", "Deferred: Connection timed out with mx.y.example."),
                ("4.0.0", "Deferred: 451 4.7.1 Greylisted"),
                ("5.1.1", "User unknown")])),
        ]
        if rnd.random() < 0.2:
            msgs.append("%s: %s: DSN: User unknown" % (qid, nxt))
        for m in msgs:
            pid = rnd.randint(100, 99999)
            tag = rnd.choice(["sm-mta", "sendmail"])
            fmt = rnd.random()
            if fmt < 0.7:
                line = "%s %2d %02d:%02d:%02d %s %s[%d]: %s" % (mon, day, hh, mm, ss, host, tag, pid, m)
            elif fmt < 0.8:
                line = "2006-%02d-%02dT%02d:%02d:%02d+0000 %s %s[%d]: %s" % (
                    MONTHS.index(mon) + 1, day, hh, mm, ss, host, tag, pid, m)
            elif fmt < 0.9:
                line = "<22>1 2006-%02d-%02dT%02d:%02d:%02d.123Z %s %s %d - - %s" % (
                    MONTHS.index(mon) + 1, day, hh, mm, ss, host, tag, pid, m)
            else:
                line = json.dumps({"__REALTIME_TIMESTAMP": str(1136000000000000 + t * 1000000),
                                   "_HOSTNAME": host, "SYSLOG_IDENTIFIER": tag,
                                   "_PID": str(pid), "MESSAGE": m})
            recs.append(line)
    rnd.shuffle(recs)
    out = []
    for line in recs:
        out.extend(damage(rnd, line))
    return "\n".join(out) + "\n", ids


def damage(rnd, line):
    """The physical lines a posted copy of line may become."""
    r = rnd.random()
    if line.startswith("{") or r < 0.35:
        return [line]
    if r < 0.45:    # prefix cut at the start
        return [line[rnd.randint(1, 20):]]
    if r < 0.55:    # seconds or more of the stamp lost
        return [line[:12] + line[15:] if line[:3] in MONTHS else line]
    if r < 0.65:    # wrapped at a terminal's or a mailer's width
        w = rnd.choice([40, 64, 72, 78, 80])
        return [line[i:i + w] for i in range(0, len(line), w)]
    if r < 0.72:    # wrapped at blanks, with trailing blanks
        parts, cur = [], ""
        for word in line.split(" "):
            if len(cur) + len(word) > 60:
                parts.append(cur)
                cur = ""
            cur += word + " "
        return parts + [cur]
    if r < 0.80:    # HTML
        esc = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return [rnd.choice(["<br />", "<span class=\"x\">", "<pre>", ""]) + esc +
                rnd.choice(["<br>", "</span>", "</pre>", ""])]
    if r < 0.86:    # quoted, grep -H, a shell prompt
        return [rnd.choice(["> ", ">> ", "maillog:", "/var/log/mail.log.1:", "| "]) + line]
    if r < 0.92:    # junk around
        return [line, rnd.choice(["", "binary \x01\x02 junk", "Jan  5 23:0",
                                   "-- MARK --", "   "])]
    # prose that names the ID
    word = line.split(": ")[1] if ": " in line else "x"
    return [line, "See the line that reads \"%s Message accepted for" % word]


class TestSupersetProperty(unittest.TestCase):
    """For any ID, loggrep's output lines include every line grep -F ID
    prints on the same file (generated logs, damaged at random)."""

    def test_superset_on_damaged_logs(self):
        import random
        tmp = tempfile.mkdtemp(prefix="loggrep-prop-")
        self.addCleanup(shutil.rmtree, tmp, True)
        checked = 0
        for seed in range(int(os.environ.get("LOGGREP_PROP_SEEDS", "30"))):
            rnd = random.Random(seed)
            text, ids = gen_log(rnd)
            path = os.path.join(tmp, "m%d.log" % seed)
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text)
            picks = [[q] for q in rnd.sample(ids, min(4, len(ids)))]
            # five IDs at once: more than the needles, every line is looked at
            picks.append(rnd.sample(ids, min(5, len(ids))))
            for qids in picks:
                for extra in ([], ["--follow"]):
                    p = subprocess.run([binpath("loggrep")] + extra + qids + [path],
                                       capture_output=True, timeout=30, env=ENV)
                    self.assertIn(p.returncode, (0, 1), p.stderr)
                    out = p.stdout.decode("utf-8", "surrogateescape")
                    shown = set()
                    for l in out.splitlines():
                        m = re.match(re.escape(path) + r"(?::[?~+]?|-) (.*)$", l)
                        if m:
                            shown.add(m.group(1))
                    for qid in qids:
                        for l in grep_f(text, qid):
                            if l.startswith("{"):
                                msg = json.loads(l)["MESSAGE"]
                                ok = any(x.endswith(": " + msg) for x in shown)
                            else:
                                ok = l in shown
                            self.assertTrue(ok, "seed %d, %s %s: grep -F line not printed: %r"
                                            % (seed, " ".join(extra), " ".join(qids), l))
                            checked += 1
        self.assertGreater(checked, 200)

    def test_superset_with_nul_bytes(self):
        # a damaged line holding a NUL is printed byte for byte (its copy
        # used to stop at the NUL while the whole length was printed:
        # bytes of the heap came out instead)
        tmp = tempfile.mkdtemp(prefix="loggrep-nul-")
        self.addCleanup(shutil.rmtree, tmp, True)
        qid = "0B4AbcD1234567"
        lines = [b"Dec  4 05:00:00 mx sm-mta[1]: " + qid.encode() + b": from=<a@b.example>, size=1",
                 b"\x00\x01 " + qid.encode() + b" \xff\xfe",
                 b"Dec  4 05:00:01 mx sm-mta[1]: " + qid.encode() + b": to=<c@d\x00.example>, stat=Sent"]
        path = os.path.join(tmp, "nul.log")
        with open(path, "wb") as f:
            f.write(b"\n".join(lines) + b"\n")
        p = subprocess.run([binpath("loggrep"), "--no-filename", qid, path],
                           capture_output=True, timeout=30, env=ENV)
        self.assertEqual(p.returncode, 0, p.stderr)
        shown = p.stdout.split(b"\n")
        for l in lines:
            self.assertIn(l, shown)
        # --json: the same lines, the NUL as \u0000 (it used to end the string)
        p = subprocess.run([binpath("loggrep"), "--json", qid, path],
                           capture_output=True, timeout=30, env=ENV)
        self.assertEqual(p.returncode, 0, p.stderr)
        text = "\n".join(l for o in map(json.loads, p.stdout.decode().splitlines())
                         for l in o["lines"])
        self.assertIn("\x00\x01 " + qid, text)
        self.assertIn("to=<c@d\x00.example>, stat=Sent", text)


class TestDocs(unittest.TestCase):
    def test_help_and_man_page_list_the_same_options(self):
        p = subprocess.run([binpath("loggrep"), "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        help_opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*[a-z]|-[a-zA-Z])\b", p.stdout))
        man = os.path.join(os.path.dirname(DATA_DIR), "..", "man", "loggrep.1")
        with open(man) as f:
            text = f.read()
        man_opts = set()
        for line in re.findall(r"^\.It Fl .*$", text, re.M):
            man_opts |= {"-" + o.replace("\\-", "-") for o in re.findall(r"\bFl (\S+)", line)}
        self.assertTrue(help_opts, p.stdout)
        self.assertEqual(help_opts, man_opts)


if __name__ == "__main__":
    unittest.main()
