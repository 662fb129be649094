#include "db_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netname.h"
#include "url.h"

MYSQL *db_sync_connect(const char *url, long long timeout_ms, char *err, size_t errlen)
{
    struct db_dsn d;
    if (db_dsn_parse(url, &d, err, errlen) < 0)
        return NULL;
    MYSQL *m = mysql_init(NULL);
    if (!m)
        abort();
    unsigned secs = (unsigned)((timeout_ms + 999) / 1000);
    if (secs == 0)
        secs = 1;
    unsigned rw = secs < 30 ? 30 : secs;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(m, MYSQL_INIT_COMMAND, "SET time_zone='+00:00'");
    unsigned proto = d.socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    /* The address, not the name: the localhost names are loopback without
     * /etc/hosts, and a failed look-up says why (no resolv.conf). */
    char ip[64] = "localhost", why[400];
    if (!d.socket && netname_resolve_sync(d.host, ip, sizeof ip, why, sizeof why) < 0) {
        snprintf(err, errlen, "cannot connect to MariaDB at %s:%d: %s", d.host, d.port, why);
        mysql_close(m);
        db_dsn_deinit(&d);
        return NULL;
    }
    if (!mysql_real_connect(m, ip, d.user, d.password, d.database, (unsigned)d.port, d.socket,
                            CLIENT_MULTI_STATEMENTS | CLIENT_FOUND_ROWS)) {
        if (d.socket)
            snprintf(err, errlen, "cannot connect to MariaDB at %s as %s: %s", d.socket, d.user,
                     mysql_error(m));
        else
            snprintf(err, errlen, "cannot connect to MariaDB at %s:%d as %s: %s", d.host, d.port,
                     d.user, mysql_error(m));
        mysql_close(m);
        db_dsn_deinit(&d);
        return NULL;
    }
    db_dsn_deinit(&d);
    return m;
}

int db_sync_exec(MYSQL *m, const char *sql, char *err, size_t errlen)
{
    if (mysql_real_query(m, sql, (unsigned long)strlen(sql)) != 0) {
        snprintf(err, errlen, "%s", mysql_error(m));
        return -1;
    }
    int status;
    do {
        MYSQL_RES *res = mysql_store_result(m);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(m) != 0) {
            snprintf(err, errlen, "%s", mysql_error(m));
            return -1;
        }
        status = mysql_next_result(m);
    } while (status == 0);
    if (status > 0) {
        snprintf(err, errlen, "%s", mysql_error(m));
        return -1;
    }
    return 0;
}

MYSQL_RES *db_sync_query(MYSQL *m, const char *sql, char *err, size_t errlen)
{
    if (mysql_real_query(m, sql, (unsigned long)strlen(sql)) != 0) {
        snprintf(err, errlen, "%s", mysql_error(m));
        return NULL;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (!res)
        snprintf(err, errlen, "%s", mysql_errno(m) ? mysql_error(m) : "statement returned no rows");
    return res;
}

long long db_sync_scalar(MYSQL *m, const char *sql, char *err, size_t errlen)
{
    MYSQL_RES *res = db_sync_query(m, sql, err, errlen);
    if (!res)
        return -1;
    MYSQL_ROW row = mysql_fetch_row(res);
    long long v = -1;
    if (row && row[0])
        v = strtoll(row[0], NULL, 10);
    else
        snprintf(err, errlen, "no value");
    mysql_free_result(res);
    return v;
}
