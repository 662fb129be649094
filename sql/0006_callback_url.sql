-- 0006: callback_url holds what the API accepts, 8192 bytes: the one limit
-- of job URLs (payload.url and callback_url, URL_HTTP_MAX). Widening a
-- VARCHAR is additive (DESIGN.md §1) and in place: the previous release
-- keeps working during a rolling update.
ALTER TABLE jobs MODIFY callback_url VARCHAR(8192) NULL;
