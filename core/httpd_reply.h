/* httpd_reply: the reply half of the HTTP server (internal). Its public
 * functions (http_reply*, http_stream_*, http_add_header, http_req_gone)
 * are declared in httpd.h; the server's own in httpd_req.h. */
#ifndef INGOT_HTTPD_REPLY_H
#define INGOT_HTTPD_REPLY_H

#include "httpd.h"

#endif
