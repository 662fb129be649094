#include "rcache_sse.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

#define ACC_TOOLS_MAX 128

static void event(struct sbuf *out, cJSON *chunk)
{
    char *t = cJSON_PrintUnformatted(chunk);
    if (!t)
        abort(); /* out of memory */
    sbuf_puts(out, "data: ");
    sbuf_puts(out, t);
    sbuf_puts(out, "\n\n");
    cJSON_free(t);
}

/* A chunk's envelope: the completion's id, created, model and fingerprint. */
static cJSON *chunk_new(const cJSON *c)
{
    cJSON *k = cJSON_CreateObject();
    static const char *const keep[] = {"id", "created", "model", "system_fingerprint", "service_tier"};
    for (size_t i = 0; i < ARRAY_LEN(keep); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, keep[i]);
        if (v)
            cJSON_AddItemToObject(k, keep[i], cJSON_Duplicate(v, 1));
        if (i == 0)
            cJSON_AddStringToObject(k, "object", "chat.completion.chunk");
    }
    return k;
}

int rcache_sse_events(const char *json, size_t len, bool include_usage, struct sbuf *out)
{
    cJSON *c = cJSON_ParseWithLength(json, len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(c, "choices");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(c, "object");
    if (!cJSON_IsArray(choices) || !cJSON_IsString(obj) || strcmp(obj->valuestring, "chat.completion") != 0) {
        cJSON_Delete(c);
        return -1;
    }
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *ch;
        cJSON_ArrayForEach(ch, choices)
        {
            cJSON *k = chunk_new(c), *arr = cJSON_AddArrayToObject(k, "choices"), *one = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, one);
            const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ch, "index");
            cJSON_AddNumberToObject(one, "index", cJSON_IsNumber(idx) ? idx->valuedouble : 0);
            cJSON *delta = cJSON_AddObjectToObject(one, "delta");
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
            if (pass == 0) {
                /* the message whole, tool calls numbered as a stream numbers them */
                const cJSON *f;
                cJSON_ArrayForEach(f, msg)
                {
                    if (strcmp(f->string, "tool_calls") == 0 && cJSON_IsArray(f)) {
                        cJSON *tc = cJSON_Duplicate(f, 1);
                        int i = 0;
                        cJSON *t;
                        cJSON_ArrayForEach(t, tc)
                        {
                            cJSON_DeleteItemFromObjectCaseSensitive(t, "index");
                            cJSON_AddNumberToObject(t, "index", i++);
                        }
                        cJSON_AddItemToObject(delta, "tool_calls", tc);
                    } else if (!cJSON_IsNull(f)) {
                        cJSON_AddItemToObject(delta, f->string, cJSON_Duplicate(f, 1));
                    }
                }
                cJSON_AddNullToObject(one, "logprobs");
                cJSON_AddNullToObject(one, "finish_reason");
            } else {
                const cJSON *fr = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
                cJSON_AddItemToObject(one, "finish_reason", fr ? cJSON_Duplicate(fr, 1) : cJSON_CreateNull());
            }
            event(out, k);
            cJSON_Delete(k);
        }
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(c, "usage");
    if (include_usage && cJSON_IsObject(usage)) {
        cJSON *k = chunk_new(c);
        cJSON_AddArrayToObject(k, "choices");
        cJSON_AddItemToObject(k, "usage", cJSON_Duplicate(usage, 1));
        event(out, k);
        cJSON_Delete(k);
    }
    cJSON_Delete(c);
    return 0;
}

/* ---- chunks back into a completion ---- */

struct acc_tool {
    bool used;
    char *id, *type;
    struct sbuf name, args;
};

struct acc_choice {
    bool used;
    char *role, *finish;
    struct sbuf content, refusal;
    bool has_content, has_refusal;
    struct acc_tool *tools; /* grown to the highest index seen */
    int ntools;
};

struct rcache_acc {
    bool bad;
    cJSON *head; /* the first chunk's envelope */
    struct acc_choice *ch; /* grown to the highest index seen */
    int nch;
};

/* v[0, *n) grown to k + 1 zeroed elements of size sz. */
static void *grow(void *v, int *n, int k, size_t sz)
{
    if (k < *n)
        return v;
    char *p = xrealloc(v, (size_t)(k + 1) * sz);
    memset(p + (size_t)*n * sz, 0, (size_t)(k + 1 - *n) * sz);
    *n = k + 1;
    return p;
}

struct rcache_acc *rcache_acc_new(void)
{
    return xcalloc(1, sizeof(struct rcache_acc));
}

void rcache_acc_free(struct rcache_acc *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nch; i++) {
        struct acc_choice *c = &a->ch[i];
        free(c->role);
        free(c->finish);
        sbuf_deinit(&c->content);
        sbuf_deinit(&c->refusal);
        for (int t = 0; t < c->ntools; t++) {
            free(c->tools[t].id);
            free(c->tools[t].type);
            sbuf_deinit(&c->tools[t].name);
            sbuf_deinit(&c->tools[t].args);
        }
        free(c->tools);
    }
    free(a->ch);
    cJSON_Delete(a->head);
    free(a);
}

static void set_str(char **dst, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        free(*dst);
        *dst = xstrdup(v->valuestring);
    }
}

static void add_str(struct sbuf *b, const cJSON *v, bool *has)
{
    if (cJSON_IsString(v)) {
        sbuf_puts(b, v->valuestring);
        if (has)
            *has = true;
    }
}

static int index_of(const cJSON *o, int max)
{
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, "index");
    if (!cJSON_IsNumber(i) || i->valuedouble < 0 || i->valuedouble >= max)
        return -1;
    return (int)i->valuedouble;
}

static void acc_tool_delta(struct rcache_acc *a, struct acc_choice *c, const cJSON *tcs)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tcs)
    {
        int k = index_of(t, ACC_TOOLS_MAX);
        if (k < 0) {
            a->bad = true;
            return;
        }
        c->tools = grow(c->tools, &c->ntools, k, sizeof *c->tools);
        struct acc_tool *x = &c->tools[k];
        x->used = true;
        set_str(&x->id, cJSON_GetObjectItemCaseSensitive(t, "id"));
        set_str(&x->type, cJSON_GetObjectItemCaseSensitive(t, "type"));
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(t, "function");
        add_str(&x->name, cJSON_GetObjectItemCaseSensitive(f, "name"), NULL);
        add_str(&x->args, cJSON_GetObjectItemCaseSensitive(f, "arguments"), NULL);
    }
}

void rcache_acc_event(struct rcache_acc *a, const char *data, size_t len)
{
    if (a->bad || len < 6 || memcmp(data, "data: ", 6) != 0)
        return;
    data += 6;
    len -= 6;
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return;
    cJSON *k = cJSON_ParseWithLength(data, len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(k, "choices");
    if (!cJSON_IsObject(k) || cJSON_GetObjectItemCaseSensitive(k, "error") || !cJSON_IsArray(choices)) {
        a->bad = true;
        cJSON_Delete(k);
        return;
    }
    if (!a->head)
        a->head = chunk_new(k);
    const cJSON *ch;
    cJSON_ArrayForEach(ch, choices)
    {
        int i = index_of(ch, LLM_N_MAX);
        const cJSON *lp = cJSON_GetObjectItemCaseSensitive(ch, "logprobs");
        if (i < 0 || (lp && !cJSON_IsNull(lp))) { /* logprobs are not put together */
            a->bad = true;
            break;
        }
        a->ch = grow(a->ch, &a->nch, i, sizeof *a->ch);
        struct acc_choice *c = &a->ch[i];
        c->used = true;
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(ch, "delta");
        set_str(&c->role, cJSON_GetObjectItemCaseSensitive(d, "role"));
        add_str(&c->content, cJSON_GetObjectItemCaseSensitive(d, "content"), &c->has_content);
        add_str(&c->refusal, cJSON_GetObjectItemCaseSensitive(d, "refusal"), &c->has_refusal);
        const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(d, "tool_calls");
        if (cJSON_IsArray(tcs))
            acc_tool_delta(a, c, tcs);
        set_str(&c->finish, cJSON_GetObjectItemCaseSensitive(ch, "finish_reason"));
    }
    cJSON_Delete(k);
}

static cJSON *str_or_null(const struct sbuf *b, bool has)
{
    return has ? cJSON_CreateString(b->data ? b->data : "") : cJSON_CreateNull();
}

char *rcache_acc_finish(struct rcache_acc *a, const char *usage_json, size_t *len)
{
    if (a->bad || !a->head || a->nch == 0)
        return NULL;
    cJSON *out = cJSON_Duplicate(a->head, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(out, "object", cJSON_CreateString("chat.completion"));
    cJSON *arr = cJSON_AddArrayToObject(out, "choices");
    for (int i = 0; i < a->nch; i++) {
        struct acc_choice *c = &a->ch[i];
        if (!c->used || !c->finish) { /* a choice that never finished: not a whole answer */
            cJSON_Delete(out);
            return NULL;
        }
        cJSON *one = cJSON_CreateObject(), *m = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, one);
        cJSON_AddNumberToObject(one, "index", i);
        cJSON_AddItemToObject(one, "message", m);
        cJSON_AddStringToObject(m, "role", c->role ? c->role : "assistant");
        cJSON_AddItemToObject(m, "content", str_or_null(&c->content, c->has_content));
        cJSON_AddItemToObject(m, "refusal", str_or_null(&c->refusal, c->has_refusal));
        if (c->ntools) {
            cJSON *tcs = cJSON_AddArrayToObject(m, "tool_calls");
            for (int t = 0; t < c->ntools; t++) {
                struct acc_tool *x = &c->tools[t];
                cJSON *tc = cJSON_CreateObject(), *f = cJSON_CreateObject();
                cJSON_AddStringToObject(tc, "id", x->id ? x->id : "");
                cJSON_AddStringToObject(tc, "type", x->type ? x->type : "function");
                cJSON_AddStringToObject(f, "name", x->name.data ? x->name.data : "");
                cJSON_AddStringToObject(f, "arguments", x->args.data ? x->args.data : "");
                cJSON_AddItemToObject(tc, "function", f);
                cJSON_AddItemToArray(tcs, tc);
            }
        }
        cJSON_AddNullToObject(one, "logprobs");
        cJSON_AddStringToObject(one, "finish_reason", c->finish);
    }
    cJSON *u = usage_json ? cJSON_Parse(usage_json) : NULL;
    if (cJSON_IsObject(u))
        cJSON_AddItemToObject(out, "usage", u);
    else
        cJSON_Delete(u);
    char *t = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    if (t)
        *len = strlen(t);
    return t;
}
