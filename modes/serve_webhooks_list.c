#include "serve_webhooks_list.h"

#include <stdbool.h>
#include <stdlib.h>

#include "db.h"
#include "httpd.h"
#include "runtime.h"
#include "serve_olist.h"
#include "serve_v1.h"
#include "webhook.h"

/* GET /v1/webhook_endpoints: a cursor page, newest first. */
static const struct serve_olist_spec list_spec = {
    .limit_max = 100,
    .limit_default = 20,
    .id_valid = webhook_endpoint_id_valid,
    .after_why = "must be a webhook endpoint id (whe_ and 24 hex digits) from an earlier page",
};

/* Never the secret. */
static void list_row_json(struct sbuf *b, MYSQL_ROW row)
{
    webhook_row_json(b, row, NULL);
}

void webhooks_list(struct v1 *c)
{
    struct serve_olist p;
    if (!serve_olist_params(c, &list_spec, &p))
        return;
    unsigned long long t = (unsigned long long)c->tenant;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "SELECT " WEBHOOK_COLUMNS " FROM webhook_endpoints WHERE tenant_id = %llu", t);
    if (p.after)
        sbuf_printf(&b, " AND seq < (SELECT seq FROM webhook_endpoints WHERE tenant_id = %llu AND id = '%s')", t, p.after);
    sbuf_printf(&b, " ORDER BY seq DESC LIMIT %ld", p.limit + 1);
    serve_olist_query(c, b.data, p.limit, list_row_json);
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
