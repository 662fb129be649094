#!/usr/bin/env python3
"""badllm: a hostile or broken LLM provider for test_llm_sec.sh, on 127.0.0.1.
    python3 badllm.py     (prints "port N" first)
What the C fake (fakellm) cannot do, chosen by the request's model name
(the part after the last "/"), for both /openai/v1 and /anthropic/v1:
  keyecho-S      answers status S with an error whose message echoes the
                 key the request carried, whole (a self-hosted server) and
                 as OpenAI's "sk-...abcd" hint
  keyecho-text   500, text/plain, the key in the text
  keyecho-stream 200 stream, one chunk, then an error event echoing the key
  flood-N        200 stream of N MB as fast as taken; GET /_flood/flood-N says
                 "running", "done" (all written) or "closed" (the reader left)
  bigevent       200 stream: one 6 MB event never finished, then 10 s of nothing
  stall          200 stream: one chunk, then 30 s of nothing
  badutf8        200 stream whose content has invalid UTF-8 and a NUL
  badutf8-body   200 completion whose content has invalid UTF-8
  badutf8-err    400 whose error message has invalid UTF-8
  slowbig-K      200 completion of K KB (Content-Length said): all but
                 100 KB, 0.5 s of nothing, the rest
  big-N          200 completion of N MB
  absurd-headers 200 with nonsense rate-limit headers
  err200         200 whose body is an error and nothing else
  usage-huge     200 whose usage counts are 9e18 and 1e300
  (GET models)   ids with "created": 1e300 and -1e300
GET /models sleeps 20 s when the path starts with /slow.
Each request is appended to the list GET /_log answers (path, model, key)."""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = []
FLOOD = {}
LOCK = threading.Lock()


def key_of(h):
    a = h.get("authorization") or ""
    if a.lower().startswith("bearer "):
        return a[7:]
    return h.get("x-api-key") or ""


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="application/json", extra=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/_log"):
            with LOCK:
                self.send(200, "\n".join(json.dumps(r) for r in LOG) + "\n")
            return
        if self.path.startswith("/_flood/"):
            with LOCK:
                self.send(200, FLOOD.get(self.path[8:], "running"), "text/plain")
            return
        if self.path.startswith("/slow"):
            time.sleep(20)
        if self.path.endswith("/models"):
            self.send(200, '{"object":"list","data":[{"id":"created-huge","object":"model","created":1e300},'
                           '{"id":"created-nan","object":"model","created":-1e300}]}')
            return
        self.send(404, '{"error":{"message":"no such path"}}')

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n)
        try:
            model = json.loads(raw).get("model", "")
        except Exception:
            model = ""
        key = key_of({k.lower(): v for k, v in self.headers.items()})
        with LOCK:
            LOG.append({"path": self.path, "model": model, "key": key})
        hint = "sk-..." + key[-4:]
        anth = self.path.startswith("/anthropic")
        m = model.rsplit("/", 1)[-1]
        if m.startswith("keyecho-") and m[8:].isdigit():
            st = int(m[8:])
            msg = "Incorrect API key provided: %s (%s)" % (key, hint)
            if anth:
                body = {"type": "error", "error": {"type": "authentication_error", "message": msg}}
            else:
                body = {"error": {"message": msg, "type": "invalid_request_error", "param": None,
                                  "code": "invalid_api_key"}}
            self.send(st, json.dumps(body))
        elif m == "keyecho-text":
            self.send(500, "upstream exploded while using key " + key, "text/plain")
        elif m == "keyecho-stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            if anth:
                self.wfile.write(b'event: message_start\ndata: {"type":"message_start","message":{"id":"m1","type":"message","role":"assistant","model":"x","content":[],"usage":{"input_tokens":3,"output_tokens":0}}}\n\n')
                self.wfile.write(('event: error\ndata: {"type":"error","error":{"type":"api_error","message":"key %s broke"}}\n\n' % key).encode())
            else:
                self.wfile.write(b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n')
                self.wfile.write(('data: {"error":{"message":"key %s broke","type":"server_error"}}\n\n' % key).encode())
            self.close_connection = True
        elif m.startswith("flood-"):
            # N MB of chunks as fast as they are taken; FLOOD[m] says how it ended
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            chunk = ('data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n'
                     % ("x" * 1000)).encode()
            end = "done"
            try:
                for _ in range(int(m[6:]) * 1000):
                    self.wfile.write(chunk)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except OSError:
                end = "closed"
            with LOCK:
                FLOOD[m] = end
            self.close_connection = True
        elif m == "bigevent":
            # one SSE event of 6 MB, then nothing: beyond the gateway's bound
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                self.wfile.write(b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"' + b"y" * (6 << 20))
                self.wfile.flush()
                time.sleep(10)
            except OSError:
                pass
            self.close_connection = True
        elif m == "stall":
            # one chunk, then nothing for 30 s
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                self.wfile.write(b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n')
                self.wfile.flush()
                time.sleep(30)
            except OSError:
                pass
            self.close_connection = True
        elif m == "badutf8":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a\xff\xfeb\\u0000c"}}]}\n\n')
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True
        elif m == "badutf8-body":
            self.send(200, b'{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",'
                           b'"content":"a\xff\xfeb\xc3\xa9\xed\xa0\x80c"},"finish_reason":"stop"}],'
                           b'"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}')
        elif m == "badutf8-err":
            self.send(400, b'{"error":{"message":"bad \xc0\xafthing","type":"invalid_request_error","param":null,"code":null}}')
        elif m.startswith("slowbig-"):
            body = ('{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",'
                    '"content":"' + "s" * (int(m[8:]) << 10) + '"},"finish_reason":"stop"}],'
                    '"usage":{"prompt_tokens":1,"completion_tokens":7,"total_tokens":8}}').encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body[:-(100 << 10)])
                self.wfile.flush()
                time.sleep(0.5)
                self.wfile.write(body[-(100 << 10):])
            except OSError:
                self.close_connection = True
        elif m.startswith("big-"):
            # a 200 completion of N MB
            self.send(200, '{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",'
                           '"content":"' + "z" * (int(m[4:]) << 20) + '"},"finish_reason":"stop"}],'
                           '"usage":{"prompt_tokens":1,"completion_tokens":7,"total_tokens":8}}')
        elif m == "absurd-headers":
            # a 200 whose rate-limit headers are nonsense (none says "spent" in a readable way)
            self.send(200, json.dumps({"id": "c1", "object": "chat.completion", "model": model, "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}), extra=(
                ("x-ratelimit-remaining-requests", "-1"), ("x-ratelimit-reset-requests", "1e30s"),
                ("x-ratelimit-remaining-tokens", "99999999999999999999999999"),
                ("x-ratelimit-reset-tokens", "99999h99999m"), ("retry-after", "Fri, 31 Dec 99999 23:59:59 GMT"),
                ("retry-after-ms", "-5"), ("anthropic-ratelimit-requests-remaining", "nan"),
                ("anthropic-ratelimit-requests-reset", "99999-12-31T00:00:00Z")))
        elif m == "err200":
            self.send(200, '{"error":{"message":"overloaded, try later","type":"server_error","code":null}}')
        elif m == "usage-huge":
            self.send(200, '{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",'
                           '"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9000000000000000000,'
                           '"completion_tokens":9000000000000000000,"total_tokens":1e300,'
                           '"prompt_tokens_details":{"cached_tokens":1e300}}}')
        else:
            self.send(200, json.dumps({"id": "c1", "object": "chat.completion", "model": model, "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}))


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    print("port %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
