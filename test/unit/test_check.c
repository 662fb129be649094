/* Checked conversions, UTF-8/NUL validation of text and JSON, dates. */
#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

#include "../testhelp.h"
#include "check.h"
#include "check_json.h"
#include "config_parse.h"
#include "dberr.h"
#include "job.h"

static void test_parse(void)
{
    long long v = 7;
    test_cond("plain", check_parse_ll("42", 0, 100, &v) == 0 && v == 42);
    test_cond("negative", check_parse_ll("-5", -10, 10, &v) == 0 && v == -5);
    test_cond("plus sign", check_parse_ll("+5", -10, 10, &v) == 0 && v == 5);
    v = 7;
    test_cond("above range refused", check_parse_ll("101", 0, 100, &v) < 0 && v == 7);
    test_cond("below range refused", check_parse_ll("-1", 0, 100, &v) < 0);
    test_cond("overflow refused", check_parse_ll("99999999999999999999", 0, LLONG_MAX, &v) < 0);
    test_cond("LLONG_MAX", check_parse_ll("9223372036854775807", 0, LLONG_MAX, &v) == 0 && v == LLONG_MAX);
    test_cond("LLONG_MAX+1 refused", check_parse_ll("9223372036854775808", LLONG_MIN, LLONG_MAX, &v) < 0);
    test_cond("LLONG_MIN", check_parse_ll("-9223372036854775808", LLONG_MIN, LLONG_MAX, &v) == 0 && v == LLONG_MIN);
    test_cond("trailing junk refused", check_parse_ll("12x", 0, 100, &v) < 0);
    test_cond("leading space refused", check_parse_ll(" 12", 0, 100, &v) < 0);
    test_cond("trailing space refused", check_parse_ll("12 ", 0, 100, &v) < 0);
    test_cond("empty refused", check_parse_ll("", 0, 100, &v) < 0);
    test_cond("sign alone refused", check_parse_ll("-", 0, 100, &v) < 0);
    test_cond("NULL refused", check_parse_ll(NULL, 0, 100, &v) < 0);
    test_cond("hex refused", check_parse_ll("0x10", 0, 100, &v) < 0);
    test_cond("saturates high", check_parse_ll_sat("99999999999999999999", 0, 86400, &v) == 0 && v == 86400);
    test_cond("saturates low", check_parse_ll_sat("-99999999999999999999", -3, 86400, &v) == 0 && v == -3);
    test_cond("saturating keeps in-range", check_parse_ll_sat("17", 0, 86400, &v) == 0 && v == 17);
    test_cond("saturating refuses junk", check_parse_ll_sat("1e3", 0, 86400, &v) < 0);
    unsigned long long u;
    test_cond("hex ull", check_parse_ull("ff", 16, ULLONG_MAX, &u) == 0 && u == 255);
    test_cond("ull overflow refused", check_parse_ull("fffffffffffffffff", 16, ULLONG_MAX, &u) < 0);
    test_cond("ull above hi refused", check_parse_ull("11", 10, 10, &u) < 0);
    test_cond("ull sign refused", check_parse_ull("-1", 10, 10, &u) < 0);
}

static void test_double(void)
{
    long long v;
    test_cond("whole", check_double_ll(12.0, 0, 100, &v) && v == 12);
    test_cond("fraction refused", !check_double_ll(1.5, 0, 100, &v));
    test_cond("huge refused", !check_double_ll(1e300, LLONG_MIN, LLONG_MAX, &v));
    test_cond("2^63 refused", !check_double_ll(9223372036854775808.0, LLONG_MIN, LLONG_MAX, &v));
    test_cond("-huge refused", !check_double_ll(-1e300, LLONG_MIN, LLONG_MAX, &v));
    test_cond("NaN refused", !check_double_ll(NAN, LLONG_MIN, LLONG_MAX, &v));
    test_cond("inf refused", !check_double_ll(INFINITY, 0, LLONG_MAX, &v));
    test_cond("range", !check_double_ll(101, 0, 100, &v) && !check_double_ll(-1, 0, 100, &v));
}

static void test_ms(void)
{
    test_cond("add", check_ms_add(1, 2) == 3);
    test_cond("add saturates", check_ms_add(LLONG_MAX - 1, 5) == LLONG_MAX);
    test_cond("add saturates low", check_ms_add(LLONG_MIN + 1, -5) == LLONG_MIN);
    test_cond("mul", check_ms_mul(-3, 1000) == -3000);
    test_cond("mul saturates", check_ms_mul(99999999999999999LL, 1000) == LLONG_MAX);
    test_cond("mul saturates negative", check_ms_mul(LLONG_MIN, 2) == LLONG_MIN);
    test_cond("mul by zero", check_ms_mul(LLONG_MIN, 0) == 0);
}

/* util_utf8_valid's eight-byte ASCII steps agree with the sequence
 * check at every offset and length. */
static void test_utf8_words(void)
{
    const char *parts[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff", "\xc0\xaf", "\xe2\x82",
                           "\xed\xa0\x80", "\x80", "abcdefghijk"};
    char t[64];
    bool ok = true;
    unsigned seed = 7;
    for (int it = 0; it < 20000; it++) {
        size_t n = 0;
        while (n < 40) {
            seed = seed * 1103515245u + 12345u;
            const char *p = parts[(seed >> 16) % (sizeof parts / sizeof parts[0])];
            size_t l = strlen(p);
            if (n + l > sizeof t)
                break;
            memcpy(t + n, p, l);
            n += l;
        }
        for (size_t m = 0; m <= n; m++) { /* every prefix: every cut */
            bool want = true;
            for (size_t i = 0; i < m;) {
                size_t k = util_utf8_seq(t + i, m - i);
                if (!k) {
                    want = false;
                    break;
                }
                i += k;
            }
            ok = ok && util_utf8_valid(t, m) == want;
        }
    }
    test_cond("util_utf8_valid agrees with util_utf8_seq", ok);
    test_cond("long ASCII then a bad byte", !util_utf8_valid("abcdefghijklmnop\xff", 17));
    test_cond("a bad byte inside a word", !util_utf8_valid("abc\xff" "efghijklmnop", 17));
    test_cond("a sequence across a word", util_utf8_valid("abcdefg\xe2\x82\xacijklmnop", 19));
    test_cond("cut at the end", !util_utf8_valid("abcdefghijklmno\xe2\x82", 17));
}

/* The per-request appenders print what printf prints. */
static void test_sbuf_numbers(void)
{
    struct sbuf b;
    sbuf_init(&b);
    const uint64_t us[] = {0, 1, 9, 10, 99, 100, 1234567890, UINT64_MAX};
    const int64_t is[] = {0, -1, 1, -10, 42, INT64_MAX, INT64_MIN};
    bool ok = true;
    char want[64];
    for (size_t i = 0; i < sizeof us / sizeof us[0]; i++) {
        sbuf_reset(&b);
        sbuf_puts(&b, "x=");
        sbuf_append_u64(&b, us[i]);
        snprintf(want, sizeof want, "x=%llu", (unsigned long long)us[i]);
        ok = ok && strcmp(b.data, want) == 0 && b.len == strlen(want);
    }
    test_cond("sbuf_append_u64 as %llu", ok);
    ok = true;
    for (size_t i = 0; i < sizeof is / sizeof is[0]; i++) {
        sbuf_reset(&b);
        sbuf_append_i64(&b, is[i]);
        snprintf(want, sizeof want, "%lld", (long long)is[i]);
        ok = ok && strcmp(b.data, want) == 0 && b.len == strlen(want);
    }
    test_cond("sbuf_append_i64 as %lld", ok);
    /* sbuf_append_fixed: as %.*f for usage rows (cost, latency) */
    const double fs[] = {0, 1, 0.000012, 0.0000125, 12.3456789012, 1e-10, 123456.789, 8.999e9, 3.25e-7};
    ok = true;
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        for (int dec = 0; dec <= 9; dec += 3) {
            sbuf_reset(&b);
            sbuf_append_fixed(&b, fs[i], dec);
            snprintf(want, sizeof want, "%.*f", dec, fs[i]);
            ok = ok && strcmp(b.data, want) == 0;
        }
    }
    test_cond("sbuf_append_fixed as %.*f for usual values", ok);
    const double odd[] = {-1.5, 9e9, 1e300, 0.0 / 0.0};
    ok = true;
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        char big_want[400];
        sbuf_reset(&b);
        sbuf_append_fixed(&b, odd[i], 3);
        snprintf(big_want, sizeof big_want, "%.3f", odd[i]);
        ok = ok && strcmp(b.data, big_want) == 0;
    }
    test_cond("sbuf_append_fixed falls back to printf (negative, huge, NaN)", ok);
    /* Random costs: never more than one unit of the last digit from printf. */
    unsigned long long seed = 88172645463325252ULL;
    size_t far = 0, differ = 0;
    for (int i = 0; i < 200000; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        double v = (double)(seed >> 11) / (double)(1ULL << 53) * (i % 2 ? 10.0 : 1e6);
        sbuf_reset(&b);
        sbuf_append_fixed(&b, v, 9);
        snprintf(want, sizeof want, "%.9f", v);
        if (strcmp(b.data, want) != 0) {
            differ++;
            double d = strtod(b.data, NULL) - strtod(want, NULL);
            if (d > 1.5e-9 || d < -1.5e-9)
                far++;
        }
    }
    if (differ)
        printf("  sbuf_append_fixed: %zu of 200k random values differ from %%.9f in the last digit\n", differ);
    test_cond("sbuf_append_fixed within a unit of %.9f on 200k random values", far == 0);
    /* sbuf_printf: in the room there is, and past it (formatted again) */
    sbuf_deinit(&b);
    sbuf_printf(&b, "%d-%s", 7, "a");
    test_cond("sbuf_printf into an empty buffer", strcmp(b.data, "7-a") == 0 && b.len == 3);
    char big[300];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sbuf_printf(&b, "[%s]", big);
    test_cond("sbuf_printf past the room", b.len == 3 + 301 && b.data[3] == '[' && b.data[b.len - 1] == ']' &&
                                               b.data[b.len] == '\0');
    sbuf_printf(&b, "%s", "");
    char small[4] = "zzz";
    test_cond("util_strcpy fits", util_strcpy(small, sizeof small, "ab") == 2 && strcmp(small, "ab") == 0);
    test_cond("util_strcpy cuts", util_strcpy(small, sizeof small, "abcdef") == 6 && strcmp(small, "abc") == 0);
    test_cond("util_strcpy exact", util_strcpy(small, sizeof small, "xyz") == 3 && strcmp(small, "xyz") == 0);
    test_cond("util_strcpy empty", util_strcpy(small, sizeof small, "") == 0 && small[0] == '\0');
    char j[8];
    util_join(j, sizeof j, "ab", '/', "cd");
    test_cond("util_join", strcmp(j, "ab/cd") == 0);
    util_join(j, sizeof j, "abcde", '/', "xyz");
    test_cond("util_join cuts as snprintf", strcmp(j, "abcde/x") == 0);
    util_join(j, sizeof j, "abcdef", '/', "xyz");
    test_cond("util_join cut at the separator", strcmp(j, "abcdef/") == 0);
    util_join(j, sizeof j, "abcdefghij", '/', "xyz");
    test_cond("util_join cut in the first", strcmp(j, "abcdefg") == 0);
    test_cond("util_strcpy no room", util_strcpy(small, 0, "q") == 1 && small[0] == '\0');
    test_cond("sbuf_printf of nothing", b.len == 304 && b.data[304] == '\0');
    sbuf_deinit(&b);
}

/* sbuf_printf formats %s %c %d %i %u (l, ll, z) itself: byte for byte what
 * snprintf prints, and anything else (flags, width, precision, %x, %f)
 * still through vsnprintf. */
static int printf_bad;
#define SAME(...)                                                                    \
    do {                                                                             \
        char want_[512];                                                             \
        int n_ = snprintf(want_, sizeof want_, __VA_ARGS__);                         \
        struct sbuf b_;                                                              \
        sbuf_init(&b_);                                                              \
        sbuf_puts(&b_, "pre:");                                                      \
        sbuf_printf(&b_, __VA_ARGS__);                                               \
        printf_bad += n_ < 0 || b_.len != (size_t)n_ + 4 ||                          \
                      memcmp(b_.data + 4, want_, (size_t)n_ + 1) != 0;               \
        sbuf_deinit(&b_);                                                            \
    } while (0)

static void test_sbuf_printf_plain(void)
{
    const long long ll[] = {0, 1, -1, 9, -10, 99, 100, INT_MAX, INT_MIN, LLONG_MAX, LLONG_MIN, 1234567890123LL};
    for (size_t i = 0; i < sizeof ll / sizeof ll[0]; i++) {
        long long v = ll[i];
        SAME("%d", (int)v);
        SAME("x%iy", (int)v);
        SAME("%u|", (unsigned)v);
        SAME("%ld %lu", (long)v, (unsigned long)v);
        SAME("%lld,%llu", v, (unsigned long long)v);
        SAME("%zu %zd", (size_t)v, (ssize_t)v);
        SAME("UPDATE jobs SET state = %d, run_at = TIMESTAMPADD(MICROSECOND, %lld, NOW(6)) WHERE id = %llu",
             (int)v, v / 3, (unsigned long long)v);
    }
    SAME("%s", "");
    SAME("%s%s%s", "a", "", "bc");
    SAME("100%% %s=%d%%", "k", 5);
    SAME("%c%c%c", 'a', 0, 'z');
    SAME("%c", 0xe9);
    SAME("%%");
    SAME("no conversion at all");
    SAME("{\"object\":\"job.attempt\",\"attempt\":%s,\"status\":", "3");
    test_cond("sbuf_printf plain conversions as snprintf", printf_bad == 0);
    printf_bad = 0;
    SAME("%5d|%-5s|%05u", 42, "ab", 7u);
    SAME("%.3f %x %X %o %p", 1.0005, 255u, 255u, 8u, (void *)0);
    SAME("%.*s %hd %hhu %lx %zx %jd", 2, "abc", (short)-3, (unsigned char)250, 255ul, (size_t)255, (intmax_t)-9);
    SAME("%+d % d %#x %e %g", 5, 5, 255u, 1.5, 2.25);
    test_cond("sbuf_printf other formats through vsnprintf", printf_bad == 0);
    /* time_iso8601 and util_put_uint, as the snprintf they replace */
    int bad = 0;
    const int64_t fixed[] = {0, 999, 1000, 86399999999LL, 951782400000000LL /* 2000-02-29 */,
                             253402300799999999LL /* 9999-12-31 */, 253402300800000000LL, -1};
    for (int i = 0; i < 2000; i++) {
        int64_t us = i < 8 ? fixed[i] : (int64_t)(((uint64_t)rand() << 31 ^ (uint64_t)rand()) % 4102444800000000ULL);
        char got[80], want[80];
        time_iso8601(us, got, sizeof got);
        time_t secs = (time_t)(us / 1000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((us / 1000) % 1000));
        bad += strcmp(got, want) != 0;
    }
    test_cond("time_iso8601 as its snprintf (2000 instants, 0, 9999-12-31, 10000, negative)", bad == 0);
    char num[24];
    *util_put_uint(num, 7, 3) = '\0';
    bool same = strcmp(num, "007") == 0;
    *util_put_uint(num, 4294967295u, 2) = '\0';
    same = same && strcmp(num, "4294967295") == 0;
    *util_put_uint(num, 0, 1) = '\0';
    test_cond("util_put_uint pads, never cuts", same && strcmp(num, "0") == 0);
}

static void test_utf8(void)
{
    test_cond("ascii", check_utf8("abc", 3));
    test_cond("2-4 byte", check_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    test_cond("lone continuation", !check_utf8("\x80", 1));
    test_cond("0xff", !check_utf8("a\xff", 2));
    test_cond("overlong /", !check_utf8("\xc0\xaf", 2));
    test_cond("overlong 3-byte", !check_utf8("\xe0\x80\xaf", 3));
    test_cond("surrogate", !check_utf8("\xed\xa0\x80", 3));
    test_cond("above U+10FFFF", !check_utf8("\xf4\x90\x80\x80", 4));
    test_cond("cut off", !check_utf8("\xe2\x82", 2));
    test_cond("NUL is UTF-8", check_utf8("a\0b", 3));
    test_cond("but not text", !check_text("a\0b", 3));
    test_cond("text", check_text("caf\xc3\xa9", 5));
}

static void test_dates(void)
{
    test_cond("Feb 2030 has 28", check_days_in_month(2030, 2) == 28);
    test_cond("Feb 2028 has 29", check_days_in_month(2028, 2) == 29);
    test_cond("Feb 2100 has 28", check_days_in_month(2100, 2) == 28);
    test_cond("Feb 2000 has 29", check_days_in_month(2000, 2) == 29);
    test_cond("April has 30", check_days_in_month(2030, 4) == 30 && !check_date(2030, 4, 31));
    test_cond("month 13", check_days_in_month(2030, 13) == 0 && !check_date(2030, 13, 1));
    test_cond("day 0", !check_date(2030, 1, 0));
    test_cond("2030-02-30", !check_date(2030, 2, 30));
    char out[40];
    test_cond("run_at 2030-02-30 refused", job_parse_time("2030-02-30T00:00:00Z", out, sizeof out, NULL) < 0);
    test_cond("run_at 2030-02-29 refused", job_parse_time("2030-02-29T00:00:00Z", out, sizeof out, NULL) < 0);
    test_cond("run_at 2028-02-29 ok",
              job_parse_time("2028-02-29T12:00:00Z", out, sizeof out, NULL) == 0 && strcmp(out, "2028-02-29 12:00:00.000000") == 0);
    test_cond("run_at 2100-02-29 refused", job_parse_time("2100-02-29T00:00:00Z", out, sizeof out, NULL) < 0);
    test_cond("run_at 2030-04-31 refused", job_parse_time("2030-04-31T00:00:00Z", out, sizeof out, NULL) < 0);
    test_cond("run_at 2030-12-31 ok", job_parse_time("2030-12-31T23:59:59Z", out, sizeof out, NULL) == 0);
    test_cond("hour 24 refused", job_parse_time("2030-01-01T24:00:00Z", out, sizeof out, NULL) < 0);
    test_cond("offset hour 24 refused", job_parse_time("2030-01-01T00:00:00+24:00", out, sizeof out, NULL) < 0);
    test_cond("offset minute 60 refused", job_parse_time("2030-01-01T00:00:00+01:60", out, sizeof out, NULL) < 0);
    test_cond("offset crosses into a leap day",
              job_parse_time("2028-03-01T00:30:00+01:00", out, sizeof out, NULL) == 0 && strcmp(out, "2028-02-29 23:30:00.000000") == 0);
    test_cond("year 0000 refused", job_parse_time("0000-01-01T00:00:00Z", out, sizeof out, NULL) < 0);
}

static void expect_json(const char *json, int rc_want, const char *path_want)
{
    char path[128] = "x", why[96] = "";
    int rc = check_json_text(json, strlen(json), path, sizeof path, why, sizeof why);
    bool ok = rc == rc_want && (rc == 0 || strcmp(path, path_want) == 0);
    if (!ok)
        printf("  %s: got rc %d path '%s' (%s)\n", json, rc, path, why);
    test_cond(json, ok);
}

static void test_json_text(void)
{
    expect_json("{\"a\":\"b\",\"c\":[1,\"\\u00e9\",{\"d\":null}]}", 0, "");
    expect_json("{\"payload\":{\"url\":\"http://h/\\u0000x\"}}", -1, "payload.url");
    expect_json("{\"payload\":{\"url\":\"http://h/\\u0000x\"}}", -1, "payload.url");
    expect_json("{\"idempotency_key\":\"a\\u0000b\"}", -1, "idempotency_key");
    expect_json("{\"idempotency_key\":\"a\\\\u0000b\"}", 0, ""); /* an escaped backslash, then text */
    expect_json("{\"metadata\":{\"x\":{\"y\":\"\\u0000\"}}}", -1, "metadata.x.y");
    expect_json("{\"metadata\":{\"a\\u0000b\":1}}", -1, "metadata");
    expect_json("{\"metadata\":{\"k\":1,\"bad\xff\":1}}", -1, "metadata");
    expect_json("[{\"kind\":\"http\"},{\"payload\":{\"body\":\"\xc3\x28\"}}]", -1, "[1].payload.body");
    expect_json("{\"jobs\":[{},{},{\"queue\":\"q\\u0000\"}]}", -1, "jobs[2].queue");
    expect_json("{\"a\":[[1,2],[3,\"\xed\xa0\x80\"]]}", -1, "a[1][1]");
    expect_json("{\"a\":\"\\ud83d\\ude00\"}", 0, "");           /* a valid surrogate pair */
    expect_json("{\"a\":\"\\ud83d\"}", -1, "a");                 /* a lone high surrogate */
    expect_json("{\"a\":\"\\ude00x\"}", -1, "a");                /* a lone low surrogate */
    expect_json("{\"timezone\":\"UTC\\u0000x\"}", -1, "timezone");
    expect_json("{\"a\":{\"b\":1},\"c\":\"\\u0000\"}", -1, "c"); /* the path pops back */
    char raw[] = "{\"a\":\"x\0y\"}";
    char path[64], why[64];
    test_cond("a raw NUL byte", check_json_text(raw, sizeof raw - 1, path, sizeof path, why, sizeof why) < 0 &&
                                    strcmp(path, "a") == 0);
    test_cond("cut-off text does not read past its end",
              check_json_text("{\"a\":\"\\u00", 10, path, sizeof path, why, sizeof why) < 0);
    /* deeper than the walker tracks: still checked, named by a shallower path */
    char deep[400];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    memcpy(deep + n, "\"\\u0000\"", 8);
    n += 8;
    for (int i = 0; i < 100; i++)
        deep[n++] = ']';
    test_cond("deep nesting", check_json_text(deep, n, path, sizeof path, why, sizeof why) < 0);
}

/* Numbers that a double (cJSON) cannot carry exactly are refused. */
static void test_json_numbers(void)
{
    expect_json("{\"a\":1,\"b\":-2,\"c\":1.5,\"d\":1e300,\"e\":-0,\"f\":0.1}", 0, "");
    expect_json("{\"payload\":{\"body\":{\"order_id\":1234567890123456789}}}", -1, "payload.body.order_id");
    expect_json("{\"a\":999999999999999}", 0, "");            /* 15 digits: always exact */
    expect_json("{\"a\":-999999999999999}", 0, "");
    expect_json("{\"a\":9007199254740993}", -1, "a");         /* 2^53 + 1 */
    expect_json("{\"a\":-9007199254740993}", -1, "a");
    expect_json("{\"a\":10000000000000000}", -1, "a");        /* 17 digits */
    expect_json("{\"a\":00000000000000000001}", 0, "");       /* leading zeros are no digits */
    expect_json("{\"metadata\":{\"x\":[1,1e400]}}", -1, "metadata.x[1]");
    expect_json("{\"a\":-1e400}", -1, "a");
    expect_json("{\"a\":1E+400}", -1, "a");
    expect_json("{\"a\":1e-400}", 0, "");                     /* underflow is a finite 0 */
    expect_json("[true,false,null,12345678901234567890]", -1, "[3]");
    expect_json("{\"s\":\"12345678901234567890\"}", 0, "");  /* as a string: fine */
    /* Between: accepted exactly when cJSON (which prints what is stored)
     * gives the same number back. 1.7.15 prints 2^53 - 1 as
     * 9.00719925474099e+15, 0.30000000000000004 as 0.3. */
    static const char *const edge[] = {"9007199254740991", "9007199254740992", "-9007199254740991",
                                       "1234567890123456", "4503599627370497", "0.30000000000000004",
                                       "0.1", "12.99", "1.7976931348623157e308", "5e-324", "123456789.123456789",
                                       "1e-299", "1.5e300", "-1E+299", "9.99999999999999e299", "123456789012345.0",
                                       "0.000000000000001", "-0.0", "1E5", "1e+0299", "2.2250738585072014e-308",
                                       "4.9e-324", "1e-310", "0.30000000000000004e0", "999999999999999.9"};
    int refused = 0;
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        char json[80], path[64], why[128];
        snprintf(json, sizeof json, "[%s]", edge[i]);
        cJSON *j = cJSON_Parse(json);
        char *out = cJSON_PrintUnformatted(j);
        bool kept = out && strtod(out + 1, NULL) == strtod(edge[i], NULL);
        bool ok = (check_json_text(json, strlen(json), path, sizeof path, why, sizeof why) == 0) == kept;
        if (!ok)
            printf("  %s: cJSON gives %s, walker says %s\n", edge[i], out ? out : "?", why[0] ? why : "fine");
        refused += !kept;
        test_cond(edge[i], ok);
        cJSON_free(out);
        cJSON_Delete(j);
    }
    test_cond("cJSON 1.7.15 loses some of these (the check is needed)", refused > 0);
}

/* A key twice in one object is refused at any depth, escapes decoded. */
static void test_json_dup_keys(void)
{
    expect_json("{\"kind\":\"http\",\"kind\":\"llm.chat\"}", -1, "kind");
    expect_json("{\"payload\":{\"url\":\"http://a/\",\"url\":\"http://b/\"}}", -1, "payload.url");
    expect_json("{\"a\":{\"k\":1},\"b\":{\"k\":1}}", 0, "");       /* other objects */
    expect_json("[{\"k\":1},{\"k\":2}]", 0, "");
    expect_json("{\"a\":{\"b\":{\"k\":1}},\"k\":2}", 0, "");        /* inner keys are popped */
    expect_json("[{\"x\":{\"y\":[{\"z\":1,\"z\":2}]}}]", -1, "[0].x.y[0].z");
    expect_json("{\"url\":1,\"\\u0075rl\":2}", -1, "url");           /* the same key escaped */
    expect_json("{\"a\\nb\":1,\"a\\u000ab\":2}", -1, "");          /* named by its object */
    expect_json("{\"\":1,\"\":2}", -1, "");
    expect_json("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", -1, "\xf0\x9f\x98\x80");
    expect_json("{\"ab\":1,\"a\":2,\"b\":3}", 0, "");
    /* large objects: sorted when they close */
    char big[4096];
    size_t n = 0;
    big[n++] = '{';
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    snprintf(big + n, sizeof big - n, "}");
    expect_json(big, 0, "");
    snprintf(big + n, sizeof big - n, ",\"k150\":1}");
    expect_json(big, -1, "k150");
}

/* Past the walker's stack-held sizes (frames, keys) and its path's bound. */
static void test_json_sizes(void)
{
    char t[4096];
    size_t n = 0;
    for (int i = 0; i < 40; i++) /* 40 open objects: more frames than held on the stack */
        n += (size_t)snprintf(t + n, sizeof t - n, "{\"a\":");
    n += (size_t)snprintf(t + n, sizeof t - n, "{\"x\":\"\\u0000\"}");
    for (int i = 0; i < 40; i++)
        t[n++] = '}';
    t[n] = '\0';
    char want[128];
    size_t w = 0;
    for (int i = 0; i < 40; i++)
        w += (size_t)snprintf(want + w, sizeof want - w, "%sa", i ? "." : "");
    snprintf(want + w, sizeof want - w, ".x");
    expect_json(t, -1, want);
    /* a key longer than a path carries: named by its object */
    n = (size_t)snprintf(t, sizeof t, "{\"o\":{\"");
    memset(t + n, 'k', 250);
    n += 250;
    snprintf(t + n, sizeof t - n, "\":\"\\u0000\"}}");
    expect_json(t, -1, "o");
    expect_json("{\"a\":[0,1,2,3,4,5,6,7,8,9,10,{\"b\":\"\\u0000\"}]}", -1, "a[11].b");
    /* 20 keys (more than held on the stack), a duplicate spelled with an escape */
    n = 0;
    t[n++] = '{';
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(t + n, sizeof t - n, "\"k%d\":%d,", i, i);
    snprintf(t + n, sizeof t - n, "\"\\u006b5\":1}");
    expect_json(t, -1, "k5");
    t[n - 1] = '}';
    t[n] = '\0';
    expect_json(t, 0, "");
}

static void test_config_values(void)
{
    long long v;
    test_cond("env int overflow refused", config_parse_int("99999999999999999999", &v) < 0);
    test_cond("env int", config_parse_int("-12", &v) == 0 && v == -12);
    test_cond("env int junk refused", config_parse_int("12abc", &v) < 0);
    test_cond("duration fraction", config_parse_duration_ms("1.5s", &v) == 0 && v == 1500);
    test_cond("duration compound", config_parse_duration_ms("1h30m", &v) == 0 && v == 5400000);
    /* strtod took these: hex, exponents */
    test_cond("duration hex refused", config_parse_duration_ms("0x10s", &v) < 0);
    test_cond("duration exponent refused", config_parse_duration_ms("1e3s", &v) < 0);
    test_cond("duration huge refused", config_parse_duration_ms("99999999999999999999999d", &v) < 0);
    test_cond("size", config_parse_size("2kb", &v) == 0 && v == 2048);
    test_cond("size exponent refused", config_parse_size("1e3kb", &v) < 0);
    test_cond("size huge refused", config_parse_size("99999999999gb", &v) < 0);
}

static void test_dberr(void)
{
    char p[96];
    test_cond("too long is the request's", dberr_is_value(1406) && dberr_is_value(1366) && dberr_is_value(1264));
    test_cond("a deadlock is not", !dberr_is_value(1213) && !dberr_is_value(2013) && !dberr_is_value(0));
    test_cond("a statement too large is the request's (413)", dberr_is_too_large(1153) && dberr_is_too_large(1301));
    test_cond("  not a value error, nor others too large", !dberr_is_value(1153) && !dberr_is_too_large(1406) &&
                                                              !dberr_is_too_large(2006));
    test_cond("a lost lock conflict (deadlock, lock wait timeout) may be sent again",
              dberr_is_lost_lock(1213) && dberr_is_lost_lock(1205));
    test_cond("  nothing else", !dberr_is_lost_lock(0) && !dberr_is_lost_lock(1062) && !dberr_is_lost_lock(2013));
    dberr_param("Data too long for column 'callback_url' at row 1", "", p, sizeof p);
    test_streq("quoted column", p, "callback_url");
    dberr_param("Incorrect string value: '\\xFF' for column `ingot`.`jobs`.`group_key` at row 3", "[", p, sizeof p);
    test_streq("backquoted column of a batch row", p, "jobs[2].group");
    dberr_param("Out of range value for column 'priority' at row 1", "job", p, sizeof p);
    test_streq("prefixed", p, "job.priority");
    dberr_param("Data too long for column 'lease_token' at row 1", "", p, sizeof p);
    test_streq("a column that is no field", p, "");
    dberr_param("something else", "[", p, sizeof p);
    test_streq("no column", p, "");
}

int main(void)
{
    test_dberr();
    test_config_values();
    test_parse();
    test_double();
    test_ms();
    test_utf8();
    test_sbuf_numbers();
    test_sbuf_printf_plain();
    test_utf8_words();
    test_dates();
    test_json_text();
    test_json_numbers();
    test_json_dup_keys();
    test_json_sizes();
    test_report();
}
