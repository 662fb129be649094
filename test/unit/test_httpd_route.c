/* httpd_route_try (a route's cheap refusals, then the pattern walk) gives
 * the answer the plain walk gave before it, on tricky patterns (no '{',
 * several, adjacent, unclosed, more than HTTPD_MAX_PARAMS) and on every
 * path of a small alphabet up to 7 bytes plus random longer ones: the
 * same match, the same params. */
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "httpd_req.h"
#include "loop.h"
#include "metrics.h"

/* the matcher as it was (each route walked from its first byte) */
static bool ref_match(const char *pattern, const char *path, struct http_req *r)
{
    const char *p = pattern, *s = path;
    size_t n = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t seg = strcspn(s, "/");
            if (!close || seg == 0 || n >= HTTPD_MAX_PARAMS)
                return false;
            r->param_names[n] = p + 1;
            r->param_name_lens[n] = (size_t)(close - p - 1);
            r->param_raw[n] = s;
            r->param_raw_lens[n] = seg;
            n++;
            p = close + 1;
            s += seg;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    if (*p || *s)
        return false;
    r->nparams = n;
    return true;
}

static const char *const patterns[] = {
    "", "/", "/a", "/ab", "/a/b", "/a/{x}", "/a/{x}/b", "{x}", "/{x}{y}", "/a/{x", "/a/}",
    "/{a}/{b}/{c}/{d}", "/{a}/{b}/{c}/{d}/{e}", "/a{x}b", "/b/{x}/", "/{a{b}/a", "/ab/{x}/{y}/a",
    "/{x}", "/a/{}", "{x}/{y}", "/v1/jobs/{id}/cancel"};

static long checked, differ;

static void check(const struct route *rt, const char *path)
{
    struct http_req a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.nparams = b.nparams = 99;
    bool want = ref_match(rt->pattern, path, &a);
    bool got = httpd_route_try(rt, path, strlen(path), &b);
    bool same = want == got;
    if (same && want) {
        same = a.nparams == b.nparams;
        for (size_t i = 0; same && i < a.nparams; i++)
            same = a.param_names[i] == b.param_names[i] &&
                   a.param_name_lens[i] == b.param_name_lens[i] && a.param_raw[i] == b.param_raw[i] &&
                   a.param_raw_lens[i] == b.param_raw_lens[i];
    }
    checked++;
    if (!same && differ++ < 5)
        printf("  '%s' on '%s': want %d got %d\n", rt->pattern, path, want, got);
}

int main(void)
{
    char err[256];
    struct loop *l = loop_new(err, sizeof err);
    struct metrics *m = metrics_new();
    struct httpd_opts o = {.max_body = 1024};
    struct httpd *h = httpd_new(l, m, &o);
    for (size_t i = 0; i < ARRAY_LEN(patterns); i++)
        httpd_route(h, HTTP_M_GET, patterns[i], 0, NULL, NULL);
    static const char alpha[] = "/ab{}x";
    char path[64];
    for (size_t len = 0; len <= 7; len++) {
        size_t total = 1;
        for (size_t k = 0; k < len; k++)
            total *= sizeof alpha - 1;
        for (size_t v = 0; v < total; v++) {
            size_t x = v;
            for (size_t k = 0; k < len; k++, x /= sizeof alpha - 1)
                path[k] = alpha[x % (sizeof alpha - 1)];
            path[len] = '\0';
            for (const struct route *rt = h->routes; rt; rt = rt->next)
                check(rt, path);
        }
    }
    srand(7);
    static const char *const parts[] = {"/", "a", "b", "ab", "{x}", "v1", "jobs", "cancel", "//", ""};
    for (int i = 0; i < 200000; i++) {
        size_t n = 0;
        int k = rand() % 10;
        for (int j = 0; j < k; j++) {
            const char *s = parts[rand() % (int)ARRAY_LEN(parts)];
            size_t sl = strlen(s);
            if (n + sl >= sizeof path)
                break;
            memcpy(path + n, s, sl);
            n += sl;
        }
        path[n] = '\0';
        for (const struct route *rt = h->routes; rt; rt = rt->next)
            check(rt, path);
    }
    const struct route *lit = h->routes->next->next; /* "/a" */
    test_cond("a literal pattern is marked literal", lit->literal && lit->pat_len == 2);
    test_cond("checked many", checked > 1000000);
    test_cond("route_try answers as the plain walk", differ == 0);
    httpd_free(h);
    loop_free(l);
    metrics_free(m);
    test_report();
}
