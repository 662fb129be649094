#include "webhook_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "job.h"
#include "sql.h"
#include "webhook.h"

/* One INSERT ... SELECT: one delivery job per matching endpoint, in the
 * caller's transaction (no endpoint: no row, nothing else happens). The
 * event (its id above all, the receivers' dedup key) is fixed here, once:
 * every endpoint and every retry carries the same; the signature and its
 * timestamp are made at each attempt (work_webhook). */
static void event_sql(struct sbuf *b, uint64_t tenant, const char *endpoint_id, const char *type,
                      const char *data_json)
{
    char evt[WEBHOOK_EVENT_ID_MAX];
    if (webhook_event_id_new(evt) < 0)
        abort(); /* no randomness: nothing safe to sign with either */
    struct sbuf ev;
    sbuf_init(&ev);
    sbuf_printf(&ev, "{\"id\":\"%s\",\"object\":\"event\",\"created_at\":%lld,\"type\":", evt,
                (long long)time(NULL));
    sbuf_json_str(&ev, type);
    sbuf_puts(&ev, ",\"data\":");
    sbuf_puts(&ev, data_json && *data_json ? data_json : "{}");
    sbuf_putc(&ev, '}');
    sbuf_printf(b,
                "INSERT INTO jobs (tenant_id, queue, kind, priority, run_at, group_key, max_attempts, "
                "backoff_base_ms, backoff_max_ms, timeout_ms, payload) "
                "SELECT tenant_id, '%s', '%s', 0, NOW(6), id, %d, %d, %d, %d, "
                "CONCAT('{\"endpoint_id\":\"', id, '\",%s\"event\":', ",
                WEBHOOK_QUEUE, job_kind_name(JOB_WEBHOOK), WEBHOOK_MAX_ATTEMPTS, WEBHOOK_BACKOFF_BASE_MS,
                WEBHOOK_BACKOFF_MAX_MS, WEBHOOK_TIMEOUT_MS, endpoint_id ? "\"test\":true," : "");
    sql_str(b, ev.data, ev.len);
    sbuf_printf(b, ", '}') FROM webhook_endpoints WHERE tenant_id = %llu AND ", (unsigned long long)tenant);
    if (endpoint_id) {
        sbuf_puts(b, "id = ");
        sql_cstr(b, endpoint_id);
    } else {
        sbuf_puts(b, "enabled = 1 AND FIND_IN_SET(");
        sql_cstr(b, type);
        sbuf_puts(b, ", event_types) > 0");
    }
    sbuf_deinit(&ev);
}

void webhook_event_sql(struct sbuf *b, uint64_t tenant, const char *type, const char *data_json)
{
    event_sql(b, tenant, NULL, type, data_json);
}

void webhook_event_endpoint_sql(struct sbuf *b, uint64_t tenant, const char *endpoint_id, const char *type,
                                const char *data_json)
{
    event_sql(b, tenant, endpoint_id, type, data_json);
}
