/* ingot admin tenant member: which OIDC subjects (other than the owner,
 * OWNER_OPEN_ID, who sees every tenant) may see a tenant through a login
 * session. A removal takes effect at the subject's next request. */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "cmd.h"
#include "db_sync.h"
#include "sql.h"

#define SUBJECT_MAX 255

static bool subject_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SUBJECT_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int admin_member(int argc, char **argv)
{
    const struct cmd_def *def = cmd_find("admin");
    struct config cfg;
    struct cmd_args a;
    const struct cmd_flag flags[] = {{NULL, false, NULL, NULL}};
    config_init(&cfg);
    cmd_parse(def, argc, argv, flags, &a, &cfg);
    /* tenant member add|remove TENANT SUBJECT | tenant member list TENANT */
    const char *verb = a.npositional > 2 ? a.positional[2] : "";
    bool list = strcmp(verb, "list") == 0 && a.npositional == 4;
    bool change = (strcmp(verb, "add") == 0 || strcmp(verb, "remove") == 0) && a.npositional == 5;
    if (!list && !change) {
        config_deinit(&cfg);
        return admin_usage();
    }
    if (change && !subject_ok(a.positional[4])) {
        fprintf(stderr, "ingot admin: SUBJECT: 1-%d characters, no control characters (the OIDC sub)\n", SUBJECT_MAX);
        config_deinit(&cfg);
        return EXIT_USAGE;
    }
    cmd_load_config(def, &a, &cfg, true);
    MYSQL *m = NULL;
    int rc = admin_open(&cfg, &m);
    long long tenant = rc == EXIT_OK ? admin_tenant_id(m, a.positional[3]) : -1;
    if (rc == EXIT_OK && tenant < 0)
        rc = EXIT_DATAERR;
    struct sbuf b;
    sbuf_init(&b);
    if (rc == EXIT_OK && list) {
        sbuf_printf(&b, "SELECT subject, DATE_FORMAT(created_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ') AS added_at "
                        "FROM tenant_members WHERE tenant_id = %lld ORDER BY subject", tenant);
        rc = admin_print_rows(m, b.data);
    } else if (rc == EXIT_OK) {
        bool add = strcmp(verb, "add") == 0;
        if (add)
            sbuf_printf(&b, "INSERT IGNORE INTO tenant_members (tenant_id, subject) VALUES (%lld, ", tenant);
        else
            sbuf_printf(&b, "DELETE FROM tenant_members WHERE tenant_id = %lld AND subject = ", tenant);
        sql_cstr(&b, a.positional[4]);
        if (add)
            sbuf_putc(&b, ')');
        if (admin_exec(m, b.data, add ? "cannot add the member" : "cannot remove the member") < 0)
            rc = EXIT_UNAVAILABLE;
        else
            fprintf(stderr, "%s %s %s tenant %s\n", add ? "added" : "removed", a.positional[4],
                    add ? "to" : "from", a.positional[3]);
    }
    sbuf_deinit(&b);
    admin_close(m);
    config_deinit(&cfg);
    return rc;
}
