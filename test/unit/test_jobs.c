/* Job body validation, the SSRF guard, request signing, and how the
 * worker reads responses (classification, Retry-After, UTF-8). */
#include <arpa/inet.h>
#include <cJSON.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <time.h>

#include "../testhelp.h"
#include "httpc.h"
#include "job.h"
#include "jobclaim.h"
#include "jobfair.h"
#include "jobread.h"
#include "sign.h"
#include "ssrf.h"
#include "url.h"
#include "work_result.h"

static const struct job_limits lim = {1024, 256};

static int parse(const char *json, struct job_spec *s, struct job_error *e)
{
    cJSON *j = cJSON_Parse(json);
    int rc = job_spec_parse(j, &lim, s, e);
    cJSON_Delete(j);
    return rc;
}

static void expect_error(const char *json, int status, const char *param)
{
    struct job_spec s;
    struct job_error e;
    int rc = parse(json, &s, &e);
    test_cond(json, rc < 0 && e.status == status && strcmp(e.param, param) == 0);
    if (rc == 0)
        job_spec_deinit(&s);
    else if (e.status != status || strcmp(e.param, param) != 0)
        printf("  got %d %s: %s\n", e.status, e.param, e.message);
}

/* A 400 naming param with exactly this message. */
static void expect_message(const char *json, const char *param, const char *message)
{
    struct job_spec s;
    struct job_error e;
    int rc = parse(json, &s, &e);
    bool ok = rc < 0 && e.status == 400 && strcmp(e.param, param) == 0 && strcmp(e.message, message) == 0;
    if (rc == 0)
        job_spec_deinit(&s);
    else if (!ok)
        printf("  got %d %s: %s\n", e.status, e.param, e.message);
    test_cond(message, ok);
}

static void test_spec(void)
{
    struct job_spec s;
    struct job_error e;
    test_cond("minimal http job", parse("{\"kind\":\"http\",\"payload\":{\"url\":\"https://example.org/x\"}}", &s, &e) == 0);
    test_streq("default queue", s.queue, "default");
    test_cond("defaults", s.max_attempts == 5 && s.timeout_ms == 30000 && s.priority == 0 && !s.has_run_at);
    job_spec_deinit(&s);
    test_cond("full job", parse("{\"kind\":\"http\",\"queue\":\"a.b:c-d\",\"payload\":{\"method\":\"PUT\",\"url\":\"http://h/\",\"headers\":{\"X-A\":\"1\"},\"body\":{\"k\":[1]}},"
                                "\"run_at\":\"2026-05-06T07:08:09.5+01:30\",\"priority\":-3,\"max_attempts\":9,\"backoff\":{\"base_ms\":20,\"max_ms\":40},"
                                "\"timeout_ms\":1000,\"group\":\"cust-1\",\"callback_url\":\"https://h/cb\",\"metadata\":{\"m\":1},\"idempotency_key\":\"k1\"}",
                                &s, &e) == 0);
    test_streq("run_at in UTC", s.run_at, "2026-05-06 05:38:09.500000");
    test_cond("numbers", s.priority == -3 && s.max_attempts == 9 && s.backoff_base_ms == 20 && s.backoff_max_ms == 40 && s.timeout_ms == 1000);
    test_streq("group", s.group, "cust-1");
    test_streq("metadata serialized", s.metadata, "{\"m\":1}");
    test_streq("idempotency key", s.idempotency_key, "k1");
    job_spec_deinit(&s);
    test_cond("llm.chat", parse("{\"kind\":\"llm.chat\",\"payload\":{\"model\":\"m\",\"messages\":[]}}", &s, &e) == 0);
    job_spec_deinit(&s);

    expect_error("[]", 400, "");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"x\":1}", 400, "x");
    expect_error("{\"payload\":{}}", 400, "kind");
    expect_error("{\"kind\":\"http\"}", 400, "payload");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\",\"verb\":1}}", 400, "payload");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\",\"method\":\"BREW\"}}", 400, "payload.method");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"gopher://h/\"}}", 422, "payload.url");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\",\"headers\":{\"Bad Name\":\"v\"}}}", 400, "payload.headers");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\",\"body\":5}}", 400, "payload.body");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"priority\":1.5}", 400, "priority");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"max_attempts\":0}", 400, "max_attempts");
    /* found by the fuzzer: a huge number was converted before its range was checked */
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"priority\":6666666666666666666666666666666666661}", 400, "priority");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"delay_ms\":-1}", 400, "delay_ms");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"run_at\":\"tomorrow\"}", 400, "run_at");
    /* without delay_ms: refused for the date itself (run_at with delay_ms is refused anyway) */
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"run_at\":\"2030-02-30T00:00:00Z\"}", 400, "run_at");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"run_at\":\"2030-02-29T00:00:00Z\"}", 400, "run_at");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"run_at\":\"2030-04-31T10:00:00+02:00\"}", 400, "run_at");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"run_at\":\"2030-02-28T00:00:00Z\",\"delay_ms\":1}", 400, "run_at");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"delay_ms\":1e300}", 400, "delay_ms");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"timeout_ms\":-1e300}", 400, "timeout_ms");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"backoff\":{\"base_ms\":1e19}}", 400, "backoff.base_ms");
    struct job_spec leap;
    struct job_error le;
    test_cond("a leap day is a date",
              parse("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"run_at\":\"2024-02-29T00:00:00Z\"}", &leap, &le) == 0 &&
                  strcmp(leap.run_at, "2024-02-29 00:00:00.000000") == 0);
    job_spec_deinit(&leap);
    /* an RFC 3339 time out of range is told the range, not the syntax */
    expect_message("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"run_at\":\"1900-01-01T00:00:00Z\"}", "run_at",
                   "run_at must be from 1970-01-01T00:00:00Z to 366 days from now (as delay_ms)");
    /* run_at is bounded as delay_ms is */
    expect_message("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"run_at\":\"9999-12-31T23:59:59Z\"}", "run_at",
                   "run_at must be from 1970-01-01T00:00:00Z to 366 days from now (as delay_ms)");
    char soon[80], soon_json[200];
    time_t in300 = time(NULL) + 300 * 86400;
    strftime(soon, sizeof soon, "%Y-%m-%dT%H:%M:%SZ", gmtime(&in300));
    snprintf(soon_json, sizeof soon_json, "{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"run_at\":\"%s\"}", soon);
    test_cond("run_at 300 days ahead ok", parse(soon_json, &leap, &le) == 0);
    job_spec_deinit(&leap);
    expect_message("{\"kind\":5,\"payload\":{}}", "kind", "kind must be a string: http, llm.chat, llm.embed or llm.response");
    /* one limit for job URLs, in bytes */
    char *cb = malloc(URL_HTTP_MAX + 200);
    int cn = snprintf(cb, 100, "{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"callback_url\":\"http://h/");
    memset(cb + cn, 'a', URL_HTTP_MAX - 9);
    snprintf(cb + cn + URL_HTTP_MAX - 9, 10, "\"}");
    struct job_spec cs;
    struct job_error ce;
    test_cond("callback_url of 8192 bytes ok", parse(cb, &cs, &ce) == 0);
    job_spec_deinit(&cs);
    snprintf(cb + cn + URL_HTTP_MAX - 9, 10, "a\"}");
    expect_message(cb, "callback_url", "callback_url must be a URL of at most 8192 bytes");
    free(cb);
    /* PAD SPACE: "k" and "k " would be one key in MariaDB */
    static const char *const idem_msg =
        "idempotency_key must be 1-255 bytes of UTF-8 text without control characters or leading or trailing spaces";
    expect_message("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"idempotency_key\":\"k \"}", "idempotency_key", idem_msg);
    expect_message("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"idempotency_key\":\" k\"}", "idempotency_key", idem_msg);
    expect_message("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"idempotency_key\":\"k\\t\"}", "idempotency_key", idem_msg);
    expect_message("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"idempotency_key\":\"\"}", "idempotency_key", idem_msg);
    test_cond("a key with inner spaces is fine", job_idem_key_valid("order 1", JOB_IDEM_MAX));
    char k255[260];
    memset(k255, 'k', 255);
    k255[255] = '\0';
    test_cond("255 bytes ok", job_idem_key_valid(k255, JOB_IDEM_MAX));
    memcpy(k255 + 254, "\xc3\xa9", 3); /* 256 bytes, 255 characters */
    test_cond("256 bytes (255 characters) refused", !job_idem_key_valid(k255, JOB_IDEM_MAX));
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"backoff\":{\"base_ms\":100,\"max_ms\":50}}", 422, "backoff.max_ms");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"group\":\"a b\"}", 400, "group");
    expect_error("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"callback_url\":\"file:///x\"}", 422, "callback_url");
    char big[2200];
    int off = snprintf(big, sizeof big, "{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\",\"body\":\"");
    memset(big + off, 'x', 2000);
    snprintf(big + off + 2000, sizeof big - (size_t)off - 2000, "\"}}");
    expect_error(big, 413, "payload");
    expect_error("{\"kind\":\"llm.chat\",\"payload\":{\"messages\":[]}}", 400, "payload.model");
    char out[40];
    test_cond("time with offset", job_parse_time("2026-01-01T00:30:00-01:00", out, sizeof out, NULL) == 0 && strcmp(out, "2026-01-01 01:30:00.000000") == 0);
    test_cond("time without zone refused", job_parse_time("2026-01-01T00:30:00", out, sizeof out, NULL) < 0);
    /* found by the fuzzer: a cut-off offset was read past its end */
    test_cond("bare + refused", job_parse_time("2030-01-01T00:00:00+", out, sizeof out, NULL) < 0);
    test_cond("short offset refused", job_parse_time("2030-01-01T00:00:00+01", out, sizeof out, NULL) < 0);
    test_cond("junk after offset refused", job_parse_time("2030-01-01T00:00:00+01:00x", out, sizeof out, NULL) < 0);
    test_cond("job id", jobread_parse_id("job_42") == 42);
    test_cond("job id beyond 64 bits refused (was wrapped onto another id)", jobread_parse_id("job_18446744073709551617") == 0);
    test_cond("job id with a sign refused", jobread_parse_id("job_+1") == 0 && jobread_parse_id("job_") == 0);
    test_cond("state names", job_state_parse("failed") == JOB_FAILED && job_state_parse("x") < 0);
}

static struct sockaddr_storage addr(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, ip, &a->sin6_addr);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, ip, &a->sin_addr);
    }
    return ss;
}

static bool allowed(const struct ssrf *s, const char *ip, const char *host)
{
    struct sockaddr_storage ss = addr(ip);
    char why[320];
    return ssrf_allowed(s, (struct sockaddr *)&ss, host, why, sizeof why);
}

static void test_ssrf(void)
{
    char err[128];
    struct ssrf *s = ssrf_new("", err, sizeof err);
    /* Only classification here: no address is contacted. */
    static const char *const refused[] = {"127.0.0.1", "127.1.2.3", "10.1.2.3", "172.16.0.1", "172.31.255.255",
                                          "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1",
                                          "::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        test_cond(refused[i], !allowed(s, refused[i], "h"));
    static const char *const public_[] = {"93.184.216.34", "172.32.0.1", "8.8.8.8", "2606:4700::1111"};
    for (size_t i = 0; i < sizeof public_ / sizeof *public_; i++)
        test_cond(public_[i], allowed(s, public_[i], "h"));
    ssrf_free(s);
    s = ssrf_new("127.0.0.0/8, ::1/128,internal.example", err, sizeof err);
    test_cond("allow list parsed", s != NULL);
    test_cond("allowed CIDR", allowed(s, "127.0.0.1", "h"));
    test_cond("allowed v6", allowed(s, "::1", "h"));
    test_cond("allowed by host name", allowed(s, "10.0.0.5", "internal.example"));
    test_cond("others still refused", !allowed(s, "10.0.0.5", "other.example"));
    ssrf_free(s);
    test_cond("bad allow entry", ssrf_new("10.0.0.0/33", err, sizeof err) == NULL);
}

static void test_sign(void)
{
    struct sbuf b;
    sbuf_init(&b);
    sign_b64url((const unsigned char *)"hello?", 6, &b);
    test_streq("b64url", b.data, "aGVsbG8_");
    sbuf_reset(&b);
    sign_request("k3y", "http://h/x", "body", 4, "job_1.1", 1000, &b);
    const char *d2 = strrchr(b.data, '.');
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), "k3y", 3, (const unsigned char *)b.data, (size_t)(d2 - b.data), mac, &n);
    struct sbuf m;
    sbuf_init(&m);
    sign_b64url(mac, 32, &m);
    test_streq("HS256 over header.claims", d2 + 1, m.data);
    test_cond("header is HS256 JWT", strncmp(b.data, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
    sbuf_deinit(&m);
    sbuf_deinit(&b);
}

static void test_classify(void)
{
    struct work_verdict v;
    struct httpc_response r = {.status = 204, .body = ""};
    work_classify(&r, &v);
    test_cond("2xx ok", v.ok && !v.retryable);
    r.status = 503;
    r.retry_after = "7";
    work_classify(&r, &v);
    test_cond("503 retries with Retry-After", !v.ok && v.retryable && v.retry_after_ms == 7000);
    r.retry_after = NULL;
    r.status = 429;
    work_classify(&r, &v);
    test_cond("429 retries", v.retryable && v.retry_after_ms == -1);
    r.status = 408;
    work_classify(&r, &v);
    test_cond("408 retries", v.retryable);
    r.status = 404;
    work_classify(&r, &v);
    test_cond("404 permanent", !v.ok && !v.retryable && strcmp(v.error, "HTTP 404") == 0);
    r.status = 301;
    work_classify(&r, &v);
    test_cond("3xx permanent", !v.retryable);
    struct httpc_response e = {.error = "Connection refused", .body = ""};
    work_classify(&e, &v);
    test_cond("network error retries", v.retryable);
    e.refused = true;
    work_classify(&e, &v);
    test_cond("SSRF refusal is permanent", !v.retryable);
    bool in_range = true;
    for (int i = 0; i < 200; i++) {
        long long b1 = work_backoff_ms(1, 1000, 60000), b3 = work_backoff_ms(3, 1000, 60000),
                  b9 = work_backoff_ms(9, 1000, 60000);
        in_range = in_range && b1 >= 500 && b1 < 1000 && b3 >= 2000 && b3 < 4000 && b9 >= 30000 &&
                   b9 < 60000;
    }
    test_cond("backoff doubles per attempt with jitter in [0.5, 1) and is capped", in_range);
    test_cond("retry-after date", work_retry_after_ms("Thu, 01 Jan 1970 00:01:40 GMT", 40) == 60000);
    test_cond("retry-after junk", work_retry_after_ms("soon", 0) == -1);
    test_cond("retry-after capped", work_retry_after_ms("999999999", 0) == 24LL * 3600 * 1000);
    /* beyond long long: was secs * 1000 overflowing (UBSan abort) */
    test_cond("retry-after huge capped", work_retry_after_ms("99999999999999999999", 0) == 24LL * 3600 * 1000);
    test_cond("retry-after 2^63/1000 capped", work_retry_after_ms("9223372036854776", 0) == 24LL * 3600 * 1000);
    test_cond("retry-after negative refused", work_retry_after_ms("-5", 0) == -1);
    test_cond("retry-after junk after digits refused", work_retry_after_ms("5s", 0) == -1);
    test_cond("retry-after date far ahead capped",
              work_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", 0) == 24LL * 3600 * 1000);
    test_cond("retry-after date in the past is now", work_retry_after_ms("Thu, 01 Jan 1970 00:00:00 GMT", 1000) == 0);
    struct sbuf b;
    sbuf_init(&b);
    work_json_utf8(&b, "ok \xc3\xa9 \xff \xe2\x82", 10);
    test_streq("invalid UTF-8 replaced", b.data, "\"ok \xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\"");
    sbuf_deinit(&b);
}

static void body_error(const char *body, size_t len, const char *param, const char *code)
{
    struct job_error e;
    if (!len)
        len = strlen(body);
    cJSON *j = job_json_parse(body, len, &e);
    bool ok = !j && e.status == 400 && strcmp(e.param, param) == 0 && strcmp(e.code, code) == 0;
    if (!ok)
        printf("  %.*s: got %s %d '%s' %s\n", (int)len, body, j ? "parsed" : "refused", e.status, e.param, e.code);
    test_cond(body, ok);
    cJSON_Delete(j);
}

static void test_body(void)
{
    struct job_error e;
    const char *ok = "{\"kind\":\"http\"} \r\n\t";
    cJSON *j = job_json_parse(ok, strlen(ok), &e);
    test_cond("trailing whitespace is fine", j != NULL);
    cJSON_Delete(j);
    body_error("{}{}", 0, "", "invalid_json");
    body_error("{} x", 0, "", "invalid_json");
    body_error("[1] [2]", 0, "", "invalid_json");
    body_error("{", 0, "", "invalid_json");
    body_error("{\"idempotency_key\":\"a\\u0000b\"}", 0, "idempotency_key", "");
    body_error("{\"payload\":{\"url\":\"http://h/\\u0000.evil\"}}", 0, "payload.url", "");
    body_error("{\"payload\":{\"body\":\"\xff\xfe\"}}", 0, "payload.body", "");
    body_error("{\"metadata\":{\"a\\u0000b\":\"v\"}}", 0, "metadata", "");
    body_error("{\"metadata\":{\"k\":[\"x\",\"\xc0\xaf\"]}}", 0, "metadata.k[1]", "");
    body_error("[{\"queue\":\"q\"},{\"group\":\"g\\u0000\"}]", 0, "[1].group", "");
    body_error("{\"job\":{\"kind\":\"http\\u0000\"}}", 0, "job.kind", "");
    body_error("{\"timezone\":\"UTC\\u0000x\"}", 0, "timezone", "");
    const char raw[] = "{\"callback_url\":\"http://h/\0x\"}";
    body_error(raw, sizeof raw - 1, "callback_url", "");
    body_error("{\"payload\":{\"body\":{\"order_id\":1234567890123456789}}}", 0, "payload.body.order_id", "");
    body_error("{\"metadata\":{\"n\":1e400}}", 0, "metadata.n", "");
    char *deep = malloc(10001);
    memset(deep, '[', 5000);
    memset(deep + 5000, ']', 5000);
    deep[10000] = '\0';
    body_error(deep, 0, "", "invalid_json");
    j = job_json_parse(deep, 10000, &e);
    test_streq("5000-deep: says nesting too deep, with the limit", e.message,
               "the body is not valid JSON: nested too deeply (at most 1000 levels of objects and arrays)");
    cJSON_Delete(j);
    memset(deep + 1000, ']', 1000);
    j = job_json_parse(deep, 2000, &e);
    test_cond("1000 deep is fine", j != NULL);
    cJSON_Delete(j);
    free(deep);
    body_error("{\"kind\":\"http\",\"kind\":\"llm.chat\"}", 0, "kind", "");
    body_error("{\"payload\":{\"url\":\"http://127.0.0.1/a\",\"url\":\"http://127.0.0.1/b\"}}", 0, "payload.url", "");
    /* a request hash: equal for equal requests, different otherwise */
    struct job_spec a, b;
    struct job_error pe;
    unsigned char ha[JOB_HASH_LEN], hb[JOB_HASH_LEN];
    int rc = parse("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"queue\":\"q1\",\"idempotency_key\":\"k\"}", &a, &pe);
    rc |= parse("{\"kind\":\"http\",\"payload\":{\"url\":\"http://h/\"},\"queue\":\"q1\"}", &b, &pe);
    job_spec_hash(&a, ha);
    job_spec_hash(&b, hb);
    test_cond("the key is not part of the request hash", rc == 0 && memcmp(ha, hb, sizeof ha) == 0);
    snprintf(b.queue, sizeof b.queue, "q2");
    job_spec_hash(&b, hb);
    test_cond("another queue, another hash", memcmp(ha, hb, sizeof ha) != 0);
    job_specs_hash(&a, 1, ha);
    job_specs_hash(&b, 1, hb);
    test_cond("batches of different jobs differ", memcmp(ha, hb, sizeof ha) != 0);
    job_spec_deinit(&a);
    job_spec_deinit(&b);
}

static void test_fair_pick(void)
{
    size_t g[16], r[16];
    const size_t avail[] = {5, 1, 2};
    size_t n = jobfair_pick(avail, 3, 7, g, r);
    /* one per group per round: a1 b1 c1, a2 c2, a3 a4 */
    const size_t want_g[] = {0, 1, 2, 0, 2, 0, 0}, want_r[] = {0, 0, 0, 1, 1, 2, 3};
    bool same = n == 7;
    for (size_t i = 0; same && i < n; i++)
        same = g[i] == want_g[i] && r[i] == want_r[i];
    test_cond("round-robin: one per group per round, in rotation order", same);
    test_cond("budget bounds the picks", jobfair_pick(avail, 3, 2, g, r) == 2 && g[0] == 0 && g[1] == 1);
    test_cond("no more than available", jobfair_pick(avail, 3, 16, g, r) == 8);
    const size_t none[] = {0, 0};
    test_cond("nothing due", jobfair_pick(none, 2, 5, g, r) == 0);
}

/* The kinds a worker claims: names both ways, and the claim's filter. */
static void test_kinds(void)
{
    bool round = true;
    for (int k = 0; k < JOB_KIND_COUNT; k++)
        round = round && (strcmp(job_kind_name((enum job_kind)k), "?") == 0 ||
                          job_kind_parse(job_kind_name((enum job_kind)k)) == k);
    test_cond("kind names parse back", round);
    test_cond("unknown kind", job_kind_parse("llm") == -1 && job_kind_parse("") == -1 && job_kind_parse(NULL) == -1);
    struct sbuf b;
    sbuf_init(&b);
    jobclaim_kinds_sql(&b, 1u << JOB_HTTP);
    test_cond("http only", strcmp(b.data, "kind IN (X'68747470')") == 0);
    sbuf_reset(&b);
    jobclaim_kinds_sql(&b, 1u << JOB_HTTP | 1u << JOB_LLM_CHAT | 1u << JOB_LLM_EMBED);
    test_cond("every kind, each quoted",
              strcmp(b.data, "kind IN (X'68747470',X'6c6c6d2e63686174',X'6c6c6d2e656d626564')") == 0);
    sbuf_reset(&b);
    jobclaim_kinds_sql(&b, 0);
    test_cond("no kind: claims nothing", strcmp(b.data, "FALSE") == 0);
    sbuf_deinit(&b);
}

int main(void)
{
    test_spec();
    test_kinds();
    test_body();
    test_fair_pick();
    test_ssrf();
    test_sign();
    test_classify();
    test_report();
}
