#include <errmsg.h>
#include <mysql.h>
#include <string.h>

#include "cmd.h"
#include "db_sync.h"
#include "migrate.h"

int cmd_migrate(int argc, char **argv)
{
    const struct cmd_def *def = cmd_find("migrate");
    struct config cfg;
    struct cmd_args a;
    config_init(&cfg);
    cmd_parse(def, argc, argv, NULL, &a, &cfg);
    const char *action = a.npositional ? a.positional[0] : "up";
    if (a.npositional > 1 || (strcmp(action, "up") != 0 && strcmp(action, "status") != 0)) {
        fprintf(stderr, "ingot migrate: unknown action %s (use up or status)\nsee `ingot migrate --help`\n",
                a.npositional > 1 ? a.positional[1] : action);
        config_deinit(&cfg);
        return EXIT_USAGE;
    }
    cmd_load_config(def, &a, &cfg, true);
    char err[1024];
    int rc = EXIT_OK;
    MYSQL *m = db_sync_connect(cfg.database_url, cfg.database_connection_timeout_ms, err, sizeof err);
    if (!m) {
        fprintf(stderr, "ingot migrate: %s\n", err);
        config_deinit(&cfg);
        mysql_library_end();
        return EXIT_UNAVAILABLE;
    }
    if (strcmp(action, "status") == 0) {
        int problems = migrate_status(m, stdout, err, sizeof err);
        if (problems < 0) {
            fprintf(stderr, "ingot migrate: %s\n", err);
            rc = EXIT_UNAVAILABLE;
        } else if (problems > 0) {
            fprintf(stderr, "ingot migrate: %d applied migration(s) changed since they were applied\n",
                    problems);
            rc = EXIT_DATAERR;
        }
    } else if (migrate_up(m, stdout, err, sizeof err) < 0) {
        fprintf(stderr, "ingot migrate: %s\n", err);
        /* A lost connection is not the migration's fault. */
        unsigned e = mysql_errno(m);
        rc = e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST ? EXIT_UNAVAILABLE : EXIT_DATAERR;
    }
    mysql_close(m);
    mysql_library_end();
    config_deinit(&cfg);
    return rc;
}
