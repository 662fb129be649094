/* fakellm: a fake LLM provider for tests and the benchmark, on 127.0.0.1.
 *   fakellm PORT [--log FILE] [--no-record]
 * PORT 0 picks a free port; the first line on stdout is "port N".
 *
 * Two providers in one process, chosen by the path:
 *   /openai/v1/...     OpenAI-compatible (also plain /v1/...):
 *                      POST chat/completions (plain; stream with a final usage
 *                      chunk when stream_options.include_usage; tool calls when
 *                      the request has tools), POST embeddings (floats, or
 *                      base64 little-endian float32 when encoding_format is
 *                      "base64"), POST responses (a Response object, or
 *                      its stream: response.created, output_item.added,
 *                      output_text.delta per piece, ..., response.completed
 *                      with usage input_tokens/output_tokens; a
 *                      function_call item when the request has tools),
 *                      GET models, GET models/ID.
 *                      Needs Authorization: Bearer (else 401).
 *   /anthropic/v1/...  Anthropic Messages: POST messages (plain; stream with
 *                      message_start, content_block_start/delta/stop for text
 *                      and tool_use with input_json_delta, ping, message_delta
 *                      with cumulative usage incl. cache tokens, message_stop),
 *                      GET models. Needs x-api-key and anthropic-version.
 * Every answer has x-request-id (OpenAI) or request-id (Anthropic) =
 * "req_fake_<seq>" and rate-limit headers (x-ratelimit-* with Go durations,
 * anthropic-ratelimit-* with RFC 3339 resets).
 *
 * Behaviour comes from the request's model name, so tests need no control
 * calls: "fake-" then words separated by '-', a word may take a number
 * ("fake-delay-50-words-20-echo"). Anything before "fake-" is ignored
 * ("anth/fake-ok" works), and so are unknown words: a tag such as
 * "fake-ok-t3" keeps a test's requests apart in the record.
 *   ok               the default: content "Hello! This is fakellm." in 5
 *                    chunks (one token each)
 *   delay-N          N ms before each stream event (non-stream: before the
 *                    answer); slow = delay-100
 *   words-N          N content chunks " wK" (K = 1..N) instead of the default
 *   echo             content = the last user message's text
 *   stall            stream: 2 content chunks, then nothing (never ends)
 *   N (a status)     answers that status with the provider's error shape:
 *                    400 invalid_request_error (param "temperature"),
 *                    401, 404, 429 (retry-after-ms, retry-after and
 *                    remaining 0), 500, 503, 529 overloaded_error, ...
 *   retry-N          429: retry-after-ms N (default 100), retry-after ceil(N s)
 *   hang             never answers (the close is recorded)
 *   badjson          200 with malformed JSON (stream: a malformed data line)
 *   nousage          OpenAI chat, not streamed: 200 without a usage field
 *   midstream-error  stream: 2 content chunks then an error event, then the
 *                    end (OpenAI: data: {"error":...}; Anthropic: event: error
 *                    overloaded_error); non-stream: 500
 *   remaining-0      OK, but the rate-limit headers say remaining 0, reset
 *                    in reset-N ms (default 1000)
 *   flaky-N          the first N requests per (model, first user message)
 *                    fail (with the status given, default 500), then OK
 *   calls-N          N tool calls when the request has tools (default 1;
 *                    tool K uses tools[K % ntools], id call_fake_K /
 *                    toolu_fake_K, arguments {"city":"Paris","n":K})
 *   pretext          a text block ("Let me check.") before the tool calls
 *   prompt-N, cached-N  usage: prompt tokens (default 12) of which cached
 *                    (default 0). Anthropic splits prompt as input +
 *                    cache_read (3) + cache_creation (2).
 *   dims-N           embedding dimensions (default 8); value [i][j] =
 *                    ((i*31 + j*7) % 100) / 64.0 - 0.75 (exact in float32)
 * Tools are used when the request has a non-empty tools array, tool_choice
 * is not "none" and the last message is not a tool result. max_tokens (or
 * max_completion_tokens) cuts the content: finish "length"/"max_tokens".
 *
 * Recording (for assertions): GET /_log[?since=SEQ] answers one JSON object
 * a line per request: seq, mono_ms (CLOCK_MONOTONIC, ms with µs), wall_ms,
 * method, path, headers (names lower-cased), body (text), json (the parsed
 * body, when it is JSON), status (sent, 0 while pending), done_mono_ms
 * (answer fully written), closed_mono_ms / closed_wall_ms (the client went
 * away before the end; else null). POST /_reset forgets records and flaky
 * counts. --log FILE also appends each record when it arrives and a line
 * {"seq":N,"event":"done"|"closed",...} later. --no-record (the benchmark)
 * keeps nothing. */
#include "fakellm.h"

#include <sys/queue.h> /* before keyvalq_struct.h: TAILQ_* */
#include <event2/keyvalq_struct.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct event_base *fl_base;

double fl_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

long long fl_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- behaviour from the model name ---- */
static void parse_behaviour(const char *model, struct fl_beh *b)
{
    *b = (struct fl_beh){.words = 0, .calls = 1, .prompt = 12, .retry_ms = 100, .reset_ms = 1000, .dims = 8};
    const char *p = strstr(model, "fake-");
    if (!p)
        return;
    p += 5;
    while (*p) {
        char word[32];
        size_t n = strcspn(p, "-");
        snprintf(word, sizeof word, "%.*s", (int)(n < 31 ? n : 31), p);
        p += n;
        if (*p == '-')
            p++;
        long num = -1;
        if (*p >= '0' && *p <= '9') {
            num = strtol(p, (char **)&p, 10);
            if (*p == '-')
                p++;
        }
        long v = num >= 0 ? num : 0;
        if (word[0] >= '0' && word[0] <= '9')
            b->status = atoi(word);
        else if (strcmp(word, "delay") == 0)
            b->delay_ms = (int)v;
        else if (strcmp(word, "slow") == 0)
            b->delay_ms = 100;
        else if (strcmp(word, "words") == 0)
            b->words = (int)v;
        else if (strcmp(word, "echo") == 0)
            b->echo = true;
        else if (strcmp(word, "stall") == 0)
            b->stall = true;
        else if (strcmp(word, "retry") == 0)
            b->retry_ms = (int)v;
        else if (strcmp(word, "hang") == 0)
            b->hang = true;
        else if (strcmp(word, "badjson") == 0)
            b->badjson = true;
        else if (strcmp(word, "nousage") == 0)
            b->nousage = true;
        else if (strcmp(word, "midstream") == 0)
            b->midstream = true;
        else if (strcmp(word, "remaining") == 0)
            b->remaining0 = true;
        else if (strcmp(word, "reset") == 0)
            b->reset_ms = (int)v;
        else if (strcmp(word, "flaky") == 0)
            b->flaky = (int)v;
        else if (strcmp(word, "calls") == 0)
            b->calls = (int)v;
        else if (strcmp(word, "pretext") == 0)
            b->pretext = true;
        else if (strcmp(word, "prompt") == 0)
            b->prompt = (int)v;
        else if (strcmp(word, "cached") == 0) {
            b->cached = (int)v;
            b->cached_set = true;
        }
        else if (strcmp(word, "dims") == 0)
            b->dims = (int)(v > 0 && v <= 4096 ? v : 8);
        /* ok, error (of midstream-error) and unknown words: the default */
    }
}

/* flaky: failures so far per (model, first user message), by hash. */
static struct {
    unsigned long long h;
    int n;
} flaky[4096];

void fl_flaky_reset(void)
{
    memset(flaky, 0, sizeof flaky);
}

static bool flaky_fail(const char *model, const char *first_user, int times)
{
    unsigned long long h = 1469598103934665603ULL;
    for (const char *s = model; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const char *s = first_user; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    for (size_t i = 0; i < sizeof flaky / sizeof flaky[0]; i++) {
        size_t k = (h + i) % (sizeof flaky / sizeof flaky[0]);
        if (flaky[k].h == h || flaky[k].h == 0) {
            flaky[k].h = h;
            return flaky[k].n++ < times;
        }
    }
    return false;
}

/* ---- headers ---- */
static void go_duration(char *out, size_t n, long ms)
{
    if (ms < 1000)
        snprintf(out, n, "%ldms", ms);
    else if (ms < 60000 && ms % 1000 == 0)
        snprintf(out, n, "%lds", ms / 1000);
    else if (ms < 60000)
        snprintf(out, n, "%ld.%03lds", ms / 1000, ms % 1000);
    else
        snprintf(out, n, "%ldm%ld.%03lds", ms / 60000, ms % 60000 / 1000, ms % 1000);
}

static void rfc3339(char *out, size_t n, long long wall_ms)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char s[32];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03lldZ", s, wall_ms % 1000);
}

void fl_headers(struct evhttp_request *req, const struct fl_ctx *c, bool spent)
{
    struct evkeyvalq *o = evhttp_request_get_output_headers(req);
    char id[48], v[64];
    snprintf(id, sizeof id, "req_fake_%lld", c->seq);
    /* a 429 says come back after retry-N; remaining-0 after reset-N */
    long reset = !spent ? 20 : c->beh.remaining0 ? c->beh.reset_ms : c->beh.retry_ms;
    if (c->anthropic) {
        evhttp_add_header(o, "request-id", id);
        static const char *kinds[] = {"requests", "tokens", "input-tokens", "output-tokens"};
        rfc3339(v, sizeof v, fl_wall_ms() + reset);
        for (int i = 0; i < 4; i++) {
            char name[80];
            snprintf(name, sizeof name, "anthropic-ratelimit-%s-limit", kinds[i]);
            evhttp_add_header(o, name, i ? "400000" : "4000");
            snprintf(name, sizeof name, "anthropic-ratelimit-%s-remaining", kinds[i]);
            evhttp_add_header(o, name, spent ? "0" : i ? "399000" : "3999");
            snprintf(name, sizeof name, "anthropic-ratelimit-%s-reset", kinds[i]);
            evhttp_add_header(o, name, v);
        }
    } else {
        evhttp_add_header(o, "x-request-id", id);
        go_duration(v, sizeof v, reset);
        evhttp_add_header(o, "x-ratelimit-limit-requests", "10000");
        evhttp_add_header(o, "x-ratelimit-remaining-requests", spent ? "0" : "9999");
        evhttp_add_header(o, "x-ratelimit-reset-requests", v);
        evhttp_add_header(o, "x-ratelimit-limit-tokens", "2000000");
        evhttp_add_header(o, "x-ratelimit-remaining-tokens", spent ? "0" : "1999000");
        evhttp_add_header(o, "x-ratelimit-reset-tokens", v);
    }
}

/* An error in the provider's shape. */
void fl_error(struct evhttp_request *req, const struct fl_ctx *c, int status, const char *message)
{
    struct evkeyvalq *o = evhttp_request_get_output_headers(req);
    fl_headers(req, c, status == 429);
    evhttp_add_header(o, "Content-Type", "application/json");
    if (status == 429) {
        char v[32];
        if (!c->anthropic) {
            snprintf(v, sizeof v, "%d", c->beh.retry_ms);
            evhttp_add_header(o, "retry-after-ms", v);
        }
        snprintf(v, sizeof v, "%d", (c->beh.retry_ms + 999) / 1000);
        evhttp_add_header(o, "retry-after", v);
    }
    struct evbuffer *b = evbuffer_new();
    if (c->anthropic) {
        const char *type = status == 400   ? "invalid_request_error"
                           : status == 401 ? "authentication_error"
                           : status == 402 ? "billing_error"
                           : status == 403 ? "permission_error"
                           : status == 404 ? "not_found_error"
                           : status == 413 ? "request_too_large"
                           : status == 429 ? "rate_limit_error"
                           : status == 529 ? "overloaded_error"
                                           : "api_error";
        evbuffer_add_printf(b, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":", type);
        fl_json_str(b, message, strlen(message));
        evbuffer_add_printf(b, "},\"request_id\":\"req_fake_%lld\"}", c->seq);
    } else {
        const char *type = status == 400   ? "invalid_request_error"
                           : status == 401 ? "invalid_request_error"
                           : status == 404 ? "invalid_request_error"
                           : status == 429 ? "requests"
                                           : "server_error";
        /* the param of a 400 asked for by the model name; none otherwise */
        const char *param = status == 400 && c->beh.status == 400 ? "\"temperature\"" : "null";
        const char *code = status == 400   ? "\"invalid_value\""
                           : status == 401 ? "\"invalid_api_key\""
                           : status == 404 ? "\"model_not_found\""
                           : status == 429 ? "\"rate_limit_exceeded\""
                                           : "null";
        evbuffer_add_printf(b, "{\"error\":{\"message\":");
        fl_json_str(b, message, strlen(message));
        evbuffer_add_printf(b, ",\"type\":\"%s\",\"param\":%s,\"code\":%s}}", type, param, code);
    }
    fl_rec_status(c->seq, status);
    evhttp_send_reply(req, status, "Error", b);
    evbuffer_free(b);
    fl_rec_done(c->seq);
}

void fl_json_str(struct evbuffer *b, const char *s, size_t n)
{
    char buf[512];
    size_t k = 0;
    buf[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (k > sizeof buf - 8) {
            evbuffer_add(b, buf, k);
            k = 0;
        }
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf[k++] = '\\';
            buf[k++] = (char)ch;
        } else if (ch == '\n') {
            buf[k++] = '\\';
            buf[k++] = 'n';
        } else if (ch < 0x20) {
            k += (size_t)snprintf(buf + k, 8, "\\u%04x", ch);
        } else {
            buf[k++] = (char)ch;
        }
    }
    buf[k++] = '"';
    evbuffer_add(b, buf, k);
}

/* ---- models ---- */
static const char *const model_ids[] = {"fake-ok", "fake-slow", "fake-embed"};

static void send_models(struct evhttp_request *req, const struct fl_ctx *c, const char *id)
{
    struct evbuffer *b = evbuffer_new();
    if (id) {
        if (strncmp(id, "fake-", 5) != 0) {
            evbuffer_free(b);
            fl_error(req, c, 404, "The model does not exist");
            return;
        }
        if (c->anthropic) {
            evbuffer_add_printf(b, "{\"type\":\"model\",\"id\":");
            fl_json_str(b, id, strlen(id));
            evbuffer_add_printf(b, ",\"display_name\":\"Fake\",\"created_at\":\"2025-01-01T00:00:00Z\"}");
        } else {
            evbuffer_add_printf(b, "{\"id\":");
            fl_json_str(b, id, strlen(id));
            evbuffer_add_printf(b, ",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"fakellm\"}");
        }
    } else {
        evbuffer_add_printf(b, c->anthropic ? "{\"data\":[" : "{\"object\":\"list\",\"data\":[");
        for (size_t i = 0; i < sizeof model_ids / sizeof model_ids[0]; i++) {
            if (c->anthropic)
                evbuffer_add_printf(b, "%s{\"type\":\"model\",\"id\":\"%s\",\"display_name\":\"Fake\",\"created_at\":\"2025-01-01T00:00:00Z\"}",
                                    i ? "," : "", model_ids[i]);
            else
                evbuffer_add_printf(b, "%s{\"id\":\"%s\",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"fakellm\"}",
                                    i ? "," : "", model_ids[i]);
        }
        if (c->anthropic)
            evbuffer_add_printf(b, "],\"has_more\":false,\"first_id\":\"%s\",\"last_id\":\"%s\"}", model_ids[0],
                                model_ids[sizeof model_ids / sizeof model_ids[0] - 1]);
        else
            evbuffer_add_printf(b, "]}");
    }
    fl_headers(req, c, false);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    fl_rec_status(c->seq, 200);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
    fl_rec_done(c->seq);
}

/* ---- dispatch ---- */
static const char *first_user_text(const cJSON *body)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(body, "messages"))
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0) {
            const cJSON *ct = cJSON_GetObjectItemCaseSensitive(m, "content");
            if (cJSON_IsString(ct))
                return ct->valuestring;
            const cJSON *part;
            cJSON_ArrayForEach(part, ct)
            {
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
                if (cJSON_IsString(t))
                    return t->valuestring;
            }
            return "";
        }
    }
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");
    if (cJSON_IsString(in))
        return in->valuestring;
    return "";
}

static void handle(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *uri = evhttp_request_get_uri(req);
    if (strncmp(uri, "/_log", 5) == 0) {
        fl_rec_send_log(req);
        return;
    }
    if (strcmp(uri, "/_reset") == 0) {
        fl_rec_reset();
        fl_flaky_reset();
        evhttp_send_reply(req, 200, "OK", NULL);
        return;
    }
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(ib);
    const char *body = blen ? (const char *)evbuffer_pullup(ib, -1) : "";
    cJSON *json = blen ? cJSON_ParseWithLength(body, blen) : NULL;
    struct fl_ctx c = {.req = req, .body = json};
    c.seq = fl_rec_add(req, body, blen, json);

    char path[256];
    snprintf(path, sizeof path, "%.*s", (int)strcspn(uri, "?"), uri);
    const char *rest = path;
    if (strncmp(path, "/anthropic/v1/", 14) == 0) {
        c.anthropic = true;
        rest = path + 13;
    } else if (strncmp(path, "/openai/v1/", 11) == 0) {
        rest = path + 10;
    } else if (strncmp(path, "/v1/", 4) == 0) {
        rest = path + 3;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (c.anthropic ? !evhttp_find_header(in, "x-api-key") : !evhttp_find_header(in, "Authorization")) {
        fl_error(req, &c, 401, c.anthropic ? "invalid x-api-key" : "Incorrect API key provided");
    } else if (c.anthropic && !evhttp_find_header(in, "anthropic-version")) {
        fl_error(req, &c, 400, "anthropic-version: header is required");
    } else if (cmd == EVHTTP_REQ_GET && strcmp(rest, "/models") == 0) {
        send_models(req, &c, NULL);
    } else if (cmd == EVHTTP_REQ_GET && strncmp(rest, "/models/", 8) == 0) {
        send_models(req, &c, rest + 8);
    } else if (cmd != EVHTTP_REQ_POST ||
               (c.anthropic ? strcmp(rest, "/messages") != 0
                            : strcmp(rest, "/chat/completions") != 0 && strcmp(rest, "/embeddings") != 0 &&
                                  strcmp(rest, "/responses") != 0)) {
        fl_error(req, &c, 404, "no such endpoint in fakellm");
    } else if (!cJSON_IsObject(json)) {
        fl_error(req, &c, 400, "We could not parse the JSON body of your request.");
    } else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, "model"))) {
        fl_error(req, &c, 400, "model: field required");
    } else {
        c.model = cJSON_GetObjectItemCaseSensitive(json, "model")->valuestring;
        parse_behaviour(c.model, &c.beh);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(json, "stream");
        c.stream = cJSON_IsTrue(st);
        int fail = c.beh.status;
        if (c.beh.flaky > 0)
            fail = flaky_fail(c.model, first_user_text(json), c.beh.flaky) ? (fail ? fail : 500) : 0;
        if (fail)
            fl_error(req, &c, fail,
                     fail == 529   ? "Overloaded"
                     : fail == 429 ? "Rate limit reached for fake"
                     : fail == 400 ? "Invalid value for 'temperature': fake invalid request"
                                   : "fake failure");
        else if (c.beh.midstream && !c.stream)
            fl_error(req, &c, 500, "fake failure");
        else if (strcmp(rest, "/embeddings") == 0)
            fl_embeddings(&c);
        else if (strcmp(rest, "/responses") == 0)
            fl_responses(&c);
        else
            fl_chat(&c);
    }
    cJSON_Delete(json);
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    event_base_loopexit(fl_base, NULL);
}

int main(int argc, char **argv)
{
    int port = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
            if (fl_rec_log_to(argv[++i]) != 0) {
                perror("fakellm: --log");
                return 1;
            }
        } else if (strcmp(argv[i], "--no-record") == 0) {
            fl_rec_off();
        } else if (port < 0 && argv[i][0] >= '0' && argv[i][0] <= '9') {
            port = atoi(argv[i]);
        } else {
            fprintf(stderr, "usage: fakellm PORT [--log FILE] [--no-record]\n");
            return 2;
        }
    }
    if (port < 0) {
        fprintf(stderr, "usage: fakellm PORT [--log FILE] [--no-record]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* 1000 concurrent streams and more: as many descriptors as allowed. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4096) < 0) {
        perror("fakellm: bind");
        return 1;
    }
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    evutil_make_socket_nonblocking(fd);
    fl_base = event_base_new();
    struct evhttp *http = evhttp_new(fl_base);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(http, handle, NULL);
    if (evhttp_accept_socket(http, fd) != 0) {
        fprintf(stderr, "fakellm: accept socket failed\n");
        return 1;
    }
    printf("port %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    struct event *term = evsignal_new(fl_base, SIGTERM, stop_cb, NULL);
    struct event *intr = evsignal_new(fl_base, SIGINT, stop_cb, NULL);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(fl_base);
    event_free(term);
    event_free(intr);
    evhttp_free(http); /* closes pending replies (their close_cb frees them) */
    fl_rec_free();
    event_base_free(fl_base);
    return 0;
}
