/* Wiring shared by the long-running commands: config, runtime, the roles
 * asked for, the loop, then teardown in reverse. */
#include <curl/curl.h>
#include <errno.h>
#include <mysql.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cron.h"
#include "log.h"
#include "loop.h"
#include "roles.h"
#include "runtime.h"
#include "schedule.h"
#include "ops.h"
#include "serve.h"
#include "tlsca.h"
#include "url.h"
#include "version.h"
#include "work.h"

int cmd_roles_main(const struct cmd_def *def, int argc, char **argv, unsigned roles)
{
    struct config cfg;
    struct cmd_args a;
    config_init(&cfg);
    cmd_parse(def, argc, argv, NULL, &a, &cfg);
    if (a.npositional > 0) {
        fprintf(stderr, "ingot %s: unexpected argument %s\nsee `ingot %s --help`\n", def->name,
                a.positional[0], def->name);
        config_deinit(&cfg);
        return EXIT_USAGE;
    }
    cmd_load_config(def, &a, &cfg, true);
    cmd_warn_weak_secrets(&cfg);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || mysql_library_init(0, NULL, NULL) != 0) {
        log_error("cannot initialise libcurl or the MariaDB client library");
        config_deinit(&cfg);
        return EXIT_SOFTWARE;
    }
    log_route_libevent();
    char redacted[512], err[512];
    /* Outbound TLS (HTTP jobs, LLM providers, health probes) needs a CA
     * bundle: a missing one stops the process now, not at the first call. */
    struct tlsca ca;
    if (tlsca_resolve(cfg.ca_bundle, &ca, err, sizeof err) < 0) {
        log_error("%s", err);
        curl_global_cleanup();
        mysql_library_end();
        config_deinit(&cfg);
        return EXIT_CONFIG;
    }
    if (!ca.path)
        log_warn("CA_BUNDLE=none: outbound TLS is off (https HTTP jobs and LLM providers fail)");
    if (!cron_zoneinfo_present())
        log_warn("ZONEINFO_DIR %s does not exist: only UTC schedules work (set ZONEINFO_DIR "
                 "or ship zoneinfo)", cron_zoneinfo_dir());
    if (util_raise_nofile(err, sizeof err) < 0)
        log_warn("cannot raise the open-file limit: %s", strerror(errno));
    else if (*err)
        log_info("%s", err);
    log_redact_url(cfg.database_url, redacted, sizeof redacted);
    log_info("ingot %s (%s) starting %s; database %s; redis %s", ingot_version(), ingot_commit(),
             def->name, redacted, *cfg.redis_url ? "configured" : "not configured (degraded)");

    int rc = EXIT_OK;
    struct runtime rt;
    struct ops *ops = NULL;
    struct serve *srv = NULL;
    struct work *wrk = NULL;
    struct schedule *sch = NULL;
    if (runtime_init(&rt, &cfg, err, sizeof err) < 0) {
        log_error("%s", err);
        rc = EXIT_CONFIG;
        goto out_lib;
    }
    /* Every role answers probes and scrapes on PORT. */
    ops = ops_start(&rt, err, sizeof err);
    if (!ops) {
        log_error("%s", err);
        rc = EXIT_OSERR; /* cannot listen */
        goto out;
    }
    if (roles & ROLE_SERVE) {
        srv = serve_start(&rt, ops_httpd(ops), err, sizeof err);
        if (!srv) {
            log_error("%s", err);
            rc = EXIT_CONFIG;
            goto out;
        }
    }
    if (roles & ROLE_WORK) {
        wrk = work_start(&rt, err, sizeof err);
        if (!wrk) {
            log_error("%s", err);
            rc = EXIT_CONFIG;
            goto out;
        }
    }
    if (roles & ROLE_SCHEDULE) {
        sch = schedule_start(&rt, ops, err, sizeof err);
        if (!sch) {
            log_error("%s", err);
            rc = EXIT_CONFIG;
            goto out;
        }
    }
    rc = loop_run(rt.loop);
    log_info("stopped (exit %d)", rc);
out:
    /* Roles stop starting work (also when the loop ended for a fatal
     * reason), then the clients close and fail whatever is still pending. */
    if (rt.loop)
        loop_begin_drain(rt.loop);
    runtime_close(&rt);
    schedule_free(sch);
    work_free(wrk);
    serve_free(srv);
    ops_free(ops);
    runtime_deinit(&rt);
out_lib:
    curl_global_cleanup();
    mysql_library_end();
    config_deinit(&cfg);
    return rc;
}
