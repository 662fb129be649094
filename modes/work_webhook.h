/* work_webhook: the webhook kind of the work role (a row of
 * work_kinds.c): one Standard Webhooks delivery of an event to one
 * endpoint, signed at each attempt with the endpoint's current secret,
 * sent on the curl multi loop under the SSRF guard. Private to the work
 * role. */
#ifndef INGOT_WORK_WEBHOOK_H
#define INGOT_WORK_WEBHOOK_H

#include <stdbool.h>

struct work;
struct run;

void work_webhook_execute(struct work *w, struct run *r);
bool work_webhook_stop(struct work *w, struct run *r);

#endif
