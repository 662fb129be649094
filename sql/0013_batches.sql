-- 0013: the Batch API (/v1/batches). A batch is one row here; its lines
-- run as ordinary llm.* jobs in the tenant's queue "batches" with
-- group_key = the batch id (jobs_queue_group finds them), released a
-- window at a time by the leading scheduler (modes/schedule_batches.c) so
-- a large batch never holds a small one behind it.
-- status: 0 validating, 1 in_progress, 2 finalizing, 3 completed,
-- 4 failed, 5 expired, 6 cancelling, 7 cancelled. end_reason: why a
-- batch is finalizing early: 0 none (every line ran), 1 cancelled,
-- 2 expired, 3 failed (its input file vanished).
-- released: lines made jobs so far; next_chunk/next_off: where the next
-- unreleased line starts in the input file's chunks.
-- Times are Unix seconds (what the API answers). Additive only.
CREATE TABLE IF NOT EXISTS batches (
  seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  tenant_id BIGINT UNSIGNED NOT NULL,
  key_id BIGINT UNSIGNED NULL,
  status TINYINT UNSIGNED NOT NULL DEFAULT 0,
  end_reason TINYINT UNSIGNED NOT NULL DEFAULT 0,
  endpoint VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  input_file_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  input_file_seq BIGINT UNSIGNED NOT NULL,
  input_chunks INT UNSIGNED NOT NULL,
  completion_window VARCHAR(8) NOT NULL DEFAULT '24h',
  metadata TEXT NULL,
  output_expires_s BIGINT NULL,
  total INT UNSIGNED NOT NULL,
  released INT UNSIGNED NOT NULL DEFAULT 0,
  next_chunk INT UNSIGNED NOT NULL DEFAULT 0,
  next_off INT UNSIGNED NOT NULL DEFAULT 0,
  completed_n INT UNSIGNED NOT NULL DEFAULT 0,
  failed_n INT UNSIGNED NOT NULL DEFAULT 0,
  input_tokens BIGINT UNSIGNED NOT NULL DEFAULT 0,
  output_tokens BIGINT UNSIGNED NOT NULL DEFAULT 0,
  cached_tokens BIGINT UNSIGNED NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT UNSIGNED NOT NULL DEFAULT 0,
  errors TEXT NULL,
  output_file_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NULL,
  error_file_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NULL,
  created_at BIGINT NOT NULL,
  in_progress_at BIGINT NULL,
  expires_at BIGINT NOT NULL,
  finalizing_at BIGINT NULL,
  completed_at BIGINT NULL,
  failed_at BIGINT NULL,
  expired_at BIGINT NULL,
  cancelling_at BIGINT NULL,
  cancelled_at BIGINT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  UNIQUE KEY batches_id (id),
  KEY batches_tenant (tenant_id, seq),
  KEY batches_status (status, seq),
  CONSTRAINT batches_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
