/* serve_admin: the operator's routes (internal to serve), for the login
 * session of OWNER_OPEN_ID only (serve_session_op.h), never an API key:
 *   GET   /v1/admin/tenants              every tenant: active keys, LLM limits
 *   POST  /v1/admin/tenants              {"name"}: a new tenant (201)
 *   GET   /v1/admin/tenants/{name}       one tenant
 *   PATCH /v1/admin/tenants/{name}       {"limits": {rpm, tpm, tokens_per_day,
 *                                         tokens_per_month, usd_per_month}}:
 *                                         the tenant's LLM limits (null: none)
 *   GET   /v1/admin/tenants/{name}/keys  its keys (never the key itself)
 *   POST  /v1/admin/tenants/{name}/keys  {"name"?}: a new key, shown once (201)
 *   POST  /v1/admin/keys/{id}/revoke     revokes a key (it stops working
 *                                         within AUTH_CACHE_MS)
 * The same as `ingot admin tenant create`, `key create|list|revoke` and
 * `limits`, so the web UI does nothing the API cannot. */
#ifndef INGOT_SERVE_ADMIN_H
#define INGOT_SERVE_ADMIN_H

struct httpd;
struct runtime;
struct serve_admin;
struct serve_session;

#define ADMIN_TENANTS_MAX 1000
#define ADMIN_KEYS_MAX 1000

/* Registers the routes. Borrows rt, h and sess (which outlive it).
 * Returns owned. */
struct serve_admin *serve_admin_new(struct httpd *h, struct runtime *rt, struct serve_session *sess);
void serve_admin_free(struct serve_admin *a);

#endif
