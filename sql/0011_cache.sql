-- 0011: the LLM response cache. A tenant's opt-in (its requests use the
-- cache without an Ingot-Cache header, for ttl_s seconds), and the usage
-- ledger's mark for answers given from the cache (zero provider tokens).
CREATE TABLE IF NOT EXISTS llm_tenant_cache (
  tenant_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  ttl_s INT UNSIGNED NOT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  CONSTRAINT llm_tenant_cache_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Instant in MariaDB 10.3+ (a column with a default, added last).
ALTER TABLE llm_usage ADD COLUMN IF NOT EXISTS cache_hit TINYINT(1) NOT NULL DEFAULT 0;
