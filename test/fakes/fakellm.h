/* fakellm's parts: fakellm.c (server, errors, dispatch), llm/record.c,
 * llm/answer.c (chat answers, streams, replies that wait) and llm/embed.c. */
#ifndef FAKELLM_H
#define FAKELLM_H

#include <cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What the model name asks for (see the list at the top of fakellm.c). */
struct fl_beh {
    int status, delay_ms, words, calls, flaky, prompt, cached, retry_ms, reset_ms, dims;
    bool hang, badjson, midstream, remaining0, echo, stall, pretext, cached_set, nousage;
};

/* One request being answered; everything borrowed for the handler only. */
struct fl_ctx {
    struct evhttp_request *req;
    const cJSON *body;
    const char *model;
    long long seq;
    bool anthropic, stream;
    struct fl_beh beh;
};

extern struct event_base *fl_base;

double fl_mono_ms(void);
long long fl_wall_ms(void);
/* Records a request (body_json borrowed); returns its seq, also when not
 * recording (request ids use it). */
long long fl_rec_add(struct evhttp_request *req, const char *body, size_t blen, cJSON *body_json);
void fl_rec_off(void);
int fl_rec_log_to(const char *path);
void fl_rec_reset(void);
void fl_rec_send_log(struct evhttp_request *req);
void fl_rec_free(void);
void fl_rec_status(long long seq, int status);
void fl_rec_done(long long seq);
void fl_rec_closed(long long seq);
void fl_flaky_reset(void);
/* Request id and rate-limit headers; spent: remaining 0, reset in beh.reset_ms. */
void fl_headers(struct evhttp_request *req, const struct fl_ctx *c, bool spent);
void fl_error(struct evhttp_request *req, const struct fl_ctx *c, int status, const char *message);
/* Appends s as a JSON string (quotes included). */
void fl_json_str(struct evbuffer *b, const char *s, size_t n);

/* A non-streamed answer: now, after beh.delay_ms, or never (beh.hang).
 * Takes b. */
void fl_plain_send(const struct fl_ctx *c, int status, struct evbuffer *b, bool spent);
void fl_chat(const struct fl_ctx *c);
/* A stream's events: each ends with fl_ev_end (its size kept). */
struct evlist {
    struct evbuffer *b;
    size_t *sizes, mark;
    int n, cap;
};
void fl_ev_end(struct evlist *l);
/* Sends a stream: the head now, then every event (at once, or one per
 * beh.delay_ms), stopping after stall_at events (-1: never). Takes l. */
void fl_stream_send(const struct fl_ctx *c, struct evlist *l, int stall_at, bool spent);
/* POST /v1/responses (llm/responses.c). */
void fl_responses(const struct fl_ctx *c);
void fl_embeddings(const struct fl_ctx *c);

#endif
