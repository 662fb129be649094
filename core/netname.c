#include "netname.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "url.h"

/* Set once at start (tests only), read by the resolvers made later. */
static const char *resolv_conf_path = NETNAME_RESOLV_CONF;
static const char *hosts_path = NETNAME_HOSTS;

bool netname_is_localhost(const char *host)
{
    size_t n = strlen(host);
    if (n && host[n - 1] == '.')
        n--; /* the absolute form */
    static const char lh[] = "localhost";
    size_t ln = sizeof lh - 1;
    if (n < ln || strncasecmp(host + n - ln, lh, ln) != 0)
        return false;
    /* "localhost" itself, or a label boundary right before it */
    return n == ln || (n > ln + 1 && host[n - ln - 1] == '.');
}

void netname_set_paths(const char *resolv_conf, const char *hosts)
{
    resolv_conf_path = resolv_conf ? resolv_conf : NETNAME_RESOLV_CONF;
    hosts_path = hosts ? hosts : NETNAME_HOSTS;
}

const char *netname_resolv_conf(void)
{
    return resolv_conf_path;
}

const char *netname_hosts(void)
{
    return hosts_path;
}

bool netname_have_resolv_conf(void)
{
    return access(resolv_conf_path, R_OK) == 0;
}

bool netname_have_hosts(void)
{
    return access(hosts_path, R_OK) == 0;
}

struct evdns_base *netname_evdns_new(struct event_base *base)
{
    /* Not EVDNS_BASE_INITIALIZE_NAMESERVERS: that fails outright when
     * resolv.conf is missing, and reads only the fixed paths. */
    struct evdns_base *dns = evdns_base_new(base, 0);
    if (!dns)
        return NULL;
    if (netname_have_resolv_conf())
        evdns_base_resolv_conf_parse(dns, DNS_OPTIONS_ALL & ~DNS_OPTION_HOSTSFILE,
                                     resolv_conf_path);
    /* A missing file still gives evdns localhost (it says -1 then). */
    (void)evdns_base_load_hosts(dns, hosts_path);
    return dns;
}

void netname_no_nameserver(const char *host, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "cannot resolve %.200s: no nameserver (%s %s); use an IP address, or give "
             "the container a resolv.conf",
             host, resolv_conf_path,
             netname_have_resolv_conf() ? "lists none" : "does not exist");
}

int netname_resolve_sync(const char *host, char *ip, size_t iplen, char *err, size_t errlen)
{
    if (netname_is_localhost(host)) {
        snprintf(ip, iplen, "%s", NETNAME_LOOPBACK);
        return 0;
    }
    if (url_host_is_ip(host)) {
        snprintf(ip, iplen, "%s", host);
        return 0;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &ai);
    if (rc != 0 || !ai) {
        if (!netname_have_resolv_conf())
            netname_no_nameserver(host, err, errlen);
        else
            snprintf(err, errlen, "cannot resolve %.200s: %s", host,
                     rc ? gai_strerror(rc) : "no address");
        if (ai)
            freeaddrinfo(ai);
        return -1;
    }
    const void *a = ai->ai_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr;
    bool ok = inet_ntop(ai->ai_family, a, ip, (socklen_t)iplen) != NULL;
    freeaddrinfo(ai);
    if (!ok) {
        snprintf(err, errlen, "cannot resolve %.200s: address does not fit", host);
        return -1;
    }
    return 0;
}
