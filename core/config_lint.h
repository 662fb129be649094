/* config_lint: advice about values that parse but should not be used, and
 * names that are not settings. doctor fails on it; long-running roles log
 * it as warnings at start. Never echoes a secret. */
#ifndef INGOT_CONFIG_LINT_H
#define INGOT_CONFIG_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* True when v, the value of secret setting id, is a placeholder (CHANGE-ME,
 * changeme, example values from docs) or, for keys ingot uses as HMAC or
 * encryption keys and tokens, has too little entropy (all zeros, one
 * repeated character...); why says which, without the value. */
bool config_lint_secret(enum cfg_id id, const char *v, char *why, size_t n);
/* Estimated entropy of v in bits: its length times the Shannon entropy of
 * its characters (a cheap bound: repeated or few distinct characters score
 * low; it cannot see patterns such as "abcabc..."). */
double config_lint_entropy_bits(const char *v);
/* The setting (or alias) spelt most like name, or NULL when none is close:
 * `PROT` -> "PORT", `DATABSE_URL` -> "DATABASE_URL". */
const char *config_lint_closest(const char *name);
/* Names .env may hold for the deployment files only (the compose file's
 * MariaDB passwords, image and published address): not warned about. */
bool config_lint_deploy_only(const char *name);

#endif
