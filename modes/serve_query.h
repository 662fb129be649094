/* serve_query: which query parameters each /v1 route takes. An unknown
 * parameter (a typo such as ?state= for ?status=) or a repeated one
 * (?limit=5&limit=200) answers 400 naming it instead of being ignored or
 * read as its first value. Internal to serve. */
#ifndef INGOT_SERVE_QUERY_H
#define INGOT_SERVE_QUERY_H

#include <stdbool.h>

struct http_req;

/* true when r's query fits its route; false after answering 400. */
bool serve_query_check(struct http_req *r);
/* The same without answering: NULL when it fits, else the parameter that
 * does not (*repeated: given twice rather than unknown). */
const char *serve_query_problem(struct http_req *r, bool *repeated);

#endif
