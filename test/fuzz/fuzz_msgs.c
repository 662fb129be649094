/* libFuzzer target for /v1/messages' translation (llm_msgs): the input as
 * a Messages request (to chat completions), as a chat completion (to a
 * Message), as an error body (to Anthropic's shape), and as a stream
 * through the SSE parser, translated and passed through. Whatever comes
 * in, what goes out must be valid JSON (a translated stream: "event: X\n"
 * + "data: " + JSON + "\n\n" per event). */
#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_msgs_req.h"
#include "llm_msgs_resp.h"
#include "llm_msgs_stream.h"
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
    struct msgs_stream *s;
    struct sbuf out;
};

static int relay_cb(const char *event, const char *d, size_t len, void *arg)
{
    struct relay *r = arg;
    char why[128];
    long long deltas = 0;
    int rc = msgs_stream_event(r->s, event, d, len, &r->out, &deltas, why, sizeof why);
    if (rc < -1 || rc > 2 || deltas < 0)
        abort();
    return rc != 0 ? -1 : 0; /* ended, failed or malformed: stop, as the engine does */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct sbuf out;
    sbuf_init(&out);
    char param[128], why[256];

    cJSON *body = cJSON_ParseWithLength(s, size);
    if (msgs_to_chat(body, "m", &out, param, sizeof param, why, sizeof why) == 0)
        must_parse(out.data, out.len);
    else if (out.len != 0)
        abort(); /* a refusal writes nothing */
    cJSON_Delete(body);

    sbuf_reset(&out);
    struct llm_usage u;
    if (msgs_from_chat(s, size, "m", &out, &u, why, sizeof why) == 0)
        must_parse(out.data, out.len);

    sbuf_reset(&out);
    msgs_error_from(size ? 400 + data[0] % 200 : 529, s, size, &out);
    must_parse(out.data, out.len);
    sbuf_deinit(&out);

    for (int pass = 0; pass < 2; pass++) {
        struct relay r = {.s = msgs_stream_new("m", pass == 1)};
        sbuf_init(&r.out);
        struct sse_parser *p = sse_new(1 << 16);
        (void)sse_feed(p, s, size, relay_cb, &r);
        sse_free(p);
        if (!pass)
            check_events(&r.out);
        msgs_stream_usage(r.s, &u);
        msgs_stream_free(r.s);
        sbuf_deinit(&r.out);
    }
    return 0;
}
