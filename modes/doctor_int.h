/* doctor_int: what doctor.c and doctor_llm.c share (private to doctor). */
#ifndef INGOT_DOCTOR_INT_H
#define INGOT_DOCTOR_INT_H

#include <stddef.h>

#include "config.h"
#include "util.h"

enum dr_status { DR_OK, DR_WARN, DR_FAIL };

struct dr_check {
    char name[80];
    enum dr_status status;
    char message[512];
    char hint[256];
};

struct doctor {
    struct dr_check checks[64];
    size_t n;
};

/* One finding (beyond the 64th: dropped). */
void doctor_add(struct doctor *d, const char *name, enum dr_status st, const char *hint,
                const char *fmt, ...) ATTR_FMT(5, 6);
/* doctor_http_get, doctor_check_llm: doctor_llm.h. */

#endif
