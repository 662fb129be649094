-- 0012: login sessions and tenant members.
-- A session is one login (OIDC or an API key); its refresh token is kept as
-- HMAC-SHA256(JWT_SECRET, token) and rotated at each use (prev_hash is the
-- one it replaced: presented again, it revokes the session, since only a
-- copy of a used token can be). Log out sets revoked_at; log out
-- everywhere sets it on every session of the subject.
CREATE TABLE IF NOT EXISTS auth_sessions (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind ENUM('oidc', 'key') NOT NULL,
  subject VARCHAR(255) NOT NULL,
  tenant_id BIGINT UNSIGNED NULL,
  key_id BIGINT UNSIGNED NULL,
  refresh_hash BINARY(32) NOT NULL,
  prev_hash BINARY(32) NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  refreshed_at DATETIME(6) NULL,
  expires_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  UNIQUE KEY auth_sessions_refresh (refresh_hash),
  KEY auth_sessions_prev (prev_hash),
  KEY auth_sessions_subject (kind, subject)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Which tenants an OIDC subject that is not the owner may see.
CREATE TABLE IF NOT EXISTS tenant_members (
  tenant_id BIGINT UNSIGNED NOT NULL,
  subject VARCHAR(255) NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (tenant_id, subject),
  KEY tenant_members_subject (subject),
  CONSTRAINT tenant_members_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
