/* batchcheck: a batch JSONL checked line by line, fed in pieces of any
 * size: the first error's line and field, the line and length limits,
 * unique custom_ids, CRLF line ends, a last line without a newline. */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "batchcheck.h"
#include "job.h"

/* "bad-model" is not routable; a 503 for "starting". */
static int body_cb(void *arg, const char *url, const cJSON *body, struct job_error *e)
{
    (void)arg;
    (void)url;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "model");
    memset(e, 0, sizeof *e);
    e->status = 400;
    if (!cJSON_IsString(m)) {
        strcpy(e->param, "model");
        strcpy(e->message, "model is required");
        return -1;
    }
    if (strcmp(m->valuestring, "bad-model") == 0) {
        strcpy(e->param, "model");
        strcpy(e->message, "not available");
        return -1;
    }
    if (strcmp(m->valuestring, "starting") == 0) {
        e->status = 503;
        strcpy(e->message, "starting");
        return -1;
    }
    return 0;
}

/* Checks text fed in pieces of step bytes (0: whole). Returns 0 or -1
 * with the error's line and field in out. */
static int check(const char *text, size_t step, size_t max_lines, char *out, size_t outlen)
{
    struct batchcheck_opts o = {.max_lines = max_lines, .max_line_bytes = 200, .body = body_cb};
    struct batchcheck *b = batchcheck_new(&o);
    size_t len = strlen(text), at = 0;
    int rc = 0;
    while (at < len && rc == 0) {
        size_t n = step && len - at > step ? step : len - at;
        rc = batchcheck_feed(b, text + at, n);
        at += n;
    }
    if (rc == 0)
        rc = batchcheck_finish(b);
    const struct batchcheck_error *e = batchcheck_error(b);
    if (e)
        snprintf(out, outlen, "%zu|%s|%d|%s", e->line, e->field, e->status, e->message);
    else
        snprintf(out, outlen, "ok %zu", batchcheck_lines(b));
    batchcheck_free(b);
    return rc;
}

#define L(id, method, url, body) "{\"custom_id\":\"" id "\",\"method\":\"" method "\",\"url\":\"" url "\",\"body\":" body "}"
#define CHAT "{\"model\":\"m\",\"messages\":[]}"

static void expect(const char *text, const char *prefix)
{
    char out[600];
    for (size_t step = 0; step <= 7; step += 7) {
        (void)check(text, step, 5, out, sizeof out);
        if (strncmp(out, prefix, strlen(prefix)) != 0)
            printf("  step %zu: got '%s', want '%s...'\n", step, out, prefix);
        test_cond(prefix, strncmp(out, prefix, strlen(prefix)) == 0);
    }
}

int main(void)
{
    expect(L("a", "POST", "/v1/chat/completions", CHAT) "\n" L("b", "POST", "/v1/embeddings", CHAT) "\n", "ok 2");
    expect(L("a", "POST", "/v1/responses", CHAT) "\r\n" L("b", "POST", "/v1/embeddings", CHAT), "ok 2");
    expect(L("a", "POST", "/v1/chat/completions", CHAT) "\n{\"custom_id\":\n", "2||400|line 2 is not valid JSON");
    expect(L("a", "GET", "/v1/chat/completions", CHAT) "\n", "1|method|400|line 1: method");
    expect(L("a", "POST", "/v1/files", CHAT) "\n", "1|url|");
    expect(L("a", "POST", "/v1/embeddings", "[]") "\n", "1|body|");
    expect(L("a", "POST", "/v1/embeddings", CHAT) "\n" L("b", "POST", "/v1/embeddings", "{\"model\":\"bad-model\"}") "\n",
           "2|body.model|400|line 2: body.model: not available");
    expect(L("a", "POST", "/v1/embeddings", "{\"model\":\"starting\"}") "\n", "1|body|503|");
    expect(L("a", "POST", "/v1/embeddings", CHAT) "\n" L("a", "POST", "/v1/embeddings", CHAT) "\n",
           "2|custom_id|400|line 2: custom_id a is used by an earlier line");
    expect(L("", "POST", "/v1/embeddings", CHAT) "\n", "1|custom_id|");
    expect("{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{},\"x\":1}\n", "1|x|");
    expect("[1]\n", "1||400|line 1 must be a JSON object");
    expect(L("a", "POST", "/v1/embeddings", CHAT) "\n\n" L("b", "POST", "/v1/embeddings", CHAT) "\n", "2||400|line 2 is empty");
    expect("", "0||400|the file has no lines");
    expect(L("a", "POST", "/v1/embeddings", CHAT) "\n" L("b", "POST", "/v1/embeddings", "{\"model\":\"m\",\"input\":\"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"}") "\n",
           "2||400|line 2 is longer than 200 bytes");
    expect(L("1", "POST", "/v1/embeddings", CHAT) "\n" L("2", "POST", "/v1/embeddings", CHAT) "\n" L("3", "POST", "/v1/embeddings", CHAT) "\n"
           L("4", "POST", "/v1/embeddings", CHAT) "\n" L("5", "POST", "/v1/embeddings", CHAT) "\n" L("6", "POST", "/v1/embeddings", CHAT) "\n",
           "0||400|the file has more than 5 lines");
    /* many unique ids: the set grows */
    struct sbuf big;
    sbuf_init(&big);
    for (int i = 0; i < 5000; i++)
        sbuf_printf(&big, "{\"custom_id\":\"id-%d\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{}}\n", i);
    char out[600];
    struct batchcheck_opts o = {.max_lines = 50000, .max_line_bytes = 1000, .body = NULL};
    struct batchcheck *b = batchcheck_new(&o);
    test_cond("5000 unique ids", batchcheck_feed(b, big.data, big.len) == 0 && batchcheck_finish(b) == 0);
    test_cond("5000 lines", batchcheck_lines(b) == 5000);
    batchcheck_free(b);
    sbuf_printf(&big, "{\"custom_id\":\"id-4321\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{}}\n");
    b = batchcheck_new(&o);
    test_cond("a repeat after 5000 is found", batchcheck_feed(b, big.data, big.len) < 0);
    snprintf(out, sizeof out, "%zu %s", batchcheck_error(b)->line, batchcheck_error(b)->field);
    test_streq("a repeat: line and field", out, "5001 custom_id");
    batchcheck_free(b);
    sbuf_deinit(&big);
    test_report();
}
