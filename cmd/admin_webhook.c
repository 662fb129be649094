/* ingot admin webhook add|list|remove|enable|disable|test: a tenant's
 * webhook endpoints, directly against the database (the same rows as
 * /v1/webhook_endpoints). `add` prints the signing secret alone on stdout
 * (shown once; stored sealed under ENCRYPTION_KEY), the details on
 * stderr. `test` queues a sample event for one endpoint through
 * webhook_event, as POST /v1/webhook_endpoints/{id}/test does; `emit`
 * announces an event as batches and background responses do (every
 * enabled endpoint subscribed to the type gets it); a worker delivers
 * them. */
#include <cJSON.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_int.h"
#include "admin_llm.h"
#include "cmd.h"
#include "crypt.h"
#include "db_sync.h"
#include "queuestore.h"
#include "sql.h"
#include "webhook.h"
#include "webhook_event.h"

#define ENDPOINTS_MAX 100 /* as the API's */

/* Rows the last statement changed (db_sync_exec reads every result, which
 * leaves mysql_affected_rows unusable). */
static long long changed(MYSQL *m)
{
    return db_sync_scalar(m, "SELECT ROW_COUNT()", NULL, 0);
}

static int add(MYSQL *m, const struct config *cfg, long long tenant, const char *url, const char *events,
               const char *name)
{
    char why[300];
    struct sbuf types, b;
    sbuf_init(&types);
    if (webhook_url_check(url, why, sizeof why) < 0 ||
        webhook_types_parse_csv(events ? events : "all", &types, why, sizeof why) < 0 ||
        (name && !webhook_name_valid(name) && snprintf(why, sizeof why, "--name: at most %d bytes, no control "
                                                                         "characters", WEBHOOK_NAME_MAX) > 0)) {
        fprintf(stderr, "ingot admin: webhook add: %s\n", why);
        sbuf_deinit(&types);
        return EXIT_USAGE;
    }
    struct crypt *c = llmadm_need_crypt(cfg, "webhook add");
    if (!c) {
        sbuf_deinit(&types);
        return EXIT_CONFIG;
    }
    char id[WEBHOOK_ID_MAX], secret[WEBHOOK_SECRET_MAX], hint[WEBHOOK_HINT_MAX], aad[CRYPT_AAD_MAX];
    if (webhook_endpoint_id_new(id) < 0 || webhook_secret_new(secret) < 0) {
        fprintf(stderr, "ingot admin: webhook add: no randomness\n");
        crypt_free(c);
        sbuf_deinit(&types);
        return EXIT_SOFTWARE;
    }
    webhook_secret_hint(secret, hint);
    webhook_secret_aad(id, aad, sizeof aad);
    long long now = (long long)time(NULL);
    sbuf_init(&b);
    queuestore_ensure_sql(&b, (uint64_t)tenant, WEBHOOK_QUEUE);
    int rc = admin_exec(m, b.data, "webhook add") < 0 ? EXIT_UNAVAILABLE : EXIT_OK;
    sbuf_reset(&b);
    sbuf_printf(&b, "INSERT INTO webhook_endpoints (id, tenant_id, name, url, event_types, enabled, secret, "
                    "secret_hint, created_at, updated_at) SELECT '%s', %lld, ", id, tenant);
    sql_cstr(&b, name ? name : "");
    sbuf_putc(&b, ',');
    sql_cstr(&b, url);
    sbuf_putc(&b, ',');
    sql_cstr(&b, types.data);
    sbuf_puts(&b, ", 1, ");
    if (rc == EXIT_OK && llmadm_put_sealed(&b, c, aad, secret) < 0)
        rc = EXIT_SOFTWARE;
    sbuf_putc(&b, ',');
    sql_cstr(&b, hint);
    sbuf_printf(&b, ", %lld, %lld FROM DUAL WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = %lld) < %d",
                now, now, tenant, ENDPOINTS_MAX);
    char err[300];
    if (rc == EXIT_OK && db_sync_exec(m, b.data, err, sizeof err) < 0) {
        fprintf(stderr, "ingot admin: webhook add: %s\n", err);
        rc = EXIT_UNAVAILABLE;
    } else if (rc == EXIT_OK && changed(m) == 0) {
        fprintf(stderr, "ingot admin: webhook add: the tenant has %d endpoints already (remove one first)\n",
                ENDPOINTS_MAX);
        rc = EXIT_DATAERR;
    }
    if (rc == EXIT_OK) {
        printf("%s\n", secret);
        fprintf(stderr, "added webhook endpoint %s -> %s for %s (the secret above is shown once; receivers verify "
                        "with it)\n", id, url, types.data);
    }
    memset(secret, 0, sizeof secret);
    crypt_free(c);
    sbuf_deinit(&b);
    sbuf_deinit(&types);
    return rc;
}

static int list(MYSQL *m, long long tenant)
{
    char q[400];
    snprintf(q, sizeof q,
             "SELECT id, IF(enabled, 'enabled', 'disabled') AS state, url, event_types, name, secret_hint, "
             "FROM_UNIXTIME(created_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ') AS created_at FROM webhook_endpoints "
             "WHERE tenant_id = %lld ORDER BY seq",
             tenant);
    return admin_print_rows(m, q);
}

/* remove, enable, disable: one statement on the tenant's endpoint. */
static int change(MYSQL *m, long long tenant, const char *verb, const char *id)
{
    char q[300];
    if (strcmp(verb, "remove") == 0)
        snprintf(q, sizeof q, "DELETE FROM webhook_endpoints WHERE tenant_id = %lld AND id = '%s'", tenant, id);
    else
        snprintf(q, sizeof q, "UPDATE webhook_endpoints SET enabled = %d, updated_at = %lld WHERE tenant_id = %lld "
                              "AND id = '%s'", strcmp(verb, "enable") == 0, (long long)time(NULL), tenant, id);
    if (admin_exec(m, q, verb) < 0)
        return EXIT_UNAVAILABLE;
    if (changed(m) == 0) { /* none, or an enable of an enabled one in the same second */
        snprintf(q, sizeof q, "SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = %lld AND id = '%s'", tenant, id);
        if (strcmp(verb, "remove") == 0 || db_sync_scalar(m, q, NULL, 0) != 1) {
            fprintf(stderr, "ingot admin: webhook %s: the tenant has no endpoint %s\n", verb, id);
            return EXIT_DATAERR;
        }
    }
    fprintf(stderr, "webhook endpoint %s %s\n", id, strcmp(verb, "remove") == 0 ? "removed" : verb[0] == 'e' ? "enabled" : "disabled");
    return EXIT_OK;
}

static int test(MYSQL *m, long long tenant, const char *id, const char *type)
{
    if (!webhook_event_type_valid(type)) {
        fprintf(stderr, "ingot admin: webhook test: --event: one of the types GET /v1/webhook_event_types lists, "
                        "such as batch.completed\n");
        return EXIT_USAGE;
    }
    char data[64];
    snprintf(data, sizeof data, "{\"id\":\"%s_test\"}", strncmp(type, "batch.", 6) == 0 ? "batch" : "resp");
    struct sbuf b;
    sbuf_init(&b);
    webhook_event_endpoint_sql(&b, (uint64_t)tenant, id, type, data);
    char err[300];
    int rc = EXIT_OK;
    unsigned long long job = 0;
    if (db_sync_exec(m, b.data, err, sizeof err) < 0) {
        fprintf(stderr, "ingot admin: webhook test: %s\n", err);
        rc = EXIT_UNAVAILABLE;
    } else if (changed(m) == 0) {
        fprintf(stderr, "ingot admin: webhook test: the tenant has no endpoint %s\n", id);
        rc = EXIT_DATAERR;
    } else {
        job = (unsigned long long)db_sync_scalar(m, "SELECT LAST_INSERT_ID()", NULL, 0);
        printf("job_%llu\n", job);
        fprintf(stderr, "queued a %s test delivery to %s (a worker sends it; GET /v1/jobs/job_%llu shows the "
                        "receiver's answer)\n", type, id, job);
    }
    sbuf_deinit(&b);
    return rc;
}

/* The event of a batch or a background response, by hand (operators
 * replaying one, tests): the same statement they run. */
static int emit(MYSQL *m, long long tenant, const char *type, const char *data)
{
    cJSON *j = data ? cJSON_Parse(data) : NULL;
    bool ok = webhook_event_type_valid(type) && (!data || cJSON_IsObject(j));
    cJSON_Delete(j);
    if (!ok) {
        fprintf(stderr, "ingot admin: webhook emit: TYPE is one of the types GET /v1/webhook_event_types lists; "
                        "--data a JSON object such as {\"id\":\"batch_abc\"}\n");
        return EXIT_USAGE;
    }
    struct sbuf b;
    sbuf_init(&b);
    webhook_event_sql(&b, (uint64_t)tenant, type, data ? data : "{}");
    char err[300];
    int rc = EXIT_OK;
    if (db_sync_exec(m, b.data, err, sizeof err) < 0) {
        fprintf(stderr, "ingot admin: webhook emit: %s\n", err);
        rc = EXIT_UNAVAILABLE;
    } else {
        long long n = changed(m);
        printf("%lld\n", n);
        fprintf(stderr, "queued %lld %s deliver%s\n", n, type, n == 1 ? "y" : "ies");
    }
    sbuf_deinit(&b);
    return rc;
}

int admin_webhook(int argc, char **argv)
{
    const struct cmd_def *def = cmd_find("admin");
    struct config cfg;
    struct cmd_args a;
    const char *events = NULL, *name = NULL, *event = NULL, *data = NULL;
    const struct cmd_flag flags[] = {{"events", true, &events, NULL},
                                     {"data", true, &data, NULL},
                                     {"name", true, &name, NULL},
                                     {"event", true, &event, NULL},
                                     {NULL, false, NULL, NULL}};
    config_init(&cfg);
    cmd_parse(def, argc, argv, flags, &a, &cfg);
    /* webhook add TENANT URL | list TENANT | remove|enable|disable|test TENANT ID | emit TENANT TYPE */
    const char *verb = a.npositional > 1 ? a.positional[1] : "";
    bool is_add = strcmp(verb, "add") == 0, is_list = strcmp(verb, "list") == 0, is_test = strcmp(verb, "test") == 0;
    bool is_emit = strcmp(verb, "emit") == 0;
    bool is_change = strcmp(verb, "remove") == 0 || strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0;
    bool shape = (is_list && a.npositional == 3) || ((is_add || is_change || is_test || is_emit) && a.npositional == 4);
    bool flags_ok = (!events && !name) || is_add;
    if (!shape || !flags_ok || (event && !is_test) || (data && !is_emit)) {
        config_deinit(&cfg);
        return admin_usage();
    }
    if ((is_change || is_test) && !webhook_endpoint_id_valid(a.positional[3])) {
        fprintf(stderr, "ingot admin: webhook %s: ID looks like whe_ and 24 hex digits (webhook list shows them)\n", verb);
        config_deinit(&cfg);
        return EXIT_USAGE;
    }
    cmd_load_config(def, &a, &cfg, true);
    MYSQL *m = NULL;
    int rc = admin_open(&cfg, &m);
    long long tenant = rc == EXIT_OK ? admin_tenant_id(m, a.positional[2]) : -1;
    if (rc == EXIT_OK && tenant < 0)
        rc = EXIT_DATAERR;
    if (rc == EXIT_OK) {
        if (is_add)
            rc = add(m, &cfg, tenant, a.positional[3], events, name);
        else if (is_list)
            rc = list(m, tenant);
        else if (is_emit)
            rc = emit(m, tenant, a.positional[3], data);
        else if (is_test)
            rc = test(m, tenant, a.positional[3], event ? event : "batch.completed");
        else
            rc = change(m, tenant, verb, a.positional[3]);
    }
    admin_close(m);
    config_deinit(&cfg);
    return rc;
}
