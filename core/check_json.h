/* check_json: JSON request bodies checked as text, before cJSON parses
 * (and truncates at NUL or rewrites numbers). */
#ifndef INGOT_CHECK_JSON_H
#define INGOT_CHECK_JSON_H

#include <stddef.h>

#include "util.h"

/* Walks JSON text that a parser accepted and checks every string (keys
 * and values): valid UTF-8 (raw bytes and \u escapes) and no NUL (a raw
 * byte or \u0000, which a C-string parser would silently truncate); and
 * every number: one a double cannot carry exactly as written (an integer
 * beyond 2^53, or not finite, such as 1e400) is refused; and every object:
 * a key twice in one object (escapes decoded) is refused at any depth, a
 * duplicate named by its path. O(n log n) in the text. On the
 * first bad string: -1, the path of the value ("payload.url",
 * "metadata.a", "[3].payload.url"; a bad key names its object) in path,
 * and a short reason in why. */
int check_json_text(const char *text, size_t len, char *path, size_t pathlen, char *why,
                    size_t whylen) ATTR_WUR;

#endif
