/* llm_json_scan / llm_embed_base64 on arbitrary bytes: no crash, no read
 * past len; without embed the copy is the input byte for byte; with it,
 * what was accepted stays JSON (cJSON parses the output) and the text
 * cJSON refuses as a whole is refused too; the loop without conversion and
 * the converting walk agree on every span; the usage counts found on the
 * way are what llm_json_fields finds reading the usage object again. */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_embed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool span_eq(const struct llm_json_span *a, const struct llm_json_span *b)
{
    return a->p == b->p && (!a->p || a->len == b->len);
}

/* A details object's count as read again: false when its keys need the parse. */
static bool detail_again(const struct llm_json_span *obj, const char *name, const struct llm_json_span *found)
{
    struct llm_json_span v;
    if (!obj->p || obj->p[0] != '{')
        return true;
    if (llm_json_fields(obj->p, obj->len, &name, 1, &v) < 0)
        return false;
    if (!span_eq(&v, found))
        abort();
    return true;
}

static bool top_eq(const struct llm_json_top *a, const struct llm_json_top *b)
{
    const struct llm_json_usage *x = &a->u, *y = &b->u;
    return span_eq(&a->error, &b->error) && span_eq(&a->choices, &b->choices) && span_eq(&a->data, &b->data) &&
           span_eq(&a->usage, &b->usage) && span_eq(&x->prompt, &y->prompt) &&
           span_eq(&x->completion, &y->completion) && span_eq(&x->pdetails, &y->pdetails) &&
           span_eq(&x->cdetails, &y->cdetails) && span_eq(&x->cached, &y->cached) &&
           span_eq(&x->reasoning, &y->reasoning) && x->escaped == y->escaped;
}

static void usage_again(const struct llm_json_top *top)
{
    static const char *const names[] = {"prompt_tokens", "completion_tokens", "prompt_tokens_details",
                                        "completion_tokens_details"};
    struct llm_json_span f[4];
    if (!top->usage.p || top->usage.p[0] != '{')
        return;
    if (llm_json_fields(top->usage.p, top->usage.len, names, 4, f) < 0) {
        if (!top->u.escaped)
            abort();
        return;
    }
    if (!span_eq(&f[0], &top->u.prompt) || !span_eq(&f[1], &top->u.completion) ||
        !span_eq(&f[2], &top->u.pdetails) || !span_eq(&f[3], &top->u.cdetails))
        abort();
    bool ok = detail_again(&f[2], "cached_tokens", &top->u.cached);
    ok = detail_again(&f[3], "reasoning_tokens", &top->u.reasoning) && ok;
    if (ok == top->u.escaped)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy: ASan sees any read past len */
    char *s = malloc(size ? size : 1);
    memcpy(s, data, size);
    struct sbuf out;
    sbuf_init(&out);
    struct llm_json_top top, conv;
    /* the plain loop (no conversion) and the converting walk: same verdict, same spans */
    int plain = llm_json_scan(s, size, false, &out, &top);
    int walked = llm_json_scan(s, size, true, &out, &conv);
    if (plain != walked || !top_eq(&top, &conv))
        abort();
    sbuf_reset(&out);
    if (llm_json_scan(s, size, false, &out, &top) == 0) {
        usage_again(&top);
        if (out.len != size || memcmp(out.data, s, size) != 0)
            abort();
        cJSON *j = cJSON_ParseWithLength(s, size);
        /* cJSON stops at a NUL inside a string: only NUL-free text compared */
        if (!j && !memchr(s, '\0', size))
            abort();
        cJSON_Delete(j);
    }
    sbuf_reset(&out);
    if (llm_embed_base64(s, size, &out) == 0 && !memchr(s, '\0', size)) {
        cJSON *j = cJSON_ParseWithLength(out.data, out.len);
        if (!cJSON_IsObject(j))
            abort();
        cJSON_Delete(j);
    }
    sbuf_deinit(&out);
    free(s);
    return 0;
}
