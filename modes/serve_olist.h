/* serve_olist: OpenAI's cursor lists (GET /v1/files, /v1/batches,
 * /v1/webhook_endpoints): the limit/order/after query parameters and the
 * answer {"object":"list","data":[...],"first_id","last_id","has_more"}. */
#ifndef INGOT_SERVE_OLIST_H
#define INGOT_SERVE_OLIST_H

#include <stdbool.h>

#include "db.h"

struct v1;

/* What a list route accepts. */
struct serve_olist_spec {
    long limit_max;     /* limit must be 1..limit_max */
    long limit_default; /* without limit */
    bool order;         /* order=asc|desc is accepted */
    bool (*id_valid)(const char *id);
    const char *after_why; /* the 400's message when after is not an id */
};

/* The parsed parameters; the strings are the request's. */
struct serve_olist {
    long limit;
    const char *after; /* NULL: the first page */
    bool asc;          /* order=asc (only with spec->order) */
};

/* Reads limit, then order, then after into *out; false after answering
 * 400 (as v1_reply_invalid: c is freed). */
bool serve_olist_params(struct v1 *c, const struct serve_olist_spec *spec, struct serve_olist *out);

/* Writes one row of the answer's data array. */
typedef void (*serve_olist_row_fn)(struct sbuf *b, MYSQL_ROW row);

/* Runs sql (which asks for limit + 1 rows, the id in column 0) and
 * answers the page, or the database's error; ends with v1_free(c). */
void serve_olist_query(struct v1 *c, const char *sql, long limit, serve_olist_row_fn row_json);

#endif
