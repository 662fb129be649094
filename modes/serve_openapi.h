/* serve_openapi: GET /openapi.json, the OpenAPI 3.1 document of every
 * route (docs/openapi.json, compiled in by docs/embed.sh). */
#ifndef INGOT_SERVE_OPENAPI_H
#define INGOT_SERVE_OPENAPI_H

#include <stddef.h>

struct httpd;

/* The document (build/gen/openapi_embed.c), NUL-terminated. */
extern const char openapi_json[];
extern const size_t openapi_json_len;

/* Adds GET /openapi.json: no API key, an ETag of the document. */
void serve_openapi_routes(struct httpd *h);

#endif
