/* doctor: one-shot checks of configuration and dependencies (may block). */
#ifndef INGOT_DOCTOR_H
#define INGOT_DOCTOR_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "util.h"

/* cfg has been loaded; config_problems holds config_finalize's lines (or
 * is empty). Prints the report to out; returns 0 when nothing failed, 1
 * otherwise. */
int doctor_run(const struct config *cfg, const char *config_problems, bool json, FILE *out);
/* GET url; 0 when it answers 200 within timeout_ms, else 1. */
int doctor_probe(const char *url, long long timeout_ms, FILE *err);

#endif
