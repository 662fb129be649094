/* jtree: a request body parsed in one pass into one block of memory, the
 * common case of job_json_parse (cJSON parse + check_json_text, one malloc
 * per value) made cheap. It takes only plain, strict JSON it can carry
 * exactly; for anything else it declines and the caller parses the usual
 * way, which also words every refusal. */
#ifndef INGOT_JTREE_H
#define INGOT_JTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct cJSON;

/* The tree job_json_parse would give for text[0..len), node for node
 * (types, strings, numbers, key order, links), or NULL when the text is
 * not in the strict subset taken here: then job_json_parse decides (it
 * may accept or refuse). Whatever jtree_parse accepts, job_json_parse
 * accepts. Read it with cJSON's getters; never modify it, never give it to
 * cJSON_Delete: jtree_free frees it. */
struct cJSON *jtree_parse(const char *text, size_t len) ATTR_WUR;

/* Frees a tree from jtree_parse (NULL: nothing). */
void jtree_free(struct cJSON *root);

/* For tests: a and b hold the same values in the same order, linked as
 * cJSON links them. */
bool jtree_same(const struct cJSON *a, const struct cJSON *b);

#endif
