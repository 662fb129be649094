/* serve_batches_create: POST /v1/batches (serve_batches.c routes it). */
#ifndef INGOT_SERVE_BATCHES_CREATE_H
#define INGOT_SERVE_BATCHES_CREATE_H

struct v1;

/* Answers and frees c. */
void batches_create(struct v1 *c);

#endif
