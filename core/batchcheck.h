/* batchcheck: validates a batch input file (JSONL) line by line as it
 * streams past, keeping one line and a set of custom_id digests: each line
 * a JSON object {custom_id, method, url, body} and nothing else, custom_id
 * a unique non-empty string, method "POST", url one of the endpoints
 * ingot serves, body an object the caller's check accepts (a routable
 * model). It stops at the first error and remembers the line and field. */
#ifndef INGOT_BATCHCHECK_H
#define INGOT_BATCHCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct cJSON;
struct job_error;

#define BATCHCHECK_CUSTOM_ID_MAX 512

/* The body of one line for url: 0, or -1 with e (param relative to body). */
typedef int (*batchcheck_body_fn)(void *arg, const char *url, const struct cJSON *body, struct job_error *e);

struct batchcheck_opts {
    size_t max_lines;
    size_t max_line_bytes;
    batchcheck_body_fn body; /* NULL: bodies are only checked to be objects */
    void *arg;
};

struct batchcheck_error {
    size_t line;      /* 1-based; 0: the file as a whole */
    int status;       /* 400, or 503 when the body check could not run */
    char field[160];  /* "custom_id", "body.model", ... ("" for the line itself) */
    char message[400];
};

struct batchcheck;
struct batchcheck *batchcheck_new(const struct batchcheck_opts *o);
void batchcheck_free(struct batchcheck *b);
/* 0, or -1 once an error was found (what follows is not looked at). */
int batchcheck_feed(struct batchcheck *b, const char *data, size_t len) ATTR_WUR;
/* The end of the file (a last line without a newline counts): 0 or -1. */
int batchcheck_finish(struct batchcheck *b) ATTR_WUR;
const struct batchcheck_error *batchcheck_error(const struct batchcheck *b);
size_t batchcheck_lines(const struct batchcheck *b);

#endif
