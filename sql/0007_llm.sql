-- 0007: the LLM gateway: named providers, model routes, tenants' own
-- provider keys, prices, limits and budgets, and the usage ledger (the
-- truth Redis reservations are rebuilt from). Additive only.

-- A named provider (the default one comes from LLM_BASE_URL and is not a
-- row; "default" is reserved). api_key: sealed by core/crypt
-- ("v1.<key id>.<base64 nonce|ciphertext|tag>"), NULL for none.
CREATE TABLE IF NOT EXISTS llm_providers (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  type VARCHAR(16) NOT NULL,
  base_url VARCHAR(2048) NOT NULL,
  api_key TEXT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A model name clients send, routed to a provider ("default" included),
-- optionally under another name upstream.
CREATE TABLE IF NOT EXISTS llm_routes (
  model VARCHAR(191) NOT NULL PRIMARY KEY,
  provider VARCHAR(64) NOT NULL,
  upstream_model VARCHAR(191) NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A tenant's own key for a provider, used instead of the provider's.
CREATE TABLE IF NOT EXISTS llm_tenant_keys (
  tenant_id BIGINT UNSIGNED NOT NULL,
  provider VARCHAR(64) NOT NULL,
  api_key TEXT NOT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (tenant_id, provider),
  CONSTRAINT llm_tenant_keys_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- USD per million tokens, by the model name clients send.
CREATE TABLE IF NOT EXISTS llm_prices (
  model VARCHAR(191) NOT NULL PRIMARY KEY,
  input_per_mtok DECIMAL(14,6) NOT NULL,
  output_per_mtok DECIMAL(14,6) NOT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Limits of a tenant (key_id 0) or of one of its keys; NULL: no limit.
CREATE TABLE IF NOT EXISTS llm_limits (
  tenant_id BIGINT UNSIGNED NOT NULL,
  key_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
  rpm BIGINT UNSIGNED NULL,
  tpm BIGINT UNSIGNED NULL,
  tokens_per_day BIGINT UNSIGNED NULL,
  tokens_per_month BIGINT UNSIGNED NULL,
  usd_per_month DECIMAL(16,6) NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (tenant_id, key_id),
  CONSTRAINT llm_limits_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per LLM call, sync or job (written in batches).
CREATE TABLE IF NOT EXISTS llm_usage (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at DATETIME(6) NOT NULL,
  tenant_id BIGINT UNSIGNED NOT NULL,
  key_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
  job_id BIGINT UNSIGNED NULL,
  provider VARCHAR(64) NOT NULL,
  model VARCHAR(191) NOT NULL,
  endpoint VARCHAR(32) NOT NULL,
  status SMALLINT UNSIGNED NOT NULL,
  prompt_tokens BIGINT UNSIGNED NOT NULL DEFAULT 0,
  completion_tokens BIGINT UNSIGNED NOT NULL DEFAULT 0,
  cached_tokens BIGINT UNSIGNED NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT UNSIGNED NOT NULL DEFAULT 0,
  cost_usd DECIMAL(18,9) NOT NULL DEFAULT 0,
  latency_ms DOUBLE NOT NULL DEFAULT 0,
  ttft_ms DOUBLE NULL,
  request_id VARCHAR(128) NOT NULL DEFAULT '',
  KEY llm_usage_tenant_at (tenant_id, at),
  KEY llm_usage_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The usage of an llm.* job's last attempt, as OpenAI's usage object.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS `usage` TEXT NULL;
