/* ingot admin: tenants and API keys, directly against the database. */
#include <mysql.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "auth.h"
#include "cmd.h"
#include "db_sync.h"
#include "job.h"
#include "migrate.h"
#include "sql.h"

int admin_usage(void)
{
    /* the synopsis: the help text up to its first blank line */
    const char *u = cmd_find("admin")->usage, *end = strstr(u, "\n\n");
    fprintf(stderr, "%.*s\nsee `ingot admin --help`\n", (int)(end ? end - u : (long)strlen(u)), u);
    return EXIT_USAGE;
}

static int usage(void)
{
    return admin_usage();
}

/* Admin works on tables that migrations create: on a database that has
 * not been migrated (or is older than this binary) say so, naming
 * `ingot migrate`, instead of MariaDB's "table doesn't exist". */
int admin_schema_ready(MYSQL *m)
{
    char err[512];
    int applied = 0, changed = 0, need = migrate_required_version();
    if (migrate_inspect(m, &applied, &changed, err, sizeof err) < 0) {
        fprintf(stderr, "ingot admin: cannot read the schema version: %s\n", err);
        return EXIT_UNAVAILABLE;
    }
    if (applied == 0) {
        fprintf(stderr, "ingot admin: the database has no ingot schema yet: run `ingot migrate` "
                        "first\n");
        return EXIT_CONFIG;
    }
    if (applied < need) {
        fprintf(stderr, "ingot admin: the database schema is at version %d but this binary needs "
                        "%d: run `ingot migrate`\n", applied, need);
        return EXIT_CONFIG;
    }
    return EXIT_OK;
}

int admin_open(const struct config *cfg, MYSQL **m)
{
    char err[1024];
    *m = db_sync_connect(cfg->database_url, cfg->database_connection_timeout_ms, err, sizeof err);
    if (!*m) {
        fprintf(stderr, "ingot admin: %s\n", err);
        return EXIT_UNAVAILABLE;
    }
    return admin_schema_ready(*m);
}

void admin_close(MYSQL *m)
{
    if (m)
        mysql_close(m);
    mysql_library_end();
}

int admin_exec(MYSQL *m, const char *sql, const char *what)
{
    char err[512];
    if (db_sync_exec(m, sql, err, sizeof err) < 0) {
        fprintf(stderr, "ingot admin: %s: %s\n", what, err);
        return -1;
    }
    return 0;
}

long long admin_tenant_id(MYSQL *m, const char *name)
{
    struct sbuf b;
    char err[512];
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT id FROM tenants WHERE name = ");
    sql_cstr(&b, name);
    MYSQL_RES *res = db_sync_query(m, b.data, err, sizeof err);
    sbuf_deinit(&b);
    if (!res) {
        fprintf(stderr, "ingot admin: %s\n", err);
        return -1;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    long long id = row ? strtoll(row[0], NULL, 10) : 0;
    mysql_free_result(res);
    if (!id)
        fprintf(stderr, "ingot admin: no such tenant: %s (ingot admin tenant list)\n", name);
    return id ? id : -1;
}

int admin_print_rows(MYSQL *m, const char *sql)
{
    char err[512];
    MYSQL_RES *res = db_sync_query(m, sql, err, sizeof err);
    if (!res) {
        fprintf(stderr, "ingot admin: %s\n", err);
        return EXIT_UNAVAILABLE;
    }
    unsigned nf = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    for (unsigned i = 0; i < nf; i++)
        printf("%s%s", i ? "\t" : "", f[i].name);
    printf("\n");
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        for (unsigned i = 0; i < nf; i++)
            printf("%s%s", row[i] ? row[i] : "-", i + 1 < nf ? "\t" : "\n");
    mysql_free_result(res);
    return EXIT_OK;
}

static int tenant_cmd(MYSQL *m, struct cmd_args *a)
{
    const char *verb = a->npositional > 1 ? a->positional[1] : "";
    if (strcmp(verb, "list") == 0 && a->npositional == 2)
        return admin_print_rows(m, "SELECT t.id, t.name, DATE_FORMAT(t.created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at, "
                             "(SELECT COUNT(*) FROM api_keys k WHERE k.tenant_id = t.id AND k.revoked_at IS NULL) AS active_keys "
                             "FROM tenants t ORDER BY t.id");
    if (strcmp(verb, "create") != 0 || a->npositional != 3)
        return usage();
    const char *name = a->positional[2];
    if (!job_name_valid(name, 64)) {
        fprintf(stderr, "ingot admin: tenant name must be 1-64 characters of A-Z a-z 0-9 . _ : -\n");
        return EXIT_USAGE;
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "INSERT INTO tenants (name) VALUES (");
    sql_cstr(&b, name);
    sbuf_putc(&b, ')');
    char err[512];
    int rc = db_sync_exec(m, b.data, err, sizeof err);
    sbuf_deinit(&b);
    if (rc < 0) {
        fprintf(stderr, "ingot admin: cannot create tenant %s: %s\n", name,
                mysql_errno(m) == 1062 ? "it exists already" : err);
        return EXIT_DATAERR;
    }
    printf("%llu\n", (unsigned long long)mysql_insert_id(m));
    fprintf(stderr, "created tenant %s\n", name);
    return EXIT_OK;
}

static int key_cmd(MYSQL *m, struct cmd_args *a, const struct config *cfg, const char *tenant,
                   const char *label)
{
    const char *verb = a->npositional > 1 ? a->positional[1] : "";
    if (strcmp(verb, "list") == 0 && a->npositional == 2) {
        struct sbuf b;
        sbuf_init(&b);
        sbuf_puts(&b, "SELECT k.id, k.prefix, t.name AS tenant, k.name, "
                      "DATE_FORMAT(k.created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_at, "
                      "IF(k.revoked_at IS NULL, 'active', 'revoked') AS state "
                      "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id");
        if (tenant && admin_tenant_id(m, tenant) < 0) { /* as key create: not an empty table */
            sbuf_deinit(&b);
            return EXIT_DATAERR;
        }
        if (tenant) {
            sbuf_puts(&b, " WHERE t.name = ");
            sql_cstr(&b, tenant);
        }
        sbuf_puts(&b, " ORDER BY k.id");
        int rc = admin_print_rows(m, b.data);
        sbuf_deinit(&b);
        return rc;
    }
    if (strcmp(verb, "revoke") == 0 && a->npositional == 3) {
        /* Look the key up first: db_sync_exec's affected-row count is not
         * that of the UPDATE (it reads past the last result), which made
         * an unknown prefix print "revoked". */
        const char *prefix = a->positional[2];
        bool whole = strlen(prefix) == AUTH_KEY_LEN && strncmp(prefix, "ik_", 3) == 0;
        if (whole && !*cfg->api_key_hash_secret) {
            fprintf(stderr, "ingot admin: API_KEY_HASH_SECRET is needed to find a whole key\n");
            return EXIT_CONFIG;
        }
        struct sbuf b;
        sbuf_init(&b);
        sbuf_puts(&b, "SELECT id, revoked_at IS NOT NULL FROM api_keys WHERE ");
        if (whole) {
            char hash[65];
            auth_key_hash(cfg->api_key_hash_secret, prefix, hash);
            sbuf_printf(&b, "hash = UNHEX('%s')", hash);
        } else {
            sbuf_puts(&b, "prefix = ");
            sql_cstr(&b, prefix);
        }
        char err[512];
        MYSQL_RES *res = db_sync_query(m, b.data, err, sizeof err);
        sbuf_deinit(&b);
        if (!res) {
            fprintf(stderr, "ingot admin: revoke: %s\n", err);
            return EXIT_UNAVAILABLE;
        }
        long long id = 0;
        int rows = 0, active = 0;
        MYSQL_ROW row;
        while ((row = mysql_fetch_row(res))) {
            rows++;
            if (strcmp(row[1], "0") == 0) {
                active++;
                id = strtoll(row[0], NULL, 10);
            }
        }
        mysql_free_result(res);
        if (!rows) {
            fprintf(stderr, "ingot admin: no such key: %s matches no key "
                            "(`ingot admin key list` shows them)\n", whole ? "the key given" : prefix);
            return EXIT_DATAERR;
        }
        if (!active) {
            fprintf(stderr, "key %s was already revoked\n", whole ? "given" : prefix);
            return EXIT_OK;
        }
        if (active > 1) {
            fprintf(stderr, "ingot admin: the prefix %s matches %d active keys: pass the whole key\n",
                    prefix, active);
            return EXIT_DATAERR;
        }
        sbuf_init(&b);
        sbuf_printf(&b, "UPDATE api_keys SET revoked_at = NOW(6) WHERE revoked_at IS NULL AND id = %lld", id);
        int rc = admin_exec(m, b.data, "revoke");
        sbuf_deinit(&b);
        if (rc < 0)
            return EXIT_UNAVAILABLE;
        fprintf(stderr, "revoked %.*s (API processes stop accepting it within %d s)\n",
                AUTH_PREFIX_LEN, prefix, AUTH_CACHE_MS / 1000);
        return EXIT_OK;
    }
    if (strcmp(verb, "create") != 0 || a->npositional != 2 || !tenant)
        return usage();
    if (!*cfg->api_key_hash_secret) {
        fprintf(stderr, "ingot admin: API_KEY_HASH_SECRET is not set (`ingot init` generates one)\n");
        return EXIT_CONFIG;
    }
    long long tid = admin_tenant_id(m, tenant);
    if (tid < 0)
        return EXIT_DATAERR;
    char key[AUTH_KEY_LEN + 1], prefix[AUTH_PREFIX_LEN + 1], hash[65];
    if (auth_key_generate(key, prefix) < 0) {
        fprintf(stderr, "ingot admin: no randomness available\n");
        return EXIT_SOFTWARE;
    }
    auth_key_hash(cfg->api_key_hash_secret, key, hash);
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "INSERT INTO api_keys (tenant_id, prefix, hash, name) VALUES (%lld, '%s', UNHEX('%s'), ",
                tid, prefix, hash);
    sql_cstr(&b, label ? label : "");
    sbuf_putc(&b, ')');
    int rc = admin_exec(m, b.data, "cannot store the key");
    sbuf_deinit(&b);
    if (rc < 0)
        return EXIT_UNAVAILABLE;
    /* The key alone on stdout, so scripts can capture it; shown once. */
    printf("%s\n", key);
    fprintf(stderr, "created key %s for tenant %s; it is shown only now\n", prefix, tenant);
    return EXIT_OK;
}

static bool args_ok(const struct cmd_args *a, const char *tenant)
{
    if (a->npositional < 2)
        return false;
    const char *noun = a->positional[0], *verb = a->positional[1];
    int n = a->npositional;
    if (strcmp(noun, "tenant") == 0)
        return (strcmp(verb, "list") == 0 && n == 2) || (strcmp(verb, "create") == 0 && n == 3);
    if (strcmp(noun, "key") == 0)
        return (strcmp(verb, "list") == 0 && n == 2) || (strcmp(verb, "revoke") == 0 && n == 3) ||
               (strcmp(verb, "create") == 0 && n == 2 && tenant);
    return false;
}

int cmd_admin(int argc, char **argv)
{
    /* The LLM gateway's nouns have their own flags and files. */
    const char *noun = argc > 1 ? argv[1] : "", *verb = argc > 2 ? argv[2] : "";
    if (strcmp(noun, "provider") == 0 || strcmp(noun, "rotate-encryption-key") == 0 ||
        (strcmp(noun, "model") == 0 && (strcmp(verb, "route") == 0 || strcmp(verb, "routes") == 0)) ||
        (strcmp(noun, "tenant") == 0 && strcmp(verb, "provider-key") == 0))
        return admin_llm(argc, argv);
    if (strcmp(noun, "tenant") == 0 && strcmp(verb, "cache") == 0)
        return admin_cache(argc, argv);
    if (strcmp(noun, "tenant") == 0 && strcmp(verb, "member") == 0)
        return admin_member(argc, argv);
    if (strcmp(noun, "webhook") == 0)
        return admin_webhook(argc, argv);
    if (strcmp(noun, "usage") == 0 || (strcmp(noun, "model") == 0 && (strcmp(verb, "price") == 0 || strcmp(verb, "prices") == 0)) ||
        (strcmp(noun, "tenant") == 0 && strcmp(verb, "limits") == 0))
        return admin_limits(argc, argv);
    const struct cmd_def *def = cmd_find("admin");
    struct config cfg;
    struct cmd_args a;
    const char *tenant = NULL, *label = NULL;
    const struct cmd_flag flags[] = {{"tenant", true, &tenant, NULL},
                                     {"name", true, &label, NULL},
                                     {NULL, false, NULL, NULL}};
    config_init(&cfg);
    cmd_parse(def, argc, argv, flags, &a, &cfg);
    if (!args_ok(&a, tenant)) { /* before any connection: 64 needs no database */
        config_deinit(&cfg);
        return usage();
    }
    cmd_load_config(def, &a, &cfg, true);
    MYSQL *m = NULL;
    int rc = admin_open(&cfg, &m);
    if (rc != EXIT_OK)
        ;
    else if (strcmp(a.positional[0], "tenant") == 0)
        rc = tenant_cmd(m, &a);
    else if (strcmp(a.positional[0], "key") == 0)
        rc = key_cmd(m, &a, &cfg, tenant, label);
    else
        rc = usage();
    admin_close(m);
    config_deinit(&cfg);
    return rc;
}
