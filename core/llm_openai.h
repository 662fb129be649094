/* llm_openai: the openai adapter's request body edit. Pure. */
#ifndef INGOT_LLM_OPENAI_H
#define INGOT_LLM_OPENAI_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct cJSON;

/* The openai adapter's request. Rewrites the top-level
 * members of the client's body: model -> upstream model; when stream,
 * stream_options.include_usage forced true; drop encoding_format when
 * asked. Everything else is copied byte for byte. -1 when body is not a
 * JSON object. */
int llm_openai_body(const char *body, size_t len, const char *upstream_model, bool force_usage,
                    const struct cJSON *stream_options, bool drop_encoding, struct sbuf *out) ATTR_WUR;

#endif
