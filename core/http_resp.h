/* http_resp: the head of an HTTP/1.x response, parsed incrementally as it
 * arrives, for the upstream client. Like http_parse (whose spans and
 * chunked decoder it shares) it allocates nothing: it records offsets into
 * the caller's growing buffer and remembers where it stopped. It decides
 * the body's framing by RFC 9112 6.3, and refuses what would let the body's
 * end be read two ways (differing Content-Length values, Transfer-Encoding
 * with Content-Length, a length that is not digits). */
#ifndef INGOT_HTTP_RESP_H
#define INGOT_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_parse.h"

#define HTTP_RESP_MAX_HEAD ((size_t)64 * 1024)
#define HTTP_RESP_MAX_HEADERS 200

enum http_resp_framing {
    HTTP_RESP_NONE = 0, /* no body (HEAD, 1xx, 204, 304, Content-Length: 0) */
    HTTP_RESP_LENGTH,
    HTTP_RESP_CHUNKED,
    HTTP_RESP_CLOSE     /* the body ends when the server closes */
};

struct http_resp_head {
    /* parser position */
    enum http_parse_step step;
    size_t pos, scan;
    /* status line */
    int minor;
    int status;
    struct http_header headers[HTTP_RESP_MAX_HEADERS];
    size_t nheaders;
    /* known once the head is complete */
    enum http_resp_framing framing;
    uint64_t content_length;
    bool keep_alive;
    bool head_request;
    bool known_miss; /* a header line did not start with its known name */
    const char *why; /* static text, on error */
};

/* The header names of the last head a server sent, in order, kept by the
 * caller per server: a line that starts with the name the line at its
 * index had last time, then a colon, skips that name's byte checks (they
 * passed then). Providers send the same names every time. Zeroed before
 * first use; a bounded copy (names beyond it are checked as usual). */
#define HTTP_RESP_KNOWN_NAMES 32
#define HTTP_RESP_KNOWN_BYTES 1024
struct http_resp_known {
    size_t n;
    bool full; /* the last head had more names than fit: those past n are not misses */
    uint16_t off[HTTP_RESP_KNOWN_NAMES], len[HTTP_RESP_KNOWN_NAMES];
    char bytes[HTTP_RESP_KNOWN_BYTES];
};

/* head_request: the request was HEAD (no body whatever the headers say). */
void http_resp_init(struct http_resp_head *h, bool head_request);
/* Parses buf[0..len), a growing prefix of the response. Returns 0 when more
 * bytes are needed, the head's length (through the blank line) when it is
 * complete, or -1 with h->why. Lines may end in CRLF or a bare LF. */
long http_resp_parse(struct http_resp_head *h, const char *buf, size_t len);
/* The same with the names k knows (the same results whatever k holds, as
 * k's names are compared byte for byte); k learns a completed head's
 * names when they differ. With k, buf[len] must be a NUL (an sbuf's
 * data): header lines are then read without a search for their LF first.
 * k NULL: http_resp_parse. */
long http_resp_parse_known(struct http_resp_head *h, const char *buf, size_t len, struct http_resp_known *k);

#endif
