#include "serve_olist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "runtime.h"
#include "serve_v1.h"

bool serve_olist_params(struct v1 *c, const struct serve_olist_spec *spec, struct serve_olist *out)
{
    const char *limit = http_req_query(c->r, "limit"), *order = spec->order ? http_req_query(c->r, "order") : NULL;
    out->after = http_req_query(c->r, "after");
    out->limit = spec->limit_default;
    out->asc = false;
    if (limit) {
        char *end;
        out->limit = strtol(limit, &end, 10);
        if (!limit[0] || *end || limit[0] == '+' || limit[0] == ' ' || out->limit < 1 ||
            out->limit > spec->limit_max) {
            char why[64];
            snprintf(why, sizeof why, "must be a whole number from 1 to %ld", spec->limit_max);
            v1_reply_invalid(c, 400, "limit", why);
            return false;
        }
    }
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
        v1_reply_invalid(c, 400, "order", "must be asc or desc");
        return false;
    }
    out->asc = order && strcmp(order, "asc") == 0;
    if (out->after && !spec->id_valid(out->after)) {
        v1_reply_invalid(c, 400, "after", spec->after_why);
        return false;
    }
    return true;
}

struct olist_q {
    struct v1 *c;
    long limit;
    serve_olist_row_fn row_json;
};

static void olist_cb(const struct db_result *r, void *arg)
{
    struct olist_q *q = arg;
    struct v1 *c = q->c;
    if (!r->ok) {
        v1_reply_db_error(c->r, r->err_code, r->error, "");
        v1_free(c);
        free(q);
        return;
    }
    struct sbuf b, first, last;
    sbuf_init(&b);
    sbuf_init(&first);
    sbuf_init(&last);
    sbuf_puts(&b, "{\"object\":\"list\",\"data\":[");
    long n = 0;
    bool more = false;
    MYSQL_ROW row;
    while (r->res && (row = mysql_fetch_row(r->res))) {
        if (n == q->limit) {
            more = true;
            break;
        }
        if (n++)
            sbuf_putc(&b, ',');
        q->row_json(&b, row);
        sbuf_reset(&last);
        sbuf_json_str(&last, db_row_str(row, 0));
        if (n == 1)
            sbuf_json_str(&first, db_row_str(row, 0));
    }
    sbuf_printf(&b, "],\"first_id\":%s,\"last_id\":%s,\"has_more\":%s}", n ? first.data : "null",
                n ? last.data : "null", more ? "true" : "false");
    http_reply_json(c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    sbuf_deinit(&first);
    sbuf_deinit(&last);
    v1_free(c);
    free(q);
}

void serve_olist_query(struct v1 *c, const char *sql, long limit, serve_olist_row_fn row_json)
{
    struct olist_q *q = xcalloc(1, sizeof *q);
    q->c = c;
    q->limit = limit;
    q->row_json = row_json;
    db_query(c->sj->rt->db, sql, 0, olist_cb, q);
}
