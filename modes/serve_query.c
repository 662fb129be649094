#include "serve_query.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "util.h"

/* Routes that take a query, by method and pattern; every other /v1 route
 * takes none. Names compare without case, as http_req_query reads them. */
static const struct {
    unsigned method;
    const char *pattern;
    const char *const allowed[10];
} routes[] = {
    {HTTP_M_GET, "/v1/jobs",
     {"queue", "status", "kind", "group", "created_after", "created_before", "limit", "cursor", NULL}},
    {HTTP_M_GET, "/v1/jobs/{id}", {"wait", NULL}},
    {HTTP_M_GET, "/v1/usage", {"from", "to", "group_by", NULL}},
    {HTTP_M_POST, "/v1/messages", {"beta", NULL}}, /* Anthropic's SDK: beta.messages */
    {HTTP_M_GET, "/v1/files", {"after", "limit", "order", "purpose", NULL}},
    {HTTP_M_GET, "/v1/webhook_endpoints", {"after", "limit", NULL}},
};

static const char *const *allowed_for(const struct http_req *r)
{
    const char *pattern = http_req_route(r);
    for (size_t i = 0; i < ARRAY_LEN(routes); i++)
        if (routes[i].method == http_req_method(r) && strcmp(routes[i].pattern, pattern) == 0)
            return routes[i].allowed;
    return NULL;
}

const char *serve_query_problem(struct http_req *r, bool *repeated)
{
    size_t n = http_req_query_count(r);
    const char *const *allowed = allowed_for(r);
    for (size_t i = 0; i < n; i++) {
        const char *name = http_req_query_name(r, i);
        bool known = false;
        for (size_t k = 0; allowed && allowed[k] && !known; k++)
            known = strcasecmp(allowed[k], name) == 0;
        *repeated = false;
        if (!known)
            return name;
        for (size_t k = 0; k < i; k++) {
            if (strcasecmp(http_req_query_name(r, k), name) == 0) {
                *repeated = true;
                return name;
            }
        }
    }
    return NULL;
}

bool serve_query_check(struct http_req *r)
{
    bool repeated;
    const char *name = serve_query_problem(r, &repeated);
    if (!name)
        return true;
    if (repeated)
        http_reply_error(r, 400, "invalid_request_error", name, "invalid_value",
                         "query parameter %s given more than once", name);
    else
        http_reply_error(r, 400, "invalid_request_error", name, "unknown_parameter", "unknown query parameter %s",
                         name);
    return false;
}
