/* doctor_llm: the doctor's LLM checks (providers, routes, tenants' keys)
 * and the blocking HTTP GET the doctor's probes share. */
#ifndef INGOT_DOCTOR_LLM_H
#define INGOT_DOCTOR_LLM_H

#include <stddef.h>

struct config;
struct doctor;

/* Blocking GET with extra headers (NULL-terminated, or NULL), trusting
 * ca (CA_BUNDLE's value, tlsca.h); the HTTP status, or -1 with err set. */
long doctor_http_get(const char *url, const char *const *headers, long long timeout_ms, const char *ca,
                     char *err, size_t errlen);
/* The default LLM provider, the named ones, routes and tenants' keys
 * (read from the database, opened with ENCRYPTION_KEY; never printed). */
void doctor_check_llm(struct doctor *d, const struct config *cfg);

#endif
