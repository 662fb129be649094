#include "log.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static struct {
    enum log_level level;
    bool json;
} log_state = {LOG_INFO, true};

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_setup(enum log_level level, bool json)
{
    log_state.level = level;
    log_state.json = json;
}

int log_parse_level(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < ARRAY_LEN(level_names); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -1;
}

bool log_enabled(enum log_level level)
{
    return level >= log_state.level && level < LOG_OFF;
}

bool log_is_json(void)
{
    return log_state.json;
}

static void emit(enum log_level level, const char *id, const char *fields, const struct sbuf *m)
{
    char ts[40];
    struct sbuf line;
    const struct sbuf msg = *m;
    time_iso8601(time_real_us(), ts, sizeof ts);

    sbuf_init(&line);
    if (log_state.json) {
        sbuf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
        sbuf_json_strn(&line, msg.data ? msg.data : "", msg.len);
        if (id) {
            sbuf_puts(&line, ",\"id\":");
            sbuf_json_str(&line, id);
        }
        if (fields && *fields) {
            sbuf_putc(&line, ',');
            sbuf_puts(&line, fields);
        }
        sbuf_puts(&line, "}\n");
    } else {
        sbuf_printf(&line, "%s %-5s %s", ts, level_names[level], msg.data ? msg.data : "");
        if (id)
            sbuf_printf(&line, " id=%s", id);
        if (fields && *fields)
            sbuf_printf(&line, " %s", fields);
        sbuf_putc(&line, '\n');
    }
    /* One write per line so concurrent processes do not interleave. */
    ssize_t w = write(STDERR_FILENO, line.data, line.len);
    (void)w;
    sbuf_deinit(&line);
}

/* Repeated warn and error lines (a database outage answers every request
 * with the same error) are limited per message: at most REPEAT_BURST a
 * second, then one "suppressed K similar lines" line when that message
 * next comes in a new second (or its slot is taken by another message).
 * Similar: equal once digits are left out (job ids, error numbers). */
#define REPEAT_SLOTS 64
#define REPEAT_BURST 5
#define REPEAT_WINDOW_MS 1000

static struct repeat {
    uint64_t hash;
    int64_t start_ms;
    unsigned long long suppressed;
    unsigned used;
    enum log_level level;
    char sample[160];
} repeats[REPEAT_SLOTS];

static uint64_t similar_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            continue;
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    }
    return h ? h : 1;
}

static void report_suppressed(struct repeat *r)
{
    if (!r->suppressed)
        return;
    struct sbuf m;
    sbuf_init(&m);
    sbuf_printf(&m, "suppressed %llu similar lines: %s", r->suppressed, r->sample);
    emit(r->level, NULL, NULL, &m);
    sbuf_deinit(&m);
    r->suppressed = 0;
}

/* false: drop this line (counted). */
static bool repeat_allow(enum log_level level, const struct sbuf *msg)
{
    uint64_t h = similar_hash(msg->data ? msg->data : "", msg->len);
    struct repeat *r = &repeats[h % REPEAT_SLOTS];
    int64_t now = time_mono_ms();
    if (r->hash != h) {
        report_suppressed(r);
        r->hash = h;
        r->start_ms = now;
        r->used = 0;
    } else if (now - r->start_ms >= REPEAT_WINDOW_MS) {
        report_suppressed(r);
        r->start_ms = now;
        r->used = 0;
    }
    if (r->used >= REPEAT_BURST) {
        r->suppressed++;
        return false;
    }
    if (!r->used) {
        r->level = level;
        snprintf(r->sample, sizeof r->sample, "%s", msg->data ? msg->data : "");
    }
    r->used++;
    return true;
}

void log_write(enum log_level level, const char *id, const char *fields, const char *fmt, ...)
{
    struct sbuf msg;
    va_list ap;
    sbuf_init(&msg);
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (level < LOG_WARN || repeat_allow(level, &msg))
        emit(level, id, fields, &msg);
    sbuf_deinit(&msg);
}

void log_redact_url(const char *url, char *out, size_t outlen)
{
    if (!outlen)
        return;
    out[0] = '\0';
    if (!url)
        return;
    struct sbuf b;
    sbuf_init(&b);
    const char *scheme_end = strstr(url, "://");
    const char *p = url;
    if (scheme_end) {
        const char *auth = scheme_end + 3;
        size_t authlen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < authlen; i++)
            if (auth[i] == '@')
                at = auth + i; /* the last '@' ends the userinfo */
        if (at) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            if (colon) {
                sbuf_append(&b, url, (size_t)(colon - url) + 1);
                sbuf_puts(&b, "***");
                p = at;
            }
        }
    }
    /* Query parameters named password/pass/key/token are masked as well. */
    const char *q = strchr(p, '?');
    if (!q) {
        sbuf_puts(&b, p);
    } else {
        sbuf_append(&b, p, (size_t)(q - p) + 1);
        q++;
        while (*q) {
            size_t len = strcspn(q, "&");
            const char *eq = memchr(q, '=', len);
            static const char *const masked[] = {"password", "pass", "key", "token", "secret"};
            bool mask = false;
            if (eq) {
                for (size_t i = 0; i < ARRAY_LEN(masked); i++)
                    if ((size_t)(eq - q) == strlen(masked[i]) &&
                        strncasecmp(q, masked[i], (size_t)(eq - q)) == 0)
                        mask = true;
            }
            if (mask) {
                sbuf_append(&b, q, (size_t)(eq - q) + 1);
                sbuf_puts(&b, "***");
            } else {
                sbuf_append(&b, q, len);
            }
            q += len;
            if (*q == '&') {
                sbuf_putc(&b, '&');
                q++;
            }
        }
    }
    snprintf(out, outlen, "%s", b.data ? b.data : "");
    sbuf_deinit(&b);
}

bool log_limit_allow(struct log_limit *l, unsigned long long *dropped)
{
    int64_t now = time_mono_ms();
    *dropped = 0;
    if (l->start_ms == 0 || now - l->start_ms >= l->window_ms) {
        l->start_ms = now;
        l->used = 0;
    }
    if (l->used >= l->burst) {
        l->dropped++;
        return false;
    }
    l->used++;
    *dropped = l->dropped;
    l->dropped = 0;
    return true;
}

static struct log_limit libevent_limit = LOG_LIMIT_INIT(10000, 10);

static void libevent_log_cb(int severity, const char *msg)
{
    enum log_level lvl = severity >= EVENT_LOG_ERR    ? LOG_ERROR
                         : severity >= EVENT_LOG_WARN ? LOG_WARN
                         : severity >= EVENT_LOG_MSG  ? LOG_INFO
                                                      : LOG_DEBUG;
    unsigned long long dropped;
    if (!log_enabled(lvl) || !log_limit_allow(&libevent_limit, &dropped))
        return;
    if (dropped)
        log_write(lvl, NULL, NULL, "libevent: %s (%llu similar messages suppressed)", msg, dropped);
    else
        log_write(lvl, NULL, NULL, "libevent: %s", msg);
}

void log_route_libevent(void)
{
    event_set_log_callback(libevent_log_cb);
}
