/* serve_webhooks_test: POST /v1/webhook_endpoints/{id}/test, a sample
 * event sent through the real delivery path, answered with the receiver's
 * status once the first attempt has run (or 30 s). */
#ifndef INGOT_SERVE_WEBHOOKS_TEST_H
#define INGOT_SERVE_WEBHOOKS_TEST_H

struct v1;

void webhooks_test(struct v1 *c);

#endif
