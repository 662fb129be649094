-- One round of the worker's claim (core/jobclaim.c), rolled back so every
-- round sees the same queue: lock 100 due jobs with SKIP LOCKED, lease
-- them by id, read them back.
START TRANSACTION;
SELECT GROUP_CONCAT(id) INTO @ids FROM (SELECT id FROM jobs WHERE state = 0 AND run_at <= NOW(6) AND kind = 'http' ORDER BY priority DESC, run_at, id LIMIT 100 FOR UPDATE SKIP LOCKED) t;
SET @u = CONCAT('UPDATE jobs SET state = 1, attempts = attempts + 1, lease_token = ''bench'', lease_expires_at = NOW(6) + INTERVAL 30 SECOND WHERE id IN (', @ids, ')');
PREPARE u FROM @u;
EXECUTE u;
SET @s = CONCAT('SELECT id, tenant_id, queue, payload FROM jobs WHERE id IN (', @ids, ') AND lease_token = ''bench''');
PREPARE s FROM @s;
EXECUTE s;
ROLLBACK;
