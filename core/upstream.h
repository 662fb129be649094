/* upstream: a keep-alive HTTP/1.1 client for the LLM providers, on the
 * loop with no library between us and the socket. libcurl costs serve about
 * 20 us of CPU per proxied call (handle setup, a liveness poll() and epoll
 * changes on every reuse), a third of the gateway's whole cost; here a call
 * on a kept connection is one send and one recv.
 *
 * It takes httpc's request and answers with httpc's response and callbacks
 * (same rules: cb runs exactly once, never from inside upstream_send; head
 * and data may not call upstream). What it does not do, because the
 * provider's URL is the operator's and not a job's: redirects, proxies
 * (the engine sends through httpc when one is configured in the
 * environment), the SSRF guard (a request with ssrf is refused), content
 * encodings (it asks for none). TLS is OpenSSL's, verifying the peer
 * against CA_BUNDLE or the system store and the URL's name or IP.
 *
 * A connection that was kept idle and turns out closed (the server timed it
 * out as we sent) is retried once on a new one, before any answer byte. */
#ifndef INGOT_UPSTREAM_H
#define INGOT_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "httpc.h"

struct loop;
struct upstream;

/* ca_bundle: CA_BUNDLE's value (tlsca.h: a path, ""/NULL for the default
 * file, "none" for no TLS). max_idle: connections
 * kept open between calls (0: 64). Returns owned. */
struct upstream *upstream_new(struct loop *l, const char *ca_bundle, size_t max_idle);
/* Ends in-flight requests (their callbacks run with an error). */
void upstream_free(struct upstream *u);
/* Everything in req is copied. 0, or -1 when the request cannot start (a
 * URL that is not http(s)://host[:port]/..., req->ssrf set). */
int upstream_send(struct upstream *u, const struct httpc_request *req, httpc_cb cb, void *arg) ATTR_WUR;
/* Stops the request sent with this cb and arg: its connection is closed
 * and cb never runs. Not from inside head or data. false: no such request. */
bool upstream_abort(struct upstream *u, httpc_cb cb, void *arg);
size_t upstream_inflight(const struct upstream *u);
/* Reads the CA certificates now (tens of ms for the system store) rather
 * than on the loop at the first https call. -1 with why when they cannot
 * be read (calls to https providers then fail with that reason). */
int upstream_tls_warm(struct upstream *u, char *why, size_t whylen);
/* Whether the environment names a proxy (http_proxy, https_proxy,
 * all_proxy, either case): callers then go through httpc, which uses it. */
bool upstream_proxy_in_env(void);

#endif
