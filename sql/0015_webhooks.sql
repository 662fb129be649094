-- 0015: webhook endpoints (issue 11 item 4). A tenant's endpoint gets the
-- events it subscribed to (event_types: a comma-separated list of the
-- types ingot emits) as Standard Webhooks deliveries, each one a durable
-- job of kind 'webhook' in the tenant's queue 'webhooks' whose payload
-- names the endpoint and carries the event (core/webhook_event.c). The
-- signing secret ("whsec_" + base64 of 32 random bytes) is stored sealed
-- with AES-256-GCM under ENCRYPTION_KEY (core/crypt.h, AAD
-- "webhook:<id>"); secret_hint is what listings show of it. A rotation
-- that keeps the old secret for 24 h moves it to secret_prev until
-- secret_prev_until: deliveries then carry both signatures. Times are
-- Unix seconds (what the API answers). Additive only.
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  tenant_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(128) NOT NULL DEFAULT '',
  url VARCHAR(2048) NOT NULL,
  event_types VARCHAR(512) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  enabled TINYINT(1) NOT NULL DEFAULT 1,
  secret VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  secret_hint VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  secret_prev VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL,
  secret_prev_until BIGINT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE KEY webhook_endpoints_id (id),
  KEY webhook_endpoints_tenant (tenant_id, seq),
  CONSTRAINT webhook_endpoints_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
