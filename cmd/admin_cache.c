/* ingot admin tenant cache: a tenant's opt-in to the LLM response cache
 * (its requests use the cache without an Ingot-Cache header), directly
 * against the database (running serve processes re-read it within 3 s). */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "cmd.h"
#include "config_parse.h"
#include "db_sync.h"

#define CACHE_TTL_MAX_S (30LL * 86400)

static int show(MYSQL *m, long long tenant)
{
    char q[256];
    snprintf(q, sizeof q,
             "SELECT 'on' AS cache, ttl_s, DATE_FORMAT(updated_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ') AS updated_at "
             "FROM llm_tenant_cache WHERE tenant_id = %lld",
             tenant);
    return admin_print_rows(m, q);
}

int admin_cache(int argc, char **argv)
{
    const struct cmd_def *def = cmd_find("admin");
    struct config cfg;
    struct cmd_args a;
    const char *ttl = NULL;
    const struct cmd_flag flags[] = {{"ttl", true, &ttl, NULL}, {NULL, false, NULL, NULL}};
    config_init(&cfg);
    cmd_parse(def, argc, argv, flags, &a, &cfg);
    /* tenant cache NAME [on|off] */
    const char *state = a.npositional == 4 ? a.positional[3] : NULL;
    if (a.npositional < 3 || a.npositional > 4) {
        config_deinit(&cfg);
        return admin_usage();
    }
    if ((state && strcmp(state, "on") != 0 && strcmp(state, "off") != 0) || (ttl && (!state || strcmp(state, "on") != 0))) {
        fprintf(stderr, "ingot admin: tenant cache %s: %s\n", a.positional[2],
                ttl ? "--ttl goes with on (tenant cache NAME on --ttl 1h)"
                    : "say on or off (or nothing, to print the setting)");
        config_deinit(&cfg);
        return EXIT_USAGE;
    }
    long long ttl_ms = 0;
    if (ttl && (config_parse_duration_ms(ttl, &ttl_ms) < 0 || ttl_ms < 1000 || ttl_ms > CACHE_TTL_MAX_S * 1000)) {
        fprintf(stderr, "ingot admin: --ttl: must be a duration from 1s to 30d, such as 10m or 24h\n");
        config_deinit(&cfg);
        return EXIT_USAGE;
    }
    cmd_load_config(def, &a, &cfg, true);
    MYSQL *m = NULL;
    int rc = admin_open(&cfg, &m);
    long long tenant = rc == EXIT_OK ? admin_tenant_id(m, a.positional[2]) : -1;
    if (rc == EXIT_OK && tenant < 0)
        rc = EXIT_DATAERR;
    if (rc == EXIT_OK && state) {
        char q[256];
        if (strcmp(state, "on") == 0)
            snprintf(q, sizeof q,
                     "INSERT INTO llm_tenant_cache (tenant_id, ttl_s) VALUES (%lld, %lld) "
                     "ON DUPLICATE KEY UPDATE ttl_s = VALUES(ttl_s)",
                     tenant, ttl ? ttl_ms / 1000 : cfg.cache_ttl_ms / 1000);
        else
            snprintf(q, sizeof q, "DELETE FROM llm_tenant_cache WHERE tenant_id = %lld", tenant);
        if (admin_exec(m, q, "cannot set the tenant's cache") < 0)
            rc = EXIT_UNAVAILABLE;
        else
            fprintf(stderr, "response cache of %s %s (running processes apply it within a few seconds)\n",
                    a.positional[2], strcmp(state, "on") == 0 ? "on" : "off");
    }
    if (rc == EXIT_OK)
        rc = show(m, tenant);
    admin_close(m);
    config_deinit(&cfg);
    return rc;
}
