/* fakellm's record of what it received (GET /_log, --log FILE): one JSON
 * object per request, completed with its status and when it ended or the
 * client went away. */
#include "../fakellm.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h> /* before keyvalq_struct.h: TAILQ_* */
#include <event2/keyvalq_struct.h>

static bool record = true;
static FILE *logfile;

void fl_rec_off(void)
{
    record = false;
}

int fl_rec_log_to(const char *path)
{
    logfile = fopen(path, "a");
    return logfile ? 0 : -1;
}

struct rec {
    char *json; /* the arrival object without its closing brace */
    int status;
    double done_mono, closed_mono;
    long long closed_wall;
};
static struct rec *recs;
static size_t nrecs, caprecs;
static long long seq_base; /* seq of recs[0] */
static long long next_seq = 1;

static struct rec *rec_get(long long seq)
{
    if (seq < seq_base || seq - seq_base >= (long long)nrecs)
        return NULL;
    return &recs[seq - seq_base];
}

void fl_rec_status(long long seq, int status)
{
    struct rec *r = rec_get(seq);
    if (r)
        r->status = status;
}

static void log_event(long long seq, const char *what, int status)
{
    if (!logfile)
        return;
    fprintf(logfile, "{\"seq\":%lld,\"event\":\"%s\",\"status\":%d,\"mono_ms\":%.3f,\"wall_ms\":%lld}\n", seq, what,
            status, fl_mono_ms(), fl_wall_ms());
    fflush(logfile);
}

void fl_rec_done(long long seq)
{
    struct rec *r = rec_get(seq);
    if (r && r->done_mono == 0)
        r->done_mono = fl_mono_ms();
    log_event(seq, "done", r ? r->status : 0);
}

void fl_rec_closed(long long seq)
{
    struct rec *r = rec_get(seq);
    if (r && r->closed_mono == 0) {
        r->closed_mono = fl_mono_ms();
        r->closed_wall = fl_wall_ms();
    }
    log_event(seq, "closed", r ? r->status : 0);
}

static const char *method_name(enum evhttp_cmd_type c)
{
    switch (c) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_PATCH: return "PATCH";
    case EVHTTP_REQ_HEAD: return "HEAD";
    default: return "OTHER";
    }
}

/* Records the request; returns its seq (request ids use it even when not
 * recording). body_json is borrowed. */
long long fl_rec_add(struct evhttp_request *req, const char *body, size_t blen, cJSON *body_json)
{
    long long seq = next_seq++;
    if (!record)
        return seq;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    cJSON_AddNumberToObject(o, "mono_ms", fl_mono_ms());
    cJSON_AddNumberToObject(o, "wall_ms", (double)fl_wall_ms());
    cJSON_AddStringToObject(o, "method", method_name(evhttp_request_get_command(req)));
    cJSON_AddStringToObject(o, "path", evhttp_request_get_uri(req));
    cJSON *h = cJSON_AddObjectToObject(o, "headers");
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next) {
        char name[256];
        size_t i = 0;
        for (; i < sizeof name - 1 && kv->key[i]; i++)
            name[i] = (char)((kv->key[i] >= 'A' && kv->key[i] <= 'Z') ? kv->key[i] + 32 : kv->key[i]);
        name[i] = 0;
        cJSON_DeleteItemFromObjectCaseSensitive(h, name);
        cJSON_AddStringToObject(h, name, kv->value);
    }
    char *b = malloc(blen + 1);
    memcpy(b, body, blen);
    b[blen] = 0;
    cJSON_AddStringToObject(o, "body", b);
    free(b);
    if (body_json)
        cJSON_AddItemReferenceToObject(o, "json", body_json);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (logfile) {
        fprintf(logfile, "%s\n", s);
        fflush(logfile);
    }
    s[strlen(s) - 1] = 0; /* drop the closing brace: status and times follow at GET /_log */
    if (nrecs == caprecs) {
        size_t cap = caprecs ? caprecs * 2 : 256;
        struct rec *grown = realloc(recs, cap * sizeof *recs);
        if (!grown) {
            free(s);
            return seq;
        }
        recs = grown;
        caprecs = cap;
    }
    if (nrecs == 0)
        seq_base = seq;
    recs[nrecs++] = (struct rec){.json = s};
    return seq;
}

void fl_rec_reset(void)
{
    for (size_t i = 0; i < nrecs; i++)
        free(recs[i].json);
    nrecs = 0;
}

void fl_rec_send_log(struct evhttp_request *req)
{
    long long since = 0;
    const char *q = strstr(evhttp_request_get_uri(req), "since=");
    if (q)
        since = atoll(q + 6);
    struct evbuffer *b = evbuffer_new();
    for (size_t i = 0; i < nrecs; i++) {
        struct rec *r = &recs[i];
        if (seq_base + (long long)i <= since)
            continue;
        evbuffer_add_printf(b, "%s,\"status\":%d,\"done_mono_ms\":", r->json, r->status);
        if (r->done_mono > 0)
            evbuffer_add_printf(b, "%.3f", r->done_mono);
        else
            evbuffer_add_printf(b, "null");
        if (r->closed_mono > 0)
            evbuffer_add_printf(b, ",\"closed_mono_ms\":%.3f,\"closed_wall_ms\":%lld}\n", r->closed_mono,
                                r->closed_wall);
        else
            evbuffer_add_printf(b, ",\"closed_mono_ms\":null,\"closed_wall_ms\":null}\n");
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/x-ndjson");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

void fl_rec_free(void)
{
    fl_rec_reset();
    free(recs);
    recs = NULL;
    caprecs = 0;
    if (logfile)
        fclose(logfile);
    logfile = NULL;
}
