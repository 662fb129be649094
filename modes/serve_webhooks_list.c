#include "serve_webhooks_list.h"

#include <stdbool.h>
#include <stdlib.h>

#include "db.h"
#include "httpd.h"
#include "runtime.h"
#include "serve_v1.h"
#include "webhook.h"

#define LIST_LIMIT_MAX 100
#define LIST_LIMIT_DEFAULT 20

/* GET /v1/webhook_endpoints: a cursor page, newest first. */
struct list_q {
    struct v1 *c;
    long limit;
};

static void list_cb(const struct db_result *r, void *arg)
{
    struct list_q *q = arg;
    struct v1 *c = q->c;
    if (!r->ok) {
        v1_reply_db_error(c->r, r->err_code, r->error, "");
        v1_free(c);
        free(q);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "{\"object\":\"list\",\"data\":[");
    char first[WEBHOOK_ID_MAX] = "", last[WEBHOOK_ID_MAX] = "";
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
        webhook_row_json(&b, row, NULL);
        util_strcpy(last, sizeof last, db_row_str(row, 0));
        if (n == 1)
            util_strcpy(first, sizeof first, last);
    }
    sbuf_puts(&b, "],\"first_id\":");
    if (n)
        sbuf_json_str(&b, first);
    else
        sbuf_puts(&b, "null");
    sbuf_puts(&b, ",\"last_id\":");
    if (n)
        sbuf_json_str(&b, last);
    else
        sbuf_puts(&b, "null");
    sbuf_printf(&b, ",\"has_more\":%s}", more ? "true" : "false");
    http_reply_json(c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    v1_free(c);
    free(q);
}

void webhooks_list(struct v1 *c)
{
    const char *after = http_req_query(c->r, "after"), *limit = http_req_query(c->r, "limit");
    long lim = LIST_LIMIT_DEFAULT;
    if (limit) {
        char *end;
        lim = strtol(limit, &end, 10);
        if (!limit[0] || *end || limit[0] == '+' || limit[0] == ' ' || lim < 1 || lim > LIST_LIMIT_MAX) {
            v1_reply_invalid(c, 400, "limit", "must be a whole number from 1 to 100");
            return;
        }
    }
    if (after && !webhook_endpoint_id_valid(after)) {
        v1_reply_invalid(c, 400, "after", "must be a webhook endpoint id (whe_ and 24 hex digits) from an earlier page");
        return;
    }
    struct list_q *q = xcalloc(1, sizeof *q);
    q->c = c;
    q->limit = lim;
    unsigned long long t = (unsigned long long)c->tenant;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "SELECT " WEBHOOK_COLUMNS " FROM webhook_endpoints WHERE tenant_id = %llu", t);
    if (after)
        sbuf_printf(&b, " AND seq < (SELECT seq FROM webhook_endpoints WHERE tenant_id = %llu AND id = '%s')", t, after);
    sbuf_printf(&b, " ORDER BY seq DESC LIMIT %ld", lim + 1);
    db_query(c->sj->rt->db, b.data, 0, list_cb, q);
    sbuf_deinit(&b);
}

/* GET /v1/webhook_event_types */
void webhooks_event_types(struct v1 *c)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; webhook_event_types[i]; i++) {
        if (i)
            sbuf_putc(&b, ',');
        sbuf_json_str(&b, webhook_event_types[i]);
    }
    sbuf_puts(&b, "]}");
    http_reply_json(c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    v1_free(c);
}
