/* doctor_rt: what the runtime reads from the file system, as doctor
 * findings: the build (static or dynamic, allocator), the CA bundle,
 * zoneinfo, and name resolution (resolv.conf and hosts, or the fallback). */
#ifndef INGOT_DOCTOR_RT_H
#define INGOT_DOCTOR_RT_H

#include "config.h"
#include "doctor_int.h"

/* Adds the findings "build", "ca-bundle", "zoneinfo" and "resolver". */
void doctor_check_runtime(struct doctor *d, const struct config *cfg);

#endif
