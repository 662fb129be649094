/* llm_types: the small types every LLM module shares (no functions). */
#ifndef INGOT_LLM_TYPES_H
#define INGOT_LLM_TYPES_H

#include <stdbool.h>
#include <stdint.h>

/* LLM_EP_MESSAGES: Anthropic's Messages API (llm_msgs*); LLM_EP_RESPONSES:
 * OpenAI's Responses API (llm_resp*). */
enum llm_endpoint { LLM_EP_CHAT, LLM_EP_EMBED, LLM_EP_MESSAGES, LLM_EP_RESPONSES };
/* PROVIDER_OPENAI_CHAT: an OpenAI-compatible server without the Responses
 * API (most self-hosted ones): /v1/responses is translated to chat
 * completions for it; it is PROVIDER_OPENAI in everything else. */
enum provider_type { PROVIDER_OPENAI, PROVIDER_ANTHROPIC, PROVIDER_OPENAI_CHAT };

#define PROVIDER_NAME_MAX 64
#define LLM_MODEL_MAX 191
#define PROVIDER_DEFAULT "default"  /* the provider of LLM_BASE_URL */

/* OpenAI's usage object. cached is part of prompt; reasoning part of
 * completion (OpenAI's accounting). -1: not reported. */
struct llm_usage {
    long long prompt, completion, cached, reasoning;
};

/* What a provider's headers say about its limits and when to come back.
 * -1 everywhere: not said. Durations are ms from when the answer came. */
struct llm_ratehdr {
    long long remaining_requests, remaining_tokens;
    long long reset_requests_ms, reset_tokens_ms;
    long long retry_after_ms;   /* the longest of retry-after-ms and retry-after (a
                                 * retry-after that only rounds retry-after-ms up
                                 * to whole seconds adds nothing) */
    long long ra_ms, ra_s;      /* llm_hdr's: each header's own value (-1) */
    int should_retry;           /* x-should-retry: 1 true, 0 false, -1 absent */
};

#endif
