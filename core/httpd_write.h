/* httpd_write: replies leave in bursts (internal to httpd). A handler's
 * reply is queued and written before the loop sleeps, with the rest of
 * the pass's replies: a client's process is woken once per burst rather
 * than once per reply with our work in between (Redis's writes in
 * beforeSleep). Most replies fit the socket's buffer and cost no EPOLLOUT
 * round. */
#ifndef INGOT_HTTPD_WRITE_H
#define INGOT_HTTPD_WRITE_H

struct conn;
struct httpd;

/* The loop's before-sleep hook: httpd_new starts it, httpd_free stops it
 * (while the loop is alive). */
void httpd_write_start(struct httpd *h);
void httpd_write_stop(struct httpd *h);
/* c's reply is complete (CONN_WRITING): written before the loop sleeps. */
void httpd_write_queue(struct conn *c);
/* Writes what is queued now (httpd_free, before it closes connections). */
void httpd_write_flush(struct httpd *h);
/* c is released: its queued reply is not written. */
void httpd_write_forget(struct conn *c);

#endif
