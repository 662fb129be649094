#!/usr/bin/env python3
"""A forward HTTP proxy for tests: takes absolute-form requests
("POST http://127.0.0.1:P/path HTTP/1.1"), forwards each to its origin
(loopback only: anything else is refused with 403) with Connection: close,
relays the answer, and logs one line per request on stdout:
"proxied METHOD URL". Prints "port N" first. One request per client
connection (it answers Connection: close)."""
import socket
import sys
import threading
from urllib.parse import urlsplit

LOOPBACK = ("127.", "localhost", "::1")


def read_head(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def serve(client):
    try:
        head, rest = read_head(client)
        if head is None:
            return
        lines = head.split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        u = urlsplit(target)
        host = u.hostname or ""
        if u.scheme != "http" or not host.startswith(LOOPBACK):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        headers = [h for h in lines[1:] if not h.lower().startswith(("connection:", "proxy-connection:"))]
        length = 0
        for h in headers:
            if h.lower().startswith("content-length:"):
                length = int(h.split(":", 1)[1])
        body = rest
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            body += chunk
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        print(f"proxied {method} {target}", flush=True)
        up = socket.create_connection((host, u.port or 80))
        req = f"{method} {path} {version}\r\n" + "\r\n".join(headers + ["Connection: close"]) + "\r\n\r\n"
        up.sendall(req.encode("latin-1") + body)
        first = True
        while True:
            chunk = up.recv(65536)
            if not chunk:
                break
            if first:  # the client must not reuse this connection
                chunk = chunk.replace(b"\r\n", b"\r\nConnection: close\r\n", 1)
                first = False
            client.sendall(chunk)
        up.close()
    except (OSError, ValueError):
        pass
    finally:
        client.close()


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    srv.listen(64)
    print(f"port {srv.getsockname()[1]}", flush=True)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
