-- 0001: the meta table (installation facts and settings kept in the
-- database). schema_migrations itself is created by `ingot migrate`.
-- Migrations are forward-only and additive, so the previous release keeps
-- working on the new schema during a rolling update.
CREATE TABLE IF NOT EXISTS meta (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  value VARCHAR(1024) NOT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO meta (name, value) VALUES ('installation_id', UUID());
