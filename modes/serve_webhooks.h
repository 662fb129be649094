/* serve_webhooks: a tenant's webhook endpoints, in the shapes of the
 * official SDK's client.webhooks: POST/GET /v1/webhook_endpoints, GET,
 * POST (update) and DELETE /v1/webhook_endpoints/{id}, POST
 * /v1/webhook_endpoints/{id}/rotate_secret, POST
 * /v1/webhook_endpoints/{id}/test (serve_webhooks_test.c) and GET
 * /v1/webhook_event_types. A key sees only its tenant's endpoints. The
 * signing secret is answered once (creation, rotation) and stored sealed
 * under ENCRYPTION_KEY. */
#ifndef INGOT_SERVE_WEBHOOKS_H
#define INGOT_SERVE_WEBHOOKS_H

#include <stddef.h>

struct httpd;
struct serve_jobs;
struct serve_webhooks;

/* Adds the routes; returns owned (free after the server), or NULL with
 * err when ENCRYPTION_KEY does not decode. */
struct serve_webhooks *serve_webhooks_routes(struct httpd *h, struct serve_jobs *sj, char *err, size_t errlen);
void serve_webhooks_free(struct serve_webhooks *sw);

#endif
