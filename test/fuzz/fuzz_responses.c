/* libFuzzer target for the Responses API translation (llm_resp_*) and a
 * background response's rendering (respjob): the input as a Responses
 * request (to chat completions), as a chat completion (to a Response), as
 * a chat stream through the SSE parser (to Responses events), and as a
 * stored job's request and result. Whatever comes in, what goes out must
 * be valid JSON (a stream: "event: T\n" + "data: " + JSON + "\n\n" per
 * event). */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_resp_out.h"
#include "llm_resp_req.h"
#include "llm_resp_stream.h"
#include "respjob.h"
#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_parse(const char *s, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(s, len);
    if (!j)
        abort();
    cJSON_Delete(j);
}

static void check_events(const struct sbuf *out)
{
    const char *p = out->data ? out->data : "", *end = p + out->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (strncmp(p, "event: ", 7) != 0 || !nl)
            abort();
        const char *d = nl + 1, *nn = strstr(d, "\n\n");
        if (strncmp(d, "data: ", 6) != 0 || !nn)
            abort();
        must_parse(d + 6, (size_t)(nn - d - 6));
        p = nn + 2;
    }
}

struct relay {
    struct resp_stream *s;
    struct sbuf out;
};

static int relay_cb(const char *event, const char *d, size_t len, void *arg)
{
    (void)event;
    struct relay *r = arg;
    int rc = resp_stream_chunk(r->s, d, len, 1700000000, &r->out);
    if (rc < -1 || rc > 2)
        abort();
    return rc != 0 ? -1 : 0; /* ended, failed or malformed: stop, as the engine does */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char param[128], why[256];
    cJSON *body = cJSON_ParseWithLength(s, size);
    cJSON *chat = resp_to_chat(body, "m", param, sizeof param, why, sizeof why);
    if (chat) {
        char *t = cJSON_PrintUnformatted(chat);
        must_parse(t, strlen(t));
        cJSON_free(t);
        cJSON_Delete(chat);
    }

    struct sbuf out;
    sbuf_init(&out);
    if (resp_from_chat(s, size, body, "m", 1700000000, &out, why, sizeof why) == 0)
        must_parse(out.data, out.len);
    cJSON_Delete(body);

    struct relay r = {.s = resp_stream_new("m", s, size)};
    sbuf_init(&r.out);
    struct sse_parser *p = sse_new(1 << 16);
    (void)sse_feed(p, s, size, relay_cb, &r);
    (void)resp_stream_chunk(r.s, "[DONE]", 6, 1700000000, &r.out);
    sse_free(p);
    check_events(&r.out);
    resp_stream_free(r.s);
    sbuf_deinit(&r.out);

    char *text = malloc(size + 1);
    memcpy(text, s, size);
    text[size] = '\0';
    for (int state = 0; state < 5; state++) {
        struct respjob_row row = {.id = 7, .state = state, .payload = text, .result = text, .last_error = text};
        sbuf_reset(&out);
        respjob_render(&row, &out);
        must_parse(out.data, out.len);
    }
    free(text);
    sbuf_deinit(&out);
    return 0;
}
