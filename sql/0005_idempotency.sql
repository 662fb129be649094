-- 0005: idempotency keys remember their request, and every row of a keyed
-- batch shows its key. Additive only (DESIGN.md §1): the previous release
-- keeps working on this schema during a rolling update, so the unique
-- index jobs_idempotency (tenant_id, idempotency_key) stays the one both
-- releases dedupe on, and stored keys keep their format: a single job's
-- "K", a batch's "batch:K" on its first row (a single job's key may not
-- start with "batch:", so the two never collide).
-- request_hash: SHA-256 of the canonical request, on the row that holds a
-- key; the same key with another request is refused (422) instead of
-- replayed. NULL (rows of the previous release) matches any request.
-- idempotency_batch: K on every row of a batch sent with Idempotency-Key
-- K; the API shows it as their idempotency_key, and a replay finds the
-- batch's rows by it (with the holder's created_at). Not unique: the
-- unique index above is what keeps a key to one batch.
ALTER TABLE jobs
  ADD COLUMN IF NOT EXISTS request_hash BINARY(32) NULL AFTER idempotency_key,
  ADD COLUMN IF NOT EXISTS idempotency_batch VARCHAR(255) NULL AFTER request_hash,
  ADD KEY IF NOT EXISTS jobs_idempotency_batch (tenant_id, idempotency_batch);
