#include "config_lint.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Fewer estimated bits than this is weak. A random 32-character hex or
 * base64 secret scores 110-190; "000...", "abab..." score under 40. */
#define LINT_MIN_BITS 80.0

static const char *const placeholders[] = {
    "change-me", "changeme", "change_me", "replace-me", "replace_me", "replaceme",
    "placeholder", "your-secret", "your_secret", "yoursecret", "example", "xxxxxxxx",
    "<secret>", "secret-here", "todo",
};

/* The settings' own help shows these upper-case stand-ins
 * (mysql://USER:PASSWORD@HOST:PORT/DB): matched as written. */
static const char *const doc_values[] = {":PASSWORD@", "//USER:", "@HOST:", "<token>"};

static bool contains_ci(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, nl) == 0)
            return true;
    return false;
}

/* log2(x) for x >= 1 without libm: integer part by halving, fraction by
 * repeated squaring (20 bits are plenty for an estimate). */
static double log2_approx(double x)
{
    double r = 0, f = 0.5;
    while (x >= 2) {
        x /= 2;
        r += 1;
    }
    for (int i = 0; i < 20; i++) {
        x *= x;
        if (x >= 2) {
            x /= 2;
            r += f;
        }
        f /= 2;
    }
    return r;
}

double config_lint_entropy_bits(const char *v)
{
    size_t counts[256] = {0}, len = strlen(v);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        counts[*p]++;
    double bits = 0;
    for (size_t i = 0; i < 256; i++)
        if (counts[i])
            bits += (double)counts[i] * log2_approx((double)len / (double)counts[i]);
    return bits;
}

bool config_lint_secret(enum cfg_id id, const char *v, char *why, size_t n)
{
    const struct cfg_info *info = config_info(id);
    if (!info->secret || !*v)
        return false;
    for (size_t i = 0; i < ARRAY_LEN(placeholders); i++) {
        if (contains_ci(v, placeholders[i])) {
            snprintf(why, n, "%s holds a placeholder (\"%s\"): set a real value (`ingot init` "
                             "generates secrets)", info->name, placeholders[i]);
            return true;
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(doc_values); i++) {
        if (strstr(v, doc_values[i])) {
            snprintf(why, n, "%s holds the documentation's example (\"%s\"): set the real value",
                     info->name, doc_values[i]);
            return true;
        }
    }
    /* URLs carry a password chosen elsewhere and provider keys are the
     * provider's: only ingot's own keys and tokens are measured. */
    if (strcmp(info->type_name, "secret") != 0 || id == CFG_LLM_API_KEY)
        return false;
    double bits = config_lint_entropy_bits(v);
    if (bits < LINT_MIN_BITS) {
        snprintf(why, n, "%s has about %.0f bits of entropy (repeated or few distinct "
                         "characters): generate one with `ingot init` or `openssl rand -base64 32`",
                 info->name, bits);
        return true;
    }
    return false;
}

/* Optimal string alignment distance (a swap of neighbours costs 1, so
 * PROT is 1 from PORT), capped: names are short. */
static size_t osa_distance(const char *a, const char *b)
{
    enum { MAXL = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= MAXL || lb >= MAXL)
        return MAXL;
    size_t d[MAXL + 1][MAXL + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = toupper((unsigned char)a[i - 1]) != toupper((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && toupper((unsigned char)a[i - 1]) == toupper((unsigned char)b[j - 2]) &&
                toupper((unsigned char)a[i - 2]) == toupper((unsigned char)b[j - 1]) &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *config_lint_closest(const char *name)
{
    /* INGOT_PORT and the like: compare without the product prefix too. */
    const char *bare = strncasecmp(name, "INGOT_", 6) == 0 ? name + 6 : name;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (int i = 0; i < CFG_COUNT; i++) {
        const struct cfg_info *info = config_info((enum cfg_id)i);
        const char *cands[2] = {info->name, info->alias};
        for (size_t k = 0; k < 2 && cands[k]; k++) {
            size_t d = osa_distance(bare, cands[k]);
            if (d < best_d) {
                best_d = d;
                best = cands[k];
            }
        }
    }
    /* One edit for short names, two from five characters on. */
    size_t allowed = strlen(bare) >= 5 ? 2 : 1;
    return best_d <= allowed ? best : NULL;
}

bool config_lint_deploy_only(const char *name)
{
    static const char *const names[] = {"MARIADB_PASSWORD", "MARIADB_ROOT_PASSWORD", "INGOT_IMAGE",
                                        "INGOT_PUBLISH"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}
