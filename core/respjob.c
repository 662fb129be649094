#include "respjob.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jfield.h"
#include "job.h"
#include "webhook_event.h"

bool respjob_is_background(enum job_kind kind, const char *queue)
{
    return kind == JOB_LLM_RESPONSE && queue && strcmp(queue, RESPJOB_QUEUE) == 0;
}

uint64_t respjob_parse_id(const char *s)
{
    size_t pl = strlen(RESPJOB_PREFIX);
    if (!s || strncmp(s, RESPJOB_PREFIX, pl) != 0)
        return 0;
    s += pl;
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 19)
            return 0;
        v = v * 10 + (uint64_t)(s[n] - '0');
    }
    return n ? v : 0;
}

static void set(cJSON *o, const char *name, cJSON *v)
{
    if (cJSON_GetObjectItemCaseSensitive(o, name))
        cJSON_ReplaceItemInObjectCaseSensitive(o, name, v);
    else
        cJSON_AddItemToObject(o, name, v);
}

static void echo(cJSON *r, const cJSON *req, const char *name, cJSON *dflt)
{
    const cJSON *v = jfield(req, name);
    if (v) {
        cJSON_Delete(dflt);
        cJSON_AddItemToObject(r, name, cJSON_Duplicate(v, true));
    } else {
        cJSON_AddItemToObject(r, name, dflt ? dflt : cJSON_CreateNull());
    }
}

/* The error of a failed job: the provider's (or ingot's) error object's
 * code, and the job's last error as the message. */
static cJSON *error_of(const struct respjob_row *r)
{
    cJSON *res = r->result ? cJSON_Parse(r->result) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(res, "error");
    const char *code = jfield_str(e, "code");
    const char *msg = jfield_str(e, "message");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "code", code ? code : "server_error");
    cJSON_AddStringToObject(o, "message", r->last_error ? r->last_error : msg ? msg : "the response failed");
    cJSON_Delete(res);
    return o;
}

static cJSON *from_request(const struct respjob_row *r, const char *status)
{
    cJSON *req = r->payload ? cJSON_Parse(r->payload) : NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "response");
    cJSON_AddNumberToObject(o, "created_at", (double)r->created_s);
    cJSON_AddStringToObject(o, "status", status);
    if (strcmp(status, "failed") == 0)
        cJSON_AddItemToObject(o, "error", error_of(r));
    else
        cJSON_AddNullToObject(o, "error");
    cJSON_AddNullToObject(o, "incomplete_details");
    echo(o, req, "instructions", NULL);
    echo(o, req, "max_output_tokens", NULL);
    echo(o, req, "model", cJSON_CreateString(""));
    cJSON_AddArrayToObject(o, "output");
    echo(o, req, "parallel_tool_calls", cJSON_CreateTrue());
    cJSON_AddNullToObject(o, "previous_response_id");
    echo(o, req, "temperature", NULL);
    echo(o, req, "tool_choice", cJSON_CreateString("auto"));
    echo(o, req, "tools", cJSON_CreateArray());
    echo(o, req, "top_p", NULL);
    cJSON *text = cJSON_CreateObject();
    cJSON_AddItemToObject(cJSON_AddObjectToObject(text, "format"), "type", cJSON_CreateString("text"));
    echo(o, req, "text", text);
    echo(o, req, "metadata", cJSON_CreateObject());
    cJSON_AddTrueToObject(o, "store");
    cJSON_AddNullToObject(o, "usage");
    cJSON_Delete(req);
    return o;
}

void respjob_render(const struct respjob_row *r, struct sbuf *out)
{
    cJSON *o = NULL;
    if (r->state == JOB_SUCCEEDED) {
        o = r->result ? cJSON_Parse(r->result) : NULL;
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(o, "object");
        if (!cJSON_IsObject(o) || !cJSON_IsString(obj) || strcmp(obj->valuestring, "response") != 0) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    if (!o) {
        const char *status = r->state == JOB_QUEUED    ? "queued"
                             : r->state == JOB_RUNNING ? "in_progress"
                             : r->state == JOB_CANCELLED ? "cancelled"
                                                         : "failed";
        o = from_request(r, status);
    }
    char id[40];
    snprintf(id, sizeof id, RESPJOB_PREFIX "%llu", (unsigned long long)r->id);
    set(o, "id", cJSON_CreateString(id));
    set(o, "created_at", cJSON_CreateNumber((double)r->created_s));
    set(o, "background", cJSON_CreateTrue());
    if (r->state == JOB_SUCCEEDED && r->finished_s && !cJSON_GetObjectItemCaseSensitive(o, "completed_at"))
        cJSON_AddNumberToObject(o, "completed_at", (double)r->finished_s);
    char *s = cJSON_PrintUnformatted(o);
    sbuf_puts(out, s);
    cJSON_free(s);
    cJSON_Delete(o);
}

void respjob_events_init(struct respjob_events *e)
{
    sbuf_init(&e->pairs);
    e->pos = 0;
}

void respjob_events_deinit(struct respjob_events *e)
{
    sbuf_deinit(&e->pairs);
}

void respjob_events_reset(struct respjob_events *e)
{
    sbuf_reset(&e->pairs);
    e->pos = 0;
}

void respjob_events_add(struct respjob_events *e, uint64_t tenant, uint64_t job_id)
{
    sbuf_append_u64(&e->pairs, tenant);
    sbuf_putc(&e->pairs, ':');
    sbuf_append_u64(&e->pairs, job_id);
    sbuf_putc(&e->pairs, ',');
}

bool respjob_events_next(struct respjob_events *e, const char *type, struct sbuf *b)
{
    if (e->pos >= e->pairs.len)
        return false;
    char *end;
    uint64_t tenant = strtoull(e->pairs.data + e->pos, &end, 10);
    uint64_t id = strtoull(end + 1, &end, 10);
    e->pos = (size_t)(end - e->pairs.data) + 1;
    respjob_event_sql(b, tenant, id, type);
    return true;
}

void respjob_event_sql(struct sbuf *b, uint64_t tenant, uint64_t job_id, const char *type)
{
    char data[64];
    snprintf(data, sizeof data, "{\"id\":\"" RESPJOB_PREFIX "%llu\"}", (unsigned long long)job_id);
    webhook_event_sql(b, tenant, type, data);
}
