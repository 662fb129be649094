/* multipart: a streaming multipart/form-data parser (RFC 7578 over RFC
 * 2046). It is fed the body in pieces of any size and hands each part's
 * bytes on as they arrive, so an upload of any length costs a fixed amount
 * of memory: what it keeps is one part's header block (bounded) and the
 * few bytes that may be the start of a boundary. It allocates once.
 *
 * Strict where a lax reading could be misread by someone else: header
 * lines end in CRLF, names are tokens, a part must say Content-Disposition:
 * form-data with a name; anything before the first boundary (preamble)
 * and after the closing one (epilogue) is ignored, as RFC 2046 says. */
#ifndef INGOT_MULTIPART_H
#define INGOT_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define MULTIPART_BOUNDARY_MAX 70        /* RFC 2046 */
#define MULTIPART_MAX_HEADER 8192        /* one part's header block */
#define MULTIPART_MAX_NAME 128           /* a form field name */
#define MULTIPART_MAX_FILENAME 1024

/* Each returns 0 to go on, -1 to stop the parse (multipart_feed then
 * returns -1 and multipart_error says "stopped"). Strings are borrowed for
 * the call. filename is NULL when the part has none; ctype "" when it has
 * no Content-Type. */
struct multipart_cbs {
    int (*part_begin)(void *arg, const char *name, const char *filename, const char *ctype);
    int (*part_data)(void *arg, const char *data, size_t len);
    int (*part_end)(void *arg);
};

/* The boundary of a Content-Type header value ("multipart/form-data;
 * boundary=..."), into out (MULTIPART_BOUNDARY_MAX + 1 bytes). 0, or -1
 * with why (what is wrong, for a 400). */
int multipart_boundary(const char *content_type, char *out, size_t outlen, char *why,
                       size_t whylen) ATTR_WUR;

struct multipart;
/* Returns owned. cbs is borrowed (a static table). */
struct multipart *multipart_new(const char *boundary, const struct multipart_cbs *cbs, void *arg);
void multipart_free(struct multipart *m);
/* Feeds the next piece. 0: more wanted; 1: the closing boundary was seen
 * (what follows is epilogue and is ignored); -1: malformed or stopped
 * (multipart_error). After -1 it accepts nothing more. */
int multipart_feed(struct multipart *m, const char *data, size_t len) ATTR_WUR;
/* The body ended: 0 when the closing boundary was seen, else -1. */
int multipart_finish(struct multipart *m) ATTR_WUR;
/* Why the parse failed (static or kept text); "" when it did not. */
const char *multipart_error(const struct multipart *m);

#endif
