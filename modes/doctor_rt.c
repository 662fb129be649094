#include "doctor_rt.h"

#include <stdio.h>
#include <string.h>

#include "cron.h"
#include "netname.h"
#include "tlsca.h"
#include "url.h"
#include "version.h"

static void check_build(struct doctor *d)
{
    char rt[160];
    ingot_runtime(rt, sizeof rt);
    doctor_add(d, "build", DR_OK, NULL, "%s (%s)", ingot_linkage(), rt);
}

static void check_ca(struct doctor *d, const struct config *cfg)
{
    struct tlsca ca;
    char err[512];
    /* The raw value: a bad CA_BUNDLE leaves the typed one unset. */
    if (tlsca_resolve(cfg->raw[CFG_CA_BUNDLE], &ca, err, sizeof err) < 0) {
        doctor_add(d, "ca-bundle", DR_FAIL,
                   "serve, work, schedule and run refuse to start: set CA_BUNDLE, or CA_BUNDLE=none",
                   "%s", err);
        return;
    }
    if (!ca.path) {
        doctor_add(d, "ca-bundle", DR_WARN, "set CA_BUNDLE to a PEM file to allow https",
                   "CA_BUNDLE=none: outbound TLS is off");
        return;
    }
    doctor_add(d, "ca-bundle", DR_OK, NULL, "%s (%s): %d certificate%s", ca.path,
               ca.is_default ? "default" : "CA_BUNDLE", ca.certs, ca.certs == 1 ? "" : "s");
}

static void check_zoneinfo(struct doctor *d, const struct config *cfg)
{
    cron_use_zoneinfo(cfg->raw[CFG_ZONEINFO_DIR]); /* "": the default */
    const char *dir = cron_zoneinfo_dir();
    char why[400];
    if (!cron_zoneinfo_present()) {
        doctor_add(d, "zoneinfo", DR_WARN, "ship zoneinfo (the image has it) or set ZONEINFO_DIR",
                   "ZONEINFO_DIR %s does not exist: only UTC schedules work", dir);
        return;
    }
    /* One zone with daylight saving time proves the files are real. */
    if (!cron_tz_check("Europe/Berlin", why, sizeof why)) {
        doctor_add(d, "zoneinfo", DR_WARN, "point ZONEINFO_DIR at a complete IANA zoneinfo tree",
                   "ZONEINFO_DIR %s: Europe/Berlin: %s", dir, why);
        return;
    }
    doctor_add(d, "zoneinfo", DR_OK, NULL, "%s (Europe/Berlin loads)", dir);
}

/* The first configured host (DATABASE_URL, REDIS_URL, LLM_BASE_URL) that
 * only a nameserver can resolve: no IP, no localhost name, no socket. */
static bool needs_dns(const char *host)
{
    return host && *host && !url_host_is_ip(host) && !netname_is_localhost(host);
}

static const char *dns_setting(const struct config *cfg, char *host, size_t hostlen)
{
    char err[256];
    struct db_dsn dd;
    struct redis_dsn rd;
    struct url u;
    const char *which = NULL;
    if (*cfg->database_url && db_dsn_parse(cfg->database_url, &dd, err, sizeof err) == 0) {
        if (!dd.socket && needs_dns(dd.host) && !which) {
            which = "DATABASE_URL";
            snprintf(host, hostlen, "%s", dd.host);
        }
        db_dsn_deinit(&dd);
    }
    if (*cfg->redis_url && redis_dsn_parse(cfg->redis_url, &rd, err, sizeof err) == 0) {
        if (!rd.socket && needs_dns(rd.host) && !which) {
            which = "REDIS_URL";
            snprintf(host, hostlen, "%s", rd.host);
        }
        redis_dsn_deinit(&rd);
    }
    if (*cfg->llm_base_url && url_parse(cfg->llm_base_url, &u, err, sizeof err) == 0) {
        if (needs_dns(u.host) && !which) {
            which = "LLM_BASE_URL";
            snprintf(host, hostlen, "%s", u.host);
        }
        url_deinit(&u);
    }
    return which;
}

static void check_resolver(struct doctor *d, const struct config *cfg)
{
    bool rc = netname_have_resolv_conf(), hosts = netname_have_hosts();
    const char *hosts_text = hosts ? "hosts present" : "no hosts file (localhost is loopback built in)";
    if (rc) {
        doctor_add(d, "resolver", DR_OK, NULL, "%s present; %s", netname_resolv_conf(), hosts_text);
        return;
    }
    char host[256];
    const char *which = dns_setting(cfg, host, sizeof host);
    if (which)
        doctor_add(d, "resolver", DR_WARN, "give the container a resolv.conf, or use an IP address",
                   "no %s (no nameserver): %s's host %s cannot be resolved%s; %s",
                   netname_resolv_conf(), which, host, hosts ? " unless hosts lists it" : "", hosts_text);
    else
        doctor_add(d, "resolver", DR_OK, NULL,
                   "no %s: no nameserver, fine here (the configured hosts are IPs, localhost "
                   "names or sockets); %s",
                   netname_resolv_conf(), hosts_text);
}

void doctor_check_runtime(struct doctor *d, const struct config *cfg)
{
    check_build(d);
    check_ca(d, cfg);
    check_zoneinfo(d, cfg);
    check_resolver(d, cfg);
}
