/* What serve_webhooks.c and serve_webhooks_test.c share. Internal. */
#ifndef INGOT_SERVE_WEBHOOKS_INT_H
#define INGOT_SERVE_WEBHOOKS_INT_H

#include <stddef.h>

#include "serve_webhooks.h"

struct v1;
struct crypt;

struct serve_webhooks {
    struct serve_jobs *sj;
    struct crypt *crypt;
};

/* The route's {id}, or NULL after answering 400 (c freed). */
const char *webhooks_id_param(struct v1 *c);
/* 404 naming the endpoint; frees c. */
void webhooks_not_found(struct v1 *c, const char *id);

#endif
