#include "upstream_read.h"

#include "upstream_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void req_stop(struct up_req *r)
{
    r->stopped = true;
    upstream_req_fail(r, "stopped by the caller");
}

/* Body bytes: to data when streaming, else kept up to max_body (the rest
 * is read and dropped, so the connection stays reusable). false: the
 * caller stopped it (r is gone). */
static bool body_out(struct up_req *r, const char *p, size_t n)
{
    if (!n)
        return true;
    if (r->streaming) {
        if (r->data(p, n, r->arg) < 0) {
            req_stop(r);
            return false;
        }
        return true;
    }
    size_t room = r->body.len < r->max_body ? r->max_body - r->body.len : 0;
    if (n > room) {
        r->truncated = true;
        n = room;
    }
    sbuf_append(&r->body, p, n);
    return true;
}

/* false: r is finished (delivered or failed). */
static bool body_feed(struct up_req *r, const char *p, size_t n)
{
    struct upstream *u = r->u;
    switch (r->rh.framing) {
    case HTTP_RESP_NONE:
        upstream_req_complete(r, n == 0);
        return false;
    case HTTP_RESP_LENGTH: {
        size_t take = n < r->body_left ? n : (size_t)r->body_left;
        if (!body_out(r, p, take))
            return false;
        r->body_left -= take;
        if (r->body_left == 0) {
            upstream_req_complete(r, take == n);
            return false;
        }
        return true;
    }
    case HTTP_RESP_CHUNKED:
        while (n) {
            size_t used = 0, made = 0;
            int rc = http_chunked_feed(&r->ch, p, n, &used, u->cbuf, sizeof u->cbuf, &made, UINT64_MAX);
            if (rc < 0) {
                char why[200];
                snprintf(why, sizeof why, "the answer's chunked body is malformed: %s", r->ch.why);
                upstream_req_fail(r, why);
                return false;
            }
            if (!body_out(r, u->cbuf, made))
                return false;
            p += used;
            n -= used;
            if (rc == 1) {
                upstream_req_complete(r, n == 0);
                return false;
            }
            if (!used && !made)
                break;
        }
        return true;
    case HTTP_RESP_CLOSE:
        return body_out(r, p, n);
    }
    return true;
}

/* The head is in: header strings in place (NUL over the colon and after
 * the value), then the caller's head callback decides streaming. */
static bool head_done(struct up_req *r, size_t head_len)
{
    char *b = r->in.data;
    r->nhdrs = r->rh.nheaders;
    size_t need = r->nhdrs ? r->nhdrs : 1;
    if (need > r->hdrs_cap) { /* a kept request's array serves when large enough */
        free(r->hdrs_buf);
        r->hdrs_buf = xmalloc(need * sizeof *r->hdrs_buf);
        r->hdrs_cap = need;
    }
    r->hdrs = r->hdrs_buf;
    r->hdrs[0] = (struct httpc_header){NULL, NULL}; /* what calloc left when there is none */
    for (size_t i = 0; i < r->nhdrs; i++) {
        const struct http_header *h = &r->rh.headers[i];
        b[h->name.off + h->name.len] = '\0';
        b[h->value.off + h->value.len] = '\0';
        r->hdrs[i].name = b + h->name.off;
        r->hdrs[i].value = b + h->value.off;
        /* by length before strcasecmp: most names are neither */
        if (!r->content_type && h->name.len == 12 && strcasecmp(r->hdrs[i].name, "content-type") == 0)
            r->content_type = r->hdrs[i].value;
        else if (!r->retry_after && h->name.len == 11 && strcasecmp(r->hdrs[i].name, "retry-after") == 0)
            r->retry_after = r->hdrs[i].value;
    }
    r->state = REQ_BODY;
    r->body_left = r->rh.content_length;
    if (r->rh.framing == HTTP_RESP_CHUNKED)
        http_chunked_init(&r->ch);
    if (r->head) {
        int rc = r->head(r->rh.status, r->hdrs, r->nhdrs, r->arg);
        if (rc == HTTPC_STOP) {
            req_stop(r);
            return false;
        }
        r->streaming = rc == HTTPC_STREAM && r->data;
    }
    return body_feed(r, r->in.data + head_len, r->in.len - head_len);
}

/* Bytes of the answer. false: r is finished. */
bool upstream_req_feed(struct up_req *r, const char *p, size_t n)
{
    r->resp_bytes += n;
    if (r->state == REQ_BODY)
        return body_feed(r, p, n);
    sbuf_append(&r->in, p, n);
    for (;;) {
        long hl = http_resp_parse_known(&r->rh, r->in.data, r->in.len, &r->o->known);
        if (hl == 0)
            return true;
        if (hl < 0) {
            char why[200];
            snprintf(why, sizeof why, "the answer is not HTTP/1.1: %s", r->rh.why);
            upstream_req_fail(r, why);
            return false;
        }
        if (r->rh.status == 101) {
            upstream_req_fail(r, "the server switched protocols unasked");
            return false;
        }
        if (r->rh.status >= 200)
            return head_done(r, (size_t)hl);
        /* An interim 1xx: forget it, the final head follows. */
        memmove(r->in.data, r->in.data + hl, r->in.len - (size_t)hl);
        r->in.len -= (size_t)hl;
        r->in.data[r->in.len] = '\0';
        http_resp_init(&r->rh, r->head_request);
    }
}
