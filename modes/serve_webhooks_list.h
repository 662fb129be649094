/* serve_webhooks_list: the read-only lists of the webhook routes, GET
 * /v1/webhook_endpoints (a cursor page of the tenant's endpoints, newest
 * first, never a secret) and GET /v1/webhook_event_types. */
#ifndef INGOT_SERVE_WEBHOOKS_LIST_H
#define INGOT_SERVE_WEBHOOKS_LIST_H

struct v1;

void webhooks_list(struct v1 *c);
void webhooks_event_types(struct v1 *c);

#endif
