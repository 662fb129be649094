/* llm_hdr: providers' rate-limit and retry headers, parsed. OpenAI:
 * x-ratelimit-{remaining,reset}-{requests,tokens} with Go durations
 * ("6m0s", "1s", "20ms"); Anthropic: anthropic-ratelimit-*-{remaining,reset}
 * with RFC 3339 resets (the smallest remaining of tokens/input/output wins);
 * retry-after-ms (float ms), retry-after (seconds or HTTP date). Pure. */
#ifndef INGOT_LLM_HDR_H
#define INGOT_LLM_HDR_H

#include <stdbool.h>

#include "llm_types.h"
#include "util.h"

void llm_ratehdr_init(struct llm_ratehdr *h);
/* Feeds one response header (name case-insensitive). now_real_ms: wall
 * clock, for absolute resets. Unknown names are ignored. */
void llm_ratehdr_feed(struct llm_ratehdr *h, const char *name, const char *value, long long now_real_ms);
/* "6m0s", "1.5s", "20ms", "1h2m3s" -> ms; -1 if malformed. */
long long llm_hdr_go_duration_ms(const char *s);
/* RFC 3339 ("2026-12-01T17:00:00Z", offsets, fractions) -> Unix ms; -1. */
long long llm_hdr_rfc3339_ms(const char *s);

#endif
