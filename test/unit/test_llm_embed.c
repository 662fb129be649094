/* Embeddings: float arrays become little-endian float32 base64, decoded
 * back exactly; strings and odd entries are left alone. */
#include <cJSON.h>
#include <float.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
/* The ASan runtime's allocator hooks (its header is not always installed). */
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t), void (*f)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);
#endif

#include "../testhelp.h"
#include "llm_embed.h"

/* data[i].embedding of an output, decoded to floats; count, -1 if not a string. */
static int decode(const char *json, int i, float *out, int max)
{
    cJSON *root = cJSON_Parse(json);
    const cJSON *e = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "data"), i), "embedding");
    int n = -1;
    if (cJSON_IsString(e)) {
        size_t slen = strlen(e->valuestring);
        unsigned char *raw = malloc(slen + 4);
        int rl = EVP_DecodeBlock(raw, (const unsigned char *)e->valuestring, (int)slen);
        /* DecodeBlock counts the padding bytes in: drop them. */
        if (slen >= 1 && e->valuestring[slen - 1] == '=')
            rl--;
        if (slen >= 2 && e->valuestring[slen - 2] == '=')
            rl--;
        n = 0;
        for (int k = 0; k + 4 <= rl && n < max; k += 4) {
            uint32_t u = (uint32_t)raw[k] | (uint32_t)raw[k + 1] << 8 | (uint32_t)raw[k + 2] << 16 |
                         (uint32_t)raw[k + 3] << 24;
            memcpy(&out[n++], &u, sizeof u);
        }
        free(raw);
    }
    cJSON_Delete(root);
    return n;
}

static void test_embed(void)
{
    struct sbuf out;
    sbuf_init(&out);
    const char *one = "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[1.0]}],"
                      "\"model\":\"m\",\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}}";
    test_cond("one", llm_embed_base64(one, strlen(one), &out) == 0);
    test_cond("1.0f is AACAPw==", strstr(out.data, "\"embedding\":\"AACAPw==\"") != NULL);
    test_cond("other fields kept", strstr(out.data, "\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}") &&
                                       strstr(out.data, "\"model\":\"m\"") && strstr(out.data, "\"index\":0"));

    sbuf_reset(&out);
    const char *many = "{\"object\":\"list\",\"data\":["
                       "{\"index\":0,\"embedding\":[0.5,-2,3.1415927,1e-8,-0.0,65504.25,123456789]},"
                       "{\"index\":1,\"embedding\":\"AACAPw==\"},"
                       "{\"index\":2,\"embedding\":[]},"
                       "{\"index\":3,\"embedding\":[1,\"x\"]},"
                       "{\"index\":4}, 7]}";
    test_cond("many", llm_embed_base64(many, strlen(many), &out) == 0);
    float want[] = {0.5f, -2.0f, 3.1415927f, 1e-8f, -0.0f, 65504.25f, 123456789.0f};
    float got[16];
    int n = decode(out.data, 0, got, 16);
    test_cond("count", n == 7);
    bool same = n == 7;
    for (int i = 0; same && i < 7; i++)
        same = memcmp(&got[i], &want[i], sizeof(float)) == 0;
    test_cond("decodes back to the same float32 bits", same);
    n = decode(out.data, 1, got, 16);
    test_cond("string left alone", n == 1 && got[0] == 1.0f && strstr(out.data, "\"AACAPw==\""));
    test_cond("empty array is empty string", decode(out.data, 2, got, 16) == 0);
    test_cond("mixed array left alone", strstr(out.data, "[1,\"x\"]") != NULL);

    sbuf_reset(&out);
    const char *huge = "{\"data\":[{\"embedding\":[1e300,-1e300]}]}";
    test_cond("beyond float range", llm_embed_base64(huge, strlen(huge), &out) == 0);
    n = decode(out.data, 0, got, 16);
    test_cond("is infinity", n == 2 && got[0] > FLT_MAX && got[1] < -FLT_MAX);

    sbuf_reset(&out);
    sbuf_puts(&out, "keep");
    test_cond("not JSON", llm_embed_base64("nope", 4, &out) < 0);
    test_cond("no data", llm_embed_base64("{\"a\":1}", 7, &out) < 0);
    test_cond("data not array", llm_embed_base64("{\"data\":{}}", 11, &out) < 0);
    test_cond("array root", llm_embed_base64("[{\"data\":[]}]", 13, &out) < 0);
    test_cond("NULL", llm_embed_base64(NULL, 0, &out) < 0);
    test_streq("out untouched on failure", out.data, "keep");
    /* Length is honoured: the text after len is not read. */
    const char *cut = "{\"data\":[{\"embedding\":[1]}]}garbage";
    sbuf_reset(&out);
    test_cond("length honoured", llm_embed_base64(cut, 28, &out) == 0 && strstr(out.data, "AACAPw=="));
    sbuf_deinit(&out);
}

#if defined(__SANITIZE_ADDRESS__)
/* Bytes allocated now and at most since the mark: the converter's own. */
static long long heap_now, heap_peak;
static void malloc_hook(const volatile void *p, size_t n)
{
    (void)p;
    heap_now += (long long)n;
    if (heap_now > heap_peak)
        heap_peak = heap_now;
}
static void free_hook(const volatile void *p)
{
    if (p)
        heap_now -= (long long)__sanitizer_get_allocated_size(p);
}
#endif

/* About 100 MB of floats (2048 inputs x 3072 dimensions, as a hostile
 * provider may answer): converted with memory of the order of the output,
 * not of the input (no tree of it), and every value right. */
static void test_big(void)
{
    enum { ITEMS = 2048, DIMS = 3072 };
    struct sbuf in;
    sbuf_init(&in);
    sbuf_reserve(&in, (size_t)110 << 20);
    sbuf_puts(&in, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < ITEMS; i++) {
        sbuf_printf(&in, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":[", i ? "," : "", i);
        for (int k = 0; k < DIMS; k++)
            sbuf_printf(&in, "%s-0.0%07d4321", k ? "," : "", (i * 7 + k * 13) % 9999991);
        sbuf_puts(&in, "]}");
    }
    sbuf_puts(&in, "],\"model\":\"m\",\"usage\":{\"prompt_tokens\":9,\"total_tokens\":9}}");
    test_cond("input is about 100 MB", in.len > ((size_t)90 << 20));
    struct sbuf out;
    sbuf_init(&out);
    size_t want_out = (size_t)ITEMS * 4 * ((DIMS * 4 + 2) / 3);
    sbuf_reserve(&out, want_out + ((size_t)1 << 20));
#if defined(__SANITIZE_ADDRESS__)
    heap_now = heap_peak = 0;
    __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
#endif
    struct llm_json_top top;
    int rc = llm_json_scan(in.data, in.len, true, &out, &top);
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_install_malloc_and_free_hooks(NULL, NULL);
    /* out grows by doubling: at most twice its size, plus the old copy
     * while it moves; a tree of the input would be several times in.len */
    /* out was sized beforehand: anything more is the converter's own,
     * and a tree or a copy of the input would be 100+ MB */
    test_cond("converter's memory is O(1) beyond out", heap_peak < (1 << 20) && out.len <= want_out + ((size_t)200 << 10));
#endif
    test_cond("big converted", rc == 0 && top.usage.p && strncmp(top.usage.p, "{\"prompt_tokens\":9", 18) == 0);
    float got[DIMS];
    int n = decode(out.data, ITEMS - 1, got, DIMS);
    bool same = n == DIMS;
    for (int k = 0; same && k < DIMS; k++) {
        char t[32];
        snprintf(t, sizeof t, "-0.0%07d4321", ((ITEMS - 1) * 7 + k * 13) % 9999991);
        same = got[k] == (float)strtod(t, NULL);
    }
    test_cond("last item decodes to its values", same);
    sbuf_deinit(&in);
    sbuf_deinit(&out);
}

/* The top-level fields read without a tree. */
static void test_top(void)
{
    struct llm_json_top top;
    const char *a = " {\"error\":{\"message\":\"x\"},\"usage\":{\"prompt_tokens\":1},\"s\":\"a\\\"b}\",\"usage\":7} ";
    test_cond("scan", llm_json_scan(a, strlen(a), false, NULL, &top) == 0);
    test_cond("error span", top.error.p && top.error.len == 15 && top.error.p[0] == '{');
    test_cond("first usage counts", top.usage.p && top.usage.p[0] == '{' && top.usage.len == 19);
    test_cond("absent", !top.choices.p && !top.data.p);
    const char *bad[] = {"{\"a\":}", "{\"a\":1,}", "{\"a\":[1,]}", "{\"a\":tru}", "{\"a\":01}", "{\"a\":\"x}",
                         "{\"a\":1} x", "{\"a\":\xff}", "{\"a\":1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        test_cond(bad[i], llm_json_scan(bad[i], strlen(bad[i]), false, NULL, &top) < 0 && !top.error.p);
    struct sbuf deep;
    sbuf_init(&deep);
    sbuf_puts(&deep, "{\"a\":");
    for (int i = 0; i < 100000; i++)
        sbuf_putc(&deep, '[');
    test_cond("deep nesting refused, no stack overflow", llm_json_scan(deep.data, deep.len, false, NULL, &top) < 0);
    sbuf_deinit(&deep);
}

static bool span_same(const struct llm_json_span *a, const struct llm_json_span *b)
{
    return a->p == b->p && a->len == b->len;
}

/* The loop that scans without converting (every chat answer) and the walk
 * that converts embeddings: the same verdict and spans on tricky text. */
static void test_plain_walk(void)
{
    const char *in[] = {
        "{}", " {\"a\" : [ ] , \"b\":{ } }\n", "{\"data\":[{\"embedding\":[1,2.5e-3,-0]}],\"usage\":{\"prompt_tokens\":3}}",
        "{\"usage\":{\"prompt_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":2},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":3},\"completion_tokens\":4},\"usage\":{\"prompt_tokens\":9}}",
        "{\"usage\":7,\"usage\":{\"prompt_tokens\":9}}", "{\"us\\u0061ge\":{\"prompt_tokens\":9}}",
        "{\"usage\":{\"prompt\\u005ftokens\":1,\"x\":{\"prompt_tokens\":5}}}",
        "{\"error\":{\"message\":\"x\\\"y\"},\"choices\":[{\"a\":[true,false,null,\"\\ud83d\\ude00\"]}]}",
        "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\"}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":[1,]}",
        "{\"a\":{\"b\":1,}}", "{\"a\" 1}", "{\"a\":1}}", "{\"a\":1}]", "{\"a\":[}", "{\"a\":nul}", "{\"a\":\"x\\q\"}",
        "{\"a\":\"0123456789abcdef0123456789\\\"\"}", "{\"a\":\"0123456789abcdef0123456789", "{\"a\":1} ",
        "{\"a\":1}\x01", "{\"a\":\v1}", "{ \t\r\n\"a\"\t:\r\n1\n}",
    };
    bool same = true;
    struct sbuf out;
    sbuf_init(&out);
    for (size_t i = 0; i < sizeof in / sizeof *in + 4; i++) {
        struct sbuf t;
        sbuf_init(&t);
        if (i < sizeof in / sizeof *in) {
            sbuf_puts(&t, in[i]);
        } else { /* nesting at the bound: 255 and 256 arrays around a value, 256 and 257 empty */
            size_t k = i - sizeof in / sizeof *in, depth = k < 2 ? 255 + k : 254 + k;
            sbuf_puts(&t, "{\"a\":");
            for (size_t j = 0; j < depth; j++)
                sbuf_putc(&t, '[');
            if (k < 2)
                sbuf_putc(&t, '1');
            for (size_t j = 0; j < depth; j++)
                sbuf_putc(&t, ']');
            sbuf_putc(&t, '}');
        }
        struct llm_json_top a, b;
        int ra = llm_json_scan(t.data, t.len, false, NULL, &a);
        sbuf_reset(&out);
        int rb = llm_json_scan(t.data, t.len, true, &out, &b);
        bool ok = ra == rb && span_same(&a.error, &b.error) && span_same(&a.choices, &b.choices) &&
                  span_same(&a.data, &b.data) && span_same(&a.usage, &b.usage) &&
                  span_same(&a.u.prompt, &b.u.prompt) && span_same(&a.u.completion, &b.u.completion) &&
                  span_same(&a.u.pdetails, &b.u.pdetails) && span_same(&a.u.cdetails, &b.u.cdetails) &&
                  span_same(&a.u.cached, &b.u.cached) && span_same(&a.u.reasoning, &b.u.reasoning) &&
                  a.u.escaped == b.u.escaped;
        if (!ok)
            printf("  differ (%d %d): %.80s\n", ra, rb, t.data);
        same = same && ok;
        if (i >= sizeof in / sizeof *in) {
            size_t k = i - sizeof in / sizeof *in;
            bool want = k == 0 || k == 2; /* a value at depth 256, an array at 256: in; one deeper: out */
            if ((ra == 0) != want)
                printf("  nesting %zu: %d\n", k, ra);
            same = same && (ra == 0) == want;
        }
        sbuf_deinit(&t);
    }
    sbuf_deinit(&out);
    test_cond("the plain loop and the converting walk agree", same);
    struct llm_json_top top;
    const char *u = "{\"usage\":{\"prompt_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":2},"
                    "\"completion_tokens_details\":{\"reasoning_tokens\":3},\"completion_tokens\":4}}";
    test_cond("usage counts found on the way",
              llm_json_scan(u, strlen(u), false, NULL, &top) == 0 && top.u.prompt.len == 1 && top.u.prompt.p[0] == '1' &&
                  top.u.cached.p[0] == '2' && top.u.reasoning.p[0] == '3' && top.u.completion.p[0] == '4' &&
                  !top.u.escaped);
}

/* llm_json_fields: the first occurrence of each name among an object's
 * own keys, values skipped whole. */
static void test_fields(void)
{
    const char *o = "{\"a\":1, \"n\":{\"a\":2,\"b\":[3,{\"b\":4}]}, \"b\" : \"x\\\"}\" ,\"a\":5,\"c\":[]}";
    const char *const names[] = {"a", "b", "c", "d"};
    struct llm_json_span f[4];
    test_cond("fields", llm_json_fields(o, strlen(o), names, 4, f) == 0);
    test_cond("first a", f[0].p && f[0].len == 1 && f[0].p[0] == '1');
    test_cond("b at the top, string skipped whole", f[1].p && f[1].len == 6 && memcmp(f[1].p, "\"x\\\"}\"", 6) == 0);
    test_cond("c an empty array", f[2].p && f[2].len == 2 && f[2].p[0] == '[');
    test_cond("d absent", !f[3].p);
    test_cond("empty object", llm_json_fields(" {} ", 4, names, 4, f) == 0 && !f[0].p);
    const char *esc = "{\"\\u0061\":1}";
    test_cond("an escaped key: -1", llm_json_fields(esc, strlen(esc), names, 1, f) < 0);
    test_cond("not an object: -1", llm_json_fields("[1]", 3, names, 1, f) < 0);
    test_cond("cut off: -1", llm_json_fields("{\"a\":1", 6, names, 1, f) < 0);
}

int main(void)
{
    test_embed();
    test_top();
    test_plain_walk();
    test_big();
    test_fields();
    test_report();
}
