/* upstream_read: the answer to an upstream request as its bytes arrive:
 * the head (interim 1xx skipped), the framing, the body kept or streamed.
 * Private to the upstream client (upstream.c feeds it). */
#ifndef INGOT_UPSTREAM_READ_H
#define INGOT_UPSTREAM_READ_H

#include <stdbool.h>
#include <stddef.h>

struct up_req;

/* Bytes of r's answer. false: r is finished (delivered or failed: neither
 * r nor its connection may be touched). */
bool upstream_req_feed(struct up_req *r, const char *p, size_t n);

#endif
