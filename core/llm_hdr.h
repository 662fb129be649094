/* llm_hdr: providers' rate-limit and retry headers, parsed. OpenAI:
 * x-ratelimit-{remaining,reset}-{requests,tokens} with Go durations
 * ("6m0s", "1s", "20ms"); Anthropic: anthropic-ratelimit-*-{remaining,reset}
 * with RFC 3339 resets (the smallest remaining of tokens/input/output wins);
 * retry-after-ms (float ms), retry-after (seconds or HTTP date). Pure.
 *
 * Every duration is bounded: a value beyond LLM_HDR_MAX_MS (however many
 * digits) saturates to it; negative or malformed values are ignored (the
 * field keeps what it had). Feeding order does not matter: retry-after-ms
 * wins over retry-after whichever came first; remaining counts keep the
 * smallest seen; token resets keep the latest (Anthropic sends one per
 * token kind, and traffic held until the last of them refills never meets
 * the spent one). */
#ifndef INGOT_LLM_HDR_H
#define INGOT_LLM_HDR_H

#include <stdbool.h>

#include "llm_types.h"
#include "util.h"

/* One day: a provider asking for longer is wrong or a spend cap; the
 * caller's own bounds apply below this. */
#define LLM_HDR_MAX_MS 86400000LL

void llm_ratehdr_init(struct llm_ratehdr *h);
/* Feeds one response header (name case-insensitive). now_real_ms: wall
 * clock, for absolute resets. Unknown names are ignored. */
void llm_ratehdr_feed(struct llm_ratehdr *h, const char *name, const char *value, long long now_real_ms);
/* How long to wait before retrying an answer with these headers: the
 * longest of retry-after-ms, retry-after and the reset of what is spent
 * (remaining 0); a 429 saying none of these: the sooner reset. -1: none. */
long long llm_ratehdr_retry_ms(const struct llm_ratehdr *h, long status);
/* "6m0s", "1.5s", "20ms", "1h2m3s" -> ms (rounded up, saturated at
 * LLM_HDR_MAX_MS); -1 if malformed or negative. */
long long llm_hdr_go_duration_ms(const char *s);
/* RFC 3339 ("2026-12-01T17:00:00Z", offsets, fractions) -> Unix ms; -1. */
long long llm_hdr_rfc3339_ms(const char *s);
/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") -> Unix ms; -1. */
long long llm_hdr_http_date_ms(const char *s);
/* A retry-after value (seconds, fractions allowed, or an HTTP date) as ms
 * from now_real_ms, in [0, LLM_HDR_MAX_MS]; -1 if malformed. */
long long llm_hdr_retry_after_ms(const char *s, long long now_real_ms);
/* Whether a header name is lit (lowercase ASCII) in any case: what
 * strcasecmp(name, lit) == 0 says in the C locale, without a call (the
 * gateway asks this of every header of every answer). */
static inline bool llm_hdr_is(const char *name, const char *lit)
{
    for (;; name++, lit++) {
        unsigned c = (unsigned char)*name;
        if (c - 'A' < 26u)
            c += 32;
        if (c != (unsigned char)*lit)
            return false;
        if (!c)
            return true;
    }
}

#endif
