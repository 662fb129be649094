#include "provider.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "db.h"
#include "log.h"
#include "loop.h"
#include "provider_snap.h"
#include "runtime.h"

/* One statement, so the three tables are read from one consistent view. */
static const char READ_SQL[] =
    "SELECT 'p', name, type, base_url, api_key FROM llm_providers "
    "UNION ALL SELECT 'r', model, provider, upstream_model, NULL FROM llm_routes "
    "UNION ALL SELECT 'k', CAST(tenant_id AS CHAR), provider, api_key, NULL FROM llm_tenant_keys";

/* What changes when any row changes: a count and the newest updated_at
 * per keyed table (an insert or update raises it, a delete lowers the
 * count), a checksum of the routes (no updated_at there). Every refresh
 * asks this first, so an unchanged configuration costs one small query
 * rather than reading and opening every key again (~1 µs a key, on the
 * loop). A full read still happens every FULL_READ_MS whatever it says
 * (it catches what the fingerprint can miss: a transaction that commits
 * an updated_at older than one already seen). */
static const char FP_SQL[] =
    "SELECT CONCAT_WS('/', (SELECT CONCAT(COUNT(*), ',', IFNULL(MAX(updated_at), '')) FROM llm_providers), "
    "(SELECT CONCAT(COUNT(*), ',', IFNULL(SUM(CRC32(CONCAT_WS(0x1f, model, provider, "
    "IFNULL(upstream_model, 0x1e)))), 0)) FROM llm_routes), "
    "(SELECT CONCAT(COUNT(*), ',', IFNULL(MAX(updated_at), '')) FROM llm_tenant_keys))";
#define FULL_READ_MS 60000

struct providers {
    struct runtime *rt;           /* borrowed */
    struct crypt *crypt;
    struct provider_snap *snap;   /* the current view; replaced whole */
    long long refresh_ms;
    struct event *timer;
    struct prov_read *reading;    /* in flight, or NULL */
    struct log_limit read_log;
    char *fp;                     /* fingerprint of the view in snap, or NULL */
    int64_t read_at_ms;           /* when snap was read */
    bool force;                   /* next refresh reads whatever fp says */
    char *bad_keys;               /* what was last logged about unusable keys */
    bool read_once;               /* the tables were read: routes are known */
};

/* A read outlives its owner when the owner is freed first. */
struct prov_read {
    struct providers *ps;         /* NULL once detached */
    char *fp;                     /* what the fingerprint said before the read */
};

static void add_default(struct provider_snap *s, const struct config *cfg)
{
    if (!cfg || !*cfg->llm_base_url)
        return;
    enum provider_type t = PROVIDER_OPENAI;
    if (provider_type_parse(cfg->llm_provider, &t) < 0)
        t = PROVIDER_OPENAI;
    provider_snap_add(s, PROVIDER_DEFAULT, t, cfg->llm_base_url, cfg->llm_api_key, NULL,
                      cfg->alias_used[CFG_LLM_BASE_URL] ? "BUILT_IN_FORGE_API_URL" : "LLM_BASE_URL");
}

/* Opens a stored key; NULL with why (never the key) when it cannot. */
static char *open_key(struct providers *ps, const char *aad, const char *sealed, char *why, size_t n)
{
    if (!crypt_ready(ps->crypt)) {
        snprintf(why, n, "ENCRYPTION_KEY is not set");
        return NULL;
    }
    return crypt_open(ps->crypt, aad, sealed, NULL, why, n);
}

#define BAD_NAMED 20 /* unusable keys named in the log line; the rest counted */

static void note_bad(struct sbuf *bad, unsigned *nbad, const char *what, const char *why)
{
    if ((*nbad)++ < BAD_NAMED)
        sbuf_printf(bad, "%s%s: %s", bad->len ? "; " : "", what, why);
}

static struct provider_snap *build(struct providers *ps, MYSQL_RES *res, struct sbuf *bad)
{
    struct provider_snap *s = provider_snap_new();
    add_default(s, ps->rt ? ps->rt->cfg : NULL);
    MYSQL_ROW row;
    char aad[CRYPT_AAD_MAX], why[300], what[200];
    unsigned nbad = 0;
    while (res && (row = mysql_fetch_row(res))) {
        const char *kind = db_row_str(row, 0), *a = db_row_str(row, 1), *b = db_row_str(row, 2);
        const char *c = db_row_str(row, 3);
        if (strcmp(kind, "p") == 0) {
            enum provider_type t;
            if (strcmp(a, PROVIDER_DEFAULT) == 0 || !provider_name_valid(a))
                continue; /* reserved: admin refuses it */
            if (provider_type_parse(b, &t) < 0) {
                snprintf(what, sizeof what, "provider %s", a);
                note_bad(bad, &nbad, what, "unknown type");
                continue;
            }
            char *key = NULL;
            bool stored = row[4] != NULL;
            why[0] = '\0';
            if (stored) {
                crypt_aad_provider(aad, a);
                key = open_key(ps, aad, row[4], why, sizeof why);
                if (!key) {
                    snprintf(what, sizeof what, "provider %s", a);
                    note_bad(bad, &nbad, what, why);
                }
            }
            provider_snap_add(s, a, t, c, key, stored && !key ? why : NULL, "admin");
            crypt_secret_free(key);
        } else if (strcmp(kind, "r") == 0) {
            provider_snap_route(s, a, b, row[3] ? c : NULL);
        } else if (strcmp(kind, "k") == 0) {
            unsigned long long tenant = strtoull(a, NULL, 10);
            crypt_aad_tenant(aad, tenant, b);
            char *key = open_key(ps, aad, c, why, sizeof why);
            if (!key) {
                snprintf(what, sizeof what, "tenant %llu's key for %s", tenant, b);
                note_bad(bad, &nbad, what, why);
            }
            provider_snap_tenant_key(s, tenant, b, key, key ? NULL : why);
            crypt_secret_free(key);
        }
    }
    if (nbad > BAD_NAMED)
        sbuf_printf(bad, "; and %u more", nbad - BAD_NAMED);
    provider_snap_done(s);
    return s;
}

static void arm(struct providers *ps)
{
    if (ps->timer) {
        struct timeval tv = loop_tv(ps->refresh_ms);
        evtimer_add(ps->timer, &tv);
    }
}

static void read_failed(struct providers *ps, const struct db_result *r)
{
    unsigned long long dropped = 0;
    if (r->err_code != DB_ERR_SHUTDOWN && log_limit_allow(&ps->read_log, &dropped))
        log_warn("providers: cannot read the provider tables (keeping the last view): %s%s", r->error,
                 dropped ? " (similar lines dropped)" : "");
    arm(ps);
}

static void read_cb(const struct db_result *r, void *arg)
{
    struct prov_read *rd = arg;
    struct providers *ps = rd->ps;
    char *fp = rd->fp;
    free(rd);
    if (!ps) {
        free(fp);
        return;
    }
    ps->reading = NULL;
    if (!r->ok) {
        free(fp);
        read_failed(ps, r);
        return;
    }
    free(ps->fp);
    ps->fp = fp;
    ps->read_at_ms = time_mono_ms();
    struct sbuf bad;
    sbuf_init(&bad);
    struct provider_snap *s = build(ps, r->res, &bad);
    log_debug("providers: read %zu provider(s), %zu route(s)", provider_snap_count(s),
              provider_snap_route_count(s));
    provider_snap_free(ps->snap);
    ps->snap = s;
    ps->read_once = true;
    /* Unusable keys are said once each time the set changes, not every
     * refresh; the lines name rows and reasons, never a key. */
    const char *now = bad.len ? bad.data : "";
    if (strcmp(now, ps->bad_keys ? ps->bad_keys : "") != 0) {
        if (*now)
            log_warn("providers: unusable keys: %s", now);
        else if (ps->bad_keys)
            log_info("providers: every stored key opens again");
        free(ps->bad_keys);
        ps->bad_keys = *now ? xstrdup(now) : NULL;
    }
    sbuf_deinit(&bad);
    arm(ps);
}

/* The fingerprint's answer: read everything when it changed (or the
 * last full read is old, or one was asked for); else nothing to do. */
static void fp_cb(const struct db_result *r, void *arg)
{
    struct prov_read *rd = arg;
    struct providers *ps = rd->ps;
    if (!ps) {
        free(rd);
        return;
    }
    MYSQL_ROW row = r->ok && r->res ? mysql_fetch_row(r->res) : NULL;
    if (!row || !row[0]) {
        ps->reading = NULL;
        free(rd);
        if (!r->ok) {
            read_failed(ps, r);
            return;
        }
        ps->force = true; /* no row cannot happen; read in full next time */
        arm(ps);
        return;
    }
    bool same = ps->fp && strcmp(ps->fp, row[0]) == 0;
    if (same && !ps->force && time_mono_ms() - ps->read_at_ms < FULL_READ_MS) {
        ps->reading = NULL;
        free(rd);
        arm(ps);
        return;
    }
    ps->force = false;
    rd->fp = xstrdup(row[0]);
    db_query(ps->rt->db, READ_SQL, 0, read_cb, rd);
}

static void start_read(struct providers *ps)
{
    if (ps->reading || !ps->rt || !ps->rt->db)
        return;
    struct prov_read *rd = xcalloc(1, sizeof *rd);
    rd->ps = ps;
    ps->reading = rd;
    db_query(ps->rt->db, FP_SQL, 0, fp_cb, rd);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_read(arg);
}

struct providers *providers_new(struct runtime *rt, long long refresh_ms, char *err, size_t errlen)
{
    const struct config *cfg = rt ? rt->cfg : NULL;
    struct crypt *c = crypt_new(cfg ? cfg->encryption_key : "", cfg ? cfg->encryption_key_previous : "",
                                err, errlen);
    if (!c)
        return NULL;
    struct providers *ps = xcalloc(1, sizeof *ps);
    ps->rt = rt;
    ps->crypt = c;
    ps->refresh_ms = refresh_ms > 0 ? refresh_ms : 5000;
    ps->read_log = (struct log_limit)LOG_LIMIT_INIT(60000, 1);
    ps->snap = provider_snap_new();
    add_default(ps->snap, cfg);
    provider_snap_done(ps->snap);
    if (rt && rt->loop && rt->db) {
        ps->timer = evtimer_new(loop_base(rt->loop), timer_cb, ps);
        if (!ps->timer)
            abort();
        start_read(ps);
    } else {
        ps->read_once = true; /* nothing to read: the default is all there is */
    }
    return ps;
}

void providers_free(struct providers *ps)
{
    if (!ps)
        return;
    if (ps->reading)
        ps->reading->ps = NULL;
    if (ps->timer)
        event_free(ps->timer);
    provider_snap_free(ps->snap);
    crypt_free(ps->crypt);
    free(ps->bad_keys);
    free(ps->fp);
    free(ps);
}

bool providers_any(const struct providers *ps)
{
    return ps && provider_snap_count(ps->snap) > 0;
}

bool providers_ready(const struct providers *ps)
{
    return !ps || ps->read_once;
}

int providers_resolve(struct providers *ps, uint64_t tenant, const char *model, struct provider_target *out,
                      char *why, size_t whylen)
{
    if (!providers_ready(ps)) {
        memset(out, 0, sizeof *out);
        snprintf(why, whylen, "the gateway is starting (its providers are being read): retry in a second");
        return PROVIDERS_NOT_READY;
    }
    return provider_snap_resolve(ps ? ps->snap : NULL, tenant, model, out, why, whylen);
}

int providers_resolve_nokey(struct providers *ps, uint64_t tenant, const char *model,
                            struct provider_target *out, char *why, size_t whylen)
{
    if (!providers_ready(ps)) {
        memset(out, 0, sizeof *out);
        snprintf(why, whylen, "the gateway is starting (its providers are being read): retry in a second");
        return PROVIDERS_NOT_READY;
    }
    return provider_snap_resolve_nokey(ps ? ps->snap : NULL, tenant, model, out, why, whylen);
}

int providers_get(struct providers *ps, const char *name, struct provider_target *out, char *why,
                  size_t whylen)
{
    return provider_snap_get(ps ? ps->snap : NULL, name, out, why, whylen);
}

size_t providers_list(const struct providers *ps, struct provider_info *out, size_t max)
{
    return provider_snap_list(ps ? ps->snap : NULL, out, max);
}

void providers_aliases(const struct providers *ps, const char *provider, const char *upstream,
                       bool (*fn)(const char *model, void *arg), void *arg)
{
    provider_snap_aliases(ps ? ps->snap : NULL, provider, upstream, fn, arg);
}

void providers_routes_json(const struct providers *ps, struct sbuf *out)
{
    provider_snap_routes_json(ps ? ps->snap : NULL, out);
}

