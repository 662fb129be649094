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

#include <cJSON.h>
#include <string.h>

/* The tree job_json_parse would give for text[0..len), node for node
 * (types, strings, numbers, key order, links), or NULL when the text is
 * not in the strict subset taken here: then job_json_parse decides (it
 * may accept or refuse). Whatever jtree_parse accepts, job_json_parse
 * accepts. Read it with cJSON's getters; never modify it, never give it to
 * cJSON_Delete: jtree_free frees it. */
struct cJSON *jtree_parse(const char *text, size_t len) ATTR_WUR;

/* Frees a tree from jtree_parse (NULL: nothing). */
void jtree_free(struct cJSON *root);

/* cJSON_GetObjectItemCaseSensitive(o, name), the same answer for any o
 * (it walks o's children up to the first without a key), with a first
 * byte compared before a strcmp call: every request looks up a few dozen
 * members. */
static inline const cJSON *jtree_get(const cJSON *o, const char *name)
{
    if (!o || !name)
        return NULL;
    for (const cJSON *c = o->child; c && c->string; c = c->next)
        if (c->string[0] == name[0] && strcmp(c->string, name) == 0)
            return c;
    return NULL;
}

/* For tests: a and b hold the same values in the same order, linked as
 * cJSON links them. */
bool jtree_same(const struct cJSON *a, const struct cJSON *b);

#endif
