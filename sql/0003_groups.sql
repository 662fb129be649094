-- 0003: per-group fairness, and leaner indexes for claims and outcomes.
-- A queue with a concurrency cap or group limits is claimed through its
-- queues row (locked, so its claims are serialised
-- and the caps hold across workers); group_cursor is the last group served,
-- so groups take turns across claims and across workers.
ALTER TABLE queues ADD COLUMN IF NOT EXISTS group_cursor VARCHAR(128) NULL;

-- Replaces jobs_tenant_queue (a prefix of it): the fair claim lists the
-- groups waiting in a queue (a loose scan over this index), counts the
-- running jobs of each, and reads each group's next jobs in claim order.
ALTER TABLE jobs
  ADD INDEX IF NOT EXISTS jobs_queue_group (tenant_id, queue, state, group_key, priority DESC, run_at, id),
  DROP INDEX IF EXISTS jobs_tenant_queue;

-- Leaner indexes for the hot path: a claim moves a job out of `queued` and
-- an outcome out of `running`; indexes that start with `state` are rewritten
-- each time. Expired leases are found by lease_expires_at alone (set only
-- while running) and old finished jobs by finished_at alone (set only once
-- terminal): neither index changes when a job is claimed.
ALTER TABLE jobs
  ADD INDEX IF NOT EXISTS jobs_lease_expiry (lease_expires_at),
  DROP INDEX IF EXISTS jobs_lease,
  ADD INDEX IF NOT EXISTS jobs_finished_at (finished_at),
  DROP INDEX IF EXISTS jobs_finished;
