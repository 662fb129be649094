#!/usr/bin/env python3
"""A fake OpenID Connect provider for test_login (loopback only, stdlib +
the openssl command line).

  fakeoidc.py DIR [CLIENT_ID] [CLIENT_SECRET]

Makes two RSA keys (kid r1, r2) and an EC P-256 key (kid e1) with openssl
in DIR, listens on 127.0.0.1 (a free port, printed as "port N"), and serves:
  GET  /.well-known/openid-configuration
  GET  /jwks                 r1 and e1; after a "rotate" login, r2 and e1
  GET  /authorize            records state, nonce, code_challenge; 302 back
                             to redirect_uri with a code and the state.
                             The test adds test_sub=, test_alg=RS256|ES256
                             and test_mode= to the URL ingot redirected to;
                             a browser (Accept: text/html) without test_sub
                             gets a sign-in form asking for the subject.
  POST /token                checks the code, client_id, redirect_uri, the
                             client secret (when given at start) and the
                             PKCE verifier against the challenge (S256),
                             then answers an ID token as test_mode says:
    ok, wrong_iss, wrong_aud, expired, bad_sig, nonce (another nonce),
    unknown_kid (a kid no JWKS has), rotate (signed by r2, which the JWKS
    lists from now on instead of r1), alg_none (an unsigned token).
Every request is logged on stdout, one line each ("authorize ...",
"token ...", "jwks N").
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
CLIENT_ID = sys.argv[2] if len(sys.argv) > 2 else "ingot-test"
CLIENT_SECRET = sys.argv[3] if len(sys.argv) > 3 else ""


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def keygen(name, alg):
    path = os.path.join(DIR, name + ".pem")
    if alg == "RSA":
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    else:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    return path


def jwk(kid, path, alg):
    if alg == "RSA":
        mod = openssl("rsa", "-in", path, "-noout", "-modulus").decode().strip().split("=", 1)[1]
        n = bytes.fromhex(mod)
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64u(n), "e": "AQAB"}
    der = openssl("pkey", "-in", path, "-pubout", "-outform", "DER")
    pt = der[-65:]
    return {"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
            "x": b64u(pt[1:33]), "y": b64u(pt[33:])}


def der_to_raw(der):
    # SEQUENCE { INTEGER r, INTEGER s }, lengths < 128
    assert der[0] == 0x30
    i = 2
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        ln = der[i + 1]
        v = der[i + 2:i + 2 + ln].lstrip(b"\x00")
        out += v.rjust(32, b"\x00")
        i += 2 + ln
    return out


KEYS = {
    "r1": (keygen("r1", "RSA"), "RSA"),
    "r2": (keygen("r2", "RSA"), "RSA"),
    "e1": (keygen("e1", "EC"), "EC"),
}
STATE = {"rsa": "r1", "jwks": 0}
CODES = {}


def sign(header, claims, kid):
    si = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
    path, alg = KEYS[kid]
    sig = openssl("dgst", "-sha256", "-sign", path, data=si)
    if alg == "EC":
        sig = der_to_raw(sig)
    return si.decode() + "." + b64u(sig)


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def issuer(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def send(self, code, obj=None, headers=()):
        body = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def login_form(self, q):
        """A browser (Accept: text/html) without test_sub gets a sign-in form
        naming the subject, as a real provider asks who you are; it comes
        back here with test_sub (the browser test types it)."""
        esc = lambda v: (v.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;"))
        hidden = "".join('<input type="hidden" name="%s" value="%s">' % (esc(k), esc(v)) for k, v in q.items())
        body = ('<!doctype html><title>fake OIDC sign-in</title><link rel="icon" href="data:,"><form method="get" action="/authorize">%s'
                '<label for="sub">Subject</label> <input id="sub" name="test_sub" autofocus> '
                '<button type="submit">Sign in</button></form>' % hidden).encode()
        print("authorize form", flush=True)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/.well-known/openid-configuration":
            iss = self.issuer()
            print("discovery", flush=True)
            return self.send(200, {"issuer": iss, "authorization_endpoint": iss + "/authorize",
                                   "token_endpoint": iss + "/token", "jwks_uri": iss + "/jwks",
                                   "response_types_supported": ["code"],
                                   "code_challenge_methods_supported": ["S256"],
                                   "id_token_signing_alg_values_supported": ["RS256", "ES256"]})
        if u.path == "/jwks":
            STATE["jwks"] += 1
            print("jwks %d" % STATE["jwks"], flush=True)
            keys = [jwk(k, KEYS[k][0], KEYS[k][1]) for k in (STATE["rsa"], "e1")]
            return self.send(200, {"keys": keys})
        if u.path == "/authorize":
            need = ["response_type", "client_id", "redirect_uri", "state", "nonce", "code_challenge",
                    "code_challenge_method"]
            missing = [k for k in need if not q.get(k)]
            print("authorize state=%s nonce=%s challenge=%s method=%s scope=%s client_id=%s missing=%s" % (
                q.get("state"), q.get("nonce"), q.get("code_challenge"), q.get("code_challenge_method"),
                q.get("scope"), q.get("client_id"), ",".join(missing) or "-"), flush=True)
            if missing or q["code_challenge_method"] != "S256" or q["client_id"] != CLIENT_ID:
                return self.send(400, {"error": "invalid_request", "missing": missing})
            if "test_sub" not in q and "text/html" in (self.headers.get("Accept") or ""):
                return self.login_form(q)
            code = b64u(os.urandom(18))
            CODES[code] = dict(q)
            loc = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"]})
            return self.send(302, None, [("Location", loc)])
        self.send(404, {"error": "not_found"})

    def do_POST(self):
        ln = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(ln).decode()))
        if self.path != "/token":
            return self.send(404, {"error": "not_found"})
        a = CODES.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        ok_pkce = a is not None and b64u(hashlib.sha256(verifier.encode()).digest()) == a["code_challenge"]
        print("token code=%s verifier=%s pkce=%s redirect_uri=%s client_id=%s secret=%s" % (
            "known" if a else "unknown", "sent" if verifier else "missing", "ok" if ok_pkce else "bad",
            form.get("redirect_uri"), form.get("client_id"),
            "ok" if form.get("client_secret", "") == CLIENT_SECRET else "bad"), flush=True)
        if (not a or not ok_pkce or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != a["redirect_uri"] or form.get("client_id") != CLIENT_ID
                or form.get("client_secret", "") != CLIENT_SECRET):
            return self.send(400, {"error": "invalid_grant"})
        mode = a.get("test_mode", "ok")
        alg = a.get("test_alg", "RS256")
        now = int(time.time())
        claims = {"iss": self.issuer(), "aud": CLIENT_ID, "sub": a.get("test_sub", "alice"),
                  "nonce": a["nonce"], "iat": now, "exp": now + 300}
        kid = STATE["rsa"] if alg == "RS256" else "e1"
        if mode == "wrong_iss":
            claims["iss"] = "http://127.0.0.1:1"
        elif mode == "wrong_aud":
            claims["aud"] = "someone-else"
        elif mode == "expired":
            claims["iat"], claims["exp"] = now - 900, now - 600
        elif mode == "nonce":
            claims["nonce"] = "not-the-nonce"
        elif mode == "rotate":
            STATE["rsa"] = "r2"
            kid, alg = "r2", "RS256"
        header = {"alg": alg, "typ": "JWT", "kid": kid}
        if mode == "alg_none":
            tok = b64u(json.dumps({"alg": "none"}).encode()) + "." + b64u(json.dumps(claims).encode()) + "."
        elif mode == "unknown_kid":
            header["kid"] = "zz"
            tok = sign(header, claims, kid)
        else:
            tok = sign(header, claims, kid)
        if mode == "bad_sig":
            h, p, s = tok.split(".")
            raw = bytearray(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
            raw[5] ^= 1
            tok = h + "." + p + "." + b64u(bytes(raw))
        self.send(200, {"access_token": "at-" + b64u(os.urandom(9)), "token_type": "Bearer",
                        "expires_in": 300, "id_token": tok})


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port %d" % srv.server_address[1], flush=True)
srv.serve_forever()
