/* libFuzzer target for the Anthropic translation and the embeddings
 * rewrite: the input as an OpenAI request, as a Messages response, as an
 * error body, as an Anthropic event stream (through the SSE parser), and
 * as an embeddings response. Whatever comes in, what goes out must be
 * valid JSON (stream: "data: " + JSON + "\n\n" per chunk). */
#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_anthropic.h"
#include "llm_embed.h"
#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_parse(const char *s, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(s, len);
    if (!j)
        abort();
    cJSON_Delete(j);
}

/* Every chunk of a stream's output is "data: " + JSON + "\n\n". */
static void check_chunks(const struct sbuf *out)
{
    const char *p = out->data ? out->data : "", *end = p + out->len;
    while (p < end) {
        const char *nn = strstr(p, "\n\n");
        if (strncmp(p, "data: ", 6) != 0 || !nn)
            abort();
        must_parse(p + 6, (size_t)(nn - p - 6));
        p = nn + 2;
    }
}

struct relay {
    struct anth_stream *s;
    struct sbuf out;
};

static int relay_cb(const char *event, const char *d, size_t len, void *arg)
{
    struct relay *r = arg;
    char why[128];
    int rc = anth_stream_event(r->s, event, d, len, &r->out, why, sizeof why);
    if (rc < -1 || rc > 1)
        abort();
    return rc == 1 ? -1 : 0; /* the stream ended: stop, as the engine does */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct sbuf out;
    sbuf_init(&out);
    char param[128], why[256];

    cJSON *body = cJSON_ParseWithLength(s, size);
    if (anth_request(body, "m", 100, &out, param, sizeof param, why, sizeof why) == 0)
        must_parse(out.data, out.len);
    else if (out.len != 0)
        abort(); /* a refusal writes nothing */
    cJSON_Delete(body);

    sbuf_reset(&out);
    struct llm_usage u;
    if (anth_response(s, size, "m", 1, &out, &u, why, sizeof why) == 0)
        must_parse(out.data, out.len);

    sbuf_reset(&out);
    int st = 0;
    anth_error(size ? 400 + data[0] % 200 : 529, s, size, &out, &st);
    must_parse(out.data, out.len);
    if (st < 400 || st > 599)
        abort();

    sbuf_reset(&out);
    if (llm_embed_base64(s, size, &out) == 0)
        must_parse(out.data, out.len);
    sbuf_deinit(&out);

    struct relay r;
    r.s = anth_stream_new("m", 1, size % 2 == 0);
    sbuf_init(&r.out);
    struct sse_parser *p = sse_new(1 << 16);
    (void)sse_feed(p, s, size, relay_cb, &r);
    sse_free(p);
    check_chunks(&r.out);
    anth_stream_usage(r.s, &u);
    if (u.prompt < -1 || u.completion < -1 || u.cached < -1)
        abort();
    anth_stream_free(r.s);
    sbuf_deinit(&r.out);
    return 0;
}
