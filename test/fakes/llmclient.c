/* llmclient: a small streaming chat client for the benchmark, loopback only.
 *   llmclient ttft PORT PATH KEY MODEL N
 *       N streamed requests one after the other on one keep-alive
 *       connection; prints {"n":..,"ttft_p50_us":..,"ttft_p99_us":..,
 *       "total_p50_us":..}: time from sending the request to the first
 *       "data:" line, and to "data: [DONE]".
 *   llmclient hold PORT PATH KEY MODEL N
 *       N concurrent streams; prints "open K" once every stream has sent its
 *       first event (or after 60 s), then keeps reading until SIGTERM.
 * PATH: /v1/chat/completions (ingot) or /openai/v1/chat/completions (fakellm). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("llmclient: connect");
        exit(1);
    }
    return fd;
}

static int request(char *out, size_t cap, const char *path, const char *key, const char *model)
{
    char body[512];
    int bl = snprintf(body, sizeof body,
                      "{\"model\":\"%s\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", model);
    return snprintf(out, cap,
                    "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n%s",
                    path, port, key, bl, body);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* One streamed answer on fd: returns 0 and the times, or -1 (the server
 * closed: the caller dials again). Reads through the chunked end. */
static int one_stream(int fd, const char *req, size_t rl, long long *ttft, long long *total)
{
    static char buf[1 << 16];
    long long t0 = now_us();
    if (write(fd, req, rl) != (ssize_t)rl)
        return -1;
    size_t n = 0;
    *ttft = 0;
    char *body = NULL;
    bool chunked = false;
    for (;;) {
        if (n == sizeof buf - 1)
            n = 0; /* only the tail matters once the head is parsed */
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = 0;
        if (!body && (body = strstr(buf, "\r\n\r\n"))) {
            body += 4;
            chunked = strstr(buf, "chunked") != NULL || strstr(buf, "Chunked") != NULL;
            if (strncmp(buf, "HTTP/1.1 200", 12) != 0) {
                fprintf(stderr, "llmclient: %.*s\n", (int)strcspn(buf, "\r"), buf);
                exit(1);
            }
        }
        if (body && !*ttft && strstr(body, "data:"))
            *ttft = now_us() - t0;
        if (body && strstr(body, "data: [DONE]")) {
            *total = now_us() - t0;
            if (!chunked)
                return -1; /* read to the end: Content-Length or close; dial again */
            if (strstr(strstr(body, "data: [DONE]"), "\r\n0\r\n\r\n"))
                return 0;
        }
    }
}

static int ttft(const char *path, const char *key, const char *model, int count)
{
    char req[1024];
    int rl = request(req, sizeof req, path, key, model);
    long long *tt = calloc((size_t)count, sizeof *tt), *to = calloc((size_t)count, sizeof *to);
    int fd = dial();
    for (int i = 0; i < count; i++) {
        if (one_stream(fd, req, (size_t)rl, &tt[i], &to[i]) != 0) {
            close(fd);
            fd = dial();
        }
    }
    close(fd);
    qsort(tt, (size_t)count, sizeof *tt, cmp_ll);
    qsort(to, (size_t)count, sizeof *to, cmp_ll);
    printf("{\"n\":%d,\"ttft_p50_us\":%lld,\"ttft_p99_us\":%lld,\"total_p50_us\":%lld}\n", count, tt[count / 2],
           tt[count * 99 / 100], to[count / 2]);
    free(tt);
    free(to);
    return 0;
}

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static int hold(const char *path, const char *key, const char *model, int count)
{
    char req[1024];
    int rl = request(req, sizeof req, path, key, model);
    struct pollfd *p = calloc((size_t)count, sizeof *p);
    bool *seen = calloc((size_t)count, sizeof *seen);
    for (int i = 0; i < count; i++) {
        p[i].fd = dial();
        p[i].events = POLLIN;
        if (write(p[i].fd, req, (size_t)rl) != rl) {
            perror("llmclient: write");
            exit(1);
        }
    }
    int open = 0;
    bool said = false;
    long long t0 = now_us();
    char buf[8192];
    while (!stop) {
        if (!said && (open == count || now_us() - t0 > 60000000)) {
            printf("open %d\n", open);
            fflush(stdout);
            said = true;
        }
        if (poll(p, (nfds_t)count, 200) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < count; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(p[i].fd, buf, sizeof buf - 1);
            if (r <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                continue;
            }
            buf[r] = 0;
            if (!seen[i] && strstr(buf, "data:")) {
                seen[i] = true;
                open++;
            }
        }
    }
    for (int i = 0; i < count; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    free(p);
    free(seen);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7 || (strcmp(argv[1], "ttft") != 0 && strcmp(argv[1], "hold") != 0)) {
        fprintf(stderr, "usage: llmclient ttft|hold PORT PATH KEY MODEL N\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_term);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    port = atoi(argv[2]);
    int n = atoi(argv[6]);
    if (n < 1)
        return 2;
    if (strcmp(argv[1], "ttft") == 0)
        return ttft(argv[3], argv[4], argv[5], n);
    return hold(argv[3], argv[4], argv[5], n);
}
