/* llm_embed: an OpenAI embeddings response with float arrays rewritten
 * as the SDK's default "base64" encoding (little-endian float32). Pure. */
#ifndef INGOT_LLM_EMBED_H
#define INGOT_LLM_EMBED_H

#include <stddef.h>

#include "util.h"

/* Appends to out the body with every data[i].embedding that is an array
 * of numbers replaced by the base64 of its values as little-endian
 * float32 (entries already strings, or arrays holding anything else, are
 * left alone). 0; -1 (out untouched) when body is not a JSON object with
 * a "data" array. Other fields are kept (re-serialised compactly). */
int llm_embed_base64(const char *body, size_t len, struct sbuf *out) ATTR_WUR;

#endif
