#!/usr/bin/env python3
"""A raw HTTP/1.1 client for the LLM edge tests: sends one POST and prints,
as JSON, the status, the headers (names lower-cased), each body piece as it
arrived with its CLOCK_MONOTONIC time in ms (the fake provider's clock),
and, when told to leave early, when it closed the socket.

  sse_client.py PORT PATH KEY BODY [--close-after-events N] [--close-after-ms MS]
                [--header "Name: value"]...

Loopback only (127.0.0.1). Chunked bodies are decoded; with SSE each
"data:" line is one event."""
import json
import socket
import sys
import time


def mono_ms():
    return time.clock_gettime(time.CLOCK_MONOTONIC) * 1000.0


def main():
    port, path, key, body = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].encode()
    close_events = close_ms = None
    extra = ""
    args = sys.argv[5:]
    while args:
        if args[0] == "--close-after-events":
            close_events = int(args[1])
        elif args[0] == "--close-after-ms":
            close_ms = float(args[1])
        elif args[0] == "--header":
            extra += args[1] + "\r\n"
        args = args[2:]
    s = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        # what the official SDK sends, even for streams
        "Accept: application/json\r\nUser-Agent: OpenAI/JS 7.55.0\r\n"
        "X-Stainless-Lang: js\r\nX-Stainless-Retry-Count: 0\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n"
    )
    s.sendall(head.encode() + body)
    start = mono_ms()
    out = {"status": 0, "headers": {}, "events": [], "closed_at": None, "complete": False}
    buf = b""
    headers_done = False
    chunked = False
    body_buf = b""
    lines_buf = b""
    s.settimeout(0.02)
    while True:
        if close_ms is not None and mono_ms() - start >= close_ms:
            break
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        now = mono_ms()
        buf += data
        if not headers_done:
            if b"\r\n\r\n" not in buf:
                continue
            h, buf = buf.split(b"\r\n\r\n", 1)
            lines = h.decode("latin-1").split("\r\n")
            out["status"] = int(lines[0].split()[1])
            for line in lines[1:]:
                name, _, value = line.partition(":")
                out["headers"][name.strip().lower()] = value.strip()
            chunked = out["headers"].get("transfer-encoding", "").lower() == "chunked"
            headers_done = True
        # decode what is complete
        piece = b""
        if chunked:
            while True:
                if b"\r\n" not in buf:
                    break
                size_line, rest = buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    out["complete"] = True
                    buf = b""
                    break
                if len(rest) < size + 2:
                    break
                piece += rest[:size]
                buf = rest[size + 2:]
        else:
            piece, buf = buf, b""
            clen = out["headers"].get("content-length")
            if clen is not None and len(body_buf) + len(piece) >= int(clen):
                out["complete"] = True
        body_buf += piece
        lines_buf += piece
        while b"\n\n" in lines_buf:
            ev, lines_buf = lines_buf.split(b"\n\n", 1)
            for line in ev.decode("utf-8", "replace").split("\n"):
                if line.startswith("data:"):
                    out["events"].append({"t": now, "data": line[5:].strip()})
        if close_events is not None and len(out["events"]) >= close_events:
            break
        if out["complete"]:
            break
    if not out["complete"]:
        s.close()
        out["closed_at"] = mono_ms()
    else:
        s.close()
    out["body"] = body_buf.decode("utf-8", "replace")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
