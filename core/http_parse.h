/* http_parse: a strict, incremental HTTP/1.1 request parser (RFC 9112)
 * that allocates nothing. The head parser reads a growing contiguous
 * buffer line by line and remembers where it stopped, so a trickling client
 * costs no rescans; it records offsets into that buffer. The chunked
 * decoder is a byte-level state machine fed as data arrives.
 *
 * What it refuses, because a proxy in front may read it differently
 * (request smuggling): bare LF or lone CR line ends, obs-fold, whitespace
 * before a header's colon, non-token header names, control characters in
 * values, several Content-Length values that differ, a Content-Length that
 * is not digits only, Transfer-Encoding with Content-Length, and any
 * Transfer-Encoding other than exactly "chunked". */
#ifndef INGOT_HTTP_PARSE_H
#define INGOT_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HTTP_PARSE_MAX_LINE 8192          /* request line: longer is 414 */
#define HTTP_PARSE_MAX_HEAD ((size_t)64 * 1024) /* request line + headers: 431 */
/* Empty lines ignored before a request line (RFC 9112 2.2 asks for at
 * least one; a client sending thousands is not sending a request). */
#define HTTP_PARSE_MAX_BLANK_LINES 8
#define HTTP_PARSE_MAX_HEADERS 100        /* more is 431 */
#define HTTP_PARSE_MAX_CHUNK_LINE 1024    /* chunk-size line with extensions */

/* RFC 9110 token characters (header names, methods), a bit per byte. */
static inline bool http_is_tchar(unsigned char c)
{
    static const uint64_t bits[4] = {0x03ff6cfa00000000ULL, 0x57ffffffc7fffffeULL, 0, 0};
    return (bits[c >> 6] >> (c & 63)) & 1;
}

/* The first index in [i, n) of a byte no header value may hold (a control
 * character other than tab, or DEL); n if none. Values are short: a plain
 * loop beats word-at-a-time tricks here (measured). */
static inline size_t http_value_bad(const char *s, size_t i, size_t n)
{
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return i;
    }
    return n;
}

/* Whether s[i, n) holds a byte no header value may hold (as
 * http_value_bad(s, i, n) < n), eight bytes at a time: a word with no byte
 * under 0x20 and none 0x7f is clean; one with a tab (or a bad byte) is
 * looked at byte by byte. The one check of a value's span, for requests
 * and answers alike (http_resp's one-pass scan holds its table to it). */
static inline bool http_value_has_bad(const char *s, size_t i, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t del = w ^ (ones * 0x7f);
        /* any byte < 0x20; any byte == 0x7f (exact as "any") */
        if (((w - ones * 0x20) & ~w & highs) | ((del - ones) & ~del & highs)) {
            if (http_value_bad(s, i, i + 8) < i + 8)
                return true;
        }
    }
    return http_value_bad(s, i, n) < n;
}

enum http_method {
    HTTP_METHOD_OTHER = 0,
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_PATCH,
    HTTP_METHOD_OPTIONS
};

enum http_framing { HTTP_BODY_NONE = 0, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED };

/* A span of the caller's buffer. */
struct http_span {
    uint32_t off, len;
};

struct http_header {
    struct http_span name, value; /* value without surrounding whitespace */
};

enum http_parse_step { HTTP_PARSE_LINE = 0, HTTP_PARSE_HEADERS, HTTP_PARSE_DONE };

struct http_head {
    /* parser position */
    enum http_parse_step step;
    size_t pos;  /* start of the first unparsed line */
    size_t scan; /* how far the search for its LF got */
    unsigned blank_lines; /* empty lines before the request line */
    /* request line */
    enum http_method method;
    struct http_span method_name, target;
    int minor; /* HTTP/1.minor: 0 or 1 */
    struct http_header headers[HTTP_PARSE_MAX_HEADERS];
    size_t nheaders;
    /* framing and connection, known once the head is complete */
    enum http_framing framing;
    uint64_t content_length;
    bool keep_alive;
    bool expect_continue;
    /* an error: the status to answer and why (static text) */
    int status;
    const char *why;
};

void http_head_init(struct http_head *h);
/* Parses what buf[0..len) holds (a prefix of the request that grows between
 * calls; the buffer may move, offsets stay valid). Returns 0 when more bytes
 * are needed, the length of the head (through the blank line) when it is
 * complete, or -1 with h->status (400, 414, 417, 431, 501, 505) and h->why. */
long http_head_parse(struct http_head *h, const char *buf, size_t len);

/* Case-insensitive lookup of the first header called name; NULL if none. */
const struct http_header *http_head_find(const struct http_head *h, const char *buf,
                                         const char *name);

/* Chunked body decoding. */
enum http_chunk_state {
    HTTP_CHUNK_SIZE = 0,
    HTTP_CHUNK_SIZE_OWS, /* whitespace after the size: ';' or CR next */
    HTTP_CHUNK_EXT,
    HTTP_CHUNK_SIZE_LF,
    HTTP_CHUNK_DATA,
    HTTP_CHUNK_DATA_CR,
    HTTP_CHUNK_DATA_LF,
    HTTP_CHUNK_TRAILER,
    HTTP_CHUNK_TRAILER_LF,
    HTTP_CHUNK_DONE
};

struct http_chunked {
    enum http_chunk_state state;
    uint64_t remaining; /* data bytes left in this chunk */
    size_t digits, line, trailer_bytes;
    bool trailer_empty; /* the current trailer line is empty so far */
    bool trailer_value; /* its colon was seen */
    uint64_t total;
    int status;
    const char *why;
};

void http_chunked_init(struct http_chunked *c);
/* Feeds in[0..len). Data bytes are copied to out (out_cap bytes free);
 * *consumed and *produced say how much was used and written. Returns 1 when
 * the body ended (trailers skipped), 0 when more input is needed, -1 with
 * c->status (400, or 413 beyond max_body) and c->why. */
int http_chunked_feed(struct http_chunked *c, const char *in, size_t len, size_t *consumed,
                      char *out, size_t out_cap, size_t *produced, uint64_t max_body);

/* The standard reason phrase of a status ("Unknown" if none). */
const char *http_reason(int status);

/* Percent-decodes s[0..n) into out (n+1 bytes), '+' as space when plus.
 * Returns the decoded length, or -1 on a malformed escape. */
long http_pct_decode(const char *s, size_t n, char *out, bool plus);

#endif
