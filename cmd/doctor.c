#include <curl/curl.h>
#include <mysql.h>
#include <stdlib.h>

#include "cmd.h"
#include "doctor.h"
#include "log.h"

extern char **environ;

int cmd_doctor(int argc, char **argv)
{
    const struct cmd_def *def = cmd_find("doctor");
    struct config cfg;
    struct cmd_args a;
    bool json = false;
    const char *live = NULL;
    const struct cmd_flag flags[] = {{"json", false, NULL, &json},
                                     {"live", true, &live, NULL},
                                     {NULL, false, NULL, NULL}};
    config_init(&cfg);
    cmd_parse(def, argc, argv, flags, &a, &cfg);
    if (a.npositional) {
        fprintf(stderr, "ingot doctor: unexpected argument %s\n", a.positional[0]);
        config_deinit(&cfg);
        return EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (live) {
        rc = doctor_probe(live, 2000, stderr);
    } else {
        /* Unlike other commands, a bad config is a finding, not an exit. */
        char err[512];
        struct sbuf problems;
        sbuf_init(&problems);
        if (config_load_env_file(&cfg, a.env_file, a.env_file_given, err, sizeof err) < 0)
            sbuf_printf(&problems, "%s\n", err);
        config_load_environ(&cfg, environ);
        config_finalize(&cfg, true, &problems);
        log_setup(LOG_WARN, false);
        rc = doctor_run(&cfg, problems.data ? problems.data : "", json, stdout);
        sbuf_deinit(&problems);
        mysql_library_end();
    }
    curl_global_cleanup();
    config_deinit(&cfg);
    return rc;
}
