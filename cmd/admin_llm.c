/* ingot admin for the LLM gateway: named providers, model routes, and the
 * command line of every LLM noun (admin_llm_keys.c: tenants' own keys and
 * the rotation of ENCRYPTION_KEY). Keys are read from stdin (never argv:
 * shell history, ps), sealed with core/crypt before they reach the
 * database, and never printed. */
#include <mysql.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_int.h"
#include "admin_llm.h"
#include "cmd.h"
#include "crypt.h"
#include "db_sync.h"
#include "provider_snap.h"
#include "sql.h"
#include "url.h"

struct llm_opts {
    const char *type, *base_url, *upstream;
    bool key_stdin, force, replace;
};

static int usage(void)
{
    return admin_usage();
}

int llmadm_bad(const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ingot admin: %s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

/* Ends a transaction that failed; a lost connection rolls back anyway. */
void llmadm_rollback(MYSQL *m)
{
    char err[256];
    if (db_sync_exec(m, "ROLLBACK", err, sizeof err) < 0)
        return;
}

/* A model name as clients send it: 1-191 bytes of UTF-8, no spaces or
 * control characters. */
static bool model_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > LLM_MODEL_MAX || !util_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* http(s)://host[:port][/path], as LLM_BASE_URL; no credentials in it:
 * the key has its own place and URLs get printed. */
static bool base_url_valid(const char *s, char *why, size_t n)
{
    struct url u;
    if (strlen(s) > 2048) {
        snprintf(why, n, "longer than 2048 characters");
        return false;
    }
    if (url_parse(s, &u, why, n) < 0)
        return false;
    bool ok = false;
    if (strcmp(u.scheme, "http") != 0 && strcmp(u.scheme, "https") != 0)
        snprintf(why, n, "scheme must be http:// or https://");
    else if (!*u.host)
        snprintf(why, n, "host missing");
    else if ((u.user && *u.user) || (u.password && *u.password))
        snprintf(why, n, "must not carry credentials (give the key with --api-key-stdin)");
    else if (strchr(s, '?') || strchr(s, '#'))
        snprintf(why, n, "must not have a query or fragment");
    else
        ok = true;
    url_deinit(&u);
    return ok;
}

/* 1 the provider exists (a row, or "default"), 0 not, -1 database error. */
int llmadm_provider_exists(MYSQL *m, const char *name, bool lock)
{
    if (strcmp(name, PROVIDER_DEFAULT) == 0)
        return 1;
    struct sbuf b;
    char err[512];
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT COUNT(*) FROM llm_providers WHERE name = ");
    sql_cstr(&b, name);
    if (lock)
        sbuf_puts(&b, " LOCK IN SHARE MODE");
    long long n = db_sync_scalar(m, b.data, err, sizeof err);
    sbuf_deinit(&b);
    if (n < 0)
        fprintf(stderr, "ingot admin: %s\n", err);
    return n < 0 ? -1 : n > 0;
}

static int provider_add(MYSQL *m, const struct config *cfg, const char *name, const struct llm_opts *o)
{
    enum provider_type type;
    char why[256];
    if (!o->type)
        return llmadm_bad("provider add", "--type is required (%s)", "openai, openai-chat or anthropic");
    if (provider_type_parse(o->type, &type) < 0)
        return llmadm_bad("provider add", "--type must be openai, openai-chat or anthropic, not %s", o->type);
    if (!o->base_url)
        return llmadm_bad("provider add", "--base-url is required (%s)", "e.g. https://host/v1");
    if (!base_url_valid(o->base_url, why, sizeof why))
        return llmadm_bad("provider add", "--base-url: %s", why);
    struct crypt *c = NULL;
    if (o->key_stdin && !(c = llmadm_need_crypt(cfg, "provider add")))
        return EXIT_CONFIG;
    int rc = EXIT_OK;
    char key[LLMADM_KEY_MAX + 1] = "";
    if (!o->replace) {
        int ex = llmadm_provider_exists(m, name, false);
        if (ex != 0) {
            if (ex > 0)
                fprintf(stderr, "ingot admin: provider %s exists already (--replace changes it)\n", name);
            crypt_free(c);
            return ex > 0 ? EXIT_DATAERR : EXIT_UNAVAILABLE;
        }
    }
    int krc = o->key_stdin ? llmadm_read_key(key, sizeof key) : 0;
    if (krc != 0) {
        crypt_free(c);
        return krc;
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "INSERT INTO llm_providers (name, type, base_url, api_key) VALUES (");
    sql_cstr(&b, name);
    sbuf_printf(&b, ", '%s', ", provider_type_name(type));
    size_t ulen = strlen(o->base_url);
    while (ulen && o->base_url[ulen - 1] == '/')
        ulen--; /* stored as every part expects it: no trailing slash */
    sql_str(&b, o->base_url, ulen);
    sbuf_puts(&b, ", ");
    char aad[CRYPT_AAD_MAX];
    crypt_aad_provider(aad, name);
    if (!o->key_stdin)
        sbuf_puts(&b, "NULL");
    else if (llmadm_put_sealed(&b, c, aad, key) < 0)
        rc = EXIT_SOFTWARE;
    sbuf_putc(&b, ')');
    if (o->replace)
        sbuf_puts(&b, " ON DUPLICATE KEY UPDATE type = VALUES(type), base_url = VALUES(base_url), "
                      "api_key = VALUES(api_key)");
    char err[512];
    if (rc == EXIT_OK && db_sync_exec(m, b.data, err, sizeof err) < 0) {
        bool dup = mysql_errno(m) == 1062;
        fprintf(stderr, "ingot admin: cannot add provider %s: %s\n", name,
                dup ? "it exists already (--replace changes it)" : err);
        rc = dup ? EXIT_DATAERR : EXIT_UNAVAILABLE;
    }
    if (rc == EXIT_OK)
        fprintf(stderr, "%s provider %s (%s, %.*s, %s)\n", o->replace ? "set" : "added", name,
                provider_type_name(type), (int)ulen, o->base_url,
                o->key_stdin ? "key stored sealed" : "no key");
    if (rc == EXIT_OK && o->key_stdin)
        fprintf(stderr, "key id %s\n", crypt_current_id(c));
    crypt_free(c);
    explicit_bzero(key, sizeof key);
    explicit_bzero(b.data, b.len); /* sealed, but no need to keep it */
    sbuf_deinit(&b);
    return rc;
}

static int provider_list(MYSQL *m, const struct config *cfg)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT name, type, base_url, has_key, key_id, source, routes FROM (");
    if (*cfg->llm_base_url) {
        /* The default provider is the environment's, shown as this
         * process sees it. */
        sbuf_puts(&b, "SELECT 0 AS o, 'default' AS name, ");
        sql_cstr(&b, cfg->llm_provider);
        sbuf_puts(&b, " AS type, ");
        char *shown = url_strip_userinfo(cfg->llm_base_url); /* a password is never printed */
        sql_cstr(&b, shown);
        free(shown);
        sbuf_printf(&b, " AS base_url, '%s' AS has_key, '-' AS key_id, '%s' AS source, ",
                    *cfg->llm_api_key ? "yes" : "no",
                    cfg->alias_used[CFG_LLM_BASE_URL] ? "BUILT_IN_FORGE_API_URL" : "LLM_BASE_URL");
        sbuf_puts(&b, "(SELECT COUNT(*) FROM llm_routes r WHERE r.provider = 'default') AS routes UNION ALL ");
    }
    sbuf_puts(&b, "SELECT 1 AS o, p.name, p.type, "
                  "REGEXP_REPLACE(p.base_url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@', '\\\\1') AS base_url, "
                  "IF(p.api_key IS NULL, 'no', 'yes') AS has_key, "
                  "IFNULL(SUBSTRING(p.api_key, 4, 8), '-') AS key_id, 'admin' AS source, "
                  "(SELECT COUNT(*) FROM llm_routes r WHERE r.provider = p.name) AS routes "
                  "FROM llm_providers p) x ORDER BY o, name");
    int rc = admin_print_rows(m, b.data);
    sbuf_deinit(&b);
    return rc;
}

/* Names the routes of provider into list (comma-separated); count of
 * routes and tenant keys, or -1. */
static int provider_users(MYSQL *m, const char *name, struct sbuf *list, long long *tkeys)
{
    struct sbuf b;
    char err[512];
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT model FROM llm_routes WHERE provider = ");
    sql_cstr(&b, name);
    sbuf_puts(&b, " ORDER BY model");
    MYSQL_RES *res = db_sync_query(m, b.data, err, sizeof err);
    int n = 0;
    if (res) {
        MYSQL_ROW row;
        while ((row = mysql_fetch_row(res)))
            sbuf_printf(list, "%s%s", n++ ? ", " : "", row[0]);
        mysql_free_result(res);
        sbuf_reset(&b);
        sbuf_puts(&b, "SELECT COUNT(*) FROM llm_tenant_keys WHERE provider = ");
        sql_cstr(&b, name);
        *tkeys = db_sync_scalar(m, b.data, err, sizeof err);
    }
    sbuf_deinit(&b);
    if (!res || *tkeys < 0) {
        fprintf(stderr, "ingot admin: %s\n", err);
        return -1;
    }
    return n;
}

static int provider_remove(MYSQL *m, const char *name, bool force)
{
    if (strcmp(name, PROVIDER_DEFAULT) == 0) {
        fprintf(stderr, "ingot admin: provider remove: the default provider comes from LLM_BASE_URL "
                        "(or BUILT_IN_FORGE_API_URL): unset it there\n");
        return EXIT_USAGE;
    }
    if (admin_exec(m, "START TRANSACTION", "provider remove") < 0)
        return EXIT_UNAVAILABLE;
    struct sbuf b, list;
    sbuf_init(&b);
    sbuf_init(&list);
    sbuf_puts(&b, "SELECT COUNT(*) FROM llm_providers WHERE name = ");
    sql_cstr(&b, name);
    sbuf_puts(&b, " FOR UPDATE"); /* a concurrent `model route` to it waits */
    char err[512];
    int rc = EXIT_OK;
    long long tkeys = 0;
    long long exists = db_sync_scalar(m, b.data, err, sizeof err);
    int nroutes = exists > 0 ? provider_users(m, name, &list, &tkeys) : 0;
    if (exists < 0) {
        fprintf(stderr, "ingot admin: provider remove: %s\n", err);
        rc = EXIT_UNAVAILABLE;
    } else if (!exists) {
        fprintf(stderr, "ingot admin: no such provider: %s (`ingot admin provider list`)\n", name);
        rc = EXIT_DATAERR;
    } else if (nroutes < 0) {
        rc = EXIT_UNAVAILABLE;
    } else if ((nroutes || tkeys) && !force) {
        fprintf(stderr, "ingot admin: provider %s is in use:", name);
        if (nroutes)
            fprintf(stderr, " routed from %s%s", list.data, tkeys ? ";" : "");
        if (tkeys)
            fprintf(stderr, " %lld tenant key(s)", tkeys);
        fprintf(stderr, ". Remove them first, or pass --force to remove them with it\n");
        rc = EXIT_DATAERR;
    } else {
        const char *tables[] = {"llm_routes", "llm_tenant_keys"};
        for (size_t i = 0; i < ARRAY_LEN(tables) && rc == EXIT_OK; i++) {
            sbuf_reset(&b);
            sbuf_printf(&b, "DELETE FROM %s WHERE provider = ", tables[i]);
            sql_cstr(&b, name);
            if (admin_exec(m, b.data, "provider remove") < 0)
                rc = EXIT_UNAVAILABLE;
        }
        sbuf_reset(&b);
        sbuf_puts(&b, "DELETE FROM llm_providers WHERE name = ");
        sql_cstr(&b, name);
        if (rc == EXIT_OK && (admin_exec(m, b.data, "provider remove") < 0 ||
                              admin_exec(m, "COMMIT", "provider remove") < 0))
            rc = EXIT_UNAVAILABLE;
    }
    if (rc != EXIT_OK)
        llmadm_rollback(m);
    else
        fprintf(stderr, "removed provider %s (%d route(s), %lld tenant key(s) with it)\n", name, nroutes,
                tkeys);
    sbuf_deinit(&b);
    sbuf_deinit(&list);
    return rc;
}

static int route_set(MYSQL *m, const struct config *cfg, const char *model, const char *provider,
                     const char *upstream)
{
    if (!model_valid(model))
        return llmadm_bad("model route", "MODEL must be 1-191 characters without spaces or control "
                                  "characters: %s", model);
    if (!provider_name_valid(provider))
        return llmadm_bad("model route", "PROVIDER must be 1-64 characters of A-Z a-z 0-9 . _ -: %s", provider);
    if (upstream && !model_valid(upstream))
        return llmadm_bad("model route", "--upstream-model must be 1-191 characters without spaces or "
                                  "control characters: %s", upstream);
    if (admin_exec(m, "START TRANSACTION", "model route") < 0)
        return EXIT_UNAVAILABLE;
    int ex = llmadm_provider_exists(m, provider, true);
    if (ex <= 0) {
        llmadm_rollback(m);
        if (ex == 0)
            fprintf(stderr, "ingot admin: model route: no such provider: %s (`ingot admin provider "
                            "list`; add it with `ingot admin provider add`)\n", provider);
        return ex < 0 ? EXIT_UNAVAILABLE : EXIT_DATAERR;
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "INSERT INTO llm_routes (model, provider, upstream_model) VALUES (");
    sql_cstr(&b, model);
    sbuf_puts(&b, ", ");
    sql_cstr(&b, provider);
    sbuf_puts(&b, ", ");
    sql_cstr(&b, upstream); /* NULL stays NULL: the model's own name */
    sbuf_puts(&b, ") ON DUPLICATE KEY UPDATE provider = VALUES(provider), upstream_model = VALUES(upstream_model)");
    int rc = admin_exec(m, b.data, "model route") < 0 || admin_exec(m, "COMMIT", "model route") < 0
                 ? EXIT_UNAVAILABLE : EXIT_OK;
    sbuf_deinit(&b);
    if (rc != EXIT_OK) {
        llmadm_rollback(m);
        return rc;
    }
    fprintf(stderr, "routed %s to %s%s%s\n", model, provider, upstream ? " as " : "", upstream ? upstream : "");
    if (strcmp(provider, PROVIDER_DEFAULT) == 0 && !*cfg->llm_base_url)
        fprintf(stderr, "note: LLM_BASE_URL is not set here; the route works where it is set\n");
    return EXIT_OK;
}

static int route_remove(MYSQL *m, const char *model)
{
    struct sbuf w;
    sbuf_init(&w);
    sbuf_puts(&w, "model = ");
    sql_cstr(&w, model);
    int ex = llmadm_row_exists(m, "llm_routes", &w);
    int rc = ex < 0 ? EXIT_UNAVAILABLE : ex == 0 ? EXIT_DATAERR : EXIT_OK;
    if (ex == 0)
        fprintf(stderr, "ingot admin: no route for model %s (`ingot admin model routes`)\n", model);
    if (rc == EXIT_OK) {
        char *sql = xasprintf("DELETE FROM llm_routes WHERE %s", w.data);
        if (admin_exec(m, sql, "model route remove") < 0)
            rc = EXIT_UNAVAILABLE;
        free(sql);
    }
    if (rc == EXIT_OK)
        fprintf(stderr, "removed the route of %s\n", model);
    sbuf_deinit(&w);
    return rc;
}

/* The command's shape, checked before any connection (64 needs no
 * database), and which flags it may carry. */
static bool shape_ok(const struct cmd_args *a, const struct llm_opts *o)
{
    int n = a->npositional;
    const char *noun = n > 0 ? a->positional[0] : "", *verb = n > 1 ? a->positional[1] : "";
    bool add = false, route = false, remove = false;
    bool ok;
    if (strcmp(noun, "provider") == 0) {
        add = strcmp(verb, "add") == 0 && n == 3;
        remove = strcmp(verb, "remove") == 0 && n == 3;
        ok = add || remove || (strcmp(verb, "list") == 0 && n == 2);
    } else if (strcmp(noun, "model") == 0) {
        route = strcmp(verb, "route") == 0 && n == 4 && strcmp(a->positional[2], "remove") != 0;
        ok = route || (strcmp(verb, "routes") == 0 && n == 2) ||
             (strcmp(verb, "route") == 0 && n == 4 && strcmp(a->positional[2], "remove") == 0);
    } else if (strcmp(noun, "tenant") == 0) {
        ok = strcmp(verb, "provider-key") == 0 &&
             ((n == 5 && (strcmp(a->positional[2], "set") == 0 || strcmp(a->positional[2], "remove") == 0)) ||
              ((n == 3 || n == 4) && strcmp(a->positional[2], "list") == 0));
    } else {
        ok = strcmp(noun, "rotate-encryption-key") == 0 && n == 1;
    }
    if (!ok)
        return false;
    const char *stray = (!add && (o->type || o->base_url || o->key_stdin || o->replace)) ? "--type, --base-url, --api-key-stdin and --replace go with provider add"
                        : (!route && o->upstream) ? "--upstream-model goes with model route MODEL PROVIDER"
                        : (!remove && o->force) ? "--force goes with provider remove"
                        : NULL;
    if (stray)
        fprintf(stderr, "ingot admin: %s\n", stray);
    return !stray;
}

static int dispatch(MYSQL *m, const struct config *cfg, const struct cmd_args *a, const struct llm_opts *o)
{
    const char *noun = a->positional[0];
    const char *verb = a->npositional > 1 ? a->positional[1] : "";
    if (strcmp(noun, "rotate-encryption-key") == 0)
        return llmadm_rotate(m, cfg);
    if (strcmp(noun, "tenant") == 0 && strcmp(a->positional[2], "list") == 0)
        return llmadm_tenant_key_list(m, a->npositional == 4 ? a->positional[3] : NULL);
    if (strcmp(noun, "tenant") == 0)
        return llmadm_tenant_key(m, cfg, strcmp(a->positional[2], "set") == 0, a->positional[3], a->positional[4]);
    if (strcmp(noun, "model") == 0) {
        if (strcmp(verb, "routes") == 0)
            return admin_print_rows(m, "SELECT model, provider, IFNULL(upstream_model, model) AS upstream_model, "
                                       "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at "
                                       "FROM llm_routes ORDER BY model");
        if (strcmp(a->positional[2], "remove") == 0)
            return route_remove(m, a->positional[3]);
        return route_set(m, cfg, a->positional[2], a->positional[3], o->upstream);
    }
    if (strcmp(verb, "list") == 0)
        return provider_list(m, cfg);
    if (strcmp(verb, "remove") == 0)
        return provider_remove(m, a->positional[2], o->force);
    return provider_add(m, cfg, a->positional[2], o);
}

/* Input checks that need no database, so they fail fast with 64. */
static int precheck(const struct cmd_args *a)
{
    const char *noun = a->positional[0], *verb = a->npositional > 1 ? a->positional[1] : "";
    if (strcmp(noun, "provider") == 0 && strcmp(verb, "list") != 0) {
        const char *name = a->positional[2];
        if (!provider_name_valid(name))
            return llmadm_bad(verb[0] == 'a' ? "provider add" : "provider remove",
                       "NAME must be 1-64 characters of A-Z a-z 0-9 . _ -: %s", name);
        if (strcmp(verb, "add") == 0 && strcasecmp(name, PROVIDER_DEFAULT) == 0)
            return llmadm_bad("provider add", "NAME %s is reserved for the provider of LLM_BASE_URL", name);
    }
    if (strcmp(noun, "model") == 0 && strcmp(verb, "route") == 0) {
        bool remove = strcmp(a->positional[2], "remove") == 0;
        const char *model = a->positional[remove ? 3 : 2];
        if (!model_valid(model))
            return llmadm_bad("model route", "MODEL must be 1-191 characters without spaces or control "
                                      "characters: %s", model);
        if (!remove && !provider_name_valid(a->positional[3]))
            return llmadm_bad("model route", "PROVIDER must be 1-64 characters of A-Z a-z 0-9 . _ -: %s",
                       a->positional[3]);
    }
    if (strcmp(noun, "tenant") == 0 && a->npositional == 5 && !provider_name_valid(a->positional[4]))
        return llmadm_bad("tenant provider-key", "PROVIDER must be 1-64 characters of A-Z a-z 0-9 . _ -: %s",
                   a->positional[4]);
    return EXIT_OK;
}

int admin_llm(int argc, char **argv)
{
    const struct cmd_def *def = cmd_find("admin");
    struct config cfg;
    struct cmd_args a;
    struct llm_opts o = {0};
    const struct cmd_flag flags[] = {{"type", true, &o.type, NULL},
                                     {"base-url", true, &o.base_url, NULL},
                                     {"api-key-stdin", false, NULL, &o.key_stdin},
                                     {"replace", false, NULL, &o.replace},
                                     {"force", false, NULL, &o.force},
                                     {"upstream-model", true, &o.upstream, NULL},
                                     {NULL, false, NULL, NULL}};
    config_init(&cfg);
    cmd_parse(def, argc, argv, flags, &a, &cfg);
    int rc = shape_ok(&a, &o) ? precheck(&a) : usage();
    if (rc != EXIT_OK) {
        config_deinit(&cfg);
        return rc;
    }
    cmd_load_config(def, &a, &cfg, true);
    MYSQL *m = NULL;
    rc = admin_open(&cfg, &m);
    if (rc == EXIT_OK)
        rc = dispatch(m, &cfg, &a, &o);
    admin_close(m);
    config_deinit(&cfg);
    return rc;
}
