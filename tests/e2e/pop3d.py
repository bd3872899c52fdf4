"""A minimal POP3 maildrop server (RFC 1939) for tests: serves the given
messages to any USER/PASS, on a loopback port."""
import socketserver
import threading


class Pop3Server:
    def __init__(self, messages):
        self.messages = [m.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for m in messages]
        srv = self

        class Handler(socketserver.StreamRequestHandler):
            def send(self, line):
                self.wfile.write(line + b"\r\n")

            def handle(self):
                msgs = srv.messages
                self.send(b"+OK test POP3 ready")
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    parts = line.strip().split()
                    if not parts:
                        self.send(b"-ERR empty")
                        continue
                    cmd = parts[0].upper()
                    arg = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                    if cmd in (b"USER", b"PASS", b"NOOP", b"RSET", b"DELE"):
                        self.send(b"+OK")
                    elif cmd == b"CAPA":
                        self.send(b"+OK")
                        for c in (b"USER", b"UIDL", b"TOP"):
                            self.send(c)
                        self.send(b".")
                    elif cmd == b"STAT":
                        self.send(b"+OK %d %d" % (len(msgs), sum(len(m) for m in msgs)))
                    elif cmd in (b"LIST", b"UIDL"):
                        if arg:
                            val = len(msgs[arg - 1]) if cmd == b"LIST" else b"u%d" % arg
                            self.send(b"+OK %d %s" % (arg, str(val).encode() if cmd == b"LIST" else val))
                            continue
                        self.send(b"+OK")
                        for i, m in enumerate(msgs, 1):
                            self.send(b"%d %s" % (i, str(len(m)).encode() if cmd == b"LIST" else b"u%d" % i))
                        self.send(b".")
                    elif cmd in (b"RETR", b"TOP") and arg and 1 <= arg <= len(msgs):
                        self.send(b"+OK")
                        m = msgs[arg - 1]
                        if cmd == b"TOP":
                            m = m.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
                        for l in m.split(b"\r\n")[:-1] if m.endswith(b"\r\n") else m.split(b"\r\n"):
                            self.send(b"." + l if l.startswith(b".") else l)
                        self.send(b".")
                    elif cmd == b"QUIT":
                        self.send(b"+OK bye")
                        return
                    else:
                        self.send(b"-ERR unknown")

        class Srv(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Srv(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
