/* schedule: the scheduler role. Any number may run; one leads at a time:
 * the one holding the database lock `ingot.scheduler.<MD5 of the database
 * name>` (LOCK_NAME in schedule.c), taken with GET_LOCK
 * on a connection of its own (so the lock dies with the process or the
 * connection) and checked every second. The leader fires due cron ticks
 * (each tick's job and its (schedule, tick) row commit together, so a tick
 * fires once whoever fires it; after downtime only the most recent missed
 * tick fires) and runs maintenance (schedule_maint.h). */
#ifndef INGOT_SCHEDULE_H
#define INGOT_SCHEDULE_H

#include "util.h"

struct runtime;
struct ops;
struct schedule;

/* Borrows rt and ops (for its part of /health). NULL with err on failure. */
struct schedule *schedule_start(struct runtime *rt, struct ops *ops, char *err, size_t errlen);
void schedule_free(struct schedule *s);

#endif
