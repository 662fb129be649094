-- 0009: indexes for GET /v1/jobs filters (kind, group, created_after /
-- created_before, status without queue), each ending in id so a page is
-- read in the list's order (id DESC, the cursor) straight off the index:
-- no sort, and no walk through a tenant's other jobs when few match.
-- Without them a filter matching few of a tenant's 1M jobs read them all
-- for every page. Added online (InnoDB builds secondary indexes in place
-- without blocking writes); additive, so the previous release keeps
-- working during a rolling update. Bulk cancel/retry walk jobs_tenant_list.
ALTER TABLE jobs
  ADD INDEX IF NOT EXISTS jobs_tenant_kind (tenant_id, kind, id),
  ADD INDEX IF NOT EXISTS jobs_tenant_group (tenant_id, group_key, id),
  ADD INDEX IF NOT EXISTS jobs_tenant_created (tenant_id, created_at, id),
  ADD INDEX IF NOT EXISTS jobs_tenant_state (tenant_id, state, id);
