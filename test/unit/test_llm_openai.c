/* The engine's pure parts: the openai adapter's body edit (byte for byte
 * but the members routing needs), OpenAI usage objects read and written,
 * the llm_call states' names. */
#include <cJSON.h>
#include <string.h>
#include <time.h>

#include "../testhelp.h"
#include "llm_embed.h"
#include "llm_priv.h"
#include "llm_relay_text.h"

static const char *edit(const char *body, const char *model, bool force, bool drop, struct sbuf *out)
{
    cJSON *j = cJSON_Parse(body);
    sbuf_reset(out);
    int rc = llm_openai_body(body, strlen(body), model, force, cJSON_GetObjectItemCaseSensitive(j, "stream_options"),
                             drop, out);
    cJSON_Delete(j);
    return rc < 0 ? "(refused)" : out->data;
}

/* llm_relay_text_valid (an ASCII look 64 and 16 bytes at a time first)
 * says what util_utf8_valid says, whatever the length and wherever a byte
 * with its top bit is. */
static void test_text_valid(void)
{
    char t[200];
    bool same = true;
    static const char *const tails[] = {"\xC3\xA9", "\xC3", "\xF0\x9F\x98\x80", "\xED\xA0\x80", "\x80", "\xFF"};
    for (size_t n = 0; n <= 140; n++) {
        memset(t, 'a', n);
        same = same && llm_relay_text_valid(t, n);
        for (size_t at = 0; at < n; at++)
            for (size_t k = 0; k < sizeof tails / sizeof *tails; k++) {
                size_t tl = strlen(tails[k]);
                if (at + tl > n)
                    continue;
                memset(t, 'a', n);
                memcpy(t + at, tails[k], tl);
                same = same && llm_relay_text_valid(t, n) == util_utf8_valid(t, n);
            }
    }
    test_cond("UTF-8 checked as util_utf8_valid at every length and place", same);
}

int main(void)
{
    test_text_valid();
    struct sbuf b;
    sbuf_init(&b);
    test_streq("model rewritten, numbers and order as sent",
               edit("{\"model\":\"alias\", \"temperature\":0.70,\"x\":{\"a\":[1e2, 2.50]},\"seed\":12345678901234567890}",
                    "gpt-4o", false, false, &b),
               "{\"model\":\"gpt-4o\",\"temperature\":0.70,\"x\":{\"a\":[1e2, 2.50]},\"seed\":12345678901234567890}");
    test_streq("include_usage added when streaming",
               edit("{\"model\":\"m\",\"stream\":true}", "m", true, false, &b),
               "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    test_streq("the client's stream_options kept, include_usage forced",
               edit("{\"stream_options\":{\"include_usage\":false,\"x\":1},\"model\":\"m\"}", "m", true, false, &b),
               "{\"stream_options\":{\"x\":1,\"include_usage\":true},\"model\":\"m\"}");
    test_streq("stream_options: null replaced",
               edit("{\"model\":\"m\",\"stream_options\":null}", "m", true, false, &b),
               "{\"model\":\"m\",\"stream_options\":{\"include_usage\":true}}");
    test_streq("a duplicated model: one, rewritten (a provider may read the last)",
               edit("{\"model\":\"a\",\"model\":\"b\"}", "up", false, false, &b), "{\"model\":\"up\"}");
    /* What was checked and reserved (cJSON: the first) is what the
     * provider reads: later duplicates are dropped. */
    test_streq("duplicated max_tokens and n: the first kept",
               edit("{\"model\":\"m\",\"max_tokens\":1,\"n\":1,\"max_tokens\":100000,\"n\":128}", "m", false, false, &b),
               "{\"model\":\"m\",\"max_tokens\":1,\"n\":1}");
    test_streq("a duplicate spelled with escapes dropped too",
               edit("{\"max_tokens\":1,\"max_t\\u006fkens\":100000,\"stream\":false,\"str\\u0065am\":true}", "m", false, false, &b),
               "{\"max_tokens\":1,\"stream\":false}");
    {
        /* 20 keys: past the first (stack-held) table; a key seen in it
         * still found after the table moved */
        struct sbuf in, want;
        sbuf_init(&in);
        sbuf_init(&want);
        sbuf_puts(&in, "{\"model\":\"m\"");
        for (int i = 0; i < 20; i++)
            sbuf_printf(&in, ",\"k%d\":%d", i, i);
        sbuf_append(&want, in.data, in.len);
        sbuf_puts(&want, "}");
        sbuf_puts(&in, ",\"k3\":0,\"k19\":0}");
        test_streq("duplicates across the first table's growth dropped", edit(in.data, "m", false, false, &b), want.data);
        sbuf_deinit(&in);
        sbuf_deinit(&want);
    }
    {
        /* A hundred thousand keys (a 1 MB body can have them): the
         * repeated one at the end dropped, and the cost grows like n, not
         * n^2: ten times the keys may take at most 30 times as long (a
         * quadratic scan takes 100 times; a ratio holds on a slow or
         * loaded machine and under valgrind, where a fixed bound did not).
         * The thread's CPU time, not the wall clock: a loaded run preempts
         * the long call more often than the short one, and a wall-clock
         * ratio of 15 read as 30 in CI. */
        struct sbuf big, want;
        double secs[2] = {1e9, 1e9};
        int ns[2] = {10000, 100000};
        bool same = true, ok = true;
        for (int k = 0; k < 2; k++) {
            sbuf_init(&big);
            sbuf_init(&want);
            sbuf_puts(&big, "{\"model\":\"m\"");
            for (int i = 0; i < ns[k]; i++)
                sbuf_printf(&big, ",\"k%d\":%d", i, i);
            sbuf_append(&want, big.data, big.len);
            sbuf_puts(&want, "}");
            sbuf_puts(&big, ",\"k77\":0}");
            for (int rep = 0; rep < 5; rep++) { /* the best of five */
                struct timespec t0, t1;
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
                sbuf_reset(&b);
                int rc = llm_openai_body(big.data, big.len, "m", false, NULL, false, &b);
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
                double t = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
                if (t < secs[k])
                    secs[k] = t;
                ok &= rc == 0;
                same &= b.len == want.len && !memcmp(b.data, want.data, b.len);
            }
            sbuf_deinit(&big);
            sbuf_deinit(&want);
        }
        test_cond("100000 keys: accepted", ok);
        test_cond("  the late duplicate dropped, the rest as sent", same);
        char what[96];
        snprintf(what, sizeof what, "  ten times the keys, at most 30 times the CPU time (%.1f times)",
                 secs[0] > 0 ? secs[1] / secs[0] : 0.0);
        test_cond(what, secs[1] < 30 * secs[0] + 0.001);
    }
    test_streq("a duplicated stream_options once, forced",
               edit("{\"stream_options\":{\"x\":1},\"stream_options\":{\"y\":2}}", "m", true, false, &b),
               "{\"stream_options\":{\"x\":1,\"include_usage\":true}}");
    test_streq("a key spelled with escapes is the same key",
               edit("{\"mod\\u0065l\":\"a\"}", "up", false, false, &b), "{\"mod\\u0065l\":\"up\"}");
    test_streq("a model name that needs escaping",
               edit("{\"model\":\"a\"}", "x\"y", false, false, &b), "{\"model\":\"x\\\"y\"}");
    test_streq("encoding_format dropped for base64 embeddings",
               edit("{\"encoding_format\":\"base64\",\"model\":\"e\",\"input\":\"x\"}", "e", false, true, &b),
               "{\"model\":\"e\",\"input\":\"x\"}");
    test_streq("the last member dropped",
               edit("{\"model\":\"e\",\"encoding_format\":\"base64\"}", "e", false, true, &b), "{\"model\":\"e\"}");
    test_streq("an empty object", edit(" { } ", "m", true, false, &b), "{\"stream_options\":{\"include_usage\":true}}");
    test_streq("not an object: refused", edit("[1]", "m", false, false, &b), "(refused)");
    test_streq("truncated: refused", edit("{\"model\":\"a\",", "m", false, false, &b), "(refused)");
    test_streq("strings with braces and escaped quotes are skipped whole",
               edit("{\"messages\":[{\"content\":\"}\\\"{,]\"}],\"model\":\"a\"}", "b", false, false, &b),
               "{\"messages\":[{\"content\":\"}\\\"{,]\"}],\"model\":\"b\"}");

    cJSON *u = cJSON_Parse("{\"prompt_tokens\":10,\"completion_tokens\":4,\"total_tokens\":14,"
                           "\"prompt_tokens_details\":{\"cached_tokens\":3},\"completion_tokens_details\":{\"reasoning_tokens\":2}}");
    struct llm_usage lu;
    test_cond("usage read", llm_usage_parse(u, &lu) && lu.prompt == 10 && lu.completion == 4 && lu.cached == 3 &&
                                lu.reasoning == 2);
    cJSON_Delete(u);
    u = cJSON_Parse("{\"prompt_tokens\":3,\"total_tokens\":3}");
    test_cond("embeddings usage: completion 0", llm_usage_parse(u, &lu) && lu.prompt == 3 && lu.completion == 0 &&
                                                    lu.cached == -1);
    cJSON_Delete(u);
    test_cond("not usage", !llm_usage_parse(NULL, &lu));
    /* The text reading (no tree) gives what the tree gives, or -1 when it
     * cannot be sure (then the tree decides). */
    static const char *const texts[] = {
        "{\"prompt_tokens\":10,\"completion_tokens\":4,\"total_tokens\":14,\"prompt_tokens_details\":{\"cached_tokens\":3},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":2}}",
        " { \"prompt_tokens\" : 3 , \"total_tokens\" : 3 } ",
        "{}",
        "{\"prompt_tokens\":\"10\",\"completion_tokens\":4}",
        "{\"prompt_tokens\":-1,\"completion_tokens\":-0}",
        "{\"prompt_tokens\":1e400,\"completion_tokens\":2.9}",
        "{\"prompt_tokens\":5,\"prompt_tokens\":6}",
        "{\"prompt_tokens\":null,\"prompt_tokens\":6}",
        "{\"x\":{\"prompt_tokens\":9},\"prompt_tokens\":1,\"y\":[{\"completion_tokens\":7}],\"s\":\"\\\"prompt_tokens\\\":8\"}",
        "{\"prompt_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":true},\"completion_tokens_details\":[1]}",
        "{\"prompt_tokens\":1,\"prompt_tokens_details\":{\"audio_tokens\":2,\"cached_tokens\":4,\"cached_tokens\":5}}",
        "{\"prompt_tokens\":1,\"completion_tokens_details\":{\"reasoning_tokens\":1e3}}",
        "{\"prompt_tokens\":2000000000000000,\"completion_tokens\":0.5}",
    };
    bool same = true;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct llm_usage a, t;
        cJSON *j = cJSON_Parse(texts[i]);
        bool ha = llm_usage_parse(j, &a);
        cJSON_Delete(j);
        int rt = llm_usage_parse_text(texts[i], strlen(texts[i]), &t);
        bool ok = rt == (ha ? 1 : 0) && a.prompt == t.prompt && a.completion == t.completion &&
                  a.cached == t.cached && a.reasoning == t.reasoning;
        if (!ok)
            printf("  %s: tree %d %lld %lld %lld %lld, text %d %lld %lld %lld %lld\n", texts[i], ha, a.prompt,
                   a.completion, a.cached, a.reasoning, rt, t.prompt, t.completion, t.cached, t.reasoning);
        same = same && ok;
    }
    test_cond("usage from the text as from the tree", same);
    static const char *const unsure[] = {
        "{\"prompt\\u005ftokens\":3}",  /* an escaped key may spell a name */
        "{\"prompt_tokens\":1.00000000000000000000000000000000000000000000000000000000000000000001}",
        "[1]",
    };
    for (size_t i = 0; i < sizeof unsure / sizeof unsure[0]; i++)
        test_cond(unsure[i], llm_usage_parse_text(unsure[i], strlen(unsure[i]), &lu) < 0 && lu.prompt == -1);
    /* The counts llm_json_scan finds on its way (llm_usage_parse_top) are
     * what the second reading of the usage text finds, -1 included. */
    static const char *const more[] = {
        "{\"prompt_tokens\":1,\"prompt_tokens_details\":{\"cached\\u005ftokens\":4}}",
        "{\"prompt_tokens\":1,\"completion_tokens_details\":{\"x\":1,\"reasoning\\u005ftokens\":4}}",
        "{\"prompt_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":4},\"prompt_tokens_details\":{\"\\u0061\":1}}",
        "{\"prompt_tokens\":1,\"prompt_tokens_details\":7,\"prompt_tokens_details\":{\"cached_tokens\":4}}",
        "{\"prompt_tokens\":1,\"prompt_tokens_details\":{\"x\":{\"\\u0061\":1,\"cached_tokens\":8},\"cached_tokens\":4}}",
        "{\"prompt_tokens\":1,\"usage\":{\"prompt_tokens\":2},\"s\":\"\\\"\",\"k\\\"\":[{\"prompt_tokens\":3}]}",
        "{\"prompt_tokens\":1,\"completion_tokens_details\":{\"reasoning_tokens\":1.00000000000000000000000000000000000000000000000000000000000000000001}}",
        "{ \"prompt_tokens\" :\t12 ,\n\"completion_tokens_details\" : { \"reasoning_tokens\" : 5 } , \"completion_tokens\":7 }",
        "{\"prompt_tokens\":1,\"prompt_tokens_details\":{}}",
    };
    bool top_same = true;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0] + sizeof unsure / sizeof unsure[0] + sizeof more / sizeof more[0];
         i++) {
        size_t nt = sizeof texts / sizeof texts[0], nu = sizeof unsure / sizeof unsure[0];
        const char *ut = i < nt ? texts[i] : i < nt + nu ? unsure[i - nt] : more[i - nt - nu];
        if (ut[strspn(ut, " ")] != '{')
            continue;
        for (int dup = 0; dup < 2; dup++) {
            struct sbuf doc;
            sbuf_init(&doc);
            sbuf_printf(&doc, "{\"id\":\"x\",\"usage\":%s,\"choices\":[{\"usage\":{\"prompt_tokens\":5}}]%s}",
                        ut, dup ? ",\"usage\":{\"prompt_tokens\":99}" : "");
            struct llm_json_top top;
            struct llm_usage a, t;
            bool scanned = llm_json_scan(doc.data, doc.len, false, NULL, &top) == 0 && top.usage.p &&
                           top.usage.p[0] == '{';
            int ra = scanned ? llm_usage_parse_top(&top, &a) : -9;
            int rt = llm_usage_parse_text(ut, strlen(ut), &t);
            bool ok = scanned && ra == rt && a.prompt == t.prompt && a.completion == t.completion &&
                      a.cached == t.cached && a.reasoning == t.reasoning;
            if (!ok)
                printf("  %s: top %d %lld %lld %lld %lld, text %d %lld %lld %lld %lld\n", doc.data, ra, a.prompt,
                       a.completion, a.cached, a.reasoning, rt, t.prompt, t.completion, t.cached, t.reasoning);
            top_same = top_same && ok;
            sbuf_deinit(&doc);
        }
    }
    test_cond("usage found by the scan as by reading its text", top_same);
    sbuf_reset(&b);
    struct llm_usage w = {.prompt = 10, .completion = 4, .cached = -1, .reasoning = 2};
    llm_usage_json(&w, &b);
    test_streq("usage written in OpenAI's shape", b.data,
               "{\"prompt_tokens\":10,\"completion_tokens\":4,\"total_tokens\":14,\"prompt_tokens_details\":"
               "{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":2}}");
    sbuf_reset(&b);
    llm_error_json(&b, "no \"x\"", "invalid_request_error", "model", NULL);
    test_streq("an OpenAI error", b.data,
               "{\"error\":{\"message\":\"no \\\"x\\\"\",\"type\":\"invalid_request_error\",\"param\":\"model\",\"code\":null}}");
    test_streq("state names", llm_call_state_name(CALL_STREAM), "stream");
    test_streq("state names (last)", llm_call_state_name(CALL_CANCELLED), "cancelled");
    sbuf_deinit(&b);
    test_report();
}
