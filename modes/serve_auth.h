/* serve_auth: OIDC login for the serve role (internal to serve), the
 * authorization code flow with PKCE (S256):
 *   GET /auth/login[?return_to=/ui/...]: 302 to the provider's
 *     authorization endpoint with state, nonce and the code challenge; the
 *     three secrets ride in the ingot_login cookie (an HS256 JWT, 10 min);
 *   GET /auth/callback?code=&state=: state checked against the cookie, the
 *     code exchanged at the token endpoint with the verifier, the ID token's
 *     signature (RS256/ES256, JWKS) and iss, aud, exp, nonce checked, then a
 *     session for its sub and a 302 to return_to (default /ui/). */
#ifndef INGOT_SERVE_AUTH_H
#define INGOT_SERVE_AUTH_H

struct httpd;
struct serve_session;

#define AUTH_LOGIN_TTL_S 600

void serve_auth_routes(struct serve_session *s, struct httpd *h);

#endif
