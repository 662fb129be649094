/* llm_ratehdr_feed's dispatch by name length and first byte, its in-place
 * value and its Go duration units, against the reader they replaced
 * (llm_hdr_ref.h): every name it reads, in odd cases, cut short, grown and
 * one byte off, crossed with values of every form it parses (and spaces,
 * CR/LF, over-long, signs, units, dates), fed alone and after others, give
 * the same fields and the same retry wait. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../testhelp.h"
#include "llm_hdr_ref.h"

static const char *const names[] = {
    "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens", "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens", "x-should-retry",
    "retry-after", "retry-after-ms", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-remaining", "anthropic-ratelimit-output-tokens-reset",
    "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-", "anthropic-ratelimit-requests-",
    "x-ratelimit-", "x-request-id", "request-id", "content-type", "date", "", "x", "r", "a", "retry-after-s",
    "X-RateLimit-Remaining-Requests", "RETRY-AFTER", "Anthropic-RateLimit-Tokens-Reset", "X-Should-Retry",
};

static const char *const values[] = {
    "0", "1", "9999", "1999000", "  42  ", "\t7\r\n", "7 ", "3s\t", " 20ms\r", "-1", "+5", "-0", "12a", "", "   ",
    "999999999999999999", "9999999999999999999", "4611686018427387904", "4611686018427387905",
    "123456789012345678901234567890", "20ms", "6m0s", "1h2m3.5s", "1.5s", ".5s", "+2s", "0s", "1500us", "1ns",
    "3000\xc2\xb5s", "3000\xce\xbcs", "3000\xc2\xb6s", "2x", "1m", "1mm", "1n", "1u", "m", "1.", "1..5s", "5h",
    "2026-12-01T17:00:00Z", "2026-12-01T17:00:00.5+01:00", "2026-13-01T17:00:00Z", "Sun, 06 Nov 1994 08:49:37 GMT",
    "Wed, 02 Dec 2026 12:00:00 GMT", "true", "TRUE", "false", "False", "yes", "30", "2.5", "1e3",
};

static bool same(const struct llm_ratehdr *a, const struct llm_ratehdr *b)
{
    return a->remaining_requests == b->remaining_requests && a->remaining_tokens == b->remaining_tokens &&
           a->reset_requests_ms == b->reset_requests_ms && a->reset_tokens_ms == b->reset_tokens_ms &&
           a->retry_after_ms == b->retry_after_ms && a->ra_ms == b->ra_ms && a->ra_s == b->ra_s &&
           a->should_retry == b->should_retry && llm_ratehdr_retry_ms(a, 429) == ref_llm_ratehdr_retry_ms(b, 429) &&
           llm_ratehdr_retry_ms(a, 200) == ref_llm_ratehdr_retry_ms(b, 200);
}

/* name in its own case, lower, upper and with one letter's case flipped. */
static void cased(char *out, const char *name, int how)
{
    size_t i = 0;
    for (; name[i]; i++) {
        char c = name[i];
        if (how == 1 && c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        else if (how == 2 && c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        else if (how == 3 && i == 3 && c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        out[i] = c;
    }
    out[i] = '\0';
}

static unsigned long fed;

static bool feed_both(struct llm_ratehdr *a, struct llm_ratehdr *b, const char *name, const char *value)
{
    long long now = 1796130000000LL; /* 2026-12-01T13:40Z: the dates above are ahead */
    llm_ratehdr_feed(a, name, value, now);
    ref_llm_ratehdr_feed(b, name, value, now);
    fed++;
    if (!same(a, b)) {
        printf("  differ: '%s' = '%s'\n", name, value);
        return false;
    }
    return true;
}

static void test_names_by_values(void)
{
    bool ok = true;
    char name[128];
    for (size_t i = 0; i < sizeof names / sizeof *names && ok; i++) {
        for (int how = 0; how < 4 && ok; how++) {
            cased(name, names[i], how);
            for (size_t j = 0; j < sizeof values / sizeof *values && ok; j++) {
                struct llm_ratehdr a, b;
                llm_ratehdr_init(&a);
                ref_llm_ratehdr_init(&b);
                ok = feed_both(&a, &b, name, values[j]);
                /* after others, so keep_min/keep_max and retry_combined meet set fields */
                for (size_t k = 0; k < sizeof values / sizeof *values && ok; k += 7)
                    ok = feed_both(&a, &b, names[(i + k) % (sizeof names / sizeof *names)], values[k]) &&
                         feed_both(&a, &b, name, values[j]);
            }
        }
    }
    test_cond("every name in every case with every value, alone and after others", ok);
}

/* Each name cut short, grown by a byte, and each byte changed to a few
 * values that case folding or a sloppy compare would let through. */
static void test_near_names(void)
{
    static const unsigned char subs[] = {'-', '_', '\r', 0x0d | 0x20, 'x' ^ 0x20, 0xc0, 0x7f, 'A', 'z', '@', '[', '`',
                                         '{', 0x01};
    bool ok = true;
    char name[160];
    for (size_t i = 0; i < sizeof names / sizeof *names && ok; i++) {
        size_t n = strlen(names[i]);
        for (size_t cut = 0; cut <= n + 1 && ok; cut++) {
            memcpy(name, names[i], n + 1);
            if (cut < n)
                name[cut] = '\0';
            else if (cut == n)
                memcpy(name + n, "s", 2);
            else
                memcpy(name + n, "-remaining", 11);
            struct llm_ratehdr a, b;
            llm_ratehdr_init(&a);
            ref_llm_ratehdr_init(&b);
            ok = feed_both(&a, &b, name, "5") && feed_both(&a, &b, name, "0") && feed_both(&a, &b, name, "3s");
        }
        for (size_t pos = 0; pos < n && ok; pos++) {
            for (size_t s = 0; s < sizeof subs && ok; s++) {
                memcpy(name, names[i], n + 1);
                name[pos] = (char)subs[s];
                struct llm_ratehdr a, b;
                llm_ratehdr_init(&a);
                ref_llm_ratehdr_init(&b);
                ok = feed_both(&a, &b, name, "0") && feed_both(&a, &b, name, "2026-12-01T17:00:00Z") &&
                     feed_both(&a, &b, name, "true");
            }
        }
    }
    test_cond("names cut, grown and one byte off", ok);
}

/* Values of every length around the 128-byte bound, spaces on either side. */
static void test_value_lengths(void)
{
    bool ok = true;
    char v[300];
    for (size_t len = 0; len < 140 && ok; len++) {
        for (int pad = 0; pad < 4 && ok; pad++) {
            size_t o = 0;
            if (pad & 1)
                v[o++] = ' ';
            for (size_t k = 0; k < len; k++)
                v[o++] = (char)('1' + k % 9);
            if (pad & 2)
                memcpy(v + o, " \t\r\n", 4), o += 4;
            v[o] = '\0';
            struct llm_ratehdr a, b;
            llm_ratehdr_init(&a);
            ref_llm_ratehdr_init(&b);
            ok = feed_both(&a, &b, "x-ratelimit-remaining-tokens", v) && feed_both(&a, &b, "retry-after-ms", v) &&
                 feed_both(&a, &b, "x-ratelimit-reset-requests", v);
        }
    }
    test_cond("values around the length bound, padded", ok);
}

/* Go durations from a small alphabet, every string up to 4 bytes, and
 * seeded longer ones. */
static void test_go_durations(void)
{
    static const char *const atoms[] = {"0", "1", "9", ".", "+", "-", "n", "u", "\xc2\xb5", "\xce\xbc", "m", "s", "h",
                                        "ms", "us", "\xc2", "x"};
    size_t na = sizeof atoms / sizeof *atoms;
    bool ok = true;
    char s[64];
    unsigned long tried = 0;
    for (size_t len = 1; len <= 4 && ok; len++) {
        size_t total = 1;
        for (size_t k = 0; k < len; k++)
            total *= na;
        for (size_t idx = 0; idx < total && ok; idx++) {
            size_t o = 0, x = idx;
            for (size_t k = 0; k < len; k++, x /= na) {
                size_t al = strlen(atoms[x % na]);
                memcpy(s + o, atoms[x % na], al);
                o += al;
            }
            s[o] = '\0';
            ok = llm_hdr_go_duration_ms(s) == ref_llm_hdr_go_duration_ms(s);
            if (!ok)
                printf("  differ: '%s'\n", s);
            tried++;
        }
    }
    uint32_t seed = 7;
    for (int r = 0; r < 200000 && ok; r++) {
        size_t o = 0;
        int parts = 1 + (int)(seed % 9);
        for (int k = 0; k < parts; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *at = atoms[(seed >> 16) % na];
            size_t al = strlen(at);
            memcpy(s + o, at, al);
            o += al;
        }
        s[o] = '\0';
        ok = llm_hdr_go_duration_ms(s) == ref_llm_hdr_go_duration_ms(s);
        if (!ok)
            printf("  differ: '%s'\n", s);
        tried++;
    }
    test_cond("Go durations as before", ok);
    test_cond("enough durations tried", tried > 80000);
    test_cond("NULL", llm_hdr_go_duration_ms(NULL) == -1);
    test_cond("rfc3339 unchanged", llm_hdr_rfc3339_ms("2026-12-01T17:00:00Z") ==
                                       ref_llm_hdr_rfc3339_ms("2026-12-01T17:00:00Z"));
}

int main(void)
{
    test_names_by_values();
    test_near_names();
    test_value_lengths();
    test_go_durations();
    printf("  %lu feeds compared\n", fed);
    test_cond("enough feeds compared", fed > 50000);
    test_report();
}
