/* Fake peers for integration tests, on 127.0.0.1 only.
 *   fakepeer hang PORT     accepts connections and never answers; prints
 *                          "accepted N" for each
 *   fakepeer openai PORT   an OpenAI-compatible provider: GET /v1/models
 *                          (key "test-key"), counts requests
 * PORT 0 picks a free port; the first line on stdout is "port N". */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
        perror("fakepeer: bind");
        exit(1);
    }
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    printf("port %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

static void hang(int fd)
{
    for (;;) {
        /* Accepted sockets are kept open and never read or answered. */
        int c = accept(fd, NULL, NULL);
        static long n;
        if (c >= 0) {
            printf("accepted %ld\n", ++n);
            fflush(stdout);
        }
    }
}

static long requests;

static void openai_cb(struct evhttp_request *req, void *arg)
{
    (void)arg;
    requests++;
    const char *uri = evhttp_request_get_uri(req);
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    struct evbuffer *b = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    if (strcmp(uri, "/v1/models") != 0) {
        evbuffer_add_printf(b, "{\"error\":{\"message\":\"not found\",\"type\":\"invalid_request_error\"}}");
        evhttp_send_reply(req, 404, "Not Found", b);
    } else if (!auth || strcmp(auth, "Bearer test-key") != 0) {
        evbuffer_add_printf(b, "{\"error\":{\"message\":\"bad key\",\"type\":\"invalid_request_error\"}}");
        evhttp_send_reply(req, 401, "Unauthorized", b);
    } else {
        evbuffer_add_printf(b, "{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\",\"object\":\"model\",\"owned_by\":\"ingot-tests\"}]}");
        evhttp_send_reply(req, 200, "OK", b);
    }
    evbuffer_free(b);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fakepeer hang|openai PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int fd = listen_on(atoi(argv[2]));
    if (strcmp(argv[1], "hang") == 0) {
        hang(fd);
        return 0;
    }
    if (strcmp(argv[1], "openai") == 0) {
        struct event_base *base = event_base_new();
        struct evhttp *http = evhttp_new(base);
        evhttp_set_gencb(http, openai_cb, NULL);
        evutil_make_socket_nonblocking(fd);
        evhttp_accept_socket(http, fd);
        event_base_dispatch(base);
        return 0;
    }
    fprintf(stderr, "fakepeer: unknown mode %s\n", argv[1]);
    return 2;
}
