-- 0010: the Files API (/v1/files). A file is one row in files and its
-- bytes in file_chunks, in order (n = 0, 1, ...), each at most a few
-- hundred KiB so every statement stays far inside max_allowed_packet. The
-- bytes live in MariaDB because every serve and work replica reaches it
-- already: no shared volume, nothing to back up apart.
-- state: 0 uploading (invisible; a failed or abandoned upload is purged),
-- 1 ready, 2 deleted (invisible; its chunks are being purged).
-- Times are Unix seconds (what the API answers). Additive only.
CREATE TABLE IF NOT EXISTS files (
  seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  tenant_id BIGINT UNSIGNED NOT NULL,
  state TINYINT UNSIGNED NOT NULL DEFAULT 0,
  purpose VARCHAR(32) NOT NULL DEFAULT '',
  filename VARCHAR(255) NOT NULL DEFAULT '',
  bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  chunks INT UNSIGNED NOT NULL DEFAULT 0,
  line_count INT UNSIGNED NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  UNIQUE KEY files_id (id),
  KEY files_tenant (tenant_id, state, seq),
  KEY files_tenant_purpose (tenant_id, purpose, state, seq),
  KEY files_expires (expires_at),
  KEY files_state (state, updated_at),
  CONSTRAINT files_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS file_chunks (
  file_seq BIGINT UNSIGNED NOT NULL,
  n INT UNSIGNED NOT NULL,
  data MEDIUMBLOB NOT NULL,
  PRIMARY KEY (file_seq, n)
) ENGINE=InnoDB;
