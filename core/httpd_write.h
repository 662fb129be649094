/* httpd_write: replies leave in bursts (internal to httpd). A handler's
 * reply is queued and written by an event made active with the first
 * one: it runs after every callback already ready in this pass of the
 * loop, so the pass's replies go out together and a client's process is
 * woken once per burst rather than once per reply with our work in
 * between (Redis writes its replies in beforeSleep). Most replies fit the
 * socket's buffer and cost no EPOLLOUT round. */
#ifndef INGOT_HTTPD_WRITE_H
#define INGOT_HTTPD_WRITE_H

#include <stddef.h>

struct conn;
struct httpd;

/* The flush event: httpd_new makes it, httpd_free frees it (while the
 * loop is alive). */
void httpd_write_start(struct httpd *h);
void httpd_write_stop(struct httpd *h);
/* c's reply is complete (CONN_WRITING): written before the loop sleeps. */
void httpd_write_queue(struct conn *c);
/* Writes what is queued now (httpd_free, before it closes connections). */
void httpd_write_flush(struct httpd *h);
/* c is released: its queued reply is not written. */
void httpd_write_forget(struct conn *c);

/* A reply (head and body, small) for c's empty output: kept in c and
 * written by the flush with one write(2), not through the bufferevent's
 * output (a chain allocated and freed per reply); what the socket does
 * not take then goes to the output as before. */
void httpd_write_hold(struct conn *c, const char *data, size_t len);
/* Writes "100 Continue" now: after a reply on a kept-alive connection the
 * bufferevent's writing is off (the queue's flush writes replies), so the
 * interim answer turns it back on or it waits for the next reply. */
void httpd_write_continue(struct conn *c);

#endif
