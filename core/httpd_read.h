/* httpd_read: a connection's input, parsed (internal to core/httpd*.c). */
#ifndef INGOT_HTTPD_READ_H
#define INGOT_HTTPD_READ_H

struct conn;

/* Reads c's input as far as it goes in the state c is in (IDLE, a head,
 * a body), dispatching each request read whole; in any other state it
 * does nothing. Its state changes are lazy (httpd_conn_enter): the
 * caller applies the deadline of the state it stops in. */
void httpd_read_input(struct conn *c);

#endif
