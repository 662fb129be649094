/* jtree: the one-pass body parser gives job_json_parse's tree node for
 * node, and declines (NULL) whatever it does not take, refusals included. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "job.h"
#include "jtree.h"

/* Taken: the same tree as job_json_parse. */
static void same(const char *descr, const char *text, size_t len)
{
    struct job_error e;
    cJSON *slow = job_json_parse(text, len, &e);
    cJSON *fast = jtree_parse(text, len);
    test_cond(descr, slow && fast && jtree_same(fast, slow));
    jtree_free(fast);
    cJSON_Delete(slow);
}

static void same_s(const char *descr, const char *text)
{
    same(descr, text, strlen(text));
}

/* Declined: jtree gives NULL; accepted says whether job_json_parse takes it. */
static void declined(const char *descr, const char *text, size_t len, bool accepted)
{
    struct job_error e;
    cJSON *slow = job_json_parse(text, len, &e);
    cJSON *fast = jtree_parse(text, len);
    test_cond(descr, !fast && (slow != NULL) == accepted);
    cJSON_Delete(slow);
}

static void declined_s(const char *descr, const char *text, bool accepted)
{
    declined(descr, text, strlen(text), accepted);
}

static void test_taken(void)
{
    same_s("the bench body",
           "{\"model\":\"fake-ok\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}");
    same_s("spaces everywhere", " \t\r\n{ \"a\" : [ 1 , 2 ,\n3 ] , \"b\" : { } , \"c\" : [ ] }\n ");
    same_s("literals", "{\"t\":true,\"f\":false,\"n\":null,\"a\":[true,false,null]}");
    same_s("integers", "[0,-0,1,-1,2147483647,2147483648,-2147483648,-2147483649,999999999999999,-999999999999999]");
    same_s("decimals", "[0.5,-0.5,0.7,1.25,10.0,0.000001,123456789.012345,-0.0,3.141592653589]");
    same_s("escapes", "{\"k\\n\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"u\":\"\\u0041\\u00e9\\u20ac\\uFFFF\\u0001\"}");
    same_s("utf-8 raw", "{\"caf\xc3\xa9\":\"\xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xa9\"}");
    same_s("an escaped key equal to none before", "{\"\\u0061b\":1,\"a\":2}");
    same_s("empty strings and keys", "{\"\":\"\",\"x\":[\"\"]}");
    same_s("a top-level string", "\"hi\"");
    same_s("a top-level number", "42");
    same_s("a top-level array", "[[[[]]],{}]");
    same_s("nested 32 deep",
           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    /* Many values: later chunks. */
    char big[40000];
    size_t n = 0;
    big[n++] = '[';
    for (int i = 0; i < 4000; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s%d", i ? "," : "", i);
    big[n++] = ']';
    same("4000 numbers (more chunks)", big, n);
    n = 0;
    big[n++] = '{';
    for (int i = 0; i < 60; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"k%d\":\"%0300d\"", i ? "," : "", i, i);
    big[n++] = '}';
    same("60 keys of long strings", big, n);
    struct sbuf many;
    sbuf_init(&many);
    sbuf_putc(&many, '[');
    for (int i = 0; i < 200000; i++)
        sbuf_puts(&many, i ? ",[7]" : "[7]");
    sbuf_putc(&many, ']');
    same("200000 small arrays (chunks past 1 MB)", many.data, many.len);
    sbuf_deinit(&many);
    same("a length that stops before a NUL", "{\"a\":1}\0junk", 7);
}

static void test_declined(void)
{
    /* refused the usual way, with its words */
    declined_s("empty", "", false);
    declined_s("not JSON", "{x", false);
    declined_s("trailing value", "{}{}", false);
    declined_s("trailing junk", "{} x", false);
    declined_s("a duplicate key", "{\"a\":1,\"a\":2}", false);
    declined_s("a duplicate key, escaped", "{\"a\":1,\"\\u0061\":2}", false);
    declined_s("a nested duplicate", "{\"m\":[{\"r\":1,\"r\":1}]}", false);
    declined_s("\\u0000", "{\"a\":\"x\\u0000\"}", false);
    declined_s("a lone surrogate", "{\"a\":\"\\ud800\"}", false);
    declined_s("bad UTF-8", "{\"a\":\"\xc3\"}", false);
    declined_s("overlong UTF-8", "{\"a\":\"\xc0\xaf\"}", false);
    declined_s("bad escape", "{\"a\":\"\\x\"}", false);
    declined_s("short \\u", "{\"a\":\"\\u12\"}", false);
    declined_s("a lossy integer", "{\"a\":9007199254740993}", false);
    declined("a raw NUL in a string", "{\"a\":\"x\0y\"}", 11, false);
    declined("a NUL after the value", "{}\0", 3, false);
    declined_s("unterminated", "{\"a\":\"x", false);
    declined_s("truncated literal", "[tru", false);
    /* accepted, but the usual way */
    declined_s("a surrogate pair", "{\"a\":\"\\ud83d\\ude00\"}", true);
    declined_s("an exponent", "{\"a\":1e3}", true);
    declined_s("16 digits", "{\"a\":1234567890123456}", true);
    declined_s("16 significant decimals", "{\"a\":0.1234567890123456}", true);
    declined_s("a leading zero", "{\"a\":01}", true);
    declined_s("a trailing dot", "{\"a\":1.}", true);
    declined_s("a plus sign", "{\"a\":+1}", false);
    declined_s("a raw control byte in a string", "{\"a\":\"x\ty\"}", true);
    declined_s("a form feed as space", "{\"a\":1\f}", true);
    declined_s("a BOM", "\xef\xbb\xbf{}", true);
    declined_s("33 deep", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", true);
    char many[2000];
    size_t n = 0;
    many[n++] = '{';
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    many[n++] = '}';
    declined("65 keys", many, n, true);
    test_cond("NULL text", jtree_parse(NULL, 0) == NULL);
    jtree_free(NULL);
}

/* jtree_get answers as cJSON_GetObjectItemCaseSensitive, on any item. */
static void test_get(void)
{
    const char *text = "{\"model\":\"m\",\"mo\":1,\"\":2,\"messages\":[{\"role\":\"user\"}],\"n\":null,"
                       "\"a\":\"s\",\"Model\":3}";
    cJSON *j = jtree_parse(text, strlen(text));
    static const char *const names[] = {"model", "mo", "m", "", "messages", "n", "a", "Model", "MODEL", "role", "x", NULL};
    const cJSON *items[] = {j, NULL, j ? j->child : NULL, jtree_get(j, "messages"),
                            jtree_get(jtree_get(j, "messages"), "role")};
    bool same = j != NULL;
    for (size_t i = 0; same && i < ARRAY_LEN(items); i++)
        for (size_t k = 0; k < ARRAY_LEN(names); k++)
            same = same && jtree_get(items[i], names[k]) == cJSON_GetObjectItemCaseSensitive(items[i], names[k]);
    const cJSON *first = cJSON_GetArrayItem(jtree_get(j, "messages"), 0);
    same = same && jtree_get(first, "role") == first->child && jtree_get(j, "") != NULL;
    test_cond("jtree_get: cJSON's answers", same);
    jtree_free(j);
}

int main(void)
{
    test_get();
    test_taken();
    test_declined();
    test_report();
}
