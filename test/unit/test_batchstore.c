/* batchstore: batch ids, the batch object as OpenAI's SDK reads it (every
 * field present, nulls where nothing happened yet, usage totals), status
 * names, and the compare-and-set conditions of the cancel statements. */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "batchstore.h"

static cJSON *row_json(char **row)
{
    struct sbuf b;
    sbuf_init(&b);
    batchstore_row_json(&b, row);
    cJSON *j = cJSON_Parse(b.data);
    sbuf_deinit(&b);
    return j;
}

int main(void)
{
    char id[BATCHSTORE_ID_LEN + 1], id2[BATCHSTORE_ID_LEN + 1];
    test_cond("new id", batchstore_new_id(id) == 0 && batchstore_new_id(id2) == 0);
    test_cond("ids look like batch_ and 24 hex", strncmp(id, "batch_", 6) == 0 && strlen(id) == 30);
    test_cond("ids differ", strcmp(id, id2) != 0);
    test_cond("a new id is valid", batchstore_id_valid(id));
    test_cond("upper case hex is not ours", !batchstore_id_valid("batch_ABCDEF0123456789abcdef01"));
    test_cond("too short", !batchstore_id_valid("batch_0123"));
    test_cond("a file id is no batch id", !batchstore_id_valid("file-0123456789abcdef01234567"));
    test_streq("status 1", batch_status_name(BATCH_IN_PROGRESS), "in_progress");
    test_streq("status 7", batch_status_name(BATCH_CANCELLED), "cancelled");

    /* BATCHSTORE_COLS order: an in-progress batch */
    char *row[BATCHSTORE_NCOLS] = {
        "batch_0123456789abcdef01234567", "1", "/v1/chat/completions", "file-0123456789abcdef01234567", "24h",
        "{\"k\":\"v\"}", "100", "101", "86500", NULL, NULL, NULL, NULL, NULL, NULL, "10", "4", "1", "30", "12", "2",
        "0", NULL, NULL, NULL, "7"};
    cJSON *j = row_json(row);
    test_cond("the object is JSON", j != NULL);
    test_streq("object", cJSON_GetStringValue(cJSON_GetObjectItem(j, "object")), "batch");
    test_streq("status", cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "in_progress");
    test_cond("errors null", cJSON_IsNull(cJSON_GetObjectItem(j, "errors")));
    test_cond("output_file_id null", cJSON_IsNull(cJSON_GetObjectItem(j, "output_file_id")));
    test_cond("completed_at null", cJSON_IsNull(cJSON_GetObjectItem(j, "completed_at")));
    test_cond("expires_at a number", cJSON_GetNumberValue(cJSON_GetObjectItem(j, "expires_at")) == 86500);
    cJSON *rc = cJSON_GetObjectItem(j, "request_counts");
    test_cond("request_counts", cJSON_GetNumberValue(cJSON_GetObjectItem(rc, "total")) == 10 &&
                                    cJSON_GetNumberValue(cJSON_GetObjectItem(rc, "completed")) == 4 &&
                                    cJSON_GetNumberValue(cJSON_GetObjectItem(rc, "failed")) == 1);
    cJSON *u = cJSON_GetObjectItem(j, "usage");
    test_cond("usage total = input + output", cJSON_GetNumberValue(cJSON_GetObjectItem(u, "total_tokens")) == 42);
    test_cond("usage details", cJSON_GetNumberValue(cJSON_GetObjectItem(
                                   cJSON_GetObjectItem(u, "input_tokens_details"), "cached_tokens")) == 2);
    test_streq("metadata kept", cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "k")), "v");
    cJSON_Delete(j);

    /* ended with files and validation errors */
    row[1] = "3";
    row[10] = "200";
    row[22] = "{\"object\":\"list\",\"data\":[]}";
    row[23] = "file-aaaaaaaaaaaaaaaaaaaaaaaa";
    row[5] = NULL;
    j = row_json(row);
    test_streq("completed", cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "completed");
    test_streq("output_file_id", cJSON_GetStringValue(cJSON_GetObjectItem(j, "output_file_id")),
               "file-aaaaaaaaaaaaaaaaaaaaaaaa");
    test_cond("completed_at", cJSON_GetNumberValue(cJSON_GetObjectItem(j, "completed_at")) == 200);
    test_streq("errors is a list", cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "errors"), "object")),
               "list");
    test_cond("metadata null", cJSON_IsNull(cJSON_GetObjectItem(j, "metadata")));
    cJSON_Delete(j);

    struct sbuf b;
    sbuf_init(&b);
    batchstore_sql_cancel(&b, 5, id, 99);
    test_cond("cancel: only from validating or in_progress", strstr(b.data, "status IN (0, 1)") != NULL);
    test_cond("cancel: the tenant's own", strstr(b.data, "tenant_id = 5") != NULL);
    sbuf_reset(&b);
    batchstore_sql_cancel_lines(&b, 5, id);
    test_cond("cancel lines: queued only, of this batch", strstr(b.data, "state = 0 AND group_key = X'") != NULL);
    sbuf_reset(&b);
    batchstore_sql_list(&b, 5, id, 20);
    test_cond("list: one more than the page", strstr(b.data, "LIMIT 21") != NULL);
    sbuf_deinit(&b);
    test_report();
}
