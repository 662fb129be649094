/* Two requests on one keep-alive connection with a pause between them:
 *   httpseq PORT PATH1 PATH2 GOFILE
 * Sends GET PATH1, prints "1 STATUS", waits until GOFILE exists, sends GET
 * PATH2, prints "2 STATUS BODY" (or "2 closed"). Used to ask a draining
 * server on a connection it accepted before the drain. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int read_response(int fd, int *status, char *body, size_t bodylen)
{
    char buf[8192];
    size_t n = 0;
    char *hdr_end = NULL;
    while (!hdr_end) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
        hdr_end = strstr(buf, "\r\n\r\n");
    }
    *status = atoi(buf + 9);
    const char *cl = strstr(buf, "Content-Length: ");
    size_t want = cl ? (size_t)atoi(cl + 16) : 0;
    size_t have = n - (size_t)(hdr_end + 4 - buf);
    while (have < want && n < sizeof buf - 1) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        have += (size_t)r;
    }
    buf[n] = '\0';
    snprintf(body, bodylen, "%s", hdr_end + 4);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: httpseq PORT PATH1 PATH2 GOFILE\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("httpseq: connect");
        return 1;
    }
    char req[512], body[4096];
    int status = 0;
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", argv[2]);
    if (write(fd, req, strlen(req)) < 0 || read_response(fd, &status, body, sizeof body) < 0) {
        printf("1 closed\n");
        return 1;
    }
    printf("1 %d\n", status);
    fflush(stdout);
    struct timespec ts = {0, 10L * 1000 * 1000};
    for (int i = 0; i < 3000 && access(argv[4], F_OK) != 0; i++)
        nanosleep(&ts, NULL); /* polls for the go signal */
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", argv[3]);
    if (write(fd, req, strlen(req)) < 0 || read_response(fd, &status, body, sizeof body) < 0) {
        printf("2 closed\n");
        return 0;
    }
    printf("2 %d %s\n", status, body);
    return 0;
}
