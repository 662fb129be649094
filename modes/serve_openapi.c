#include "serve_openapi.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "httpd.h"

/* The document's ETag: FNV-1a of its bytes, once (it is the binary's). */
static char etag[24];

static bool etag_matches(const char *inm)
{
    /* "*", or the tag in a list of them (weak or not: W/ compares weakly) */
    if (!inm)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    return strstr(inm, etag) != NULL;
}

static void openapi_cb(struct http_req *r, void *arg)
{
    (void)arg;
    http_add_header(r, "ETag", etag);
    /* cached, but checked each time: a new binary may answer another document */
    http_add_header(r, "Cache-Control", "no-cache");
    /* a viewer served from elsewhere may read it: it holds no secret */
    http_add_header(r, "Access-Control-Allow-Origin", "*");
    if (etag_matches(http_req_header(r, "If-None-Match"))) {
        http_reply(r, 304, NULL, openapi_json, openapi_json_len);
        return;
    }
    http_reply_json(r, 200, openapi_json, openapi_json_len);
}

void serve_openapi_routes(struct httpd *h)
{
    uint64_t x = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < openapi_json_len; i++)
        x = (x ^ (unsigned char)openapi_json[i]) * 0x100000001b3ULL;
    snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)x);
    httpd_route(h, HTTP_M_GET, "/openapi.json", 0, openapi_cb, NULL);
}
