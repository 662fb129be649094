/* work_admit: the worker's rate limits. Each claim's jobs ask their
 * queue's limiter (one request per queue) and, in a queue with a per-group
 * limit, what the queue granted asks its group's limiter. Granted jobs run;
 * the rest go back to the queue until the window resets, and the queue (or
 * group) is left out of claims until then. */
#ifndef INGOT_WORK_ADMIT_H
#define INGOT_WORK_ADMIT_H

#include <stddef.h>

struct work;
struct run;

void work_admit(struct work *w, struct run **fresh, size_t n);

#endif
