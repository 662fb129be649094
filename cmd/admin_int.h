/* admin_int: what the `ingot admin` files share (admin.c: tenants and
 * keys; admin_llm.c: providers, routes, tenants' provider keys, key
 * rotation; admin_limits.c: limits, prices, usage). The noun and verb
 * come first on the command line: `ingot admin NOUN VERB [ARGS] [FLAGS]`. */
#ifndef INGOT_ADMIN_INT_H
#define INGOT_ADMIN_INT_H

#include <mysql.h>

/* Every admin command's synopsis on stderr (not only one file's part) and
 * a pointer to --help; EXIT_USAGE. */
int admin_usage(void);
struct config;

/* EXIT_OK when the schema is current, else a message and the exit code. */
int admin_schema_ready(MYSQL *m);
/* Connects and checks the schema: EXIT_OK with *m open, or the exit code
 * after printing why (*m NULL when the connection failed). The caller
 * calls admin_close either way. */
int admin_open(const struct config *cfg, MYSQL **m);
/* Closes what admin_open opened (m may be NULL). */
void admin_close(MYSQL *m);
/* 0, or -1 after printing "ingot admin: what: error". */
int admin_exec(MYSQL *m, const char *sql, const char *what);
/* The tenant's id, or -1 after printing why. */
long long admin_tenant_id(MYSQL *m, const char *name);
/* Prints a result as tab-separated rows with a header line. */
int admin_print_rows(MYSQL *m, const char *sql);

/* ingot admin provider add|list|remove, model route, tenant provider-key
 * set|remove, rotate-encryption-key (admin_llm.c). */
int admin_llm(int argc, char **argv);
/* ingot admin tenant limits, model price, usage (admin_limits.c). */
int admin_limits(int argc, char **argv);
/* ingot admin tenant cache (admin_cache.c). */
int admin_cache(int argc, char **argv);
/* ingot admin tenant member add|remove|list (admin_member.c). */
int admin_member(int argc, char **argv);
/* ingot admin webhook add|list|remove|enable|disable|test (admin_webhook.c). */
int admin_webhook(int argc, char **argv);

#endif
