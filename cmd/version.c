#include <cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <hiredis.h>
#include <mysql.h>
#include <openssl/crypto.h>
#include <stdio.h>

#include "cmd.h"
#include "migrate.h"
#include "version.h"

int cmd_version(int argc, char **argv)
{
    struct config cfg;
    struct cmd_args a;
    config_init(&cfg);
    cmd_parse(cmd_find("version"), argc, argv, NULL, &a, &cfg);
    config_deinit(&cfg);
    printf("ingot %s (commit %s)\n", ingot_version(), ingot_commit());
    printf("schema version %d\n", migrate_required_version());
    printf("libevent %s, mariadb-connector-c %s, hiredis %d.%d.%d, %s, libcurl %s, cJSON %s\n",
           event_get_version(), mysql_get_client_info(), HIREDIS_MAJOR, HIREDIS_MINOR,
           HIREDIS_PATCH, OpenSSL_version(OPENSSL_VERSION), curl_version_info(CURLVERSION_NOW)->version,
           cJSON_Version());
    char rt[160];
    ingot_runtime(rt, sizeof rt);
    printf("%s build (%s)\n", ingot_linkage(), rt);
    return EXIT_OK;
}
