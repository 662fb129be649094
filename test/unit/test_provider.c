/* provider_snap: the resolution rules over one view of providers, routes
 * and tenants' keys (provider.h's order). */
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "crypt.h"
#include "provider.h"
#include "provider_snap.h"

static struct provider_snap *sample(bool with_default)
{
    struct provider_snap *s = provider_snap_new();
    if (with_default)
        provider_snap_add(s, PROVIDER_DEFAULT, PROVIDER_OPENAI, "http://127.0.0.1:9/v1/", "sk-default",
                          NULL, "BUILT_IN_FORGE_API_URL");
    provider_snap_add(s, "claude", PROVIDER_ANTHROPIC, "http://127.0.0.1:10/v1", "sk-ant", NULL, "admin");
    provider_snap_add(s, "local", PROVIDER_OPENAI, "http://127.0.0.1:11/v1", NULL, NULL, "admin");
    provider_snap_add(s, "broken", PROVIDER_OPENAI, "http://127.0.0.1:12/v1", NULL,
                      "sealed under key id 0badc0de", "admin");
    provider_snap_route(s, "fast", "claude", "claude-3-5-haiku");
    provider_snap_route(s, "same", "local", NULL);
    provider_snap_route(s, "local/special", "claude", "x-special");
    provider_snap_route(s, "gone", "removed", NULL);
    provider_snap_route(s, "viabroken", "broken", NULL);
    provider_snap_route(s, "todefault", PROVIDER_DEFAULT, "gpt-4o-mini");
    provider_snap_tenant_key(s, 7, "claude", "sk-tenant7", NULL);
    provider_snap_tenant_key(s, 8, "claude", NULL, "does not open under key id 12345678");
    provider_snap_tenant_key(s, 7, PROVIDER_DEFAULT, "sk-t7-default", NULL);
    provider_snap_done(s);
    return s;
}

#define RESOLVE(s, t, m) provider_snap_resolve((s), (t), (m), &out, why, sizeof why)

static void test_order(void)
{
    struct provider_snap *s = sample(true);
    struct provider_target out;
    char why[512];

    test_cond("route", RESOLVE(s, 0, "fast") == 0);
    test_streq("route provider", out.provider, "claude");
    test_cond("route type", out.type == PROVIDER_ANTHROPIC);
    test_streq("route upstream", out.upstream_model, "claude-3-5-haiku");
    test_streq("route key", out.api_key, "sk-ant");
    test_cond("not tenant key", !out.tenant_key);
    provider_target_deinit(&out);

    test_cond("route same name", RESOLVE(s, 0, "same") == 0);
    test_streq("same upstream", out.upstream_model, "same");
    test_streq("no key is empty", out.api_key, "");
    test_streq("base url", out.base_url, "http://127.0.0.1:11/v1");
    provider_target_deinit(&out);

    test_cond("prefix", RESOLVE(s, 0, "claude/claude-3-opus") == 0);
    test_streq("prefix provider", out.provider, "claude");
    test_streq("prefix upstream", out.upstream_model, "claude-3-opus");
    provider_target_deinit(&out);

    test_cond("route beats prefix", RESOLVE(s, 0, "local/special") == 0);
    test_streq("route beats prefix: provider", out.provider, "claude");
    test_streq("route beats prefix: upstream", out.upstream_model, "x-special");
    provider_target_deinit(&out);

    test_cond("unknown prefix: default gets it whole", RESOLVE(s, 0, "meta-llama/Llama-3") == 0);
    test_streq("unknown prefix provider", out.provider, PROVIDER_DEFAULT);
    test_streq("unknown prefix upstream", out.upstream_model, "meta-llama/Llama-3");
    test_streq("default trailing slash dropped", out.base_url, "http://127.0.0.1:9/v1");
    provider_target_deinit(&out);

    test_cond("default", RESOLVE(s, 0, "gpt-4o") == 0);
    test_streq("default provider", out.provider, PROVIDER_DEFAULT);
    test_streq("default key", out.api_key, "sk-default");
    provider_target_deinit(&out);

    test_cond("route to default", RESOLVE(s, 0, "todefault") == 0);
    test_streq("route to default upstream", out.upstream_model, "gpt-4o-mini");
    provider_target_deinit(&out);

    test_cond("default/ prefix", RESOLVE(s, 0, "default/gpt-4o") == 0);
    test_streq("default/ upstream", out.upstream_model, "gpt-4o");
    provider_target_deinit(&out);

    /* Tenants' own keys. */
    test_cond("tenant key", RESOLVE(s, 7, "fast") == 0);
    test_streq("tenant key used", out.api_key, "sk-tenant7");
    test_cond("tenant key flagged", out.tenant_key);
    provider_target_deinit(&out);
    test_cond("tenant key on default", RESOLVE(s, 7, "gpt-4o") == 0 && strcmp(out.api_key, "sk-t7-default") == 0);
    provider_target_deinit(&out);
    test_cond("other tenant: provider key", RESOLVE(s, 9, "fast") == 0 && strcmp(out.api_key, "sk-ant") == 0);
    provider_target_deinit(&out);
    test_cond("tenant key that does not open refuses (the operator's)", RESOLVE(s, 8, "fast") == PROVIDERS_KEY_UNUSABLE);
    test_cond("says why", strstr(why, "own key") && strstr(why, "claude"));
    test_cond("tenant 8 elsewhere fine", RESOLVE(s, 8, "gpt-4o") == 0);
    provider_target_deinit(&out);

    /* Refusals, each with a message for a 400 naming model. */
    test_cond("empty", RESOLVE(s, 0, "") < 0 && strstr(why, "required"));
    test_cond("null", RESOLVE(s, 0, NULL) < 0);
    char longm[300];
    memset(longm, 'm', sizeof longm - 1);
    longm[sizeof longm - 1] = '\0';
    test_cond("too long", RESOLVE(s, 0, longm) < 0 && strstr(why, "191"));
    test_cond("route to removed provider", RESOLVE(s, 0, "gone") < 0);
    test_cond("names both", strstr(why, "'gone'") && strstr(why, "'removed'"));
    test_cond("broken key refuses (the operator's)", RESOLVE(s, 0, "viabroken") == PROVIDERS_KEY_UNUSABLE && strstr(why, "'broken'"));
    test_cond("broken key: why is for the log (the tenant gets a fixed message)", strstr(why, "ENCRYPTION_KEY"));
    test_cond("prefix without model", RESOLVE(s, 0, "claude/") < 0 && strstr(why, "no model"));
    provider_snap_free(s);

    s = sample(false);
    test_cond("no default: unrouted refused", RESOLVE(s, 0, "gpt-4o") < 0);
    test_cond("no default: says model", strstr(why, "'gpt-4o'") && strstr(why, "no default provider"));
    test_cond("no default: unknown prefix refused", RESOLVE(s, 0, "meta/x") < 0);
    test_cond("  naming the prefix as no provider", strstr(why, "no provider named meta (and no default provider)"));
    test_cond("no default: route still works", RESOLVE(s, 0, "fast") == 0);
    provider_target_deinit(&out);
    test_cond("no default: route to default refused", RESOLVE(s, 0, "todefault") < 0);
    provider_snap_free(s);

    test_cond("null snap refuses", provider_snap_resolve(NULL, 0, "x", &out, why, sizeof why) < 0);
}

/* provider_snap_resolve_nokey: the same answer and why as the full
 * resolve, nothing of the URL or key. */
static void test_nokey(void)
{
    static const char *const models[] = {"gpt-4o", "fast", "gone", "viabroken", "claude/", "claude/x",
                                         "meta/x", "todefault", "", "a/b/c"};
    static const uint64_t tenants[] = {0, 7, 8};
    bool same = true, nokey = true;
    for (int d = 0; d < 2; d++) {
        struct provider_snap *s = sample(d == 0);
        for (size_t m = 0; m < ARRAY_LEN(models); m++) {
            for (size_t t = 0; t < ARRAY_LEN(tenants); t++) {
                struct provider_target a, b;
                char wa[512] = "", wb[512] = "";
                memset(&a, 0, sizeof a);
                memset(&b, 0, sizeof b);
                int ra = provider_snap_resolve(s, tenants[t], models[m], &a, wa, sizeof wa);
                int rb = provider_snap_resolve_nokey(s, tenants[t], models[m], &b, wb, sizeof wb);
                same = same && ra == rb && strcmp(wa, wb) == 0 && strcmp(a.provider, b.provider) == 0 &&
                       a.type == b.type && strcmp(a.upstream_model, b.upstream_model) == 0 &&
                       a.tenant_key == b.tenant_key;
                nokey = nokey && !b.base_url && !b.api_key;
                provider_target_deinit(&a);
                provider_target_deinit(&b);
            }
        }
        provider_snap_free(s);
    }
    test_cond("nokey: the same answers as resolve", same);
    test_cond("nokey: no URL, no key", nokey);
}

/* provider_auth_headers_in: the same headers as provider_auth_headers,
 * in the caller's buffer; -1 when they do not fit. */
static void test_auth_in(void)
{
    static const char *const keys[] = {"sk-abc", "", NULL};
    bool same = true;
    for (int ty = 0; ty < 2; ty++) {
        for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
            char key[16] = "";
            struct provider_target t;
            memset(&t, 0, sizeof t);
            t.type = ty ? PROVIDER_ANTHROPIC : PROVIDER_OPENAI;
            if (keys[k])
                snprintf(key, sizeof key, "%s", keys[k]);
            t.api_key = keys[k] ? key : NULL;
            char *own[3], *own2[3], buf[64];
            const char *in[3];
            size_t n = provider_auth_headers(&t, own);
            size_t m = provider_auth_headers_in(&t, buf, sizeof buf, in, own2);
            same = same && m == n && !in[n] && !own2[0];
            for (size_t i = 0; same && i < n; i++)
                same = strcmp(own[i], in[i]) == 0;
            provider_header_free(own);
        }
    }
    test_cond("auth in a buffer: the same headers", same);
    struct provider_target t;
    memset(&t, 0, sizeof t);
    t.type = PROVIDER_OPENAI;
    char key[] = "sk-0123456789", big[40]; /* the header: 35 characters */
    t.api_key = key;
    const char *in[3];
    char *own[3];
    test_cond("auth in a buffer: one byte short: allocated",
              provider_auth_headers_in(&t, big, 35, in, own) == 1 && big[0] == 0 && own[0] && in[0] == own[0] &&
                  !in[1] && strcmp(in[0], "Authorization: Bearer sk-0123456789") == 0);
    provider_header_free(own);
    test_cond("auth in a buffer: fits exactly", provider_auth_headers_in(&t, big, 36, in, own) == 1 && in[0] == big &&
                                                    !own[0] && strcmp(in[0], "Authorization: Bearer sk-0123456789") == 0);
    crypt_secret_wipe(big);
    test_cond("wiped", big[0] == 0 && big[35] == 0);
}

static void test_listing(void)
{
    struct provider_snap *s = sample(true);
    struct provider_info info[8];
    size_t n = provider_snap_list(s, info, 8);
    test_cond("count", n == 4);
    test_streq("default first", info[0].name, PROVIDER_DEFAULT);
    test_streq("alias source", info[0].source, "BUILT_IN_FORGE_API_URL");
    test_cond("default has key", info[0].has_key);
    test_cond("local no key", strcmp(info[2].name, "local") == 0 && !info[2].has_key);
    test_cond("broken has key", info[3].has_key);
    test_cond("max honoured", provider_snap_list(s, info, 2) == 2);
    struct sbuf b;
    sbuf_init(&b);
    provider_snap_routes_json(s, &b);
    test_cond("routes json", strstr(b.data, "{\"model\":\"fast\",\"provider\":\"claude\","
                                             "\"upstream_model\":\"claude-3-5-haiku\"}") != NULL);
    test_cond("routes json same", strstr(b.data, "\"model\":\"same\",\"provider\":\"local\","
                                                  "\"upstream_model\":\"same\"") != NULL);
    test_cond("no key in json", strstr(b.data, "sk-") == NULL);
    sbuf_deinit(&b);
    struct provider_target t;
    char why[256];
    test_cond("get", provider_snap_get(s, "claude", &t, why, sizeof why) == 0 && strcmp(t.api_key, "sk-ant") == 0);
    provider_target_deinit(&t);
    test_cond("get unknown", provider_snap_get(s, "nope", &t, why, sizeof why) < 0);
    test_cond("get broken", provider_snap_get(s, "broken", &t, why, sizeof why) < 0);
    provider_snap_free(s);

    test_cond("name ok", provider_name_valid("a.b_c-9"));
    test_cond("name empty", !provider_name_valid(""));
    test_cond("name slash", !provider_name_valid("a/b"));
    test_cond("name space", !provider_name_valid("a b"));
    char n65[66];
    memset(n65, 'a', 65);
    n65[65] = '\0';
    test_cond("name 65", !provider_name_valid(n65));
    n65[64] = '\0';
    test_cond("name 64", provider_name_valid(n65));
    enum provider_type ty;
    test_cond("type openai", provider_type_parse("openai", &ty) == 0 && ty == PROVIDER_OPENAI);
    test_cond("type anthropic", provider_type_parse("anthropic", &ty) == 0 && ty == PROVIDER_ANTHROPIC);
    test_cond("type bad", provider_type_parse("OpenAI", &ty) < 0);
}

/* The tag tells a changed provider from the one a cached probe saw. */
static uint64_t tag_with(enum provider_type t, const char *url, const char *key, const char *kerr)
{
    struct provider_snap *s = provider_snap_new();
    provider_snap_add(s, "p", t, url, key, kerr, "admin");
    provider_snap_done(s);
    struct provider_info info[1];
    uint64_t tag = provider_snap_list(s, info, 1) == 1 ? info[0].tag : 0;
    provider_snap_free(s);
    return tag;
}

static void test_tag(void)
{
    uint64_t base = tag_with(PROVIDER_OPENAI, "http://127.0.0.1:9/v1", "sk-a", NULL);
    test_cond("tag: same provider, same tag", base == tag_with(PROVIDER_OPENAI, "http://127.0.0.1:9/v1", "sk-a", NULL));
    test_cond("tag: trailing slash is the same URL", base == tag_with(PROVIDER_OPENAI, "http://127.0.0.1:9/v1/", "sk-a", NULL));
    test_cond("tag: URL", base != tag_with(PROVIDER_OPENAI, "http://127.0.0.1:8/v1", "sk-a", NULL));
    test_cond("tag: type", base != tag_with(PROVIDER_ANTHROPIC, "http://127.0.0.1:9/v1", "sk-a", NULL));
    test_cond("tag: key", base != tag_with(PROVIDER_OPENAI, "http://127.0.0.1:9/v1", "sk-b", NULL));
    test_cond("tag: no key", base != tag_with(PROVIDER_OPENAI, "http://127.0.0.1:9/v1", NULL, NULL));
    test_cond("tag: key error", tag_with(PROVIDER_OPENAI, "http://127.0.0.1:9/v1", NULL, "x") !=
                                    tag_with(PROVIDER_OPENAI, "http://127.0.0.1:9/v1", NULL, NULL));
    test_cond("tag: bytes moved between fields", tag_with(PROVIDER_OPENAI, "http://127.0.0.1:9/v1", "sk-a", NULL) !=
                                                     tag_with(PROVIDER_OPENAI, "http://127.0.0.1:9/v1s", "k-a", NULL));
}

int main(void)
{
    test_tag();
    test_nokey();
    test_auth_in();
    test_order();
    test_listing();
    test_report();
}
