"""LDAP: the ldap map class, FEATURE(`ldap_routing'), ldap access /
virtusertable / mailertable maps and LDAP aliases, against a real slapd from
Debian (slapd_fixture.py; sendmail.schema from Debian's sendmail-base, the
mail routing attributes from Debian's misc.schema).

The site: one directory (dc=example,dc=com) routes two relay domains,
a.example and b.example, for two front relays configured alike; the users'
mailboxes live on two store hosts (two more mtads).  The directory also
holds sendmail-schema entries: access REJECTs, a virtusertable, a
mailertable and aliases.
"""
import os
import re
import threading
import time
import unittest

from harness import MtadTestCase, free_port, wait_for, send_message
import slapd_fixture
from slapd_fixture import Slapd, SUFFIX

HAVE = slapd_fixture.have_slapd()
SCHEMA = slapd_fixture.sendmail_schema() if HAVE else None

FRONT_HOSTS = ("front1.example", "front2.example")

BASE_LDIF = """dn: {suffix}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{suffix}
objectClass: organizationalUnit
ou: people

dn: ou=mta,{suffix}
objectClass: organizationalUnit
ou: mta

dn: uid=ann,ou=people,{suffix}
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
uid: ann
cn: Ann
sn: Ann
mailLocalAddress: ann@a.example
mailRoutingAddress: ann@store1.example
mailHost: [127.0.0.1]:{store1}

dn: uid=ben,ou=people,{suffix}
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
uid: ben
cn: Ben
sn: Ben
mailLocalAddress: ben@b.example
mailHost: [127.0.0.1]:{store2}

dn: uid=cid,ou=people,{suffix}
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
uid: cid
cn: Cid
sn: Cid
mailLocalAddress: cid@b.example
mailRoutingAddress: ann@store1.example
mailHost: [127.0.0.1]:{store1}
"""

# sendmail's schema: one entry per map key, per alias
MAP_LDIF = """dn: sendmailMTAKey={key}+sendmailMTAMapName={map},ou=mta,{suffix}
objectClass: sendmailMTAMapObject
sendmailMTAMapName: {map}
sendmailMTAKey: {key}
sendmailMTAMapValue: {value}
{hosts}
"""

ALIAS_LDIF = """dn: sendmailMTAKey={key}+sendmailMTAAliasGrouping=aliases,ou=mta,{suffix}
objectClass: sendmailMTAAliasObject
sendmailMTAAliasGrouping: aliases
sendmailMTAKey: {key}
{hosts}{values}
"""


def hosts_lines(hosts):
    return "".join("sendmailMTAHost: %s\n" % h for h in hosts)


def send(m, rcpts, body="Subject: ldap\r\n\r\nrouted by the directory\r\n.\r\n",
         sender="sender@client.example"):
    return send_message(m, rcpts, body, sender)


def rcpt_reply(m, rcpt, sender="sender@client.example"):
    c = m.connect()
    c.reply()
    c.cmd("EHLO client.example")
    code, lines = c.cmd("MAIL FROM:<%s>" % sender)
    if code != 250:
        c.cmd("QUIT")
        return code, lines
    t0 = time.monotonic()
    code, lines = c.cmd("RCPT TO:<%s>" % rcpt)
    took = time.monotonic() - t0
    c.cmd("QUIT")
    return code, lines, took


def ldap_request_pending(port):
    """Is there unread data in a connection accepted on 127.0.0.1:port?"""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, state, queues = fields[1], fields[3], fields[4]
            if local.endswith(":%04X" % port) and state == "01" and int(queues.split(":")[1], 16) > 0:
                return True
    return False


@unittest.skipUnless(HAVE and SCHEMA, "slapd, ldap-utils or sendmail.schema not available")
class LdapSite(MtadTestCase):
    def setUp(self):
        super().setUp()
        self.slapd = Slapd(self.tmp).start()
        self.store1_port = free_port()
        self.store2_port = free_port()
        self.slapd.add(BASE_LDIF.format(suffix=SUFFIX, store1=self.store1_port,
                                        store2=self.store2_port))

    def tearDown(self):
        super().tearDown()
        self.slapd.stop()

    def file(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def store(self, sub, port, domain, users):
        cw = self.file(sub + "-cw", domain + "\n")
        return self.new_mtad(sub, hostname="mx." + domain, port=port, users=users,
                             mc_extra="define(`confCW_FILE', `%s')dnl\n" % cw)

    def front(self, sub, hostname, extra="", routing="`bounce'"):
        relay = self.file(sub + "-relay-domains", "a.example\nb.example\n")
        mc = ("define(`confCR_FILE', `%s')dnl\n"
              "define(`confLDAP_DEFAULT_SPEC', `-H %s -b %s -l 2 -c 2')dnl\n"
              "FEATURE(`ldap_routing', , , %s)dnl\n"
              "LDAPROUTE_DOMAIN(`a.example')dnl\n"
              "LDAPROUTE_DOMAIN(`b.example')dnl\n" % (relay, self.slapd.uri, SUFFIX, routing)) + extra
        return self.new_mtad(sub, hostname=hostname, mc_extra=mc)

    def add_map(self, mapname, key, value, hosts=FRONT_HOSTS):
        self.slapd.add(MAP_LDIF.format(suffix=SUFFIX, map=mapname, key=key, value=value,
                                       hosts=hosts_lines(hosts)))

    def add_alias(self, key, values, hosts=FRONT_HOSTS):
        self.slapd.add(ALIAS_LDIF.format(suffix=SUFFIX, key=key, hosts=hosts_lines(hosts),
                                         values="".join("sendmailMTAAliasValue: %s\n" % v
                                                        for v in values)))

    # -- ldap_routing --------------------------------------------------
    def test_two_fronts_route_two_domains_alike_from_one_directory(self):
        s1 = self.store("store1", self.store1_port, "store1.example", ("ann", "postmaster"))
        s2 = self.store("store2", self.store2_port, "b.example", ("ben", "postmaster"))
        fronts = [self.front("front%d" % i, h) for i, h in enumerate(FRONT_HOSTS, 1)]
        for f in fronts:
            # ann: mailRoutingAddress + mailHost; ben: mailHost only
            send(f, ["ann@a.example", "ben@b.example"])
            # cid: an entry of the other domain leading to ann's mailbox (a
            # message of its own: in one message ann would get one copy)
            send(f, ["cid@b.example"])
        box1 = wait_for(lambda: s1.mbox("ann").count(b"\nFrom ") + 1 >= 4 and s1.mbox("ann"),
                        20, "4 messages for ann at store1").decode()
        box2 = wait_for(lambda: s2.mbox("ben").count(b"\nFrom ") + 1 >= 2 and s2.mbox("ben"),
                        20, "2 messages for ben at store2").decode()
        self.assertEqual(box1.count("routed by the directory"), 4)
        self.assertEqual(box2.count("routed by the directory"), 2)
        for f in fronts:
            # the same decision at both fronts: relayed to the mailHost with
            # the mailRoutingAddress, logged under the original address
            f.wait_log(r"to=<ann@a\.example>.*mailer=relay, .*relay=\[?127\.0\.0\.1\]?.*stat=Sent")
            f.wait_log(r"to=<ben@b\.example>.*mailer=relay, .*stat=Sent")
            self.assertEqual(f.queue_files(), [])
        s1.wait_log(r"to=<ann@store1\.example>.*stat=Sent")
        s2.wait_log(r"to=<ben@b\.example>.*stat=Sent")
        # mtad -bv shows the same decision
        for f in fronts:
            r = f.run("-bv", "ann@a.example", "nobody@a.example")
            self.assertIn("ann@a.example... deliverable: mailer relay, host [127.0.0.1], port %d, "
                          "user ann@store1.example" % self.store1_port, r.stdout)
            self.assertIn("nobody@a.example... User unknown", r.stdout)
        # connections are reused: one per process for both maps and every
        # lookup (the SMTP server's, each delivery process's), so far fewer
        # connections than searches
        log = open(self.slapd.log).read()
        searches = log.count("mailLocalAddress=")
        self.assertGreaterEqual(searches, 24)
        self.assertLessEqual(self.slapd.accepts() * 2, searches)

    def test_bounce_refuses_unknown_user_passthru_relays_it(self):
        f1 = self.front("front1", FRONT_HOSTS[0])
        code, lines, _ = rcpt_reply(f1, "nobody@a.example")
        self.assertEqual(code, 550, lines)
        self.assertIn("5.1.1", lines[0])
        self.assertIn("mailLocalAddress=nobody@a.example", open(self.slapd.log).read())
        # a domain not under LDAPROUTE_DOMAIN is not looked up (a local user here)
        code, lines, _ = rcpt_reply(f1, "alice@front1.example")
        self.assertEqual(code, 250, lines)
        self.assertNotIn("alice", open(self.slapd.log).read())
        f2 = self.front("front2", FRONT_HOSTS[1], routing="`passthru'")
        code, lines, _ = rcpt_reply(f2, "nobody@a.example")
        self.assertEqual(code, 250, lines)
        # sendertoo: a sender of an LDAP-routed domain must exist as well
        f3 = self.front("front3", "front3.example", routing="`sendertoo'")
        code, lines = rcpt_reply(f3, "ann@a.example", sender="nobody@a.example")[:2]
        self.assertEqual(code, 550, lines)
        self.assertRegex(lines[0], r"^550 5\.1\.1 <nobody@a\.example>\.\.\. User unknown")
        code, lines, _ = rcpt_reply(f3, "ben@b.example", sender="ann@a.example")
        self.assertEqual(code, 250, lines)
        code, lines, _ = rcpt_reply(f3, "nobody@b.example", sender="ann@a.example")
        self.assertEqual(code, 550, lines)

    def test_domain_file_equivalent_and_detail(self):
        s1 = self.store("store1", self.store1_port, "store1.example", ("ann", "postmaster"))
        domains = self.file("ldaproute-domains", "# routed by the directory\na.example\n")
        relay = self.file("relay-domains", "a.example\nold.example\n")
        f = self.new_mtad("front1", hostname=FRONT_HOSTS[0], mc_extra=(
            "define(`confCR_FILE', `%s')dnl\n"
            "define(`confLDAP_DEFAULT_SPEC', `-H %s -b %s -l 2')dnl\n"
            "FEATURE(`ldap_routing', , , `bounce', `strip')dnl\n"
            "LDAPROUTE_DOMAIN_FILE(`%s')dnl\n"
            "LDAPROUTE_EQUIVALENT(`old.example')dnl\n"
            "MASQUERADE_AS(`a.example')dnl\n") % (relay, self.slapd.uri, SUFFIX, domains))
        # ann+news@a.example: no entry, then ann@a.example (strip);
        # ann@old.example: no entry, then ann@$M
        send(f, ["ann+news@a.example"])
        send(f, ["ann@old.example"])
        wait_for(lambda: s1.mbox("ann").count(b"routed by the directory") == 2, 20,
                 "both at store1")
        log = open(self.slapd.log).read()
        for key in ("ann+news@a.example", "ann@old.example", "mailLocalAddress=ann@a.example"):
            self.assertIn(key, log)
        code, lines, _ = rcpt_reply(f, "nobody@old.example")
        self.assertEqual(code, 550, lines)
        # preserve: the +detail goes back into the mailRoutingAddress
        p = self.new_mtad("front2", hostname=FRONT_HOSTS[1], start=False, mc_extra=(
            "define(`confLDAP_DEFAULT_SPEC', `-H %s -b %s -l 2')dnl\n"
            "FEATURE(`ldap_routing', , , `bounce', `preserve')dnl\n"
            "LDAPROUTE_DOMAIN(`a.example')dnl\n") % (self.slapd.uri, SUFFIX))
        r = p.run("-bv", "ann+news@a.example")
        self.assertIn("ann+news@a.example... deliverable: mailer relay, host [127.0.0.1], port %d, "
                      "user ann+news@store1.example" % self.store1_port, r.stdout)

    def test_connection_reused_across_sessions(self):
        f = self.front("front1", FRONT_HOSTS[0])
        before = self.slapd.accepts()
        for _ in range(5):
            code, lines, _ = rcpt_reply(f, "ann@a.example")
            self.assertEqual(code, 250, lines)
        # (slapd may log the ACCEPT a moment after answering)
        wait_for(lambda: self.slapd.accepts() - before >= 1, 10, "slapd's ACCEPT line")
        self.assertEqual(self.slapd.accepts() - before, 1)
        self.assertEqual(open(self.slapd.log).read().count("mailLocalAddress=ann@a.example"), 10)
        # the directory restarts: the stale connection is noticed and the
        # lookup made again on a new one, without a 451
        self.slapd.stop()
        self.slapd.start()
        before = self.slapd.accepts()
        code, lines, _ = rcpt_reply(f, "ann@a.example")
        self.assertEqual(code, 250, lines)
        wait_for(lambda: self.slapd.accepts() - before >= 1, 10, "slapd's ACCEPT line")
        self.assertEqual(self.slapd.accepts() - before, 1)

    def test_directory_down_gives_451_and_deferral_never_a_bounce(self):
        s1 = self.store("store1", self.store1_port, "store1.example", ("ann", "postmaster"))
        f = self.front("front1", FRONT_HOSTS[0], "define(`confDELIVERY_MODE', `q')dnl\n")
        qid = send(f, ["ann@a.example"])
        self.slapd.stop()
        code, lines, took = rcpt_reply(f, "ann@a.example")
        self.assertEqual(code, 451, lines)
        self.assertRegex(lines[0], r"^451 4\.3\.0 ")
        self.assertLess(took, 5)
        f.wait_log(r"NOQUEUE: ldap_routing for <ann@a\.example>: .*ldap map ldap://127\.0\.0\.1:%d"
                   % self.slapd.port)
        r = f.run("-q")
        self.assertEqual(r.returncode, 0, r.stderr)
        f.wait_log(qid + r": to=<ann@a\.example>.*dsn=4\.3\.0, stat=(Deferred: )?451 ldap_routing lookup failed "
                   r"\(mailRoutingAddress lookup of ann@a\.example: ldap map ldap://127\.0\.0\.1:%d: "
                   r"Can't contact LDAP server\)" % self.slapd.port)
        self.assertIn("qf" + qid, f.queue_files())
        self.assertEqual(len(f.queue_files()), 1, "no DSN was queued")
        self.assertNotRegex(f.log(), r"DSN|return to sender")
        # the directory comes back on the same port: delivered
        self.slapd.start()
        f.run("-q")
        f.wait_log(qid + r": to=<ann@a\.example>.*stat=Sent")
        wait_for(lambda: b"routed by the directory" in s1.mbox("ann"), 20, "delivery at store1")

    def test_directory_hung_gives_4xx_within_the_timeout(self):
        f = self.front("front1", FRONT_HOSTS[0])
        code, lines, _ = rcpt_reply(f, "ann@a.example")	# connection open
        self.assertEqual(code, 250, lines)
        self.slapd.pause()
        try:
            # while one session waits for the directory, the event loop
            # serves the others: the lookup runs in a worker thread
            res = {}
            t = threading.Thread(target=lambda: res.update(r=rcpt_reply(f, "ann@a.example")))
            t.start()
            # the search request sits unread in the stopped slapd's socket
            wait_for(lambda: ldap_request_pending(self.slapd.port), 10, "the search sent to slapd")
            c = f.connect()
            t0 = time.monotonic()
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.cmd("NOOP")[0], 250)
            self.assertLess(time.monotonic() - t0, 1.5)
            c.cmd("QUIT")
            t.join(30)
            code, lines, took = res["r"]
            self.assertEqual(code, 451, lines)
            self.assertGreater(took, 1.5)	# it did wait for the directory (-l 2) ...
            self.assertLess(took, 2 + 3)	# ... no longer, with some slack for a loaded machine
            # while it stays hung, further checks fail at once
            code, lines, took = rcpt_reply(f, "ben@b.example")
            self.assertEqual(code, 451, lines)
            self.assertLess(took, 1.5)
            f.wait_log(r"ldap map ldap://127\.0\.0\.1:%d.*(Timed out|Time ?limit)" % self.slapd.port)
            # the event loop was never held: other sessions still get answers
            c = f.connect()
            self.assertEqual(c.reply()[0], 220)
            c.cmd("QUIT")
        finally:
            self.slapd.resume()

    # -- maps of the sendmail schema -------------------------------------
    def test_ldap_access_reject_virtusertable_and_mailertable(self):
        s1 = self.store("store1", self.store1_port, "store1.example", ("ann", "postmaster"))
        self.add_map("access", "spammer.example", "REJECT")
        self.add_map("access", "From:bad@client.example", "ERROR:5.7.1:550 go away")
        self.add_map("virtuser", "info@virt.example", "bob")
        self.add_map("virtuser", "@virt.example", "carol")
        self.add_map("mailer", "c.example", "relay:[127.0.0.1]:%d" % self.store1_port)
        vdom = self.file("virtuser-domains", "virt.example\n")
        relay = self.file("relay-c", "c.example\n")
        f = self.new_mtad("front1", hostname=FRONT_HOSTS[0], mc_extra=(
            "define(`confLDAP_DEFAULT_SPEC', `-H %s -b %s -l 2')dnl\n"
            "define(`confCR_FILE', `%s')dnl\n"
            "FEATURE(`access_db', `LDAP')dnl\n"
            "FEATURE(`virtusertable', `ldap -1 -v sendmailMTAMapValue -k "
            "(&(objectClass=sendmailMTAMapObject)(sendmailMTAMapName=virtuser)(sendmailMTAKey=%%0))')dnl\n"
            "FEATURE(`mailertable', `LDAP')dnl\n"
            "VIRTUSER_DOMAIN_FILE(`%s')dnl\n") % (self.slapd.uri, SUFFIX, relay, vdom))
        code, lines = rcpt_reply(f, "bob@front1.example", sender="x@spammer.example")[:2]
        self.assertEqual(code, 550, lines)
        code, lines = rcpt_reply(f, "bob@front1.example", sender="bad@client.example")[:2]
        self.assertEqual(code, 550, lines)
        self.assertIn("go away", lines[0])
        send(f, ["info@virt.example", "anyone@virt.example", "ann@c.example"])
        wait_for(lambda: b"routed by the directory" in f.mbox("bob"), 20, "bob via the virtusertable")
        wait_for(lambda: b"routed by the directory" in f.mbox("carol"), 20, "carol via @virt.example")
        f.wait_log(r"to=<ann@c\.example>.*mailer=relay.*stat=Sent")
        # the directory gone: the access check cannot be made, so 4xx
        self.slapd.stop()
        c = f.connect()
        c.reply()
        c.cmd("EHLO client.example")
        code, lines = c.cmd("MAIL FROM:<x@spammer.example>")
        if code == 250:
            code, lines = c.cmd("RCPT TO:<info@virt.example>")
        c.cmd("QUIT")
        self.assertTrue(400 <= code < 500, lines)
        f.wait_log(r"access_db lookup of .*ldap map ldap://127\.0\.0\.1:%d" % self.slapd.port)

    def test_simple_bind_with_password_file(self):
        pw = self.file("ldap-secret", "secret\n")
        bad = self.file("ldap-bad-secret", "wrong\n")
        self.add_map("virtuser", "info@virt.example", "bob")
        vdom = self.file("virtuser-domains", "virt.example\n")
        spec = ("ldap -1 -v sendmailMTAMapValue -d cn=admin,dc=example,dc=com -M simple -P %s "
                "-k (&(objectClass=sendmailMTAMapObject)(sendmailMTAMapName=virtuser)(sendmailMTAKey=%%0))")
        mc = ("define(`confLDAP_DEFAULT_SPEC', `-H %s -b %s -l 2')dnl\n"
              "FEATURE(`virtusertable', `%s')dnl\n"
              "VIRTUSER_DOMAIN_FILE(`%s')dnl\n")
        good = self.new_mtad("good", hostname=FRONT_HOSTS[0],
                             mc_extra=mc % (self.slapd.uri, SUFFIX, spec % pw, vdom))
        send(good, ["info@virt.example"])
        wait_for(lambda: b"routed by the directory" in good.mbox("bob"), 20, "bob via a bound lookup")
        self.assertIn('BIND dn="cn=admin,dc=example,dc=com" mech=SIMPLE', open(self.slapd.log).read())
        # a refused bind is a temporary failure, not "no such user"
        badm = self.new_mtad("bad", hostname=FRONT_HOSTS[0],
                             mc_extra=mc % (self.slapd.uri, SUFFIX, spec % bad, vdom))
        code, lines = rcpt_reply(badm, "info@virt.example")[:2]
        self.assertEqual(code, 451, lines)
        badm.wait_log(r"virtusertable lookup of info@virt\.example: ldap map .*Invalid credentials")

    def test_entries_for_another_host_do_not_apply(self):
        self.add_map("access", "spammer.example", "REJECT", hosts=("elsewhere.example",))
        f = self.new_mtad("front1", hostname=FRONT_HOSTS[0], mc_extra=(
            "define(`confLDAP_DEFAULT_SPEC', `-H %s -b %s')dnl\n"
            "FEATURE(`access_db', `LDAP')dnl\n") % (self.slapd.uri, SUFFIX))
        code, lines = rcpt_reply(f, "bob@front1.example", sender="x@spammer.example")[:2]
        self.assertEqual(code, 250, lines)

    # -- aliases -------------------------------------------------------
    def test_ldap_aliases_with_sendmails_default_schema(self):
        self.add_alias("team", ["alice", "bob@front1.example"])
        self.add_alias("postmaster", ["carol"], hosts=("elsewhere.example",))
        f = self.new_mtad("front1", hostname=FRONT_HOSTS[0], mc_extra=(
            "define(`confLDAP_DEFAULT_SPEC', `-H %s -b %s -l 2')dnl\n"
            "define(`ALIAS_FILE', `ldap:')dnl\n") % (self.slapd.uri, SUFFIX))
        send(f, ["team@front1.example"])
        wait_for(lambda: b"routed by the directory" in f.mbox("alice"), 20, "alice via the alias")
        wait_for(lambda: b"routed by the directory" in f.mbox("bob"), 20, "bob via the alias")
        # not an alias, not a user: unknown
        code, lines = rcpt_reply(f, "nosuch@front1.example")[:2]
        self.assertEqual(code, 550, lines)
        # newaliases has nothing to build for a directory
        r = f.run("-bi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing to rebuild", r.stdout)
        # the directory down: 451 for a name that is not a passwd user
        q = self.new_mtad("queued", hostname=FRONT_HOSTS[1], mc_extra=(
            "define(`confLDAP_DEFAULT_SPEC', `-H %s -b %s -l 2')dnl\n"
            "define(`ALIAS_FILE', `ldap:')dnl\n"
            "define(`confDELIVERY_MODE', `q')dnl\n") % (self.slapd.uri, SUFFIX))
        qid = send(q, ["team@front2.example"])
        self.slapd.stop()
        code, lines = rcpt_reply(f, "team@front1.example")[:2]
        self.assertEqual(code, 451, lines)
        f.wait_log(r"SYSERR: aliases: lookup of team: ldap map ldap://127\.0\.0\.1:%d" % self.slapd.port)
        # and a queued message for an LDAP alias is deferred, not bounced
        q.run("-q")
        q.wait_log(qid + r": to=<team@front2\.example>.*dsn=4\.3\.0.*ldap map ldap://127\.0\.0\.1:%d"
                   % self.slapd.port)
        self.assertEqual(q.queue_files(), ["qf" + qid])


@unittest.skipUnless(HAVE and SCHEMA, "slapd, ldap-utils or sendmail.schema not available")
class LdapConfig(MtadTestCase):
    def test_bad_ldap_spec_is_an_error_naming_the_line(self):
        m = self.new_mtad("m", start=False, mc_extra="FEATURE(`virtusertable', `ldap -v mail')dnl\n")
        r = m.run("-bC")
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"mtad\.mc:\d+: .*no filter \(-k\) given")
        m2 = self.new_mtad("m2", start=False,
                           mc_extra="FEATURE(`access_db', `ldap -k (x=%0) -s nowhere')dnl\n")
        r = m2.run("-bC")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("scope must be base, one or sub", r.stderr)


if __name__ == "__main__":
    unittest.main()
