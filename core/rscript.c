#include "rscript.h"

#include <hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rscript_init(struct rscript *s, const char *text)
{
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)text, strlen(text), d);
    s->text = text;
    util_hex(d, sizeof d, s->sha);
}

/* One call in flight: its arguments are kept for the EVAL re-send. */
struct rcall {
    struct redis_client *rc;
    const struct rscript *s;
    int argc;          /* EVALSHA sha nkeys args... */
    char **argv;
    long long timeout_ms;
    redis_reply_cb cb;
    void *arg;
    bool resent;
};

static void rcall_free(struct rcall *c)
{
    for (int i = 2; i < c->argc; i++) /* argv[0] and [1] are not ours */
        free(c->argv[i]);
    free(c->argv);
    free(c);
}

static void reply_cb(struct redisReply *reply, const char *err, void *arg)
{
    struct rcall *c = arg;
    if (reply && reply->type == REDIS_REPLY_ERROR && !c->resent && reply->str &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        c->resent = true;
        c->argv[0] = (char *)"EVAL";
        c->argv[1] = (char *)c->s->text;
        if (redis_cmd(c->rc, c->argc, (const char **)c->argv, NULL, c->timeout_ms, reply_cb, c) == 0)
            return;
        c->cb(NULL, "redis not ready", c->arg);
        rcall_free(c);
        return;
    }
    c->cb(reply, err, c->arg);
    rcall_free(c);
}

int rscript_run(struct redis_client *rc, const struct rscript *s, int nkeys, int nargs,
                const char *const *args, long long timeout_ms, redis_reply_cb cb, void *arg)
{
    if (redis_state(rc) != REDIS_READY)
        return -1;
    struct rcall *c = xcalloc(1, sizeof *c);
    c->rc = rc;
    c->s = s;
    c->argc = nargs + 3;
    c->argv = xcalloc((size_t)c->argc, sizeof *c->argv);
    c->argv[0] = (char *)"EVALSHA";
    c->argv[1] = (char *)s->sha;
    c->argv[2] = xasprintf("%d", nkeys);
    for (int i = 0; i < nargs; i++)
        c->argv[3 + i] = xstrdup(args[i]);
    c->timeout_ms = timeout_ms;
    c->cb = cb;
    c->arg = arg;
    if (redis_cmd(rc, c->argc, (const char **)c->argv, NULL, timeout_ms, reply_cb, c) == 0)
        return 0;
    rcall_free(c);
    return -1;
}
