/* sse: an incremental text/event-stream parser (the WHATWG rules: lines
 * end in CRLF, LF or CR; "event:", "data:" (joined with \n), comments and
 * unknown fields ignored; an empty line dispatches). Fed bytes as they
 * arrive, in any split; allocates one growing buffer, bounded. */
#ifndef INGOT_SSE_H
#define INGOT_SSE_H

#include <stddef.h>

#include "util.h"

struct sse_parser;
/* event: the event name ("" when none was given; "message" is not
 * filled in). data: NUL-terminated. Return 0 to go on, -1 to stop. */
typedef int (*sse_event_cb)(const char *event, const char *data, size_t len, void *arg);

/* max_event: largest event kept (bytes); larger: sse_feed fails. */
struct sse_parser *sse_new(size_t max_event);
void sse_free(struct sse_parser *p);
/* 0; -1 when an event is too large or cb asked to stop. */
int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_cb cb, void *arg) ATTR_WUR;

#endif
