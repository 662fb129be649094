/* doctor's LLM checks: the default provider (LLM_BASE_URL or its alias),
 * the named providers, model routes and tenants' own keys, read from the
 * database and probed one by one (doctor may block). A key is only ever
 * said to exist, with its key id; never printed. */
#include "doctor_llm.h"

#include <curl/curl.h>
#include <mysql.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "db_sync.h"
#include "doctor_int.h"
#include "provider.h"
#include "provider_snap.h"
#include "tlsca.h"
#include "url.h"

#define PROBE_MS 3000
#define MAX_LINES 20   /* provider lines; the rest are counted */

static size_t discard_cb(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

long doctor_http_get(const char *url, const char *const *headers, long long timeout_ms, const char *ca,
                     char *err, size_t errlen)
{
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(err, errlen, "libcurl init failed");
        return -1;
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
    const char *cafile = tlsca_file(ca); /* NULL: CA_BUNDLE=none, no https */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, cafile ? "http,https" : "http");
    curl_easy_setopt(e, CURLOPT_CAINFO, cafile);
    if (h)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(e);
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    else if (rc == CURLE_UNSUPPORTED_PROTOCOL && !cafile)
        snprintf(err, errlen, "%s", TLSCA_OFF_MSG);
    else
        snprintf(err, errlen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
    /* The list holds the key: zero it before it goes back to the heap. */
    for (struct curl_slist *p = h; p; p = p->next)
        OPENSSL_cleanse(p->data, strlen(p->data));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return status;
}

/* GET base/models as the adapter would authenticate; one finding,
 * its message prefixed with describe (unless ""). */
static void probe(struct doctor *d, const char *check, const struct provider_target *t, const char *ca,
                  const char *describe, const char *key_hint, const char *url_hint)
{
    char *url = xasprintf("%s/models", t->base_url);
    char *hdr[3], err[512];
    provider_auth_headers(t, hdr);
    long st = doctor_http_get(url, (const char *const *)hdr, PROBE_MS, ca, err, sizeof err);
    provider_header_free(hdr);
    free(url);
    const char *sep = *describe ? ": " : "";
    if (st < 0)
        doctor_add(d, check, DR_FAIL, url_hint, "%s%sGET /models failed: %s", describe, sep, err);
    else if (st == 401 || st == 403)
        doctor_add(d, check, DR_FAIL, key_hint, "%s%sGET /models answered HTTP %ld (key rejected)",
                   describe, sep, st);
    else if (st < 200 || st > 299)
        doctor_add(d, check, DR_FAIL, "the base URL should end in /v1", "%s%sGET /models answered HTTP %ld",
                   describe, sep, st);
    else
        doctor_add(d, check, DR_OK, NULL, "%s%sGET /models answered HTTP %ld", describe, sep, st);
}

static void check_default(struct doctor *d, const struct config *cfg)
{
    if (!*cfg->llm_base_url && *cfg->raw[CFG_LLM_BASE_URL]) {
        doctor_add(d, "llm", DR_FAIL,
                   "LLM_BASE_URL must be an http:// or https:// URL with its version path and no user:password",
                   "LLM_BASE_URL is set but refused (the config check says why)");
        return;
    }
    if (!*cfg->llm_base_url) {
        doctor_add(d, "llm", DR_OK, NULL, "disabled (LLM_BASE_URL not set)");
        return;
    }
    if (url_is_cleartext_remote(cfg->llm_base_url))
        doctor_add(d, "llm-tls", DR_WARN, "use https:// so the API key is not sent in clear",
                   "LLM_BASE_URL is plain http:// to a non-loopback host");
    struct provider_snap *s = provider_snap_new();
    enum provider_type type = PROVIDER_OPENAI;
    if (provider_type_parse(cfg->llm_provider, &type) < 0)
        type = PROVIDER_OPENAI;
    const char *from = cfg->alias_used[CFG_LLM_BASE_URL] ? "BUILT_IN_FORGE_API_URL" : "LLM_BASE_URL";
    provider_snap_add(s, PROVIDER_DEFAULT, type, cfg->llm_base_url, cfg->llm_api_key, NULL, from);
    struct provider_target t;
    char why[256], describe[400];
    if (provider_snap_get(s, PROVIDER_DEFAULT, &t, why, sizeof why) == 0) {
        char *shown = url_strip_userinfo(t.base_url);
        snprintf(describe, sizeof describe, "%s, %s, key %s, from %s", provider_type_name(type), shown,
                 *t.api_key ? "yes" : "no", from);
        free(shown);
        doctor_add(d, "provider default", DR_OK, NULL, "%s", describe);
        probe(d, "llm", &t, cfg->ca_bundle, "",
              cfg->alias_used[CFG_LLM_API_KEY] ? "check BUILT_IN_FORGE_API_KEY" : "check LLM_API_KEY",
              "is LLM_BASE_URL reachable from here?");
        provider_target_deinit(&t);
    }
    provider_snap_free(s);
}

/* The named providers: a line each (type, URL, key yes/no and its id,
 * whether it answers). */
static void check_named(struct doctor *d, const struct config *cfg, MYSQL *m, struct crypt *c,
                        struct sbuf *names)
{
    char err[512];
    MYSQL_RES *res = db_sync_query(m, "SELECT name, type, base_url, api_key FROM llm_providers ORDER BY name",
                                   err, sizeof err);
    if (!res) {
        doctor_add(d, "providers", DR_WARN, "run `ingot migrate`", "cannot read llm_providers: %s", err);
        return;
    }
    unsigned long long n = mysql_num_rows(res), shown = 0;
    doctor_add(d, "providers", DR_OK, NULL, "%llu named provider(s)%s", n,
               *cfg->llm_base_url ? " besides the default" : "");
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        const char *name = row[0], *sealed = row[3];
        sbuf_printf(names, "%s\n", name);
        if (shown++ >= MAX_LINES)
            continue;
        char check[80], describe[400], kid[CRYPT_KEYID_LEN + 1] = "?";
        snprintf(check, sizeof check, "provider %s", name);
        enum provider_type type;
        if (provider_type_parse(row[1], &type) < 0) {
            doctor_add(d, check, DR_FAIL, "add it again with --type openai|openai-chat|anthropic", "unknown type %s", row[1]);
            continue;
        }
        if (sealed && crypt_keyid(sealed, kid) < 0)
            snprintf(kid, sizeof kid, "?");
        char *url_shown = url_strip_userinfo(row[2]);
        snprintf(describe, sizeof describe, "%s, %s, key %s%s%s%s", row[1], url_shown, sealed ? "yes" : "no",
                 sealed ? " (key id " : "", sealed ? kid : "", sealed ? ")" : "");
        free(url_shown);
        char *key = NULL;
        if (sealed) {
            char aad[CRYPT_AAD_MAX];
            crypt_aad_provider(aad, name);
            key = crypt_ready(c) ? crypt_open(c, aad, sealed, NULL, err, sizeof err) : NULL;
            if (!key) {
                char hint[300];
                snprintf(hint, sizeof hint,
                         "restore the ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS) it was sealed with, or set the "
                         "key again: ingot admin provider add %s --replace ... --api-key-stdin", name);
                doctor_add(d, check, DR_FAIL, hint,
                           "%s: the key does not open: %s", describe,
                           crypt_ready(c) ? err : "ENCRYPTION_KEY is not set");
                continue;
            }
        }
        struct provider_snap *s = provider_snap_new();
        provider_snap_add(s, name, type, row[2], key, NULL, "admin");
        crypt_secret_free(key);
        struct provider_target t;
        if (provider_snap_get(s, name, &t, err, sizeof err) == 0) {
            char hint[200];
            snprintf(hint, sizeof hint, "set the right key: ingot admin provider add %s --replace ... --api-key-stdin",
                     name);
            probe(d, check, &t, cfg->ca_bundle, describe, hint,
                  "is the base URL reachable from here?");
            provider_target_deinit(&t);
        }
        provider_snap_free(s);
    }
    if (shown > MAX_LINES)
        doctor_add(d, "providers", DR_OK, NULL, "%llu more not probed", shown - MAX_LINES);
    mysql_free_result(res);
}

static bool listed(const char *names, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = names; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = nl ? nl + 1 : p + len;
    }
    return false;
}

static void check_routes(struct doctor *d, const struct config *cfg, MYSQL *m, const char *names)
{
    char err[512];
    MYSQL_RES *res = db_sync_query(m, "SELECT model, provider, upstream_model FROM llm_routes ORDER BY model",
                                   err, sizeof err);
    if (!res) {
        doctor_add(d, "routes", DR_WARN, "run `ingot migrate`", "cannot read llm_routes: %s", err);
        return;
    }
    struct sbuf list, broken;
    sbuf_init(&list);
    sbuf_init(&broken);
    MYSQL_ROW row;
    unsigned long long n = mysql_num_rows(res);
    while ((row = mysql_fetch_row(res))) {
        bool is_default = strcmp(row[1], PROVIDER_DEFAULT) == 0;
        bool ok = is_default ? *cfg->llm_base_url != '\0' : listed(names, row[1]);
        struct sbuf *to = ok ? &list : &broken;
        sbuf_printf(to, "%s%s -> %s", to->len ? ", " : "", row[0], row[1]);
        if (row[2])
            sbuf_printf(to, " (as %s)", row[2]);
    }
    mysql_free_result(res);
    if (broken.len)
        doctor_add(d, "routes", DR_WARN, "add the provider, or `ingot admin model route remove MODEL`",
                   "to providers that are not configured: %s", broken.data);
    doctor_add(d, "routes", DR_OK, NULL, "%llu model route(s)%s%s", n, list.len ? ": " : "",
               list.len ? list.data : "");
    sbuf_deinit(&list);
    sbuf_deinit(&broken);
}

static void check_tenant_keys(struct doctor *d, MYSQL *m, struct crypt *c)
{
    char err[512];
    MYSQL_RES *res = db_sync_query(m, "SELECT tenant_id, provider, api_key FROM llm_tenant_keys "
                                      "ORDER BY tenant_id, provider", err, sizeof err);
    if (!res) {
        doctor_add(d, "tenant-keys", DR_WARN, "run `ingot migrate`", "cannot read llm_tenant_keys: %s", err);
        return;
    }
    struct sbuf bad;
    sbuf_init(&bad);
    unsigned long long n = mysql_num_rows(res), nbad = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        char aad[CRYPT_AAD_MAX];
        crypt_aad_tenant(aad, strtoull(row[0], NULL, 10), row[1]);
        char *key = crypt_ready(c) ? crypt_open(c, aad, row[2], NULL, err, sizeof err) : NULL;
        if (!key) {
            nbad++;
            sbuf_printf(&bad, "%stenant %s for %s: %s", bad.len ? "; " : "", row[0], row[1],
                        crypt_ready(c) ? err : "ENCRYPTION_KEY is not set");
        }
        crypt_secret_free(key);
    }
    mysql_free_result(res);
    if (nbad)
        doctor_add(d, "tenant-keys", DR_FAIL, "restore the ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS) they were sealed with, or set them "
                   "again: ingot admin tenant provider-key set TENANT PROVIDER",
                   "%llu of %llu do not open: %s", nbad, n, bad.data);
    else
        doctor_add(d, "tenant-keys", DR_OK, NULL, "%llu tenant provider key(s), all open", n);
    sbuf_deinit(&bad);
}

void doctor_check_llm(struct doctor *d, const struct config *cfg)
{
    check_default(d, cfg);
    if (!*cfg->database_url)
        return; /* the database check has said why */
    char err[1024];
    MYSQL *m = db_sync_connect(cfg->database_url, cfg->database_connection_timeout_ms, err, sizeof err);
    if (!m)
        return;
    struct crypt *c = crypt_new(cfg->encryption_key, cfg->encryption_key_previous, err, sizeof err);
    struct sbuf names;
    sbuf_init(&names);
    check_named(d, cfg, m, c, &names);
    check_routes(d, cfg, m, names.data);
    check_tenant_keys(d, m, c);
    sbuf_deinit(&names);
    crypt_free(c);
    mysql_close(m);
}
