/* serve_files_upload: POST /v1/files, a multipart upload streamed to
 * MariaDB in chunks with back-pressure, a batch file checked line by line
 * on the way; a refused or abandoned upload purged before the answer.
 * Called by serve_files.c's route (struct serve_files: serve_files_int.h). */
#ifndef INGOT_SERVE_FILES_UPLOAD_H
#define INGOT_SERVE_FILES_UPLOAD_H

struct serve_files;
struct v1;

void files_upload(struct serve_files *sf, struct v1 *c);

#endif
