/* rcache's pure parts: the Ingot-Cache values, what counts as
 * deterministic, the key (normalised: key order, stream fields; separated:
 * tenant, route, endpoint, installation), and rcache_sse's two
 * conversions, a completion to stream events and chunks back to a
 * completion, round trip included. */
#include <cJSON.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>
#include <stdlib.h>
#include <string.h>

#include "rcache.h"
#include "rcache_local.h"
#include "rcache_sse.h"
#include "../testhelp.h"

static const char *const R1[4] = {"default", "openai", "http://127.0.0.1:9/v1", "fake-ok"};

static void key_of(const char *inst, uint64_t tenant, const char *const route[4], enum llm_endpoint ep,
                   const char *body, char out[65])
{
    cJSON *j = cJSON_Parse(body);
    if (rcache_key(inst, tenant, route, ep, j, out) < 0)
        strcpy(out, "error");
    cJSON_Delete(j);
}

static void test_modes(void)
{
    enum rcache_mode m;
    test_cond("NULL: default", rcache_mode_parse(NULL, &m) == 0 && m == RCACHE_DEFAULT);
    test_cond("use", rcache_mode_parse("use", &m) == 0 && m == RCACHE_USE);
    test_cond("REFRESH (any case)", rcache_mode_parse("REFRESH", &m) == 0 && m == RCACHE_REFRESH);
    test_cond("Skip", rcache_mode_parse("Skip", &m) == 0 && m == RCACHE_SKIP);
    test_cond("'' refused", rcache_mode_parse("", &m) < 0);
    test_cond("'use ' refused", rcache_mode_parse("use ", &m) < 0);
    test_cond("'no-cache' refused", rcache_mode_parse("no-cache", &m) < 0);
}

static bool det(enum llm_endpoint ep, const char *body)
{
    cJSON *j = cJSON_Parse(body);
    bool d = rcache_deterministic(ep, j);
    cJSON_Delete(j);
    return d;
}

static void test_deterministic(void)
{
    test_cond("temperature 0", det(LLM_EP_CHAT, "{\"temperature\":0}"));
    test_cond("temperature 0.0", det(LLM_EP_CHAT, "{\"temperature\":0.0}"));
    test_cond("a seed", det(LLM_EP_CHAT, "{\"temperature\":1.2,\"seed\":7}"));
    test_cond("no temperature: not", !det(LLM_EP_CHAT, "{}"));
    test_cond("temperature 0.01: not", !det(LLM_EP_CHAT, "{\"temperature\":0.01}"));
    test_cond("temperature \"0\" (a string): not", !det(LLM_EP_CHAT, "{\"temperature\":\"0\"}"));
    test_cond("seed null: not", !det(LLM_EP_CHAT, "{\"seed\":null}"));
    test_cond("embeddings always", det(LLM_EP_EMBED, "{}"));
}

static void test_key(void)
{
    char a[65], b[65];
    const char *body = "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    key_of("inst", 1, R1, LLM_EP_CHAT, body, a);
    test_cond("64 hex characters", strlen(a) == 64 && strspn(a, "0123456789abcdef") == 64);
    key_of("inst", 1, R1, LLM_EP_CHAT,
           "{\"messages\":[{\"content\":\"hi\",\"role\":\"user\"}],\"temperature\":0.0,\"model\":\"m\"}", b);
    test_streq("key order and 0 vs 0.0 do not matter", a, b);
    key_of("inst", 1, R1, LLM_EP_CHAT,
           "{\"model\":\"m\",\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
           "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
           b);
    test_streq("stream and stream_options do not matter", a, b);
    key_of("inst", 2, R1, LLM_EP_CHAT, body, b);
    test_cond("another tenant: another key", strcmp(a, b) != 0);
    key_of("other", 1, R1, LLM_EP_CHAT, body, b);
    test_cond("another installation: another key", strcmp(a, b) != 0);
    const char *r2[4] = {"default", "openai", "http://127.0.0.1:9/v1", "fake-other"};
    key_of("inst", 1, r2, LLM_EP_CHAT, body, b);
    test_cond("another upstream model: another key", strcmp(a, b) != 0);
    const char *r3[4] = {"defaul", "topenai", "http://127.0.0.1:9/v1", "fake-ok"};
    key_of("inst", 1, r3, LLM_EP_CHAT, body, b);
    test_cond("route parts split elsewhere: another key", strcmp(a, b) != 0);
    key_of("inst", 1, R1, LLM_EP_EMBED, body, b);
    test_cond("another endpoint: another key", strcmp(a, b) != 0);
    key_of("inst", 1, R1, LLM_EP_CHAT,
           "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5}", b);
    test_cond("another field: another key", strcmp(a, b) != 0);
    key_of("inst", 1, R1, LLM_EP_CHAT,
           "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi!\"}]}", b);
    test_cond("another message: another key", strcmp(a, b) != 0);
    key_of("inst", 1, R1, LLM_EP_CHAT,
           "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"content\":\"hi\",\"role\":\"user\",\"name\":\"x\"}]}",
           b);
    test_cond("a nested field: another key", strcmp(a, b) != 0);
}

static const char completion[] =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello \\\"there\\\"\","
    "\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"},"
    "{\"index\":1,\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null,\"tool_calls\":[{\"id\":\"call_a\","
    "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}}]},"
    "\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
    "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}";

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void feed_events(struct rcache_acc *a, const char *ev)
{
    /* each "data: ...\n\n" as the relay hands it over */
    for (const char *p = ev; *p;) {
        const char *end = strstr(p, "\n\n");
        size_t n = end ? (size_t)(end + 2 - p) : strlen(p);
        rcache_acc_event(a, p, n);
        p += n;
    }
}

static void test_sse(void)
{
    struct sbuf ev;
    sbuf_init(&ev);
    test_cond("events: ok", rcache_sse_events(completion, strlen(completion), true, &ev) == 0);
    test_cond("events: 2 choices x (delta, finish) + usage", count(ev.data, "data: ") == 5);
    test_cond("events: all chunks", count(ev.data, "\"object\":\"chat.completion.chunk\"") == 5);
    test_cond("events: no [DONE] (the edge adds it)", !strstr(ev.data, "[DONE]"));
    test_cond("events: the content escaped as JSON", strstr(ev.data, "\"content\":\"Hello \\\"there\\\"\"") != NULL);
    test_cond("events: tool calls numbered", strstr(ev.data, "\"tool_calls\":[{\"id\":\"call_a\"") && strstr(ev.data, "\"index\":0}"));
    test_cond("events: the usage chunk has empty choices", strstr(ev.data, "\"choices\":[],\"usage\"") != NULL);
    sbuf_reset(&ev);
    test_cond("events without usage: ok", rcache_sse_events(completion, strlen(completion), false, &ev) == 0);
    test_cond("events without usage: none", !strstr(ev.data, "\"usage\""));
    sbuf_reset(&ev);
    const char emb[] = "{\"object\":\"list\",\"data\":[]}";
    test_cond("an embeddings list cannot stream", rcache_sse_events(emb, strlen(emb), false, &ev) < 0);
    test_cond("not JSON cannot stream", rcache_sse_events("{", 1, false, &ev) < 0);

    /* round trip: the events back into the completion */
    sbuf_reset(&ev);
    test_cond("round trip: events", rcache_sse_events(completion, strlen(completion), false, &ev) == 0);
    sbuf_puts(&ev, "data: [DONE]\n\n");
    struct rcache_acc *a = rcache_acc_new();
    feed_events(a, ev.data);
    size_t n = 0;
    char *back = rcache_acc_finish(a, "{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}", &n);
    rcache_acc_free(a);
    cJSON *x = cJSON_Parse(completion), *y = back ? cJSON_Parse(back) : NULL;
    test_cond("round trip: the same completion", y && cJSON_Compare(x, y, 1));
    test_cond("round trip: length", back && n == strlen(back));
    cJSON_Delete(x);
    cJSON_Delete(y);
    cJSON_free(back);

    /* a stream as providers send it: deltas in pieces */
    a = rcache_acc_new();
    const char *chunks[] = {
        "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"\"}}]}}]}\n\n",
        "data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]}}]}\n\n",
        "data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]}}]}\n\n",
        "data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        ": a comment\n\n",
        "data: [DONE]\n\n",
    };
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++)
        rcache_acc_event(a, chunks[i], strlen(chunks[i]));
    back = rcache_acc_finish(a, NULL, &n);
    rcache_acc_free(a);
    y = back ? cJSON_Parse(back) : NULL;
    const cJSON *m = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(y, "choices"), 0), "message");
    test_streq("pieces: content", cJSON_GetStringValue(cJSON_GetObjectItem(m, "content")), "Hello");
    const cJSON *tc = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "tool_calls"), 0);
    test_streq("pieces: tool call id", cJSON_GetStringValue(cJSON_GetObjectItem(tc, "id")), "call_1");
    test_streq("pieces: arguments joined", cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(tc, "function"), "arguments")), "{\"a\":1}");
    test_streq("pieces: object", cJSON_GetStringValue(cJSON_GetObjectItem(y, "object")), "chat.completion");
    test_cond("pieces: no usage when none given", !cJSON_GetObjectItem(y, "usage"));
    cJSON_Delete(y);
    cJSON_free(back);

    /* what must not be stored */
    const char *bad[] = {
        "data: {\"error\":{\"message\":\"overloaded\"}}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"logprobs\":{\"content\":[]},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n", /* never finished */
        "data: {\"id\":\"c\",\"choices\":[{\"index\":999,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {not json\n\n",
    };
    const char *why[] = {"an error event", "logprobs", "a choice that never finished", "an index out of range",
                         "a chunk that is not JSON"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        a = rcache_acc_new();
        rcache_acc_event(a, bad[i], strlen(bad[i]));
        back = rcache_acc_finish(a, NULL, &n);
        test_cond(why[i], back == NULL);
        cJSON_free(back);
        rcache_acc_free(a);
    }
    a = rcache_acc_new();
    test_cond("nothing streamed: nothing stored", rcache_acc_finish(a, NULL, &n) == NULL);
    rcache_acc_free(a);
    sbuf_deinit(&ev);
}

static const char K1[] = "aa00000000000000000000000000000000000000000000000000000000000001";
static const char K2[] = "aa00000000000000000000000000000000000000000000000000000000000002";
static const char K3[] = "bb00000000000000000000000000000000000000000000000000000000000003";

static void test_memory(void)
{
    /* room for two 100-byte entries with their bookkeeping, not three */
    struct rcache_mem *m = rcache_mem_new(2 * (100 + 200));
    char v[100];
    memset(v, 'x', sizeof v);
    size_t n = 0;
    rcache_mem_put(m, K1, v, sizeof v, 60);
    rcache_mem_put(m, K2, v, sizeof v, 60);
    char *g = rcache_mem_get(m, K1, &n); /* K1 used: K2 is now the oldest */
    test_cond("memory: a hit", g && n == sizeof v && memcmp(g, v, n) == 0);
    free(g);
    rcache_mem_put(m, K3, v, sizeof v, 60);
    g = rcache_mem_get(m, K2, &n);
    test_cond("memory: the least recently used went", g == NULL);
    free(g);
    g = rcache_mem_get(m, K1, &n);
    test_cond("memory: the recently used stayed", g != NULL);
    free(g);
    char big[1000] = {0};
    rcache_mem_put(m, K2, big, sizeof big, 60);
    g = rcache_mem_get(m, K2, &n);
    test_cond("memory: larger than the whole cache: not stored", g == NULL);
    free(g);
    rcache_mem_put(m, K1, "new", 3, 60);
    g = rcache_mem_get(m, K1, &n);
    test_cond("memory: replaced", g && n == 3 && memcmp(g, "new", 3) == 0);
    free(g);
    rcache_mem_free(m);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_disk(void)
{
    char dir[] = "/tmp/ingot-rcache-XXXXXX", p[256];
    if (!mkdtemp(dir)) {
        test_cond("mkdtemp", 0);
        return;
    }
    size_t n = 0;
    test_cond("disk: put", rcache_disk_put(dir, K1, "{\"a\":1}", 7, 60) == 0);
    char *g = rcache_disk_get(dir, K1, 1 << 20, &n);
    test_cond("disk: get", g && n == 7 && memcmp(g, "{\"a\":1}", 7) == 0);
    free(g);
    snprintf(p, sizeof p, "%s/aa/%s", dir, K1);
    struct stat st;
    test_cond("disk: mode 0600", stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    g = rcache_disk_get(dir, K1, 3, &n);
    test_cond("disk: a file over the entry limit is a miss", g == NULL);
    free(g);
    /* expired: a miss, and the file goes */
    snprintf(p, sizeof p, "%s/aa/%s", dir, K2);
    write_file(p, "1000\n{\"old\":1}");
    g = rcache_disk_get(dir, K2, 1 << 20, &n);
    test_cond("disk: expired is a miss", g == NULL);
    test_cond("  and removed", access(p, F_OK) != 0);
    free(g);
    write_file(p, "garbage");
    g = rcache_disk_get(dir, K2, 1 << 20, &n);
    test_cond("disk: a file without its header is a miss", g == NULL);
    free(g);
    /* the sweep: expired entries and stale temporary files go, live ones stay */
    write_file(p, "1000\n{}");
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s/aa/%s.0123.tmp", dir, K3);
    write_file(tmp, "partial");
    struct utimbuf old = {1000, 1000};
    utime(tmp, &old);
    char fresh[300];
    snprintf(fresh, sizeof fresh, "%s/aa/%s.4567.tmp", dir, K3);
    write_file(fresh, "being written");
    rcache_disk_sweep(dir, 0xaa);
    test_cond("sweep: the expired entry went", access(p, F_OK) != 0);
    test_cond("sweep: the stale temporary file went", access(tmp, F_OK) != 0);
    test_cond("sweep: a temporary file being written stayed", access(fresh, F_OK) == 0);
    snprintf(p, sizeof p, "%s/aa/%s", dir, K1);
    test_cond("sweep: the live entry stayed", access(p, F_OK) == 0);
    rcache_disk_sweep(dir, 0x1aa); /* another turn of the same folder; and one that does not exist */
    rcache_disk_sweep(dir, 0x01);
    test_cond("disk: a folder that is not writable fails", rcache_disk_put("/proc/ingot-none", K1, "x", 1, 60) < 0);
    unlink(fresh);
    unlink(p);
    snprintf(p, sizeof p, "%s/aa", dir);
    rmdir(p);
    rmdir(dir);
}

int main(void)
{
    test_memory();
    test_disk();
    test_modes();
    test_deterministic();
    test_key();
    test_sse();
    test_report();
}
