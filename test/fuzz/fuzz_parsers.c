/* libFuzzer target for every parser of untrusted text in core/: durations,
 * sizes, integers, URLs, the two DSNs, log redaction, .env files and the
 * whole settings validation. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cron.h"
#include "log.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    long long v;
    char err[256], out[512];
    (void)config_parse_duration_ms(s, &v);
    (void)config_parse_size(s, &v);
    (void)config_parse_int(s, &v);
    struct url u;
    if (url_parse(s, &u, err, sizeof err) == 0) {
        char *q = url_query_get(&u, "socket");
        free(q);
        url_deinit(&u);
    }
    struct db_dsn d;
    if (db_dsn_parse(s, &d, err, sizeof err) == 0)
        db_dsn_deinit(&d);
    struct redis_dsn r;
    if (redis_dsn_parse(s, &r, err, sizeof err) == 0)
        redis_dsn_deinit(&r);
    log_redact_url(s, out, sizeof out);
    (void)url_is_cleartext_remote(s);
    struct cron cr;
    if (cron_parse(s, &cr, err, sizeof err) == 0) /* and the next tick must come after */
        if (cron_next(&cr, "UTC", 1700000000) == 1700000000)
            abort();
    (void)cron_tz_valid(s);

    struct config c;
    config_init(&c);
    FILE *f = fmemopen((void *)data, size, "r");
    if (f) {
        (void)config_load_env_stream(&c, f, "fuzz.env", err, sizeof err);
        fclose(f);
    }
    struct sbuf errs;
    sbuf_init(&errs);
    (void)config_finalize(&c, true, &errs);
    sbuf_deinit(&errs);
    config_deinit(&c);
    free(s);
    return 0;
}
