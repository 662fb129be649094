-- 0004: cron schedules. A tick fires once: the scheduler writes its
-- (schedule, tick) row in the same transaction as the job it enqueues, so
-- a second scheduler (or one that lost leadership mid-way) gets a
-- duplicate key and rolls back.
CREATE TABLE IF NOT EXISTS schedules (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(128) NOT NULL,
  cron VARCHAR(255) NOT NULL,
  timezone VARCHAR(64) NOT NULL,
  job MEDIUMTEXT NOT NULL,
  paused TINYINT(1) NOT NULL DEFAULT 0,
  -- The next tick (UTC), kept by whoever writes the schedule and by the
  -- scheduler after each fire; NULL when the expression never fires again.
  next_fire_at DATETIME NULL,
  last_fired_at DATETIME NULL,
  last_job_id BIGINT UNSIGNED NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  UNIQUE KEY schedules_name (tenant_id, name),
  KEY schedules_due (paused, next_fire_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS schedule_ticks (
  schedule_id BIGINT UNSIGNED NOT NULL,
  tick_at DATETIME NOT NULL,
  job_id BIGINT UNSIGNED NULL,
  fired_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (schedule_id, tick_at),
  KEY schedule_ticks_fired (fired_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
