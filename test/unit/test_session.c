/* session: access tokens, refresh tokens, CSRF tokens, PKCE, cookies. */
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "jwt.h"
#include "session.h"

#define SECRET "unit-secret-0123456789abcdef0123456789"

static void test_access(void)
{
    char err[160];
    struct session_claims c = {.sid = 42, .key = true, .tenant = 7, .key_id = 9}, got;
    strcpy(c.sub, "key:9");
    struct sbuf t;
    sbuf_init(&t);
    session_access_make(SECRET, &c, 1700000000, 900000, &t);
    test_cond("verifies", session_access_verify(SECRET, t.data, 1700000100, &got, err, sizeof err) == 0);
    test_cond("claims", got.sid == 42 && got.key && got.tenant == 7 && got.key_id == 9 && got.exp == 1700000900);
    test_streq("sub", got.sub, "key:9");
    test_cond("expired", session_access_verify(SECRET, t.data, 1700000900, &got, err, sizeof err) < 0 &&
                             strncmp(err, "exp", 3) == 0);
    test_cond("other secret", session_access_verify(SECRET "x", t.data, 1700000100, &got, err, sizeof err) < 0);
    /* a token of another type signed with the same secret is not an access token */
    struct sbuf o;
    sbuf_init(&o);
    jwt_hs256_sign(SECRET, "{\"iss\":\"ingot\",\"typ\":\"login\",\"sid\":1,\"sub\":\"a\",\"knd\":\"oidc\",\"exp\":4000000000}", &o);
    test_cond("login token refused", session_access_verify(SECRET, o.data, 1700000100, &got, err, sizeof err) < 0);
    sbuf_reset(&o);
    jwt_hs256_sign(SECRET, "{\"iss\":\"other\",\"typ\":\"access\",\"sid\":1,\"sub\":\"a\",\"knd\":\"oidc\",\"exp\":4000000000}", &o);
    test_cond("other iss refused", session_access_verify(SECRET, o.data, 1700000100, &got, err, sizeof err) < 0);
    sbuf_deinit(&o);
    sbuf_deinit(&t);
}

static void test_tokens(void)
{
    char a[SESSION_REFRESH_LEN + 1], b[SESSION_REFRESH_LEN + 1];
    test_cond("refresh tokens", session_refresh_new(a) == 0 && session_refresh_new(b) == 0);
    test_cond("well-formed", session_refresh_wellformed(a) && strlen(a) == SESSION_REFRESH_LEN);
    test_cond("different", strcmp(a, b) != 0);
    test_cond("ik_ is not a refresh token", !session_refresh_wellformed("ik_0123"));
    a[10] = '+';
    test_cond("bad character", !session_refresh_wellformed(a));
    char h1[65], h2[65];
    session_token_hash(SECRET, "ir_x", h1);
    session_token_hash(SECRET "2", "ir_x", h2);
    test_cond("hash depends on the secret", strlen(h1) == 64 && strcmp(h1, h2) != 0);
    char c1[44], c2[44];
    session_csrf_token(SECRET, 1, c1);
    session_csrf_token(SECRET, 2, c2);
    test_cond("csrf per session", strlen(c1) == 43 && strcmp(c1, c2) != 0);
    test_cond("csrf ok", session_csrf_ok(SECRET, 1, c1));
    test_cond("csrf of another session", !session_csrf_ok(SECRET, 2, c1));
    test_cond("csrf missing", !session_csrf_ok(SECRET, 1, NULL));
    /* the value Python's hashlib gives for base64url(SHA-256(verifier)) */
    struct sbuf p;
    sbuf_init(&p);
    session_pkce_challenge("dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk", &p);
    test_streq("PKCE S256", p.data, "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc");
    sbuf_reset(&p);
    test_cond("random", session_random_b64(32, &p) == 0 && p.len == 43);
    sbuf_deinit(&p);
}

static void test_cookies(void)
{
    char v[64];
    test_cond("found", session_cookie("a=1; ingot_access=tok; b=2", "ingot_access", v, sizeof v) && strcmp(v, "tok") == 0);
    test_cond("first", session_cookie("ingot_access=x", "ingot_access", v, sizeof v) && strcmp(v, "x") == 0);
    test_cond("prefix is not the name", !session_cookie("xingot_access=1; ingot_accessx=2", "ingot_access", v, sizeof v));
    test_cond("empty value", !session_cookie("ingot_access=; b=1", "ingot_access", v, sizeof v));
    test_cond("absent", !session_cookie("a=1", "ingot_access", v, sizeof v));
    test_cond("NULL header", !session_cookie(NULL, "ingot_access", v, sizeof v));
    char small[4];
    test_cond("too long for the buffer", !session_cookie("ingot_access=12345", "ingot_access", small, sizeof small));
    struct sbuf b;
    sbuf_init(&b);
    session_set_cookie(&b, "ingot_access", "t", "/", 900, true, true);
    test_streq("set-cookie", b.data, "ingot_access=t; Path=/; Max-Age=900; HttpOnly; SameSite=Lax; Secure");
    sbuf_reset(&b);
    session_set_cookie(&b, "ingot_csrf", "c", "/", 0, false, false);
    test_streq("readable, deleted", b.data, "ingot_csrf=c; Path=/; Max-Age=0; SameSite=Lax");
    sbuf_deinit(&b);
}

int main(void)
{
    test_access();
    test_tokens();
    test_cookies();
    test_report();
}
