#!/usr/bin/python3
"""A real libmilter filter (Debian's python3-milter, run with /usr/bin/python3)
for tests/e2e/test_milter.py: it records what every callback saw, as JSON
lines in RECORD, and takes the action a message asks for.

    milter_actions.py SOCKET RECORD

What it does is chosen by the message itself:
  HELO reject.helo                 the HELO is rejected
  MAIL FROM:<tempfail-...@...>     MAIL is tempfailed
  RCPT TO:<reject-...@...>         RCPT gets a multi-line 550 (setmlreply)
  X-Action: a, b, ...              at end of message, in order:
     add inject insert change delete body addrcpt addrcpt_par delrcpt chgfrom
     quarantine progress skip reject tempfail discard replycode
  X-Die: header|body|eom           the filter process exits right there
  X-Sleep: N                       sleep N seconds at end of message
"""
import json
import os
import sys
import threading
import time

import Milter

SOCKET, RECORD = sys.argv[1], sys.argv[2]
_lock = threading.Lock()


def record(**kw):
    with _lock:
        with open(RECORD, "a") as f:
            f.write(json.dumps(kw) + "\n")


class ActionMilter(Milter.Base):
    def __init__(self):
        self.headers = []
        self.bodytext = b""
        self.actions = []
        self.die = ""
        self.sleep = 0

    def _macros(self, *names):
        return {n: self.getsymval(n) for n in names}

    def connect(self, hostname, family, hostaddr):
        record(cb="connect", hostname=hostname, hostaddr=str(hostaddr),
               macros=self._macros("j", "_", "{daemon_name}", "{if_name}", "{if_addr}"))
        return Milter.CONTINUE

    def hello(self, helo):
        record(cb="helo", helo=helo, macros=self._macros("{tls_version}", "{cipher}", "{cipher_bits}"))
        if helo == "reject.helo":
            return Milter.REJECT
        return Milter.CONTINUE

    def envfrom(self, mailfrom, *params):
        record(cb="envfrom", sender=mailfrom, params=list(params),
               macros=self._macros("{mail_addr}", "{mail_mailer}", "{auth_authen}", "{auth_type}"))
        self.headers, self.bodytext, self.actions = [], b"", []
        if "tempfail-" in mailfrom:
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        record(cb="envrcpt", rcpt=to, macros=self._macros("{rcpt_addr}", "{rcpt_mailer}"))
        if to.startswith("<reject-"):
            self.setreply("550", "5.7.1", "recipient refused by the test filter", "second line",
                          "third line")
            return Milter.REJECT
        return Milter.CONTINUE

    def data(self):
        record(cb="data")
        return Milter.CONTINUE

    def unknown(self, cmd):
        record(cb="unknown", cmd=cmd)
        return Milter.CONTINUE

    def header(self, name, value):
        self.headers.append([name, value])
        if name.lower() == "x-action":
            self.actions = [a.strip() for a in value.split(",") if a.strip()]
        if name.lower() == "x-die":
            self.die = value.strip()
            if self.die == "header":
                os._exit(3)
        if name.lower() == "x-sleep":
            self.sleep = float(value)
        return Milter.CONTINUE

    def eoh(self):
        return Milter.CONTINUE

    def body(self, chunk):
        self.bodytext += chunk
        if "skip" in self.actions:	# SMFIS_SKIP: no more body, please
            return Milter.SKIP
        if self.die == "body":
            os._exit(3)
        return Milter.CONTINUE

    def eom(self):
        record(cb="eom", headers=self.headers, body=self.bodytext.decode("latin-1"),
               macros=self._macros("i", "{msg_id}"))
        if self.die == "eom":
            os._exit(3)
        if self.sleep:
            time.sleep(self.sleep)
        verdict = Milter.CONTINUE
        for a in self.actions:
            if a == "add":
                self.addheader("X-Milter-Added", "yes")
            elif a == "inject":	# a value that tries to start a new field
                self.addheader("X-Injected", "first\nEvil: forged\r\nR<root@localhost>")
            elif a == "insert":
                self.addheader("X-Milter-Top", "first", 0)
            elif a == "change":
                self.chgheader("Subject", 1, "changed by the filter")
            elif a == "delete":
                self.chgheader("X-Remove-Me", 1, None)
            elif a == "body":
                self.replacebody(b"the filter's new body\r\nsecond line\r\n")
            elif a == "addrcpt":
                self.addrcpt("<bob@mx.test.example>")
            elif a == "addrcpt_par":
                self.addrcpt("<carol@mx.test.example>", "NOTIFY=NEVER")
            elif a == "delrcpt":
                self.delrcpt("<alice@mx.test.example>")
            elif a == "chgfrom":
                self.chgfrom("<changed-sender@example.org>")
            elif a == "quarantine":
                self.quarantine("held by the test filter")
            elif a == "progress":
                for _ in range(5):
                    self.progress()
                    time.sleep(0.7)
            elif a == "reject":
                verdict = Milter.REJECT
            elif a == "tempfail":
                verdict = Milter.TEMPFAIL
            elif a == "discard":
                verdict = Milter.DISCARD
            elif a == "replycode":
                self.setreply("550", "5.7.0", "first line of the refusal", "second line",
                              "last line")
                verdict = Milter.REJECT
        return verdict

    def abort(self):
        record(cb="abort")
        return Milter.CONTINUE

    def close(self):
        return Milter.CONTINUE


def main():
    Milter.factory = ActionMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGBODY | Milter.ADDRCPT | Milter.ADDRCPT_PAR |
                     Milter.DELRCPT | Milter.CHGHDRS | Milter.QUARANTINE | Milter.CHGFROM)
    sys.stdout.flush()
    Milter.runmilter("milter_actions", SOCKET, 60)


if __name__ == "__main__":
    main()
