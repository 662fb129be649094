/* What serve_files.c (reads, deletes, downloads) and serve_files_upload.c
 * share. Internal to those two files. */
#ifndef INGOT_SERVE_FILES_INT_H
#define INGOT_SERVE_FILES_INT_H

#include "serve_files.h"

struct v1;
struct metric_family;
struct metric_series;

struct serve_files {
    struct serve_jobs *sj;
    struct metric_family *f_uploads;      /* ingot_file_uploads_total{outcome} */
    struct metric_series *m_up_bytes;     /* ingot_file_upload_bytes_total */
    struct metric_series *m_down_bytes;   /* ingot_file_download_bytes_total */
    struct metric_series *m_uploading;    /* ingot_file_uploads_in_progress */
    long long uploading;                  /* the same, for FILES_UPLOADS_MAX */
};

#endif
