/* serve_ui: the operator web UI of the serve role (internal to serve).
 *   GET /ui            302 to /ui/
 *   GET /ui/           index.html; GET /ui/{file}: the other assets
 *   GET /ui/methods.json  {"oidc": bool, "api_key": bool}: the login the
 *                      page offers
 *   GET /ui/events     server-sent events: "jobs" when jobs ended or were
 *                      enqueued or retried (Redis ingot:done / ingot:jobs,
 *                      coalesced, no ids: the page re-reads what it shows
 *                      through /v1, which knows the tenant)
 * The assets (ui/, compiled in by ui/embed.sh) are plain HTML, CSS and JS
 * that use only /v1 and /auth with the session cookie and CSRF token.
 * Every answer carries a Content-Security-Policy without inline script or
 * style, frame-ancestors 'none', nosniff, a Referrer-Policy, and HSTS when
 * PUBLIC_URL is https. */
#ifndef INGOT_SERVE_UI_H
#define INGOT_SERVE_UI_H

#include <stddef.h>

struct httpd;
struct runtime;
struct serve_ui;

/* One compiled-in asset (build/gen/ui_embed.c). */
struct ui_asset {
    const char *name;         /* "index.html" */
    const char *content_type;
    const char *data;
    size_t len;
};
extern const struct ui_asset ui_assets[];
extern const size_t ui_assets_count;

/* The security headers every /ui answer carries (https: PUBLIC_URL is). */
struct http_req;
void serve_ui_headers(struct http_req *r, int https);

/* Registers the /ui routes. Borrows rt and h. Returns owned. */
struct serve_ui *serve_ui_new(struct runtime *rt, struct httpd *h);
/* Ends the event streams (a drain waits for in-flight replies). */
void serve_ui_drain(struct serve_ui *u);
void serve_ui_free(struct serve_ui *u);

#endif
