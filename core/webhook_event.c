#include "webhook_event.h"

/* Placeholder until the webhook deliveries land (issue 11 item 4): the
 * statement does nothing, so callers can already run it in their
 * transactions. */
void webhook_event_sql(struct sbuf *b, uint64_t tenant, const char *type, const char *data_json)
{
    (void)tenant;
    (void)type;
    (void)data_json;
    sbuf_puts(b, "DO 0");
}
