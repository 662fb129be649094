/* llm_relay_text: the relay's text helpers (search without a parse,
 * UTF-8 repair, the key sent redacted). For llm_relay.c. */
#ifndef INGOT_LLM_RELAY_TEXT_H
#define INGOT_LLM_RELAY_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct llm_call;
struct sbuf;

/* The first occurrence of needle (nl bytes) in s (n bytes), or NULL. */
const char *llm_relay_text_find(const char *s, size_t n, const char *needle, size_t nl);
bool llm_relay_text_contains(const char *s, size_t n, const char *needle);
/* s is valid UTF-8 (util_utf8_valid, all-ASCII text seen 64 bytes at a time). */
bool llm_relay_text_valid(const char *s, size_t n);
/* s into out with every invalid UTF-8 sequence as U+FFFD. */
void llm_relay_text_utf8_into(const char *s, size_t n, struct sbuf *out);
/* b made valid UTF-8 in place. */
void llm_relay_text_utf8(struct sbuf *b);
/* s has the JSON key name (quoted) with a value starting with one of starts. */
bool llm_relay_text_has_key_value(const char *s, size_t n, const char *name, const char *starts);
/* An OpenAI chunk carrying output (content, tool call, reasoning). */
bool llm_relay_text_has_output(const char *s, size_t n);
/* data with the key c sent replaced by [redacted], into out. */
void llm_relay_text_redact_into(const struct llm_call *c, const char *data, size_t len, struct sbuf *out);
/* b without the key c sent, when it has it. */
void llm_relay_text_redact(const struct llm_call *c, struct sbuf *b);

#endif
