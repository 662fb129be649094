/* admin_llm: what the two files of `ingot admin`'s LLM commands share
 * (admin_llm.c: providers, routes, the command line; admin_llm_keys.c:
 * keys from stdin, tenants' keys, rotation). */
#ifndef INGOT_ADMIN_LLM_H
#define INGOT_ADMIN_LLM_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "util.h"

struct crypt;

#define LLMADM_KEY_MAX 4096

/* Prints "ingot admin: what: <fmt>" and returns EXIT_USAGE. */
int llmadm_bad(const char *what, const char *fmt, ...) ATTR_FMT(2, 3);
/* Ends a transaction that failed; a lost connection rolls back anyway. */
void llmadm_rollback(MYSQL *m);
/* 1 the provider exists (a row, or "default"), 0 not, -1 database error. */
int llmadm_provider_exists(MYSQL *m, const char *name, bool lock);
/* 1 a row of table matches the condition where, 0 not, -1 error. */
int llmadm_row_exists(MYSQL *m, const char *table, const struct sbuf *where);
/* One key from stdin (echo off on a terminal) into out. 0, or EXIT_USAGE
 * after printing why (empty, more than one line, bad characters). */
int llmadm_read_key(char *out, size_t outlen);
/* The keys of cfg, or NULL after printing why (ENCRYPTION_KEY unset). */
struct crypt *llmadm_need_crypt(const struct config *cfg, const char *what);
/* Seals key for aad into b as a SQL literal. 0/-1. */
int llmadm_put_sealed(struct sbuf *b, const struct crypt *c, const char *aad, const char *key);

/* The commands (exit codes). */
int llmadm_tenant_key(MYSQL *m, const struct config *cfg, bool set, const char *tenant, const char *provider);
int llmadm_tenant_key_list(MYSQL *m, const char *tenant);
int llmadm_rotate(MYSQL *m, const struct config *cfg);

#endif
