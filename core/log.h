/* log: one JSON object a line on stderr (or text for people).
 * The level is checked before anything is formatted. Callers never pass
 * secrets; URLs that may carry credentials go through log_redact_url(). */
#ifndef INGOT_LOG_H
#define INGOT_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/* Process-wide: logging is reachable from every module, so its two settings
 * are the one piece of state kept outside the runtime struct. */
void log_setup(enum log_level level, bool json);
int log_parse_level(const char *s, enum log_level *out) ATTR_WUR;
bool log_enabled(enum log_level level);
bool log_is_json(void);

/* id: request or job id, or NULL. fields: extra JSON members already
 * formatted as `"k":v,"k2":v2` (no braces), or NULL. */
void log_write(enum log_level level, const char *id, const char *fields,
               const char *fmt, ...) ATTR_FMT(4, 5);

#define LOG_AT(lvl, id, fields, ...)                                          \
    do {                                                                       \
        if (log_enabled(lvl))                                                  \
            log_write(lvl, id, fields, __VA_ARGS__);                           \
    } while (0)
#define log_debug(...) LOG_AT(LOG_DEBUG, NULL, NULL, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_INFO, NULL, NULL, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_WARN, NULL, NULL, __VA_ARGS__)
#define log_error(...) LOG_AT(LOG_ERROR, NULL, NULL, __VA_ARGS__)

/* Rate limiting for lines a flood could repeat (accept errors, libevent's
 * own messages): at most burst lines per window_ms; the first line allowed
 * after some were dropped learns how many through *dropped. */
struct log_limit {
    int64_t window_ms;
    unsigned burst;
    int64_t start_ms;
    unsigned used;
    unsigned long long dropped;
};
#define LOG_LIMIT_INIT(window_ms, burst) {(window_ms), (burst), 0, 0, 0}
bool log_limit_allow(struct log_limit *l, unsigned long long *dropped);

/* Routes libevent's own messages (e.g. "Error from accept() call") into
 * this log, rate limited, instead of raw lines on stderr. */
void log_route_libevent(void);

/* Copies url into out with any password replaced by "***" (and a
 * password=... query parameter too). Always NUL-terminates. */
void log_redact_url(const char *url, char *out, size_t outlen);

#endif
