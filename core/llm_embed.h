/* llm_embed: an OpenAI embeddings response with float arrays rewritten
 * as the SDK's default "base64" encoding (little-endian float32), and the
 * top-level fields of a provider's answer found, in one pass over the
 * text without building a tree (an answer may be 100+ MB of floats).
 * Pure. */
#ifndef INGOT_LLM_EMBED_H
#define INGOT_LLM_EMBED_H

#include <stddef.h>

#include "util.h"

/* A top-level value's text inside the scanned body (NULL: absent). The
 * first occurrence of a key counts, as cJSON's lookup. */
struct llm_json_span {
    const char *p;
    size_t len;
};
/* The first top-level "usage" object's counts, found in the same pass
 * (llm_json_fields of it and of its details objects, without a second
 * walk): the first occurrence of each key; escaped set when a key of usage
 * or of its first prompt_tokens_details / completion_tokens_details
 * object has an escape (it could spell a name: the caller parses). */
struct llm_json_usage {
    struct llm_json_span prompt, completion, pdetails, cdetails, cached, reasoning;
    bool escaped;
};
struct llm_json_top {
    struct llm_json_span error, choices, data, usage;
    struct llm_json_usage u; /* zero unless usage is an object */
};

/* Walks body (one JSON object, checked as it goes; nesting up to 256)
 * and fills top. With out: appends the body byte for byte, except that
 * with embed every data[i].embedding that is an array of numbers becomes
 * the base64 of its values as little-endian float32 (arrays holding
 * anything else, strings, are left alone). Memory: out and a small fixed
 * buffer, nothing proportional to the input. 0; -1 (out untouched) when
 * body is not a JSON object. */
int llm_json_scan(const char *body, size_t len, bool embed, struct sbuf *out, struct llm_json_top *top) ATTR_WUR;

/* The values of the keys names[0..k) in the object s[0..n) (a value
 * llm_json_scan checked), without a tree: out[j] the first occurrence,
 * p NULL when absent. 0; -1 when s is not an object, or one of its keys
 * has an escape (which could spell a name: the caller parses it whole). */
int llm_json_fields(const char *s, size_t n, const char *const *names, size_t k, struct llm_json_span *out) ATTR_WUR;

/* llm_json_scan with embed, and -1 also when there is no "data" array. */
int llm_embed_base64(const char *body, size_t len, struct sbuf *out) ATTR_WUR;

#endif
