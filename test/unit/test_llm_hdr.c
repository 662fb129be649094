/* Provider rate-limit and retry headers: Go durations, RFC 3339 and HTTP
 * dates, bounds, and feeding order. */
#include <limits.h>

#include "../testhelp.h"
#include "llm_hdr.h"

static void test_go_duration(void)
{
    test_cond("6m0s", llm_hdr_go_duration_ms("6m0s") == 360000);
    test_cond("1s", llm_hdr_go_duration_ms("1s") == 1000);
    test_cond("20ms", llm_hdr_go_duration_ms("20ms") == 20);
    test_cond("1h2m3.5s", llm_hdr_go_duration_ms("1h2m3.5s") == 3723500);
    test_cond("1.5s", llm_hdr_go_duration_ms("1.5s") == 1500);
    test_cond("0", llm_hdr_go_duration_ms("0") == 0);
    test_cond("0s", llm_hdr_go_duration_ms("0s") == 0);
    test_cond("+2s", llm_hdr_go_duration_ms("+2s") == 2000);
    test_cond(".5s", llm_hdr_go_duration_ms(".5s") == 500);
    test_cond("sub-ms rounds up", llm_hdr_go_duration_ms("1500us") == 2);
    test_cond("ns rounds up", llm_hdr_go_duration_ms("1ns") == 1);
    test_cond("micro sign", llm_hdr_go_duration_ms("3000\xc2\xb5s") == 3);
    test_cond("fraction of ms", llm_hdr_go_duration_ms("12.3ms") == 13);
    test_cond("30 digits saturate", llm_hdr_go_duration_ms("123456789012345678901234567890s") == LLM_HDR_MAX_MS);
    test_cond("400 digits saturate",
              llm_hdr_go_duration_ms("9999999999999999999999999999999999999999999999999999999999999999999999999"
                                     "9999999999999999999999999999999999999999999999999999999999999999999999999"
                                     "9999999999999999999999999999999999999999999999999999999999999999999999999"
                                     "9999999999999999999999999999999999999999999999999999999999999999999999999"
                                     "9999999999999999999999999999999999999999999999999999999999999999999999999"
                                     "9999999999999999999999999999999999999h") == LLM_HDR_MAX_MS);
    test_cond("negative", llm_hdr_go_duration_ms("-1s") == -1);
    test_cond("no unit", llm_hdr_go_duration_ms("5") == -1);
    test_cond("empty", llm_hdr_go_duration_ms("") == -1);
    test_cond("NULL", llm_hdr_go_duration_ms(NULL) == -1);
    test_cond("bad unit", llm_hdr_go_duration_ms("5d") == -1);
    test_cond("unit only", llm_hdr_go_duration_ms("s") == -1);
    test_cond("trailing junk", llm_hdr_go_duration_ms("5s ") == -1);
    test_cond("lone dot", llm_hdr_go_duration_ms(".s") == -1);
}

static void test_dates(void)
{
    test_cond("epoch", llm_hdr_rfc3339_ms("1970-01-01T00:00:00Z") == 0);
    test_cond("2026-12-01T17:00:00Z", llm_hdr_rfc3339_ms("2026-12-01T17:00:00Z") == 1796144400000LL);
    test_cond("fraction", llm_hdr_rfc3339_ms("2026-12-01T17:00:00.25Z") == 1796144400250LL);
    test_cond("long fraction", llm_hdr_rfc3339_ms("2026-12-01T17:00:00.123456789Z") == 1796144400123LL);
    test_cond("offset", llm_hdr_rfc3339_ms("2026-12-01T18:30:00+01:30") == 1796144400000LL);
    test_cond("negative offset", llm_hdr_rfc3339_ms("2026-12-01T12:00:00-05:00") == 1796144400000LL);
    test_cond("leap day", llm_hdr_rfc3339_ms("2024-02-29T00:00:00Z") == 1709164800000LL);
    test_cond("not a leap day", llm_hdr_rfc3339_ms("2025-02-29T00:00:00Z") == -1);
    test_cond("no zone", llm_hdr_rfc3339_ms("2026-12-01T17:00:00") == -1);
    test_cond("bad hour", llm_hdr_rfc3339_ms("2026-12-01T24:00:00Z") == -1);
    test_cond("junk", llm_hdr_rfc3339_ms("2026-12-01T17:00:00Zx") == -1);
    test_cond("short offset", llm_hdr_rfc3339_ms("2026-12-01T17:00:00+01") == -1);
    test_cond("empty fraction", llm_hdr_rfc3339_ms("2026-12-01T17:00:00.Z") == -1);
    test_cond("before 1970", llm_hdr_rfc3339_ms("1969-12-31T23:59:59Z") == -1);
    test_cond("NULL", llm_hdr_rfc3339_ms(NULL) == -1);
    test_cond("http date", llm_hdr_http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777000LL);
    test_cond("http date bad month", llm_hdr_http_date_ms("Sun, 06 Nox 1994 08:49:37 GMT") == -1);
    test_cond("http date no GMT", llm_hdr_http_date_ms("Sun, 06 Nov 1994 08:49:37 UTC") == -1);
    test_cond("retry-after secs", llm_hdr_retry_after_ms("3", 0) == 3000);
    test_cond("retry-after fraction", llm_hdr_retry_after_ms("0.5", 0) == 500);
    test_cond("retry-after huge", llm_hdr_retry_after_ms("999999999999999999999999999999", 0) == LLM_HDR_MAX_MS);
    test_cond("retry-after date", llm_hdr_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111770000LL) == 7000);
    test_cond("retry-after past date", llm_hdr_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111790000LL) == 0);
    test_cond("retry-after negative", llm_hdr_retry_after_ms("-1", 0) == -1);
    test_cond("retry-after junk", llm_hdr_retry_after_ms("soon", 0) == -1);
}

static void test_openai(void)
{
    struct llm_ratehdr h;
    llm_ratehdr_init(&h);
    test_cond("init", h.remaining_requests == -1 && h.remaining_tokens == -1 && h.reset_requests_ms == -1 &&
                          h.reset_tokens_ms == -1 && h.retry_after_ms == -1 && h.should_retry == -1);
    llm_ratehdr_feed(&h, "X-RateLimit-Remaining-Requests", "59", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-remaining-tokens", " 149984 \r\n", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-reset-requests", "1s", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-reset-tokens", "6m0s", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-limit-tokens", "150000", 0);
    llm_ratehdr_feed(&h, "content-type", "application/json", 0);
    test_cond("remaining requests", h.remaining_requests == 59);
    test_cond("remaining tokens (trimmed)", h.remaining_tokens == 149984);
    test_cond("reset requests", h.reset_requests_ms == 1000);
    test_cond("reset tokens", h.reset_tokens_ms == 360000);
    test_cond("no retry yet", h.retry_after_ms == -1);

    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "x-ratelimit-remaining-requests", "-5", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-remaining-tokens", "123456789012345678901234567890", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-reset-requests", "-1s", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-reset-tokens", "banana", 0);
    test_cond("negative remaining ignored", h.remaining_requests == -1);
    test_cond("30 digits saturate", h.remaining_tokens == (long long)1 << 62);
    test_cond("negative reset ignored", h.reset_requests_ms == -1);
    test_cond("junk reset ignored", h.reset_tokens_ms == -1);
    llm_ratehdr_feed(&h, "x-ratelimit-remaining-requests", "-0", 0);
    test_cond("-0 ignored", h.remaining_requests == -1);
    llm_ratehdr_feed(&h, "x-ratelimit-remaining-requests", "", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-remaining-requests", NULL, 0);
    llm_ratehdr_feed(&h, NULL, "1", 0);
    test_cond("empty and NULL ignored", h.remaining_requests == -1);
}

static void test_retry(void)
{
    struct llm_ratehdr h;
    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "retry-after", "2", 0);
    test_cond("retry-after alone", h.retry_after_ms == 2000);
    llm_ratehdr_feed(&h, "retry-after-ms", "1500.5", 0);
    test_cond("retry-after 2 only rounds retry-after-ms 1500.5 up: 1501", h.retry_after_ms == 1501);
    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "Retry-After-Ms", "250", 0);
    llm_ratehdr_feed(&h, "Retry-After", "30", 0);
    test_cond("retry-after, the longer, when later", h.retry_after_ms == 30000);
    test_cond("the wait: retry-after, the longest", llm_ratehdr_retry_ms(&h, 429) == 30000);
    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "retry-after-ms", "4000", 0);
    llm_ratehdr_feed(&h, "retry-after", "1", 0);
    test_cond("retry-after-ms the longer", llm_ratehdr_retry_ms(&h, 429) == 4000);
    llm_ratehdr_feed(&h, "x-ratelimit-remaining-tokens", "0", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-reset-tokens", "6m0s", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-remaining-requests", "3", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-reset-requests", "9m0s", 0);
    test_cond("the spent tokens' reset is longer", llm_ratehdr_retry_ms(&h, 429) == 360000);
    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "x-ratelimit-reset-tokens", "2s", 0);
    llm_ratehdr_feed(&h, "x-ratelimit-reset-requests", "20ms", 0);
    test_cond("a 429 saying nothing else: the sooner reset", llm_ratehdr_retry_ms(&h, 429) == 20);
    test_cond("  not for a 500", llm_ratehdr_retry_ms(&h, 500) == -1);
    llm_ratehdr_init(&h);
    test_cond("nothing said: -1", llm_ratehdr_retry_ms(&h, 503) == -1);
    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "retry-after-ms", "-3", 0);
    llm_ratehdr_feed(&h, "retry-after-ms", "nan", 0);
    llm_ratehdr_feed(&h, "retry-after-ms", "1e3", 0);
    test_cond("bad retry-after-ms ignored", h.retry_after_ms == -1);
    llm_ratehdr_feed(&h, "retry-after", "Tue, 01 Dec 2026 17:00:10 GMT", 1796144400000LL);
    test_cond("retry-after date", h.retry_after_ms == 10000);
    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "retry-after-ms", "99999999999999999999999999999999", 0);
    test_cond("retry-after-ms saturates", h.retry_after_ms == LLM_HDR_MAX_MS);
    llm_ratehdr_feed(&h, "x-should-retry", "false", 0);
    test_cond("should-retry false", h.should_retry == 0);
    llm_ratehdr_feed(&h, "X-Should-Retry", "TRUE", 0);
    test_cond("should-retry true", h.should_retry == 1);
    llm_ratehdr_feed(&h, "x-should-retry", "maybe", 0);
    test_cond("should-retry junk keeps", h.should_retry == 1);
}

static void test_anthropic(void)
{
    long long now = llm_hdr_rfc3339_ms("2026-12-01T17:00:00Z");
    struct llm_ratehdr h;
    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-requests-limit", "50", now);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-requests-remaining", "49", now);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-requests-reset", "2026-12-01T17:00:01Z", now);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-input-tokens-remaining", "30000", now);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-input-tokens-reset", "2026-12-01T17:00:02.5Z", now);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-output-tokens-remaining", "0", now);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-output-tokens-reset", "2026-12-01T17:00:12Z", now);
    llm_ratehdr_feed(&h, "Anthropic-RateLimit-Tokens-Remaining", "25000", now);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-tokens-reset", "2026-12-01T17:00:03Z", now);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-tokens-bogus", "1", now);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-whatever-remaining", "1", now);
    test_cond("requests remaining", h.remaining_requests == 49);
    test_cond("requests reset", h.reset_requests_ms == 1000);
    test_cond("smallest tokens remaining", h.remaining_tokens == 0);
    test_cond("latest tokens reset", h.reset_tokens_ms == 12000);

    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-requests-reset", "2026-12-01T16:00:00Z", now);
    test_cond("reset in the past is 0", h.reset_requests_ms == 0);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-tokens-reset", "2099-01-01T00:00:00Z", now);
    test_cond("far reset saturates", h.reset_tokens_ms == LLM_HDR_MAX_MS);
    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-tokens-reset", "in a while", now);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-tokens-remaining", "-1", now);
    test_cond("junk ignored", h.reset_tokens_ms == -1 && h.remaining_tokens == -1);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-tokens-reset", "2026-12-01T17:00:00Z", LLONG_MAX);
    test_cond("extreme now clamps to 0", h.reset_tokens_ms == 0);
    llm_ratehdr_init(&h);
    llm_ratehdr_feed(&h, "anthropic-ratelimit-tokens-reset", "2026-12-01T17:00:00Z", LLONG_MIN);
    test_cond("extreme past now saturates", h.reset_tokens_ms == LLM_HDR_MAX_MS);
}

int main(void)
{
    test_go_duration();
    test_dates();
    test_openai();
    test_retry();
    test_anthropic();
    test_report();
}
