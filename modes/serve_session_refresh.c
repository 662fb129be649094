/* POST /auth/refresh (rotation; a used token presented again revokes its
 * session), POST /auth/logout and POST /auth/logout-all (serve_session.h). */
#include "serve_session_refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "httpd.h"
#include "log.h"
#include "runtime.h"
#include "serve_session_int.h"
#include "session.h"
#include "sql.h"

/* --- POST /auth/refresh --- */

void ss_reply_503(struct http_req *r, const char *what, const char *err)
{
    log_warn("%s: %s", what, err);
    http_add_header(r, "Retry-After", "1");
    http_reply_error(r, 503, "server_error", NULL, "database_unavailable", "the database is unavailable; retry shortly");
}

static void rotated_cb(const struct db_result *res, void *arg)
{
    struct ss_req *q = arg;
    if (!res->ok) {
        ss_reply_503(q->r, "refresh", res->error);
        ss_req_free(q);
    } else if (res->affected_rows != 1) { /* a concurrent refresh used it first */
        ss_clear_cookies(q->s, q->r);
        http_reply_error(q->r, 401, "invalid_request_error", NULL, "refresh_token_used",
                         "the refresh token was used already: log in again");
        ss_req_free(q);
    } else {
        ss_me_load(q); /* sets the new cookies and answers who is logged in */
    }
}

static void revoked_reuse_cb(const struct db_result *res, void *arg)
{
    struct ss_req *q = arg;
    if (!res->ok)
        log_warn("revoking a session whose refresh token was reused: %s", res->error);
    ss_req_free(q);
}

static void refresh_found_cb(const struct db_result *res, void *arg)
{
    struct ss_req *q = arg;
    struct serve_session *s = q->s;
    MYSQL_ROW row = res->ok ? mysql_fetch_row(res->res) : NULL;
    if (!res->ok) {
        ss_reply_503(q->r, "refresh", res->error);
        ss_req_free(q);
        return;
    }
    if (!row) {
        serve_session_failed(s, q->r);
        ss_clear_cookies(s, q->r);
        http_reply_error(q->r, 401, "invalid_request_error", NULL, "invalid_refresh_token",
                         "unknown refresh token: log in again");
        ss_req_free(q);
        return;
    }
    /* id, kind, subject, tenant_id, key_id, current, alive */
    q->cl.sid = (uint64_t)db_row_ll(row, 0);
    q->cl.key = strcmp(db_row_str(row, 1), "key") == 0;
    snprintf(q->cl.sub, sizeof q->cl.sub, "%s", db_row_str(row, 2));
    q->cl.tenant = (uint64_t)db_row_ll(row, 3);
    q->cl.key_id = (uint64_t)db_row_ll(row, 4);
    bool current = db_row_ll(row, 5) == 1, alive = db_row_ll(row, 6) == 1;
    if (ss_csrf_check(s, q->r, q->cl.sid) < 0) {
        ss_req_free(q);
        return;
    }
    if (!current && alive) {
        /* A used token again: someone holds a copy. End the session. */
        log_warn("session %llu: a used refresh token was presented again; the session is revoked",
                 (unsigned long long)q->cl.sid);
        char sql[160];
        snprintf(sql, sizeof sql, "UPDATE auth_sessions SET revoked_at = NOW(6) WHERE id = %llu AND revoked_at IS NULL",
                 (unsigned long long)q->cl.sid);
        struct ss_req *bg = ss_req_new(s, NULL);
        db_query(s->rt->db, sql, 0, revoked_reuse_cb, bg);
    }
    if (!current || !alive) {
        ss_clear_cookies(s, q->r);
        http_reply_error(q->r, 401, "invalid_request_error", NULL, current ? "session_revoked" : "refresh_token_used",
                         current ? "the session ended (logged out, revoked or expired): log in again"
                                 : "the refresh token was used already; the session is revoked: log in again");
        ss_req_free(q);
        return;
    }
    if (session_refresh_new(q->refresh) < 0) {
        http_reply_error(q->r, 500, "server_error", NULL, "no_randomness", "no randomness available");
        ss_req_free(q);
        return;
    }
    session_token_hash(s->cfg->jwt_secret, q->refresh, q->new_hash);
    char sql[400];
    snprintf(sql, sizeof sql,
             "UPDATE auth_sessions SET prev_hash = refresh_hash, refresh_hash = UNHEX('%s'), refreshed_at = NOW(6) "
             "WHERE id = %llu AND refresh_hash = UNHEX('%s') AND revoked_at IS NULL",
             q->new_hash, (unsigned long long)q->cl.sid, q->old_hash);
    db_query(s->rt->db, sql, 0, rotated_cb, q);
}

void serve_session_refresh_route(struct http_req *r, void *arg)
{
    struct serve_session *s = arg;
    if (serve_session_blocked(s, r))
        return;
    struct ss_req *q = ss_req_new(s, r);
    char tok[SESSION_REFRESH_LEN + 8];
    if (!session_cookie(http_req_header(r, "Cookie"), SESSION_REFRESH_COOKIE, tok, sizeof tok) ||
        !session_refresh_wellformed(tok)) {
        http_reply_error(r, 401, "invalid_request_error", NULL, "not_logged_in",
                         "no refresh token (the " SESSION_REFRESH_COOKIE " cookie): log in");
        ss_req_free(q);
        return;
    }
    session_token_hash(s->cfg->jwt_secret, tok, q->old_hash);
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "SELECT s.id, s.kind, s.subject, s.tenant_id, s.key_id, s.refresh_hash = UNHEX('%s'), "
                    "s.revoked_at IS NULL AND s.expires_at > NOW(6) AND (s.kind = 'oidc' OR EXISTS "
                    "(SELECT 1 FROM api_keys k WHERE k.id = s.key_id AND k.revoked_at IS NULL)) "
                    "FROM auth_sessions s WHERE s.refresh_hash = UNHEX('%s') OR s.prev_hash = UNHEX('%s') LIMIT 1",
                q->old_hash, q->old_hash, q->old_hash);
    db_query(s->rt->db, b.data, 0, refresh_found_cb, q);
    sbuf_deinit(&b);
}

/* --- POST /auth/logout, POST /auth/logout-all --- */

static void logged_out_cb(const struct db_result *res, void *arg)
{
    struct ss_req *q = arg;
    if (!res->ok) {
        ss_reply_503(q->r, "logout", res->error);
    } else {
        ss_clear_cookies(q->s, q->r);
        char body[80];
        int n = snprintf(body, sizeof body, "{\"logged_out\":true,\"sessions_ended\":%llu}", res->affected_rows);
        http_reply_json(q->r, 200, body, (size_t)n);
    }
    ss_req_free(q);
}

/* Revokes q's session, or every session of its subject. */
static void revoke(struct ss_req *q, bool everywhere)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "UPDATE auth_sessions SET revoked_at = NOW(6) WHERE revoked_at IS NULL AND ");
    if (everywhere) {
        sbuf_printf(&b, "kind = '%s' AND subject = ", q->cl.key ? "key" : "oidc");
        sql_cstr(&b, q->cl.sub);
    } else {
        sbuf_printf(&b, "id = %llu", (unsigned long long)q->cl.sid);
    }
    db_query(q->s->rt->db, b.data, 0, logged_out_cb, q);
    sbuf_deinit(&b);
}

static void by_refresh_cb(const struct db_result *res, void *arg)
{
    struct ss_req *q = arg;
    MYSQL_ROW row = res->ok ? mysql_fetch_row(res->res) : NULL;
    if (!res->ok) {
        ss_reply_503(q->r, "logout", res->error);
        ss_req_free(q);
        return;
    }
    if (!row) {
        ss_clear_cookies(q->s, q->r);
        http_reply_error(q->r, 401, "invalid_request_error", NULL, "session_revoked",
                         "the session ended already (logged out, revoked or expired)");
        ss_req_free(q);
        return;
    }
    q->cl.sid = (uint64_t)db_row_ll(row, 0);
    q->cl.key = strcmp(db_row_str(row, 1), "key") == 0;
    snprintf(q->cl.sub, sizeof q->cl.sub, "%s", db_row_str(row, 2));
    if (ss_csrf_check(q->s, q->r, q->cl.sid) < 0) {
        ss_req_free(q);
        return;
    }
    revoke(q, q->everywhere);
}

/* With a valid access token, or else (it expired while the page sat idle)
 * the refresh token: either names the session. */
static void logout(struct http_req *r, struct serve_session *s, bool everywhere)
{
    struct ss_req *q = ss_req_new(s, r);
    q->everywhere = everywhere;
    const char *cookie = http_req_header(r, "Cookie");
    char acc[4096], ref[SESSION_REFRESH_LEN + 8], err[160];
    if (session_cookie(cookie, SESSION_ACCESS_COOKIE, acc, sizeof acc) &&
        session_access_verify(s->cfg->jwt_secret, acc, ss_now_s(), &q->cl, err, sizeof err) == 0) {
        if (ss_csrf_check(s, r, q->cl.sid) < 0)
            ss_req_free(q);
        else
            revoke(q, everywhere);
        return;
    }
    if (!session_cookie(cookie, SESSION_REFRESH_COOKIE, ref, sizeof ref) || !session_refresh_wellformed(ref)) {
        (void)ss_access_claims(s, r, &q->cl); /* answers 401 saying why */
        ss_req_free(q);
        return;
    }
    char hash[65];
    session_token_hash(s->cfg->jwt_secret, ref, hash);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT id, kind, subject FROM auth_sessions WHERE refresh_hash = UNHEX('%s') AND revoked_at IS NULL "
             "AND expires_at > NOW(6)", hash);
    db_query(s->rt->db, sql, 0, by_refresh_cb, q);
}

void serve_session_logout_route(struct http_req *r, void *arg) { logout(r, arg, false); }
void serve_session_logout_all_route(struct http_req *r, void *arg) { logout(r, arg, true); }

