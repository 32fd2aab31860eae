-- 0038 — Problem groups, directory fixes that can be undone, traceability (issue 19). The
-- functions are definition files: fn_problem_groups_for_operator, fn_problems_set_status_each,
-- fn_problem_group_set_status, fn_directory_change_credit, fn_directory_change_undo. Here the
-- table changes they and the console need.

-- An undo of a directory change is a change of its own that names the change it reverts
-- (fn_directory_change_undo); a change is undone once.
alter table public.directory_changes
    add column undo_of bigint;
create unique index directory_changes_undo on public.directory_changes (tenant_id, undo_of)
    where undo_of is not null;

-- The import request of a batch: the console links a problem's first batch, and each
-- occurrence, to the import that staged it.
create index import_requests_batch on public.import_requests (batch_id)
    where batch_id is not null;

-- What one merge did to problems (its events share its now()), for an import's page.
create index import_problem_events_at on public.import_problem_events (tenant_id, at);
