/* serve_files: the Files API as OpenAI defines it: POST /v1/files
 * (multipart upload, streamed to MariaDB in chunks, batch files checked
 * line by line on the way), GET /v1/files (cursor pages), GET
 * /v1/files/{id}, GET /v1/files/{id}/content (streamed back as the client
 * reads), DELETE /v1/files/{id}. A tenant sees only its own files. */
#ifndef INGOT_SERVE_FILES_H
#define INGOT_SERVE_FILES_H

#include "util.h"

struct httpd;
struct serve_jobs;
struct serve_files;

/* Adds the routes; returns owned (free after the server). */
struct serve_files *serve_files_routes(struct httpd *h, struct serve_jobs *sj);
void serve_files_free(struct serve_files *f);

#endif
