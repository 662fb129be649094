/* dberr: MariaDB errors that are the request's fault (a value the
 * database refuses: too long, out of range, not valid text) and the API
 * field they name. Retrying such a request cannot help: it is a 400, never
 * a 503. */
#ifndef INGOT_DBERR_H
#define INGOT_DBERR_H

#include <stdbool.h>
#include <stddef.h>

bool dberr_is_value(unsigned code);
/* The statement (or a value built from it) was over max_allowed_packet:
 * the request is too large, a 413 (1153 ER_NET_PACKET_TOO_LARGE, 1301
 * ER_WARN_ALLOWED_PACKET_OVERFLOWED). */
bool dberr_is_too_large(unsigned code);
/* The statement lost a lock conflict (1213 ER_LOCK_DEADLOCK, 1205
 * ER_LOCK_WAIT_TIMEOUT): rolled back whole, so an autocommit statement
 * can be sent again as is. */
bool dberr_is_lost_lock(unsigned code);
/* The API field of the jobs or schedules column named in err (MariaDB's
 * message; the value itself is never copied), after prefix ("" or "job");
 * prefix "[" (a batch): "jobs[i].field" from the message's row number.
 * out is "" when nothing is known. */
void dberr_param(const char *err, const char *prefix, char *out, size_t outlen);

#endif
