/* netname: how ingot turns a host name into an address without relying on
 * files the runtime does not ship (a FROM scratch image has neither
 * /etc/resolv.conf nor /etc/hosts unless the platform injects them).
 *
 * - "localhost", and any name ending in ".localhost" (RFC 6761, any case,
 *   a trailing dot allowed), is loopback (127.0.0.1), answered here and
 *   never looked up; curl has the same rule built in.
 * - /etc/resolv.conf is parsed when present (the nameserver and search
 *   list Docker or Kubernetes write); without it there is no nameserver and
 *   a name that is neither an IP, localhost nor in /etc/hosts fails at once
 *   with an error that says so. */
#ifndef INGOT_NETNAME_H
#define INGOT_NETNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct event_base;
struct evdns_base;

#define NETNAME_RESOLV_CONF "/etc/resolv.conf"
#define NETNAME_HOSTS "/etc/hosts"
#define NETNAME_LOOPBACK "127.0.0.1"

/* RFC 6761's localhost names. Pure. */
bool netname_is_localhost(const char *host);

/* The files read (tests point them elsewhere; NULL keeps the default).
 * Call before the first resolver is made. */
void netname_set_paths(const char *resolv_conf, const char *hosts);
const char *netname_resolv_conf(void);
const char *netname_hosts(void);
/* Whether the file can be read now. */
bool netname_have_resolv_conf(void);
bool netname_have_hosts(void);

/* An async resolver on base: resolv.conf's nameservers and options when the
 * file is there, else none; the hosts file when there (evdns then knows
 * localhost by itself). Returns owned, NULL if libevent fails. */
struct evdns_base *netname_evdns_new(struct event_base *base);

/* The message for host when no nameserver is configured. */
void netname_no_nameserver(const char *host, char *err, size_t errlen);

/* Blocking, for one-shot commands (migrate, doctor) and start-up: the
 * localhost rule, IP literals as they are, else getaddrinfo (the C
 * library reads resolv.conf and hosts). ip gets the first address as text.
 * 0, or -1 with err naming host and, without resolv.conf, saying so. */
int netname_resolve_sync(const char *host, char *ip, size_t iplen, char *err,
                         size_t errlen) ATTR_WUR;

#endif
