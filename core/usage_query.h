/* usage_query: reading the usage ledger back, the same for GET /v1/usage
 * and `ingot admin usage`: the time range (dates or RFC 3339, checked and
 * bounded), the grouping, the SQL and the rows as JSON. */
#ifndef INGOT_USAGE_QUERY_H
#define INGOT_USAGE_QUERY_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum usage_group { USAGE_BY_MODEL, USAGE_BY_DAY, USAGE_BY_KEY };

#define USAGE_RANGE_MAX_DAYS 366
#define USAGE_ROWS_MAX 10000

/* "model", "day" or "key"; NULL or "" gives model. 0/-1. */
int usage_parse_group(const char *s, enum usage_group *g) ATTR_WUR;
/* YYYY-MM-DD (UTC; as an end: the end of that day) or RFC 3339
 * (YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)) as ms since the epoch. 0/-1. */
int usage_parse_time(const char *s, bool end, int64_t *out_ms) ATTR_WUR;
/* from/to as given (NULL or "": the first day of this month / the end of
 * today), checked: both valid, from before to, at most
 * USAGE_RANGE_MAX_DAYS apart. -1 with *param ("from" or "to") and why. */
int usage_range(const char *from, const char *to, int64_t now_ms, int64_t *from_ms, int64_t *to_ms,
                const char **param, char *why, size_t whylen) ATTR_WUR;
/* The grouped SELECT for one tenant (tenant 0: every tenant, with a
 * tenant column first). Columns: the group's, then requests,
 * prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens,
 * total_tokens, cost_usd. */
void usage_query_sql(struct sbuf *b, uint64_t tenant, int64_t from_ms, int64_t to_ms, enum usage_group g);
/* Rows of that query (one tenant) as {"object":"list","data":[...]}. */
void usage_rows_json(MYSQL_RES *res, enum usage_group g, struct sbuf *out);

#endif
