/* The operator's session check (serve_session_op.h). */
#include "serve_session_op.h"

#include <stdlib.h>

#include "db.h"
#include "httpd.h"
#include "runtime.h"
#include "serve_session_int.h"
#include "sql.h"

struct op_req {
    struct http_req *r;
    session_op_cb cb;
    void *arg;
};

static void alive_cb(const struct db_result *res, void *arg)
{
    struct op_req *q = arg;
    bool ok = false;
    if (!res->ok) {
        http_add_header(q->r, "Retry-After", "1");
        http_reply_error(q->r, 503, "server_error", NULL, "database_unavailable", "the database is unavailable; retry shortly");
    } else if (mysql_num_rows(res->res) == 0) {
        http_reply_error(q->r, 401, "invalid_request_error", NULL, "session_revoked",
                         "the session ended (logged out, revoked or expired): log in again");
    } else {
        ok = true;
    }
    q->cb(ok, q->arg);
    free(q);
}

void serve_session_operator(struct serve_session *s, struct http_req *r, session_op_cb cb, void *arg)
{
    if (!s || !s->cfg->jwt_secret[0]) {
        http_reply_error(r, 404, "invalid_request_error", NULL, "login_method_off",
                         "login sessions are off: JWT_SECRET is not set (`ingot init` generates one)");
        cb(false, arg);
        return;
    }
    if (http_req_header(r, "Authorization") || http_req_header(r, "x-api-key")) {
        http_reply_error(r, 403, "invalid_request_error", NULL, "operator_only",
                         "operator only: an API key belongs to one tenant; log in at /ui/ as OWNER_OPEN_ID");
        cb(false, arg);
        return;
    }
    struct session_claims cl;
    if (ss_access_claims(s, r, &cl) < 0) {
        cb(false, arg);
        return;
    }
    if (!ss_is_owner(s, &cl)) {
        http_reply_error(r, 403, "invalid_request_error", NULL, "operator_only",
                         "operator only: this session's subject is not OWNER_OPEN_ID");
        cb(false, arg);
        return;
    }
    if (ss_state_changing(r) && ss_csrf_check(s, r, cl.sid) < 0) {
        cb(false, arg);
        return;
    }
    struct op_req *q = xcalloc(1, sizeof *q);
    q->r = r;
    q->cb = cb;
    q->arg = arg;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT 1 FROM auth_sessions s");
    ss_sql_alive(&b, cl.sid);
    db_query(s->rt->db, b.data, 0, alive_cb, q);
    sbuf_deinit(&b);
}
