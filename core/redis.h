/* redis: one hiredis async connection on the loop, optional. Commands are
 * refused at once (return -1) while Redis is down or not configured, so a
 * caller never waits on Redis: it falls back. Every command has its own
 * deadline; a deadline missed means Redis stalled, and the connection is
 * dropped and re-made with backoff. */
#ifndef INGOT_REDIS_H
#define INGOT_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct loop;
struct metrics;
struct redisReply;
struct redis_client;

enum redis_state {
    REDIS_DISABLED,   /* REDIS_URL unset */
    REDIS_DOWN,       /* waiting to reconnect */
    REDIS_RESOLVING,
    REDIS_CONNECTING,
    REDIS_HANDSHAKE,  /* AUTH / SELECT / PING */
    REDIS_READY
};

/* reply is borrowed (freed when this returns) and NULL on failure, when
 * err says why. Runs exactly once for each accepted command. */
typedef void (*redis_reply_cb)(struct redisReply *reply, const char *err, void *arg);

/* url "" or NULL: disabled. Returns owned. */
struct redis_client *redis_client_new(struct loop *l, struct metrics *m, const char *url,
                                      long long timeout_ms, char *err, size_t errlen);
void redis_client_free(struct redis_client *rc);
/* argv form only (never formats user data into a command). Returns -1,
 * without calling cb, when not ready. timeout_ms 0: the default. */
int redis_cmd(struct redis_client *rc, int argc, const char **argv, const size_t *argvlen,
              long long timeout_ms, redis_reply_cb cb, void *arg) ATTR_WUR;
/* Turns this client into a subscriber of channel (use a client of its
 * own: a subscribed connection runs no other commands). cb gets each
 * message's payload; the subscription is renewed after every reconnect. */
typedef void (*redis_message_cb)(const char *payload, size_t len, void *arg);
void redis_subscribe(struct redis_client *rc, const char *channel, redis_message_cb cb, void *arg);
/* PUBLISH without waiting for the answer; dropped when Redis is down. */
void redis_publish(struct redis_client *rc, const char *channel, const char *payload);
/* rc may be NULL (no client made): REDIS_DISABLED. */
enum redis_state redis_state(const struct redis_client *rc);
/* How many times the client became ready (rc NULL: 0): a change means a
 * reconnect, after which Redis may hold older data (a restart). */
unsigned long redis_ready_count(const struct redis_client *rc);
const char *redis_state_text(enum redis_state s);
const char *redis_last_error(const struct redis_client *rc);

#endif
