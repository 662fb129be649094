/* config_check: the validators of structured settings (config.c's table
 * names them): 0 when v is acceptable, else -1 with why (the value itself
 * never echoed when it may be a secret). */
#ifndef INGOT_CONFIG_CHECK_H
#define INGOT_CONFIG_CHECK_H

#include <stddef.h>

int config_check_db_url(const char *v, char *why, size_t n);
int config_check_redis_url(const char *v, char *why, size_t n);
int config_check_http_url(const char *v, char *why, size_t n);
int config_check_public_url(const char *v, char *why, size_t n);
int config_check_key32(const char *v, char *why, size_t n);
int config_check_cidr_list(const char *v, char *why, size_t n);
int config_check_target_allow(const char *v, char *why, size_t n);

#endif
