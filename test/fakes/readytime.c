/* Time from exec to the first 200 from GET PATH on 127.0.0.1:PORT.
 *   readytime PORT PATH -- COMMAND [ARGS...]
 * Prints the milliseconds, then SIGTERMs the command and waits for it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int probe(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        char req[256], resp[64] = "";
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
        if (write(fd, req, strlen(req)) > 0 && read(fd, resp, sizeof resp - 1) > 12)
            ok = strncmp(resp + 9, "200", 3) == 0;
    }
    close(fd);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: readytime PORT PATH -- COMMAND [ARGS...]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[4], argv + 4);
        _exit(127);
    }
    struct timespec ts = {0, 500L * 1000};
    double elapsed = -1;
    while (now_ms() - t0 < 10000) {
        if (probe(port, argv[2])) {
            elapsed = now_ms() - t0;
            break;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "readytime: command exited before it was ready\n");
            return 1;
        }
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    if (elapsed < 0) {
        fprintf(stderr, "readytime: not ready within 10 s\n");
        return 1;
    }
    printf("%.2f\n", elapsed);
    return 0;
}
