/* work_lease: the worker's leases: extends them, and stops the request of
 * a job whose lease is gone (the extension touched fewer jobs than held, or
 * the done channel named a job still being sent: a cancel). Private to the
 * work role. */
#ifndef INGOT_WORK_LEASE_H
#define INGOT_WORK_LEASE_H

#include <event2/event.h>
#include <stddef.h>

/* The lease timer (arg: struct work). */
void work_lease_cb(evutil_socket_t fd, short what, void *arg);
/* A JOB_DONE_CHANNEL message (arg: struct work). */
void work_lease_done_msg_cb(const char *payload, size_t len, void *arg);

#endif
