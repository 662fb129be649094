/* webhook_event: the one way a state change announces itself to a
 * tenant's webhook endpoints (issue 11: batch.* and response.* events).
 * The caller appends the statement to the transaction that makes the
 * change, so an event is queued exactly when the change commits: never
 * lost, never sent for a change that rolled back. Delivery (signing,
 * retries, the SSRF guard) is the work role's, as durable jobs. */
#ifndef INGOT_WEBHOOK_EVENT_H
#define INGOT_WEBHOOK_EVENT_H

#include <stdint.h>

#include "util.h"

/* Appends ONE SQL statement (no trailing ';') that enqueues a delivery of
 * event type (e.g. "batch.completed") to every enabled endpoint of tenant
 * subscribed to it; data_json is the event's "data" object as JSON text
 * (e.g. {"id":"batch_abc"}). Appends a harmless no-op statement when the
 * tenant has no endpoint. Run it with db_txn_query inside the caller's
 * transaction. */
void webhook_event_sql(struct sbuf *b, uint64_t tenant, const char *type, const char *data_json);
/* The same for one endpoint of tenant only, whether enabled and
 * subscribed or not (an explicit test delivery). */
void webhook_event_endpoint_sql(struct sbuf *b, uint64_t tenant, const char *endpoint_id, const char *type,
                                const char *data_json);

#endif
