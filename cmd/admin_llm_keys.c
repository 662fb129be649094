/* ingot admin for the LLM gateway, the keys' half: reading a key from
 * stdin, sealing it, tenants' own provider keys and the rotation of
 * ENCRYPTION_KEY (admin_llm.c: providers, routes, the command line). Keys are read from
 * stdin (never argv: shell history, ps), sealed with core/crypt before they
 * reach the database, and never printed. */
#include <mysql.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "admin_int.h"
#include "admin_llm.h"
#include "cmd.h"
#include "crypt.h"
#include "db_sync.h"
#include "provider_snap.h"
#include "sql.h"
#include "webhook.h"

/* Reads one key from stdin (echo off on a terminal). 0, or EXIT_USAGE
 * after printing why. The key goes into HTTP headers: no control
 * characters; one line (a second one is a mistake, never dropped). */
int llmadm_read_key(char *out, size_t outlen)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "API key (not echoed): ");
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
        } else {
            tty = false;
        }
    }
    size_t n = 0;
    int ch;
    bool too_long = false;
    while ((ch = getchar()) != EOF && ch != '\n') {
        if (n + 1 < outlen)
            out[n++] = (char)ch;
        else
            too_long = true;
    }
    out[n] = '\0';
    bool more = false;
    if (ch == '\n' && !tty)
        while ((ch = getchar()) != EOF)
            if (ch != '\n' && ch != '\r' && ch != ' ' && ch != '\t')
                more = true;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fputc('\n', stderr);
    }
    while (n && (out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        out[--n] = '\0';
    if (too_long) {
        fprintf(stderr, "ingot admin: the key on stdin is longer than %d characters\n", LLMADM_KEY_MAX);
        return EXIT_USAGE;
    }
    if (!n) {
        fprintf(stderr, "ingot admin: no key on stdin (pipe it in: printf %%s \"$KEY\" | ingot admin ...)\n");
        return EXIT_USAGE;
    }
    if (more) {
        fprintf(stderr, "ingot admin: the key on stdin has more than one line: give the key alone\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)out[i] < 0x21 || out[i] == 0x7f) {
            fprintf(stderr, "ingot admin: the key on stdin has a space or control character at "
                            "position %zu\n", i + 1);
            return EXIT_USAGE;
        }
    }
    return 0;
}

struct crypt *llmadm_need_crypt(const struct config *cfg, const char *what)
{
    char err[256];
    if (!*cfg->encryption_key) {
        fprintf(stderr, "ingot admin: %s: ENCRYPTION_KEY is not set; it seals provider keys at rest "
                        "(`ingot init` generates one, or `openssl rand -base64 32`)\n", what);
        return NULL;
    }
    struct crypt *c = crypt_new(cfg->encryption_key, cfg->encryption_key_previous, err, sizeof err);
    if (!c)
        fprintf(stderr, "ingot admin: %s: %s\n", what, err);
    return c;
}

/* Seals key for aad into b as a SQL literal. 0/-1. */
int llmadm_put_sealed(struct sbuf *b, const struct crypt *c, const char *aad, const char *key)
{
    char err[256];
    char *sealed = crypt_seal(c, aad, key, strlen(key), err, sizeof err);
    if (!sealed) {
        fprintf(stderr, "ingot admin: %s\n", err);
        return -1;
    }
    sql_cstr(b, sealed);
    free(sealed);
    return 0;
}

/* 1 a row matches where_sql's condition in table, 0 not, -1 error. */
int llmadm_row_exists(MYSQL *m, const char *table, const struct sbuf *where)
{
    char err[512];
    char *sql = xasprintf("SELECT COUNT(*) FROM %s WHERE %s", table, where->data);
    long long n = db_sync_scalar(m, sql, err, sizeof err);
    free(sql);
    if (n < 0)
        fprintf(stderr, "ingot admin: %s\n", err);
    return n < 0 ? -1 : n > 0;
}

int llmadm_tenant_key(MYSQL *m, const struct config *cfg, bool set, const char *tenant,
                      const char *provider)
{
    const char *what = set ? "tenant provider-key set" : "tenant provider-key remove";
    if (!provider_name_valid(provider))
        return llmadm_bad(what, "PROVIDER must be 1-64 characters of A-Z a-z 0-9 . _ -: %s", provider);
    struct crypt *c = NULL;
    if (set && !(c = llmadm_need_crypt(cfg, what)))
        return EXIT_CONFIG;
    long long tid = admin_tenant_id(m, tenant);
    int rc = tid < 0 ? EXIT_DATAERR : EXIT_OK;
    struct sbuf b;
    sbuf_init(&b);
    if (rc == EXIT_OK && set) {
        int ex = llmadm_provider_exists(m, provider, false);
        if (ex == 0)
            fprintf(stderr, "ingot admin: %s: no such provider: %s (`ingot admin provider list`)\n",
                    what, provider);
        rc = ex < 0 ? EXIT_UNAVAILABLE : ex == 0 ? EXIT_DATAERR : EXIT_OK;
    }
    char key[LLMADM_KEY_MAX + 1] = "";
    if (rc == EXIT_OK && set) {
        char aad[CRYPT_AAD_MAX];
        crypt_aad_tenant(aad, (unsigned long long)tid, provider);
        int krc = llmadm_read_key(key, sizeof key);
        if (krc != 0) {
            rc = krc;
        } else {
            sbuf_printf(&b, "INSERT INTO llm_tenant_keys (tenant_id, provider, api_key) VALUES (%lld, ", tid);
            sql_cstr(&b, provider);
            sbuf_puts(&b, ", ");
            if (llmadm_put_sealed(&b, c, aad, key) < 0)
                rc = EXIT_SOFTWARE;
            sbuf_puts(&b, ") ON DUPLICATE KEY UPDATE api_key = VALUES(api_key)");
            if (rc == EXIT_OK && admin_exec(m, b.data, what) < 0)
                rc = EXIT_UNAVAILABLE;
            if (rc == EXIT_OK)
                fprintf(stderr, "stored tenant %s's key for %s (sealed under key id %s)\n", tenant,
                        provider, crypt_current_id(c));
        }
    } else if (rc == EXIT_OK) {
        sbuf_printf(&b, "tenant_id = %lld AND provider = ", tid);
        sql_cstr(&b, provider);
        int ex = llmadm_row_exists(m, "llm_tenant_keys", &b);
        if (ex == 0)
            fprintf(stderr, "ingot admin: tenant %s has no key for provider %s\n", tenant, provider);
        rc = ex < 0 ? EXIT_UNAVAILABLE : ex == 0 ? EXIT_DATAERR : EXIT_OK;
        char *sql = xasprintf("DELETE FROM llm_tenant_keys WHERE %s", b.data);
        if (rc == EXIT_OK && admin_exec(m, sql, what) < 0)
            rc = EXIT_UNAVAILABLE;
        free(sql);
        if (rc == EXIT_OK)
            fprintf(stderr, "removed tenant %s's key for %s\n", tenant, provider);
    }
    explicit_bzero(key, sizeof key);
    sbuf_deinit(&b);
    crypt_free(c);
    return rc;
}

/* Which tenants bring their own key, for which provider, under which
 * key id (never the key). */
int llmadm_tenant_key_list(MYSQL *m, const char *tenant)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT t.name AS tenant, k.provider, SUBSTRING(k.api_key, 4, 8) AS key_id, "
                  "DATE_FORMAT(k.updated_at, '%Y-%m-%dT%H:%i:%sZ') AS updated_at "
                  "FROM llm_tenant_keys k JOIN tenants t ON t.id = k.tenant_id");
    if (tenant) {
        long long tid = admin_tenant_id(m, tenant);
        if (tid < 0) {
            sbuf_deinit(&b);
            return EXIT_DATAERR;
        }
        sbuf_printf(&b, " WHERE k.tenant_id = %lld", tid);
    }
    sbuf_puts(&b, " ORDER BY t.name, k.provider");
    int rc = admin_print_rows(m, b.data);
    sbuf_deinit(&b);
    return rc;
}

struct rotation {
    const struct crypt *c;
    long long resealed, current;
};

/* What rotate_rows re-seals: the column of the query of the same index
 * in llmadm_rotate. */
enum { ROT_PROVIDER, ROT_TENANT, ROT_WEBHOOK, ROT_WEBHOOK_PREV };

/* Re-seals the rows of one table (res: name, provider or endpoint id,
 * tenant id or "", sealed value). EXIT_OK or the code that stops the
 * rotation. */
static int rotate_rows(MYSQL *m, struct rotation *rot, MYSQL_RES *res, int kind)
{
    bool prov = kind == ROT_PROVIDER, hook = kind == ROT_WEBHOOK || kind == ROT_WEBHOOK_PREV;
    MYSQL_ROW row;
    struct sbuf b;
    char err[512];
    int rc = EXIT_OK;
    sbuf_init(&b);
    while (rc == EXIT_OK && (row = mysql_fetch_row(res))) {
        const char *name = row[0], *sealed = row[2];
        unsigned long long tid = prov ? 0 : strtoull(row[1], NULL, 10);
        char aad[CRYPT_AAD_MAX], id[CRYPT_KEYID_LEN + 1], what[200];
        if (hook) {
            webhook_secret_aad(name, aad, sizeof aad);
            snprintf(what, sizeof what, "webhook endpoint %s's %ssigning secret", name,
                     kind == ROT_WEBHOOK_PREV ? "previous " : "");
        } else if (prov) {
            crypt_aad_provider(aad, name);
            snprintf(what, sizeof what, "provider %s's key", name);
        } else {
            crypt_aad_tenant(aad, tid, name);
            snprintf(what, sizeof what, "tenant %llu's key for provider %s", tid, name);
        }
        char *plain = crypt_open(rot->c, aad, sealed, NULL, err, sizeof err);
        if (!plain) {
            fprintf(stderr, "ingot admin: rotate-encryption-key: %s does not open: %s. Nothing was "
                            "changed; set that key again or remove it, then rerun\n", what, err);
            rc = EXIT_DATAERR;
            break;
        }
        if (crypt_keyid(sealed, id) == 0 && strcmp(id, crypt_current_id(rot->c)) == 0) {
            rot->current++;
            crypt_secret_free(plain);
            continue;
        }
        sbuf_reset(&b);
        if (hook)
            sbuf_printf(&b, "UPDATE webhook_endpoints SET %s = ", kind == ROT_WEBHOOK ? "secret" : "secret_prev");
        else
            sbuf_printf(&b, "UPDATE %s SET api_key = ", prov ? "llm_providers" : "llm_tenant_keys");
        int sealed_ok = llmadm_put_sealed(&b, rot->c, aad, plain);
        crypt_secret_free(plain);
        if (hook)
            sbuf_puts(&b, " WHERE id = ");
        else if (prov)
            sbuf_puts(&b, " WHERE name = ");
        else
            sbuf_printf(&b, " WHERE tenant_id = %llu AND provider = ", tid);
        sql_cstr(&b, name);
        if (sealed_ok < 0)
            rc = EXIT_SOFTWARE;
        else if (admin_exec(m, b.data, "rotate-encryption-key") < 0)
            rc = EXIT_UNAVAILABLE;
        else
            rot->resealed++;
    }
    sbuf_deinit(&b);
    return rc;
}

/* Re-seals under ENCRYPTION_KEY every stored key sealed under another
 * key, in one transaction (rows locked); every value must open (with
 * either key) or nothing changes. */
int llmadm_rotate(MYSQL *m, const struct config *cfg)
{
    struct crypt *c = llmadm_need_crypt(cfg, "rotate-encryption-key");
    if (!c)
        return EXIT_CONFIG;
    char err[512];
    if (admin_exec(m, "START TRANSACTION", "rotate-encryption-key") < 0) {
        crypt_free(c);
        return EXIT_UNAVAILABLE;
    }
    static const char *const sql[] = {
        "SELECT name, '', api_key FROM llm_providers WHERE api_key IS NOT NULL ORDER BY name FOR UPDATE",
        "SELECT provider, CAST(tenant_id AS CHAR), api_key FROM llm_tenant_keys "
        "ORDER BY tenant_id, provider FOR UPDATE",
        "SELECT id, '', secret FROM webhook_endpoints ORDER BY seq FOR UPDATE",
        "SELECT id, '', secret_prev FROM webhook_endpoints WHERE secret_prev IS NOT NULL ORDER BY seq FOR UPDATE"};
    struct rotation rot = {.c = c};
    int rc = EXIT_OK;
    for (size_t i = 0; i < ARRAY_LEN(sql) && rc == EXIT_OK; i++) {
        MYSQL_RES *res = db_sync_query(m, sql[i], err, sizeof err);
        if (!res) {
            fprintf(stderr, "ingot admin: rotate-encryption-key: %s\n", err);
            rc = EXIT_UNAVAILABLE;
            break;
        }
        rc = rotate_rows(m, &rot, res, (int)i);
        mysql_free_result(res);
    }
    if (rc == EXIT_OK && admin_exec(m, "COMMIT", "rotate-encryption-key") < 0)
        rc = EXIT_UNAVAILABLE;
    if (rc != EXIT_OK)
        llmadm_rollback(m);
    else
        printf("re-sealed %lld key(s) under key id %s; %lld already under it\n", rot.resealed,
               crypt_current_id(c), rot.current);
    crypt_free(c);
    return rc;
}

