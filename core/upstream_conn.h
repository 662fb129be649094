/* upstream_conn: one connection of the upstream client: resolve, connect,
 * TLS, and raw reads and writes on the loop. Private to upstream.c (which
 * owns the connections and decides what a failure means for a request).
 *
 * Events: the read event is persistent from connect to close, also while
 * the connection idles (a server's close is seen at once), so a request on
 * a kept connection changes no epoll registration; the write event is only
 * armed for a connect or a write that did not fit. */
#ifndef INGOT_UPSTREAM_CONN_H
#define INGOT_UPSTREAM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event;
struct event_base;
struct loop;
struct loop_resolve;
struct ssl_st;
struct ssl_ctx_st;

enum upc_state {
    UPC_RESOLVING = 0,
    UPC_CONNECTING,
    UPC_HANDSHAKE,
    UPC_READY /* connected (and TLS done): idle, or carrying a request */
};

struct upc;
/* What the owner hears: ready (connected, TLS done), readable (bytes may
 * be read: upc_recv), writable (a write that did not fit may go on), and
 * failed (resolve, connect, TLS; why is the operator's text). Each may free
 * the connection (upc_close); the connection touches nothing after. */
struct upc_ops {
    void (*ready)(struct upc *c);
    void (*readable)(struct upc *c);
    void (*writable)(struct upc *c);
    void (*failed)(struct upc *c, const char *why);
};

struct upc {
    enum upc_state state;
    const struct upc_ops *ops;
    void *owner;                 /* the upstream's, for the callbacks */
    struct loop *loop;
    const char *host;            /* borrowed from the origin: name or IP, no brackets */
    int port;
    struct ssl_ctx_st *tls;      /* borrowed; NULL for http */
    int fd;
    struct ssl_st *ssl;
    struct event *rev, *wev;
    struct event *fail_ev;       /* a failure found inside upc_open, reported from the loop */
    char fail_why[320];
    struct loop_resolve *res;
    bool read_wants_write, write_wants_read;
    /* owner's state */
    void *req;
    void *origin;                /* while idle: the list it is on */
    unsigned uses;               /* requests finished on it */
    int64_t idle_since_ms;
    struct upc *next, *prev;
};

/* Allocates and starts resolving and connecting; the outcome comes through
 * ops, never before this returns (a failure found at once is reported from
 * the loop). Returns owned (upc_close). */
struct upc *upc_open(struct loop *l, const struct upc_ops *ops, void *owner, const char *host, int port,
                     struct ssl_ctx_st *tls, void *req);
/* Closes and frees (cancels a resolve in progress). */
void upc_close(struct upc *c);
/* > 0 bytes read; 0 end of stream; -1 nothing now (the right event is
 * armed); -2 error with why filled. */
long upc_recv(struct upc *c, char *buf, size_t cap, char *why, size_t whylen);
/* > 0 bytes written; -1 nothing now (the right event is armed, writable or
 * readable follows); -2 error with why filled. */
long upc_send(struct upc *c, const char *buf, size_t len, char *why, size_t whylen);
/* Whether TLS holds decrypted bytes not read yet. */
bool upc_pending(const struct upc *c);

/* A client TLS context verifying peers against the CA file ca_bundle
 * (NULL: TLS is off, CA_BUNDLE=none); NULL with why when it cannot be made. */
struct ssl_ctx_st *upc_tls_ctx(const char *ca_bundle, char *why, size_t whylen);

#endif
