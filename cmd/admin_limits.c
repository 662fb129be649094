/* ingot admin tenant limits, model price(s), usage: the LLM gateway's
 * limits, budgets, prices and the usage ledger, directly against the
 * database (running processes re-read limits and prices within a few
 * seconds). */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "auth.h"
#include "check.h"
#include "cmd.h"
#include "db_sync.h"
#include "llm_types.h"
#include "sql.h"
#include "usage_query.h"

#define LIMIT_MAX 1000000000000000LL   /* tokens or requests: 1e15 */

static int usage(void)
{
    return admin_usage();
}

/* A decimal of at most `ints` integer and `fracs` fraction digits. */
static bool decimal_ok(const char *s, int ints, int fracs)
{
    int i = 0, f = -1;
    for (const char *p = s; *p; p++) {
        if (*p == '.' && f < 0) {
            f = 0;
        } else if (*p >= '0' && *p <= '9') {
            if (f < 0)
                i++;
            else
                f++;
        } else {
            return false;
        }
    }
    return i >= 1 && i <= ints && (f < 0 || (f >= 1 && f <= fracs));
}

/* One limit flag's value as SQL ("NULL" for none), or NULL after saying why. */
static const char *limit_value(const char *flag, const char *v, bool usd, char *out, size_t n)
{
    if (strcmp(v, "none") == 0)
        return "NULL";
    if (usd) {
        /* 0 would mean "allow nothing": say none or an amount, never a silent block */
        if (!decimal_ok(v, 10, 6) || strspn(v, "0.") == strlen(v)) {
            fprintf(stderr, "ingot admin: --%s: must be an amount in USD above 0 such as 25 or 12.50 (at most 6 "
                            "decimals), or none\n", flag);
            return NULL;
        }
        snprintf(out, n, "%s", v);
        return out;
    }
    long long x;
    if (check_parse_ll(v, 1, LIMIT_MAX, &x) < 0) {
        fprintf(stderr, "ingot admin: --%s: must be a whole number from 1 to %lld, or none\n", flag, LIMIT_MAX);
        return NULL;
    }
    snprintf(out, n, "%lld", x);
    return out;
}

/* The key of tenant given by its prefix or whole (found by its hash, as
 * `key revoke` does): its id, or -1 after saying why. A whole key, or
 * anything longer than a prefix, is never echoed. */
static long long key_id(MYSQL *m, long long tenant, const char *tenant_name, const char *given,
                        const char *hash_secret)
{
    bool whole = strlen(given) == AUTH_KEY_LEN && strncmp(given, "ik_", 3) == 0;
    const char *shown = strlen(given) <= AUTH_PREFIX_LEN ? given : "given";
    if (whole && !*hash_secret) {
        fprintf(stderr, "ingot admin: --key: API_KEY_HASH_SECRET is needed to find a whole key (or pass its "
                        "prefix)\n");
        return -1;
    }
    struct sbuf b;
    char err[512];
    sbuf_init(&b);
    sbuf_printf(&b, "SELECT id FROM api_keys WHERE tenant_id = %lld AND revoked_at IS NULL AND ", tenant);
    if (whole) {
        char hash[65];
        auth_key_hash(hash_secret, given, hash);
        sbuf_printf(&b, "hash = UNHEX('%s')", hash);
    } else {
        sbuf_puts(&b, "prefix = ");
        sql_cstr(&b, given);
    }
    MYSQL_RES *res = db_sync_query(m, b.data, err, sizeof err);
    sbuf_deinit(&b);
    if (!res) {
        fprintf(stderr, "ingot admin: %s\n", err);
        return -1;
    }
    long long id = -1;
    my_ulonglong rows = mysql_num_rows(res);
    MYSQL_ROW row = mysql_fetch_row(res);
    if (rows == 1 && row)
        id = strtoll(row[0], NULL, 10);
    mysql_free_result(res);
    if (rows == 0)
        fprintf(stderr, "ingot admin: --key: no active key of this tenant %s %s "
                        "(`ingot admin key list --tenant %s`)\n",
                whole ? "is the key" : "has the prefix", shown, tenant_name);
    else if (rows > 1)
        fprintf(stderr, "ingot admin: --key: the prefix %s matches %llu keys: pass the whole key\n", shown,
                (unsigned long long)rows);
    return id;
}

static int print_limits(MYSQL *m, long long tenant, long long key)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b,
                "SELECT IF(l.key_id = 0, 'tenant', 'key') AS scope, COALESCE(k.prefix, '-') AS key_prefix, l.rpm, "
                "l.tpm, l.tokens_per_day, l.tokens_per_month, l.usd_per_month FROM llm_limits l "
                "LEFT JOIN api_keys k ON k.id = l.key_id WHERE l.tenant_id = %lld",
                tenant);
    if (key >= 0)
        sbuf_printf(&b, " AND l.key_id = %lld", key);
    sbuf_puts(&b, " ORDER BY l.key_id");
    int rc = admin_print_rows(m, b.data);
    sbuf_deinit(&b);
    return rc;
}

static int limits_cmd(MYSQL *m, const char *tenant_name, const char *prefix, const char *const vals[5],
                      const char *hash_secret)
{
    static const char *const flags[5] = {"rpm", "tpm", "tokens-per-day", "tokens-per-month", "usd-per-month"};
    static const char *const cols[5] = {"rpm", "tpm", "tokens_per_day", "tokens_per_month", "usd_per_month"};
    char buf[5][40];
    const char *sqlv[5] = {NULL};
    bool any = false;
    for (int i = 0; i < 5; i++) {
        if (!vals[i])
            continue;
        sqlv[i] = limit_value(flags[i], vals[i], i == 4, buf[i], sizeof buf[i]);
        if (!sqlv[i])
            return EXIT_USAGE;
        any = true;
    }
    if (!m)
        return EXIT_OK; /* checked only */
    long long tenant = admin_tenant_id(m, tenant_name);
    if (tenant < 0)
        return EXIT_DATAERR;
    long long key = prefix ? key_id(m, tenant, tenant_name, prefix, hash_secret) : 0;
    if (key < 0)
        return EXIT_DATAERR;
    if (!any)
        return print_limits(m, tenant, prefix ? key : -1);
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "INSERT INTO llm_limits (tenant_id, key_id");
    for (int i = 0; i < 5; i++)
        if (sqlv[i])
            sbuf_printf(&b, ", %s", cols[i]);
    sbuf_printf(&b, ") VALUES (%lld, %lld", tenant, key);
    for (int i = 0; i < 5; i++)
        if (sqlv[i])
            sbuf_printf(&b, ", %s", sqlv[i]);
    sbuf_puts(&b, ") ON DUPLICATE KEY UPDATE ");
    bool first = true;
    for (int i = 0; i < 5; i++)
        if (sqlv[i]) {
            sbuf_printf(&b, "%s%s = VALUES(%s)", first ? "" : ", ", cols[i], cols[i]);
            first = false;
        }
    int rc = admin_exec(m, b.data, "cannot set the limits");
    sbuf_reset(&b);
    /* A row that limits nothing any more is removed (key_id 0 included). */
    sbuf_printf(&b,
                "DELETE FROM llm_limits WHERE tenant_id = %lld AND key_id = %lld AND rpm IS NULL AND tpm IS NULL "
                "AND tokens_per_day IS NULL AND tokens_per_month IS NULL AND usd_per_month IS NULL",
                tenant, key);
    if (rc == 0)
        rc = admin_exec(m, b.data, "cannot clear the limits");
    sbuf_deinit(&b);
    if (rc < 0)
        return EXIT_UNAVAILABLE;
    /* at most the prefix of a whole key is shown */
    fprintf(stderr, "limits of %s%s%.*s set (running processes apply them within a few seconds)\n", tenant_name,
            prefix ? " key " : "", AUTH_PREFIX_LEN, prefix ? prefix : "");
    return print_limits(m, tenant, prefix ? key : -1);
}

static bool model_ok(const char *s)
{
    size_t n = strlen(s), chars = 0;
    if (!n || !check_text(s, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            chars++;
    }
    return chars <= LLM_MODEL_MAX;
}

static int price_cmd(MYSQL *m, const char *model, const char *in, const char *out)
{
    if (!model_ok(model)) {
        fprintf(stderr, "ingot admin: MODEL must be 1-%d characters of text\n", LLM_MODEL_MAX);
        return EXIT_USAGE;
    }
    const char *flags[2] = {"input-per-mtok", "output-per-mtok"}, *v[2] = {in, out};
    for (int i = 0; i < 2; i++) {
        if (!v[i]) {
            fprintf(stderr, "ingot admin: --%s is required (USD per million tokens)\n", flags[i]);
            return EXIT_USAGE;
        }
        if (!decimal_ok(v[i], 8, 6)) {
            fprintf(stderr, "ingot admin: --%s: must be USD per million tokens such as 2.5 (at most 6 decimals)\n",
                    flags[i]);
            return EXIT_USAGE;
        }
    }
    if (!m)
        return EXIT_OK;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "INSERT INTO llm_prices (model, input_per_mtok, output_per_mtok) VALUES (");
    sql_cstr(&b, model);
    sbuf_printf(&b, ", %s, %s) ON DUPLICATE KEY UPDATE input_per_mtok = VALUES(input_per_mtok), "
                    "output_per_mtok = VALUES(output_per_mtok)", in, out);
    int rc = admin_exec(m, b.data, "cannot set the price");
    sbuf_deinit(&b);
    if (rc < 0)
        return EXIT_UNAVAILABLE;
    fprintf(stderr, "price of %s set\n", model);
    return EXIT_OK;
}

static int usage_cmd(MYSQL *m, const char *tenant_name, const char *from, const char *to, const char *group)
{
    enum usage_group g;
    if (usage_parse_group(group, &g) < 0) {
        fprintf(stderr, "ingot admin: --group-by: must be model, day or key\n");
        return EXIT_USAGE;
    }
    int64_t f, t;
    const char *param = "";
    char why[160];
    if (usage_range(from, to, time_real_us() / 1000, &f, &t, &param, why, sizeof why) < 0) {
        fprintf(stderr, "ingot admin: --%s: %s\n", param, why);
        return EXIT_USAGE;
    }
    if (!m)
        return EXIT_OK;
    long long tenant = 0;
    if (tenant_name && (tenant = admin_tenant_id(m, tenant_name)) < 0)
        return EXIT_DATAERR;
    struct sbuf b;
    sbuf_init(&b);
    usage_query_sql(&b, (uint64_t)tenant, f, t, g);
    int rc = admin_print_rows(m, b.data);
    sbuf_deinit(&b);
    return rc;
}

int admin_limits(int argc, char **argv)
{
    const struct cmd_def *def = cmd_find("admin");
    struct config cfg;
    struct cmd_args a;
    const char *key = NULL, *vals[5] = {NULL}, *in = NULL, *out = NULL, *tenant = NULL, *from = NULL, *to = NULL,
               *group = NULL;
    const struct cmd_flag flags[] = {{"key", true, &key, NULL},
                                     {"rpm", true, &vals[0], NULL},
                                     {"tpm", true, &vals[1], NULL},
                                     {"tokens-per-day", true, &vals[2], NULL},
                                     {"tokens-per-month", true, &vals[3], NULL},
                                     {"usd-per-month", true, &vals[4], NULL},
                                     {"input-per-mtok", true, &in, NULL},
                                     {"output-per-mtok", true, &out, NULL},
                                     {"tenant", true, &tenant, NULL},
                                     {"from", true, &from, NULL},
                                     {"to", true, &to, NULL},
                                     {"group-by", true, &group, NULL},
                                     {NULL, false, NULL, NULL}};
    config_init(&cfg);
    cmd_parse(def, argc, argv, flags, &a, &cfg);
    const char *noun = a.npositional > 0 ? a.positional[0] : "", *verb = a.npositional > 1 ? a.positional[1] : "";
    enum { LIMITS, PRICE, PRICES, USAGE };
    int what;
    bool limit_flags = key || vals[0] || vals[1] || vals[2] || vals[3] || vals[4];
    if (strcmp(noun, "tenant") == 0 && strcmp(verb, "limits") == 0 && a.npositional == 3)
        what = LIMITS;
    else if (strcmp(noun, "model") == 0 && strcmp(verb, "price") == 0 && a.npositional == 3)
        what = PRICE;
    else if (strcmp(noun, "model") == 0 && (strcmp(verb, "prices") == 0 || strcmp(verb, "price") == 0) &&
             a.npositional == 2)
        what = PRICES;
    else if (strcmp(noun, "usage") == 0 && a.npositional == 1)
        what = USAGE;
    else
        what = -1;
    /* a flag of another verb is a mistake worth naming, not something to ignore */
    bool stray = (what != LIMITS && limit_flags) || (what != PRICE && (in || out)) ||
                 (what != USAGE && (tenant || from || to || group));
    if (what < 0 || stray) {
        config_deinit(&cfg);
        return usage();
    }
    /* Every value is checked before connecting: a typo needs no database. */
    int rc = what == LIMITS  ? limits_cmd(NULL, a.positional[2], key, vals, "")
             : what == PRICE ? price_cmd(NULL, a.positional[2], in, out)
             : what == USAGE ? usage_cmd(NULL, tenant, from, to, group)
                             : EXIT_OK;
    if (rc != EXIT_OK) {
        config_deinit(&cfg);
        return rc;
    }
    cmd_load_config(def, &a, &cfg, true);
    MYSQL *m = NULL;
    rc = admin_open(&cfg, &m);
    if (rc != EXIT_OK)
        ;
    else if (what == LIMITS)
        rc = limits_cmd(m, a.positional[2], key, vals, cfg.api_key_hash_secret);
    else if (what == PRICE)
        rc = price_cmd(m, a.positional[2], in, out);
    else if (what == PRICES)
        rc = admin_print_rows(m, "SELECT model, input_per_mtok, output_per_mtok, "
                                 "DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%sZ') AS updated_at FROM llm_prices "
                                 "ORDER BY model");
    else
        rc = usage_cmd(m, tenant, from, to, group);
    admin_close(m);
    config_deinit(&cfg);
    return rc;
}
