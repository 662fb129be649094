/* llmlimit_hold: the hold script, this process's copy of the holds (by
 * scope: llmlimit_hold_scope), the other processes' holds (their messages,
 * and the hash now and then). Internal to llmlimit. */
#ifndef INGOT_LLMLIMIT_HOLD_H
#define INGOT_LLMLIMIT_HOLD_H

#include <stddef.h>

struct llmlimit;

#define HOLDS_READ_MS 1000

extern const char llmlimit_hold_lua[];
void llmlimit_holds_msg_cb(const char *payload, size_t len, void *arg);
void llmlimit_holds_timer_cb(int fd, short what, void *arg);
void llmlimit_hold_local(struct llmlimit *ll, const char *provider, long long ms);
long long llmlimit_held_ms(struct llmlimit *ll, const char *provider);

#endif
