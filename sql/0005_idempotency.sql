-- 0005: idempotency keys of single jobs and of batches live in separate
-- key spaces, and remember what request they were used for.
-- idempotency_scope: 0 a single job's key, 1 a batch's key (held by the
-- batch's first row); NULL on the other rows of a batch, which show the
-- key without holding it (NULLs never collide in a unique index).
-- request_hash: SHA-256 of the canonical request; the same key with
-- another request is refused (422) instead of replayed.
ALTER TABLE jobs
  ADD COLUMN IF NOT EXISTS idempotency_scope TINYINT UNSIGNED NULL AFTER idempotency_key,
  ADD COLUMN IF NOT EXISTS request_hash BINARY(32) NULL AFTER idempotency_scope,
  DROP INDEX IF EXISTS jobs_idempotency;

-- Batches used to store their key as "batch:KEY" in the single jobs'
-- space; a single job's key could not be told from it, so such keys are
-- taken to be batches'.
UPDATE jobs SET idempotency_scope = 1, idempotency_key = SUBSTRING(idempotency_key, 7)
  WHERE idempotency_key LIKE 'batch:%' AND idempotency_scope IS NULL;
UPDATE jobs SET idempotency_scope = 0
  WHERE idempotency_key IS NOT NULL AND idempotency_scope IS NULL;

ALTER TABLE jobs
  ADD UNIQUE KEY IF NOT EXISTS jobs_idempotency_scoped (tenant_id, idempotency_scope, idempotency_key);
