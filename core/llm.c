#include "llm.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "health.h"
#include "check.h"
#include "job.h"
#include "jtree.h"
#include "llm_embed.h"
#include "llm_msgs_req.h"
#include "llm_resp_req.h"
#include "llm_priv.h"
#include "llmlimit.h"
#include "log.h"
#include "loop.h"
#include "provider.h"
#include "runtime.h"
#include "upstream.h"
#include "usage.h"

/* How often providers and limits re-read their tables. */
#define LLM_REFRESH_MS 5000

/* A drain waits for calls in flight and limiter writes not yet answered
 * (settlements); usage counts its own buffer. */
static size_t busy_fn(void *arg)
{
    struct llm *l = arg;
    return l->ncalls + llmlimit_busy(l->lim);
}

struct llm *llm_new(struct runtime *rt, char *err, size_t errlen)
{
    struct llm *l = xcalloc(1, sizeof *l);
    l->rt = rt;
    char sub[256] = "";
    l->ps = providers_new(rt, LLM_REFRESH_MS, sub, sizeof sub);
    if (!l->ps) {
        snprintf(err, errlen, "LLM providers: %s", sub);
        free(l);
        return NULL;
    }
    l->lim = llmlimit_new(rt, LLM_REFRESH_MS);
    l->usage = usage_new(rt, rt->cfg->usage_flush_interval_ms);
    llmlimit_set_usage(l->lim, l->usage);
    l->via_httpc = upstream_proxy_in_env();
    if (l->via_httpc)
        log_info("llm: a proxy is set in the environment: provider calls go through libcurl, which uses it");
    else /* idle connections kept: a worker's calls in flight, and at least what a busy serve reuses */
        l->up = upstream_new(rt->loop, rt->cfg->ca_bundle,
                             rt->cfg->queue_worker_concurrency > 256 ? (size_t)rt->cfg->queue_worker_concurrency : 256);
    char why[256];
    if (l->up && strncasecmp(rt->cfg->llm_base_url, "https://", 8) == 0 && upstream_tls_warm(l->up, why, sizeof why) < 0)
        log_error("llm: %s: calls to https providers will fail", why);
    if (rt->health)
        health_set_providers(rt->health, l->ps);
    loop_add_busy(rt->loop, busy_fn, l);
    return l;
}

struct providers *llm_providers(struct llm *l)
{
    return l->ps;
}

struct llmlimit *llm_limits(struct llm *l)
{
    return l->lim;
}

int llm_http_send(struct llm *l, const struct httpc_request *req, httpc_cb cb, void *arg)
{
    if (l->via_httpc)
        return httpc_send(l->rt->httpc, req, cb, arg);
    return l->up ? upstream_send(l->up, req, cb, arg) : -1;
}

bool llm_http_abort(struct llm *l, httpc_cb cb, void *arg)
{
    if (l->via_httpc)
        return httpc_abort(l->rt->httpc, cb, arg);
    return l->up && upstream_abort(l->up, cb, arg);
}

int llm_route_parts(struct llm *l, uint64_t tenant, const char *model, char parts[4][LLM_ROUTE_PART_MAX])
{
    struct provider_target t;
    char why[256];
    if (providers_resolve(l->ps, tenant, model, &t, why, sizeof why) != 0)
        return -1;
    util_strcpy(parts[0], LLM_ROUTE_PART_MAX, t.provider);
    util_strcpy(parts[1], LLM_ROUTE_PART_MAX, t.type == PROVIDER_ANTHROPIC ? "anthropic" : "openai");
    util_strcpy(parts[2], LLM_ROUTE_PART_MAX, t.base_url ? t.base_url : "");
    util_strcpy(parts[3], LLM_ROUTE_PART_MAX, t.upstream_model);
    provider_target_deinit(&t);
    return 0;
}

void llm_record_cache_hit(struct llm *l, uint64_t tenant, uint64_t key_id, const char *provider,
                          const char *model, enum llm_endpoint ep, double latency_ms, const char *request_id)
{
    struct usage_rec rec = {.tenant = tenant,
                            .key_id = key_id,
                            .provider = provider,
                            .model = model,
                            .endpoint = llm_endpoint_name(ep),
                            .status = 200,
                            .latency_ms = latency_ms,
                            .ttft_ms = -1,
                            .request_id = request_id,
                            .cache_hit = true};
    llm_usage_init(&rec.u);
    usage_record(l->usage, &rec);
}

void llm_drain(struct llm *l)
{
    if (l)
        usage_flush(l->usage);
}

void llm_free(struct llm *l)
{
    if (!l)
        return;
    /* After llm_close only calls that never got llmlimit's answer (or
     * were started during shutdown) are left: nothing of them is sent. */
    struct llm_call *c, *next;
    for (c = l->calls; c; c = next) {
        next = c->next;
        if (!c->admit_pending)
            llm_call_discard(c);
    }
    llm_models_free(l->models);
    usage_free(l->usage);
    /* Reservations still waiting are answered now: their calls free
     * themselves (they are cancelled); any left had no answer coming. */
    llmlimit_free(l->lim);
    l->lim = NULL;
    while (l->calls)
        llm_call_discard(l->calls);
    providers_free(l->ps);
    free(l);
}

const char *llm_endpoint_name(enum llm_endpoint ep)
{
    return ep == LLM_EP_EMBED       ? "embeddings"
           : ep == LLM_EP_MESSAGES  ? "messages"
           : ep == LLM_EP_RESPONSES ? "responses"
                                    : "chat.completions";
}

void llm_usage_init(struct llm_usage *u)
{
    u->prompt = u->completion = u->cached = u->reasoning = -1;
}

/* A count from a body or a provider: -1 when absent or negative (NaN
 * too), saturated at LLM_COUNT_SAT (converting a larger double is
 * undefined; sums and prices of counts stay far from overflow). */
#define LLM_COUNT_SAT 1000000000000LL
static long long num_or(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0))
        return -1;
    return v->valuedouble < (double)LLM_COUNT_SAT ? (long long)v->valuedouble : LLM_COUNT_SAT;
}

bool llm_usage_parse(const cJSON *usage, struct llm_usage *out)
{
    llm_usage_init(out);
    if (!cJSON_IsObject(usage))
        return false;
    out->prompt = num_or(usage, "prompt_tokens");
    out->completion = num_or(usage, "completion_tokens");
    const cJSON *pd = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens_details");
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens_details");
    if (cJSON_IsObject(pd))
        out->cached = num_or(pd, "cached_tokens");
    if (cJSON_IsObject(cd))
        out->reasoning = num_or(cd, "reasoning_tokens");
    /* Embeddings report prompt_tokens and total_tokens only. */
    if (out->completion < 0 && out->prompt >= 0)
        out->completion = 0;
    return out->prompt >= 0;
}

/* num_or of a value's text (checked JSON): a number's, as cJSON reads
 * it (strtod of at most 63 characters). false: the text is not sure to
 * read the same (longer), parse it whole. */
static bool text_num(const struct llm_json_span *v, long long *out)
{
    *out = -1;
    if (!v->p || !(v->p[0] == '-' || (v->p[0] >= '0' && v->p[0] <= '9')))
        return true;
    size_t nd = 0;
    long long iv = 0;
    while (nd < v->len && nd < 15 && v->p[nd] >= '0' && v->p[nd] <= '9')
        iv = iv * 10 + (v->p[nd++] - '0');
    if (nd == v->len) { /* up to 15 digits: the double is exact, no strtod */
        *out = iv < LLM_COUNT_SAT ? iv : LLM_COUNT_SAT;
        return true;
    }
    char t[64];
    if (v->len >= sizeof t)
        return false;
    memcpy(t, v->p, v->len);
    t[v->len] = '\0';
    double d = strtod(t, NULL);
    if (d >= 0)
        *out = d < (double)LLM_COUNT_SAT ? (long long)d : LLM_COUNT_SAT;
    return true;
}

/* A details object's one count (cached_tokens, reasoning_tokens): v the
 * count's span inside obj. */
static bool text_detail(const struct llm_json_span *obj, const struct llm_json_span *v, long long *out)
{
    *out = -1;
    if (!obj->p || obj->p[0] != '{')
        return true;
    return text_num(v, out);
}

static int usage_spans(const struct llm_json_usage *f, struct llm_usage *out)
{
    llm_usage_init(out);
    if (f->escaped || !text_num(&f->prompt, &out->prompt) || !text_num(&f->completion, &out->completion) ||
        !text_detail(&f->pdetails, &f->cached, &out->cached) ||
        !text_detail(&f->cdetails, &f->reasoning, &out->reasoning)) {
        llm_usage_init(out);
        return -1;
    }
    if (out->completion < 0 && out->prompt >= 0)
        out->completion = 0;
    return out->prompt >= 0;
}

int llm_usage_parse_text(const char *s, size_t n, struct llm_usage *out)
{
    static const char *const names[] = {"prompt_tokens", "completion_tokens", "prompt_tokens_details",
                                        "completion_tokens_details"};
    static const char *const cached = "cached_tokens", *const reasoning = "reasoning_tokens";
    struct llm_json_span f[4];
    struct llm_json_usage u = {0};
    if (llm_json_fields(s, n, names, 4, f) < 0) {
        llm_usage_init(out);
        return -1;
    }
    u.prompt = f[0], u.completion = f[1], u.pdetails = f[2], u.cdetails = f[3];
    /* a details object with an escaped key: the parse decides, as for usage's own */
    if (u.pdetails.p && u.pdetails.p[0] == '{' &&
        llm_json_fields(u.pdetails.p, u.pdetails.len, &cached, 1, &u.cached) < 0)
        u.escaped = true;
    if (u.cdetails.p && u.cdetails.p[0] == '{' &&
        llm_json_fields(u.cdetails.p, u.cdetails.len, &reasoning, 1, &u.reasoning) < 0)
        u.escaped = true;
    return usage_spans(&u, out);
}

int llm_usage_parse_top(const struct llm_json_top *top, struct llm_usage *out)
{
    return usage_spans(&top->u, out);
}

static long long nz(long long v)
{
    return v > 0 ? v : 0;
}

/* v in decimal at p (as sbuf_append_i64); the end. */
static char *put_i64(char *p, long long v)
{
    unsigned long long m = (unsigned long long)v;
    if (v < 0) {
        *p++ = '-';
        m = 0 - m; /* LLONG_MIN too */
    }
    char t[20];
    size_t i = sizeof t;
    do
        t[--i] = (char)('0' + m % 10);
    while (m /= 10);
    memcpy(p, t + i, sizeof t - i);
    return p + (sizeof t - i);
}

#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) += sizeof(lit) - 1)

void llm_usage_json(const struct llm_usage *u, struct sbuf *out)
{
    /* Once per call: made on the stack and appended once (one allocation
     * of out, not a growth per piece). */
    char b[320], *p = b; /* 148 of text, five numbers of at most 20 */
    PUT_LIT(p, "{\"prompt_tokens\":");
    p = put_i64(p, nz(u->prompt));
    PUT_LIT(p, ",\"completion_tokens\":");
    p = put_i64(p, nz(u->completion));
    PUT_LIT(p, ",\"total_tokens\":");
    p = put_i64(p, nz(u->prompt) + nz(u->completion));
    PUT_LIT(p, ",\"prompt_tokens_details\":{\"cached_tokens\":");
    p = put_i64(p, nz(u->cached));
    PUT_LIT(p, "},\"completion_tokens_details\":{\"reasoning_tokens\":");
    p = put_i64(p, nz(u->reasoning));
    PUT_LIT(p, "}}");
    sbuf_append(out, b, (size_t)(p - b));
}

void llm_error_json(struct sbuf *out, const char *message, const char *type, const char *param,
                    const char *code)
{
    sbuf_puts(out, "{\"error\":{\"message\":");
    sbuf_json_str(out, message ? message : "");
    sbuf_puts(out, ",\"type\":");
    sbuf_json_str(out, type);
    sbuf_puts(out, ",\"param\":");
    sbuf_json_str(out, param);
    sbuf_puts(out, ",\"code\":");
    sbuf_json_str(out, code);
    sbuf_puts(out, "}}");
}

/* Characters of every string under v (message text, tool arguments). */
static size_t strings_len(const cJSON *v)
{
    if (cJSON_IsString(v))
        return strlen(v->valuestring);
    size_t n = 0;
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        for (const cJSON *e = v->child; e; e = e->next)
            n += strings_len(e);
    return n;
}

/* Tokens of an embeddings input: a string, strings, or token arrays. */
static long long input_tokens(const cJSON *in)
{
    if (cJSON_IsString(in))
        return (long long)strlen(in->valuestring) / 4 + 1;
    long long n = 0;
    if (cJSON_IsArray(in))
        for (const cJSON *e = in->child; e; e = e->next)
            n += cJSON_IsNumber(e) ? 1 : input_tokens(e);
    return n;
}

void llm_estimate(const struct llm *l, enum llm_endpoint ep, const cJSON *body, long long *prompt,
                  long long *completion)
{
    if (ep == LLM_EP_EMBED) {
        *prompt = input_tokens(jtree_get(body, "input"));
        *completion = 0;
        return;
    }
    /* About four characters a token, and a few tokens of framing per
     * message (OpenAI's own rule of thumb); tools count as text. */
    const cJSON *msgs = jtree_get(body, ep == LLM_EP_RESPONSES ? "input" : "messages");
    long long nmsg = cJSON_IsString(msgs) ? 1 : cJSON_GetArraySize(msgs);
    size_t chars = strings_len(msgs) + strings_len(jtree_get(body, "tools"));
    if (ep == LLM_EP_RESPONSES)
        chars += strings_len(jtree_get(body, "instructions"));
    if (ep == LLM_EP_MESSAGES) /* Anthropic's system prompt is apart */
        chars += strings_len(jtree_get(body, "system"));
    *prompt = (long long)(chars / 4) + 4 * nmsg + 3;
    long long mt = num_or(body, ep == LLM_EP_RESPONSES ? "max_output_tokens" : "max_completion_tokens");
    if (mt < 0)
        mt = num_or(body, "max_tokens");
    if (mt < 0)
        mt = l->rt->cfg->llm_default_max_tokens;
    const cJSON *n = jtree_get(body, "n");
    long long nn;
    if (cJSON_IsNumber(n) && check_double_ll(n->valuedouble, 1, LLM_N_MAX, &nn))
        mt *= nn; /* at most LLM_COUNT_SAT x 128 */
    *completion = mt;
}

/* Most top-level members of a body. */
#define LLM_MAX_FIELDS 1024

static int check_fail(struct job_error *e, const char *param, const char *msg)
{
    memset(e, 0, sizeof *e);
    e->status = 400;
    snprintf(e->param, sizeof e->param, "%s", param);
    snprintf(e->message, sizeof e->message, "%s", msg);
    return -1;
}

/* The body's model routes to a provider: 0 with its type and upstream
 * model (LLM_MODEL_MAX + 1 bytes), or -1 with e. */
static int check_model(struct llm *l, uint64_t tenant, const cJSON *body, enum provider_type *type, char *upstream,
                       struct job_error *e)
{
    if (!cJSON_IsObject(body))
        return check_fail(e, "", "the body must be a JSON object");
    /* OpenAI's bodies have a few dozen; the upstream edit sets every key
     * apart (duplicates), which stays cheap and unpredictable-free only
     * for a bounded number of them. */
    if (cJSON_GetArraySize(body) > LLM_MAX_FIELDS)
        return check_fail(e, "", "the body has too many top-level fields");
    const cJSON *model = jtree_get(body, "model");
    if (!cJSON_IsString(model) || !model->valuestring[0])
        return check_fail(e, "model", "model is required (a string)");
    if (strlen(model->valuestring) > LLM_MODEL_MAX)
        return check_fail(e, "model", "model is too long");
    struct provider_target t;
    char why[256];
    int rc = providers_resolve_nokey(l->ps, tenant, model->valuestring, &t, why, sizeof why); /* no key copied */
    if (rc == PROVIDERS_NOT_READY) {
        check_fail(e, "", why);
        e->status = 503;
        snprintf(e->code, sizeof e->code, "llm_not_ready");
        return -1;
    }
    if (rc == PROVIDERS_KEY_UNUSABLE) {
        /* A key that does not open is the operator's to fix: the tenant
         * hears nothing internal, the log says what (never the key). */
        log_error("llm: %s", why);
        check_fail(e, "", LLM_KEY_UNUSABLE_MSG);
        e->status = 503;
        snprintf(e->code, sizeof e->code, "provider_unavailable");
        return -1;
    }
    if (rc < 0)
        return check_fail(e, "model", why);
    *type = t.type;
    util_strcpy(upstream, LLM_MODEL_MAX + 1, t.upstream_model);
    provider_target_deinit(&t);
    return 0;
}

int llm_check_model(struct llm *l, uint64_t tenant, const cJSON *body, struct job_error *e)
{
    enum provider_type type;
    char upstream[LLM_MODEL_MAX + 1];
    return check_model(l, tenant, body, &type, upstream, e);
}

int llm_check(struct llm *l, uint64_t tenant, enum llm_endpoint ep, const cJSON *body, bool job,
              struct job_error *e)
{
    enum provider_type type;
    char upstream[LLM_MODEL_MAX + 1];
    if (check_model(l, tenant, body, &type, upstream, e) < 0)
        return -1;
    bool anthropic = type == PROVIDER_ANTHROPIC;
    const cJSON *stream = jtree_get(body, "stream");
    if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream))
        return check_fail(e, "stream", "stream must be a boolean");
    if (ep == LLM_EP_EMBED) {
        if (anthropic)
            return check_fail(e, "model",
                              "this model's provider is Anthropic, which offers no embeddings");
        const cJSON *in = jtree_get(body, "input");
        if (!cJSON_IsString(in) && !cJSON_IsArray(in))
            return check_fail(e, "input", "input is required (a string or an array)");
        const cJSON *ef = jtree_get(body, "encoding_format");
        if (ef && !cJSON_IsNull(ef) &&
            !(cJSON_IsString(ef) && (!strcmp(ef->valuestring, "float") || !strcmp(ef->valuestring, "base64"))))
            return check_fail(e, "encoding_format", "encoding_format must be \"float\" or \"base64\"");
        return 0;
    }
    if (ep == LLM_EP_MESSAGES) {
        char param[sizeof e->param], mwhy[sizeof e->message];
        if (job)
            return check_fail(e, "", "a Messages body cannot be a job");
        return msgs_check(body, param, sizeof param, mwhy, sizeof mwhy) < 0 ? check_fail(e, param, mwhy) : 0;
    }
    if (ep == LLM_EP_RESPONSES) {
        char param[sizeof e->param], rwhy[sizeof e->message];
        if (resp_check(body, param, sizeof param, rwhy, sizeof rwhy) < 0)
            return check_fail(e, param, rwhy);
        if (job && cJSON_IsTrue(stream))
            return check_fail(e, "stream", "a job cannot stream: leave stream out or false");
        if (job && cJSON_IsTrue(jtree_get(body, "background")))
            return check_fail(e, "background", "a job runs in the background already: leave background out");
        if (type == PROVIDER_OPENAI)
            return 0; /* passed through: the provider judges the rest */
        /* What the call would translate, refused now rather than when it runs. */
        cJSON *chat = resp_to_chat(body, upstream, param, sizeof param, rwhy, sizeof rwhy);
        if (!chat)
            return check_fail(e, param, rwhy);
        cJSON_Delete(chat);
        return 0;
    }
    const cJSON *msgs = jtree_get(body, "messages");
    if (!cJSON_IsArray(msgs))
        return check_fail(e, "messages", "messages is required (an array)");
    if (cJSON_GetArraySize(msgs) == 0)
        return check_fail(e, "messages", "messages may not be empty");
    if (job && cJSON_IsTrue(stream))
        return check_fail(e, "stream", "a job cannot stream: leave stream out or false");
    const cJSON *so = jtree_get(body, "stream_options");
    if (so && !cJSON_IsNull(so) && !cJSON_IsObject(so))
        return check_fail(e, "stream_options", "stream_options must be an object");
    /* Whole numbers in OpenAI's ranges (no model has a limit near
     * LLM_MAX_TOKENS_CAP): they size the reservation. */
    static const char *const counts[] = {"max_tokens", "max_completion_tokens"};
    long long x;
    for (size_t i = 0; i < ARRAY_LEN(counts); i++) {
        const cJSON *v = jtree_get(body, counts[i]);
        if (v && !cJSON_IsNull(v) && !(cJSON_IsNumber(v) && check_double_ll(v->valuedouble, 1, LLM_MAX_TOKENS_CAP, &x))) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s must be a whole number from 1 to %lld", counts[i], LLM_MAX_TOKENS_CAP);
            return check_fail(e, counts[i], msg);
        }
    }
    const cJSON *n = jtree_get(body, "n");
    if (n && !cJSON_IsNull(n) && !(cJSON_IsNumber(n) && check_double_ll(n->valuedouble, 1, LLM_N_MAX, &x)))
        return check_fail(e, "n", "n must be a whole number from 1 to 128");
    return 0;
}

/* The name the call is priced by: the model as sent when it has a price
 * (a route's alias, a plain name), else what it resolved to, spelled
 * "provider/model" or, for the default provider, "model". Without this a
 * tenant could spell a priced "gpt-4o" as "default/gpt-4o" (or call a
 * priced "provider/model" through another alias, or a priced alias's
 * target directly) and be charged nothing against a USD budget. */
static bool priced(const struct llmlimit *lim, const char *model)
{
    struct llm_usage u;
    llm_usage_init(&u);
    u.prompt = u.completion = 1000000;
    return llmlimit_cost(lim, model, &u) > 0;
}

struct alias_find {
    const struct llmlimit *lim;
    char *out;
    size_t n;
};

static bool alias_priced(const char *model, void *arg)
{
    struct alias_find *f = arg;
    if (!priced(f->lim, model))
        return false;
    snprintf(f->out, f->n, "%s", model);
    return true;
}

void llm_price_model(const struct llm *l, const struct provider_target *t, const char *model, char *out,
                     size_t n)
{
    const struct llmlimit *lim = l->lim;
    util_strcpy(out, n, model); /* copies, not printf: every call */
    if (!llmlimit_priced_any(lim))
        return; /* no prices at all: none of the names below is priced */
    if (priced(lim, out))
        return;
    char alt[PROVIDER_NAME_MAX + LLM_MODEL_MAX + 2];
    util_join(alt, sizeof alt, t->provider, '/', t->upstream_model);
    if (priced(lim, alt)) {
        util_strcpy(out, n, alt);
        return;
    }
    if (strcmp(t->provider, PROVIDER_DEFAULT) == 0 && priced(lim, t->upstream_model)) {
        util_strcpy(out, n, t->upstream_model);
        return;
    }
    /* A priced route alias to the same provider and upstream model (the
     * tenant called its target directly): only when prices exist. */
    if (!llmlimit_priced_any(lim))
        return;
    struct alias_find f = {lim, out, n};
    providers_aliases(l->ps, t->provider, t->upstream_model, alias_priced, &f);
}
