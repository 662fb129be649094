/* A hostile HTTP client for test_hostile.sh (loopback only).
 *   hostile raw PORT TIMEOUT_MS
 *       sends stdin as is, prints what comes back, then "--closed" when the
 *       server closed the connection or "--open" at the timeout.
 *   hostile trickle PORT N INTERVAL_MS DURATION_MS [head|body]
 *       opens N connections that send a request one byte per interval
 *       (in the head, or in the body after a complete head) and prints
 *       "connected C failed F s408 A s503 B other O silent S open P
 *        first_close_ms T".
 *   hostile resetwrite PORT PATH N GOFILE
 *       pipelines N GETs of PATH with a tiny receive buffer, reads nothing,
 *       waits until GOFILE exists, then resets the connection (SO_LINGER 0). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dial(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int cmd_raw(int port, int timeout_ms)
{
    char req[65536 * 2];
    size_t n = fread(req, 1, sizeof req, stdin);
    int fd = dial(port, 0);
    if (fd < 0) {
        perror("connect");
        return 1;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    long long end = now_ms() + timeout_ms;
    char buf[65536];
    for (;;) {
        long long left = end - now_ms();
        if (left <= 0) {
            printf("\n--open\n");
            return 0;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
            printf("\n--closed\n");
            return 0;
        }
        fwrite(buf, 1, (size_t)r, stdout);
        fflush(stdout);
    }
}

struct slow {
    int fd;
    int state; /* 0 sending, 1 done */
    char resp[16];
    size_t rlen;
};

static int cmd_trickle(int port, int n, int interval_ms, int duration_ms, bool body)
{
    struct slow *s = calloc((size_t)n, sizeof *s);
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    int connected = 0, failed = 0;
    const char *head = body ? "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"
                            : "GET / HTTP/1.1\r\nHost: t\r\n";
    for (int i = 0; i < n; i++) {
        s[i].fd = dial(port, 0);
        if (s[i].fd < 0) {
            failed++;
            s[i].state = 1;
            continue;
        }
        connected++;
        fcntl(s[i].fd, F_SETFL, O_NONBLOCK);
        (void)!send(s[i].fd, head, strlen(head), MSG_NOSIGNAL);
    }
    long long start = now_ms(), end = start + duration_ms, next = start + interval_ms;
    long long first_close = -1;
    int s408 = 0, s503 = 0, other = 0, silent = 0;
    for (;;) {
        long long t = now_ms();
        if (t >= end)
            break;
        int live = 0;
        for (int i = 0; i < n; i++) {
            p[i].fd = s[i].state ? -1 : s[i].fd;
            p[i].events = POLLIN;
            live += !s[i].state;
        }
        if (!live)
            break;
        long long wait = (next < end ? next : end) - t;
        poll(p, (nfds_t)n, wait > 0 ? (int)wait : 0);
        for (int i = 0; i < n; i++) {
            if (s[i].state || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t r = recv(s[i].fd, buf, sizeof buf, 0);
            if (r > 0) {
                size_t k = (size_t)r;
                if (k > sizeof s[i].resp - 1 - s[i].rlen)
                    k = sizeof s[i].resp - 1 - s[i].rlen;
                memcpy(s[i].resp + s[i].rlen, buf, k);
                s[i].rlen += k;
                continue;
            }
            if (r < 0 && errno == EAGAIN)
                continue;
            s[i].state = 1;
            close(s[i].fd);
            if (first_close < 0)
                first_close = now_ms() - start;
            if (strncmp(s[i].resp, "HTTP/1.1 408", 12) == 0)
                s408++;
            else if (strncmp(s[i].resp, "HTTP/1.1 503", 12) == 0)
                s503++;
            else if (s[i].rlen)
                other++;
            else
                silent++;
        }
        if (now_ms() >= next) {
            next += interval_ms;
            for (int i = 0; i < n; i++)
                if (!s[i].state)
                    (void)!send(s[i].fd, "a", 1, MSG_NOSIGNAL);
        }
    }
    int open = 0;
    for (int i = 0; i < n; i++)
        if (!s[i].state) {
            open++;
            if (strncmp(s[i].resp, "HTTP/1.1 503", 12) == 0)
                s503++;
            close(s[i].fd);
        }
    printf("connected %d failed %d s408 %d s503 %d other %d silent %d open %d first_close_ms %lld\n",
           connected, failed, s408, s503, other, silent, open, first_close);
    free(s);
    free(p);
    return 0;
}

static int cmd_resetwrite(int port, const char *path, int n, const char *gofile)
{
    int fd = dial(port, 4096);
    if (fd < 0) {
        perror("connect");
        return 1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    char req[512];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    int sent = 0;
    for (; sent < n; sent++)
        if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len)
            break;
    printf("sent %d\n", sent);
    fflush(stdout);
    struct stat st;
    long long end = now_ms() + 20000;
    while (stat(gofile, &st) != 0 && now_ms() < end)
        usleep(10000);
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    printf("reset\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "raw") == 0)
        return cmd_raw(atoi(argv[2]), atoi(argv[3]));
    if (argc >= 6 && strcmp(argv[1], "trickle") == 0)
        return cmd_trickle(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
                           argc > 6 && strcmp(argv[6], "body") == 0);
    if (argc >= 6 && strcmp(argv[1], "resetwrite") == 0)
        return cmd_resetwrite(atoi(argv[2]), argv[3], atoi(argv[4]), argv[5]);
    fprintf(stderr, "usage: see the comment at the top of hostile.c\n");
    return 2;
}
