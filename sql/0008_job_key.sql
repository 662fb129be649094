-- 0008: the API key that enqueued a job, so an llm.* job counts against
-- that key's limits and is booked to it, like the same call made sync.
-- NULL: no key (a schedule's job, or one enqueued by an older release):
-- the tenant's limits only. Additive: the previous release keeps working
-- during a rolling update (it leaves the column NULL).
ALTER TABLE jobs ADD COLUMN key_id BIGINT UNSIGNED NULL;
