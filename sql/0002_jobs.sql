-- 0002: tenants, API keys, queues, jobs and their attempts.
CREATE TABLE IF NOT EXISTS tenants (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY tenants_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Keys are stored as HMAC-SHA256(API_KEY_HASH_SECRET, key); prefix is the
-- visible start of the key, for listing.
CREATE TABLE IF NOT EXISTS api_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id BIGINT UNSIGNED NOT NULL,
  prefix VARCHAR(24) NOT NULL,
  hash BINARY(32) NOT NULL,
  name VARCHAR(128) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  revoked_at DATETIME(6) NULL,
  UNIQUE KEY api_keys_hash (hash),
  KEY api_keys_tenant (tenant_id),
  CONSTRAINT api_keys_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A queue is created on first use with the defaults (NULL = the process
-- defaults QUEUE_LIMITER_MAX per QUEUE_LIMITER_DURATION_MS, no cap).
CREATE TABLE IF NOT EXISTS queues (
  tenant_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(128) NOT NULL,
  rate_max INT UNSIGNED NULL,
  rate_duration_ms INT UNSIGNED NULL,
  concurrency INT UNSIGNED NULL,
  group_concurrency INT UNSIGNED NULL,
  group_rate_max INT UNSIGNED NULL,
  group_rate_duration_ms INT UNSIGNED NULL,
  paused TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (tenant_id, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- state: 0 queued (delayed and waiting to retry included), 1 running
-- (leased), 2 succeeded, 3 failed, 4 cancelled.
CREATE TABLE IF NOT EXISTS jobs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id BIGINT UNSIGNED NOT NULL,
  queue VARCHAR(128) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  state TINYINT UNSIGNED NOT NULL DEFAULT 0,
  priority SMALLINT NOT NULL DEFAULT 0,
  run_at DATETIME(6) NOT NULL,
  group_key VARCHAR(128) NULL,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  max_attempts INT UNSIGNED NOT NULL,
  backoff_base_ms INT UNSIGNED NOT NULL,
  backoff_max_ms INT UNSIGNED NOT NULL,
  timeout_ms INT UNSIGNED NOT NULL,
  payload MEDIUMTEXT NOT NULL,
  metadata TEXT NULL,
  callback_url VARCHAR(2048) NULL,
  idempotency_key VARCHAR(255) NULL,
  lease_token CHAR(32) NULL,
  lease_expires_at DATETIME(6) NULL,
  worker_id VARCHAR(96) NULL,
  result MEDIUMTEXT NULL,
  last_error TEXT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  started_at DATETIME(6) NULL,
  finished_at DATETIME(6) NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  -- priority DESC: the claim reads it in order (MariaDB >= 10.8 keeps the
  -- direction), so no filesort however many jobs wait.
  KEY jobs_claim (state, priority DESC, run_at, id),
  KEY jobs_lease (state, lease_expires_at),
  KEY jobs_tenant_list (tenant_id, id),
  KEY jobs_tenant_queue (tenant_id, queue, state),
  KEY jobs_finished (state, finished_at),
  -- Idempotency: a repeat within 24 h finds the job by this key; older keys
  -- are cleared (set NULL) so the key can be used again.
  UNIQUE KEY jobs_idempotency (tenant_id, idempotency_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS job_attempts (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id BIGINT UNSIGNED NOT NULL,
  attempt INT UNSIGNED NOT NULL,
  worker_id VARCHAR(96) NOT NULL,
  started_at DATETIME(6) NOT NULL,
  finished_at DATETIME(6) NULL,
  outcome VARCHAR(16) NOT NULL,
  http_status SMALLINT NULL,
  error TEXT NULL,
  KEY job_attempts_job (job_id, attempt)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
