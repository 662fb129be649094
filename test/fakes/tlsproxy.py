#!/usr/bin/env python3
"""tlsproxy: a TLS-terminating byte pipe for the https provider tests, on
127.0.0.1, Python 3 stdlib only.
    tlsproxy.py PORT --cert FILE --key FILE --backend BPORT [--max-tls 1.2]
    tlsproxy.py PORT --cert FILE --key FILE --hang
PORT 0 picks a free port; the first line on stdout is "port N".
Each accepted connection does the TLS handshake with the given certificate
(whatever the client's SNI), then pipes the plaintext both ways to
127.0.0.1:BPORT (the fake provider): keep-alive, streamed answers (written
as they arrive), half-close (the client's close_notify or FIN becomes a
shutdown of the backend's write side, and the backend's EOF a close_notify
to the client; the other direction goes on until its own end).
--hang accepts connections and never reads from them (no handshake).
--max-tls 1.2 caps the protocol at TLS 1.2.
One line a handshake on stdout, for assertions:
    handshake ok sni=NAME|- version=TLSv1.3
    handshake failed: REASON
One thread, non-blocking sockets, ssl.MemoryBIO: no SSL object is ever
touched from two threads, and a half-close is in our hands (asyncio's TLS
transport cannot half-close)."""
import selectors
import socket
import ssl
import sys

CHUNK = 65536
HIGH = 1 << 20  # stop reading a side while more than this waits for the other


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Conn:
    def __init__(self, proxy, csock, bsock):
        self.p = proxy
        self.c = csock
        self.b = bsock
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.tls = proxy.ctx.wrap_bio(self.inc, self.out, server_side=True)
        self.shaken = False
        self.to_c = bytearray()  # TLS records for the client
        self.to_b = bytearray()  # plaintext for the backend
        self.c_eof = False  # the client's side ended (close_notify or FIN)
        self.c_fin = False  # TCP FIN from the client
        self.b_eof = False  # the backend's side ended
        self.b_shut = False  # shutdown(SHUT_WR) sent to the backend
        self.c_shut = False  # close_notify queued and FIN sent to the client
        self.notify = False  # close_notify queued
        self.closed = False
        self.sni = None
        proxy.sel.register(csock, selectors.EVENT_READ, (self, "c"))
        proxy.sel.register(bsock, selectors.EVENT_READ, (self, "b"))

    def close(self):
        if self.closed:
            return
        self.closed = True
        for s in (self.c, self.b):
            try:
                self.p.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    def event(self, side, mask):
        try:
            if side == "c":
                if mask & selectors.EVENT_WRITE:
                    self.flush_c()
                if mask & selectors.EVENT_READ:
                    self.read_c()
            else:
                if mask & selectors.EVENT_WRITE:
                    self.flush_b()
                if mask & selectors.EVENT_READ:
                    self.read_b()
            self.pump()
        except OSError:  # ssl.SSLError and ConnectionError included
            self.close()
            return
        if not self.closed:
            self.interest()

    def read_c(self):
        data = self.c.recv(CHUNK)
        if data:
            self.inc.write(data)
        else:
            self.c_fin = True
            self.inc.write_eof()

    def read_b(self):
        data = self.b.recv(CHUNK)
        if data:
            self.tls.write(data)  # encrypted into self.out at once
        else:
            self.b_eof = True

    def pump(self):
        if not self.shaken:
            try:
                self.tls.do_handshake()
                self.shaken = True
                v = self.tls.version()
                say("handshake ok sni=%s version=%s" % (self.sni or "-", v))
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as e:
                self.to_c += self.out.read()  # the alert, if any
                say("handshake failed: %s" % (e.reason or e))
                self.flush_c()
                raise
            if not self.shaken and self.c_fin:
                say("handshake failed: the client closed")
                raise ConnectionError("closed during the handshake")
        if self.shaken and not self.c_eof:
            while True:
                try:
                    d = self.tls.read(CHUNK)
                except ssl.SSLWantReadError:
                    break
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    self.c_eof = True
                    break
                except ssl.SSLError:
                    if self.c_fin:  # a FIN without close_notify
                        self.c_eof = True
                        break
                    raise
                if not d:
                    self.c_eof = True
                    break
                self.to_b += d
        if self.b_eof and not self.shaken:
            raise ConnectionError("the backend left before the handshake")
        if self.b_eof and not self.notify:
            self.notify = True
            try:
                self.tls.unwrap()  # queues close_notify
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                pass
        self.to_c += self.out.read()
        self.flush_c()
        self.flush_b()
        if self.c_eof and not self.to_b and not self.b_shut:
            self.b_shut = True
            try:
                self.b.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if self.notify and not self.to_c and not self.c_shut:
            self.c_shut = True
            try:
                self.c.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        # Both directions done: the backend ended and the client has it all;
        # the client ended (or the backend is gone, so nothing it sends
        # matters any more).
        if self.c_shut and (self.b_shut or self.c_fin):
            self.close()

    def flush_c(self):
        while self.to_c:
            try:
                n = self.c.send(self.to_c)
            except BlockingIOError:
                return
            del self.to_c[:n]

    def flush_b(self):
        while self.to_b and not self.b_eof:
            try:
                n = self.b.send(self.to_b)
            except BlockingIOError:
                return
            del self.to_b[:n]
        if self.b_eof:
            self.to_b.clear()  # the backend left: nobody to take it

    def interest(self):
        rc = 0
        if not self.c_fin and not self.c_eof and len(self.to_b) < HIGH:
            rc |= selectors.EVENT_READ
        if not self.shaken and not self.c_fin:
            rc |= selectors.EVENT_READ
        if self.c_shut and not self.c_fin:
            rc |= selectors.EVENT_READ  # wait for the client's end
        if self.to_c:
            rc |= selectors.EVENT_WRITE
        rb = 0
        if self.shaken and not self.b_eof and len(self.to_c) < HIGH:
            rb |= selectors.EVENT_READ
        if self.to_b and not self.b_eof:
            rb |= selectors.EVENT_WRITE
        self.setmask(self.c, rc, "c")
        self.setmask(self.b, rb, "b")

    def setmask(self, s, mask, side):
        key = self.p.sel.get_map().get(s)
        if mask == 0:
            if key is not None:
                self.p.sel.unregister(s)
        elif key is None:
            self.p.sel.register(s, mask, (self, side))
        elif key.events != mask:
            self.p.sel.modify(s, mask, (self, side))


class Proxy:
    def __init__(self, args):
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.hung = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args["cert"], args["key"])
        if args.get("max_tls") == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.sni_callback = self.sni_cb
        self.ctx = ctx
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", args["port"]))
        self.lsock.listen(512)
        self.lsock.setblocking(False)
        self.sel.register(self.lsock, selectors.EVENT_READ, None)

    def sni_cb(self, sslobj, name, ctx):
        # MemoryBIO objects: the Conn is found through the SSLObject.
        conn = getattr(sslobj, "_conn", None)
        if conn is not None:
            conn.sni = name
        return None

    def accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except BlockingIOError:
                return
            if self.args.get("hang"):
                self.hung.append(c)  # never read: no handshake ever
                continue
            try:
                b = socket.create_connection(("127.0.0.1", self.args["backend"]), timeout=5)
            except OSError as e:
                say("backend unreachable: %s" % e)
                c.close()
                continue
            for s in (c, b):
                s.setblocking(False)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Conn(self, c, b)
            conn.tls._conn = conn  # for sni_cb (SSLObject takes attributes)

    def run(self):
        say("port %d" % self.lsock.getsockname()[1])
        while True:
            for key, mask in self.sel.select():
                if key.data is None:
                    self.accept()
                else:
                    conn, side = key.data
                    if not conn.closed:
                        conn.event(side, mask)


def main():
    argv = sys.argv[1:]
    if not argv:
        sys.exit(__doc__)
    args = {"port": int(argv[0])}
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--hang":
            args["hang"] = True
            i += 1
            continue
        if a not in ("--cert", "--key", "--backend", "--max-tls") or i + 1 >= len(argv):
            sys.exit("tlsproxy: unknown or incomplete option %s" % a)
        args[a[2:].replace("-", "_")] = argv[i + 1]
        i += 2
    if "cert" not in args or "key" not in args or ("backend" not in args and not args.get("hang")):
        sys.exit(__doc__)
    if "backend" in args:
        args["backend"] = int(args["backend"])
    try:
        Proxy(args).run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
