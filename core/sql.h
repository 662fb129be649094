/* sql: building SQL text safely. Every string from outside goes in as a
 * hex literal (X'..'), so no quoting or charset can break out of it. */
#ifndef INGOT_SQL_H
#define INGOT_SQL_H

#include <stddef.h>

#include "util.h"

/* Appends X'hex' for n bytes of s, or NULL when s is NULL. */
void sql_str(struct sbuf *b, const char *s, size_t n);
/* The same for a NUL-terminated string (NULL stays NULL). */
void sql_cstr(struct sbuf *b, const char *s);

#endif
