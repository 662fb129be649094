/* config_parse: the value parsers behind the settings table, also used
 * for request inputs: whole numbers, durations (500ms, 30s, 15m, 2h, 7d,
 * 1h30m) and sizes (512kb, 1mb, 2gb; powers of 1024). 0/-1. */
#ifndef INGOT_CONFIG_PARSE_H
#define INGOT_CONFIG_PARSE_H

#include "util.h"

int config_parse_int(const char *s, long long *out) ATTR_WUR;
int config_parse_duration_ms(const char *s, long long *out) ATTR_WUR;
int config_parse_size(const char *s, long long *out) ATTR_WUR;

#endif
