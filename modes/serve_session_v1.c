/* The session cookie on /v1 instead of a bearer key (serve_session.h):
 * the access token, CSRF on a state change, and whether the session may
 * see the tenant Ingot-Tenant names. */
#include "serve_session_v1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "httpd.h"
#include "job.h"
#include "runtime.h"
#include "serve_session_int.h"
#include "session.h"
#include "sql.h"

bool serve_session_applies(const struct serve_session *s, struct http_req *r)
{
    if (!s || http_req_header(r, "Authorization") || !s->cfg->jwt_secret[0])
        return false;
    const char *c = http_req_header(r, "Cookie");
    return c && strstr(c, SESSION_ACCESS_COOKIE "=");
}

static void v1_answer(struct ss_req *q, uint64_t tenant, int status, const char *param, const char *code,
                      const char *msg)
{
    struct session_v1_result res = {tenant, q->cl.key ? q->cl.key_id : 0, status, param, code, msg};
    q->v1cb(&res, q->v1arg);
    ss_req_free(q);
}

static void v1_cb(const struct db_result *res, void *arg)
{
    struct ss_req *q = arg;
    MYSQL_ROW row = res->ok ? mysql_fetch_row(res->res) : NULL;
    if (!res->ok)
        v1_answer(q, 0, 503, NULL, "database_unavailable", "the database is unavailable; retry shortly");
    else if (!row)
        v1_answer(q, 0, 401, NULL, "session_revoked", "the session ended (logged out, revoked or expired): log in again");
    else if (!row[0])
        v1_answer(q, 0, 403, "Ingot-Tenant", "tenant_not_visible",
                  "Ingot-Tenant: this session may not see that tenant (GET /auth/me lists those it may)");
    else
        v1_answer(q, (uint64_t)db_row_ll(row, 0), 0, NULL, NULL, NULL);
}

void serve_session_v1(struct serve_session *s, struct http_req *r, session_v1_cb cb, void *arg)
{
    struct ss_req *q = ss_req_new(s, NULL);
    q->v1cb = cb;
    q->v1arg = arg;
    char tok[4096], err[160];
    if (!session_cookie(http_req_header(r, "Cookie"), SESSION_ACCESS_COOKIE, tok, sizeof tok) ||
        session_access_verify(s->cfg->jwt_secret, tok, ss_now_s(), &q->cl, err, sizeof err) < 0) {
        bool expired = strncmp(err, "exp", 3) == 0;
        v1_answer(q, 0, 401, NULL, expired ? "session_expired" : "invalid_session",
                  expired ? "the session's access token expired: POST /auth/refresh renews it"
                          : "the session cookie is not valid: log in again, or send Authorization: Bearer ik_...");
        return;
    }
    const char *tn = http_req_header(r, "Ingot-Tenant");
    if (tn && !job_name_valid(tn, 64)) {
        v1_answer(q, 0, 400, "Ingot-Tenant", "invalid_value", "Ingot-Tenant: a tenant name (1-64 of A-Z a-z 0-9 . _ : -)");
        return;
    }
    if (!tn && !q->cl.key) {
        v1_answer(q, 0, 400, "Ingot-Tenant", "missing_tenant",
                  "Ingot-Tenant: name the tenant this request is for (GET /auth/me lists those the session may see)");
        return;
    }
    const char *param = NULL, *why = ss_state_changing(r) ? ss_csrf_problem(s, r, q->cl.sid, &param) : NULL;
    if (why) {
        v1_answer(q, 0, 403, param, "csrf_failed", why);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT t.id FROM auth_sessions s LEFT JOIN tenants t ON ");
    if (tn) {
        sbuf_puts(&b, "t.name = ");
        sql_cstr(&b, tn);
    } else {
        sbuf_puts(&b, "t.id = s.tenant_id");
    }
    if (q->cl.key)
        sbuf_puts(&b, " AND t.id = s.tenant_id");
    else if (!ss_is_owner(s, &q->cl))
        sbuf_puts(&b, " AND EXISTS (SELECT 1 FROM tenant_members m WHERE m.tenant_id = t.id AND m.subject = s.subject)");
    ss_sql_alive(&b, q->cl.sid);
    db_query(s->rt->db, b.data, 0, v1_cb, q);
    sbuf_deinit(&b);
}

