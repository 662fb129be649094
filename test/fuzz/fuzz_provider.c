/* libFuzzer target for the provider registry's inputs: a stored sealed
 * value (crypt_open must refuse or open, never crash; a value sealed with
 * the input as both secret and AAD opens back to it exactly) and a model
 * name as a client sends it (provider_snap_resolve over a fixed view:
 * refused with a reason, or a target within bounds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "provider_snap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct crypt *cr;
static struct provider_snap *snap;
static char *sealed_a; /* a valid value, to mutate from */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    cr = crypt_new("0001020304050607080910111213141516171819202122232425262728293031",
                   "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=", err, sizeof err);
    if (!cr)
        abort();
    sealed_a = crypt_seal(cr, "provider:a", "sk-a", 4, err, sizeof err);
    snap = provider_snap_new();
    provider_snap_add(snap, PROVIDER_DEFAULT, PROVIDER_OPENAI, "http://127.0.0.1:1/v1", "k0", NULL, "LLM_BASE_URL");
    provider_snap_add(snap, "a", PROVIDER_ANTHROPIC, "http://127.0.0.1:2/v1/", "k1", NULL, "admin");
    provider_snap_add(snap, "b.c-d", PROVIDER_OPENAI, "http://127.0.0.1:3/v1", NULL, "bad", "admin");
    provider_snap_route(snap, "x", "a", "y");
    provider_snap_route(snap, "a/z", "b.c-d", NULL);
    provider_snap_route(snap, "gone", "nowhere", NULL);
    provider_snap_tenant_key(snap, 1, "a", "t1", NULL);
    provider_snap_tenant_key(snap, 2, "a", NULL, "does not open");
    provider_snap_done(snap);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = xstrndup((const char *)data, size);
    size_t len = strlen(in);
    char err[512];

    /* The input as a stored value, and spliced after a valid prefix. */
    crypt_secret_free(crypt_open(cr, "provider:a", in, NULL, err, sizeof err));
    char *mixed = xasprintf("%.12s%s", sealed_a, in);
    crypt_secret_free(crypt_open(cr, "provider:a", mixed, NULL, err, sizeof err));
    free(mixed);

    /* Round trip, and the wrong AAD refused. */
    char *s = crypt_seal(cr, in, in, len, err, sizeof err);
    if (!s)
        abort();
    size_t plen = 0;
    char *p = crypt_open(cr, in, s, &plen, err, sizeof err);
    if (!p || plen != len || memcmp(p, in, len) != 0)
        abort();
    crypt_secret_free(p);
    char *other = xasprintf("%s!", in);
    if (crypt_open(cr, other, s, NULL, err, sizeof err))
        abort();
    free(other);
    free(s);

    /* The input as a model, for tenants with and without their own key. */
    for (uint64_t tenant = 0; tenant < 3; tenant++) {
        struct provider_target t;
        char why[512];
        if (provider_snap_resolve(snap, tenant, in, &t, why, sizeof why) == 0) {
            if (!t.base_url || !t.api_key || strlen(t.upstream_model) > LLM_MODEL_MAX || !*t.upstream_model)
                abort();
            provider_target_deinit(&t);
        } else if (!*why) {
            abort();
        }
    }
    free(in);
    return 0;
}
