-- 0034 — A replay is the same batch again: the same batch_id with the same rows (SPEC §5.2).
--
-- Until now UNIQUE (tenant_id, batch_checksum) decided identity: any earlier batch with the same
-- rows made a new batch a "replay", so a daily export that went back to an earlier state (day 1
-- P→Ann, day 2 P→Bob, day 3 P→Ann) was answered with day 1's batch and merged nothing. Now:
--   * (tenant_id, batch_id) names a batch (it stays unique). The same batch_id with the same
--     checksum is a replay (200, its original answer, nothing written, however late: a late
--     retry never undoes a newer batch); the same batch_id with another checksum is a
--     batch_conflict (422).
--   * a new batch_id is new data and is always merged, whatever rows it carries.
--   * batch_checksum stays, indexed and no longer unique; history is kept as it is.
-- The rule is fn_projects_import_stage's (definitions/functions, both submit forms call it):
-- one lookup of (tenant_id, batch_id), then its checksum.
--
-- With it, definitions/functions/fn_projects_import_merge_columns.sql changes by one
-- statement, found by the model-based test of whole days (tests/model): a batch is merged "for
-- the first time" (every miss a new occurrence, unchecked) only when no occurrence of its
-- batch_id exists. A retry of a batch whose staged copy retention removed (60 days) while its
-- occurrences stay (90 days) is new data again, and its merge failed on import_anomalies'
-- unique (tenant_id, batch_id, row_index, anomaly_type) instead of counting the misses already
-- recorded.

alter table public.staging_imports
    drop constraint if exists staging_imports_tenant_id_batch_checksum_key;
create index staging_imports_checksum
    on public.staging_imports (tenant_id, batch_checksum);
