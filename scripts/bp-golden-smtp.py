"""A tiny SMTP server for scripts/bp-golden.sh: accepts MAIL and answers
every RCPT with a long 451 whose text carries latin-1 bytes, as remote
servers do, so that sendmail queues the message with that deferral.
Usage: python3 bp-golden-smtp.py HOST PORT READYFILE"""
import socket
import sys
import threading

REPLY = (b"451-4.7.1 Greylisted, see http://postgrey.example.net/help/mx.example.net\r\n"
         b"451 4.7.1 Nachricht zur\xfcckgestellt: bitte sp\xe4ter erneut versuchen "
         b"(greylisting for 300 seconds)\r\n")


def session(c):
    f = c.makefile("rb")
    c.sendall(b"220 mx.example.net ESMTP golden\r\n")
    for line in f:
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            c.sendall(b"250 mx.example.net\r\n")
        elif verb == b"RCPT":
            c.sendall(REPLY)
        elif verb == b"QUIT":
            c.sendall(b"221 bye\r\n")
            break
        elif verb == b"DATA":
            c.sendall(b"503 5.5.1 no valid recipients\r\n")
        else:
            c.sendall(b"250 ok\r\n")
    c.close()


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.listen(5)
    open(sys.argv[3], "w").close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=session, args=(c,), daemon=True).start()


main()
