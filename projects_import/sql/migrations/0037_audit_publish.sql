-- 0037 — Write, audit, publish (SPEC §10). A new batch is merged inside a savepoint; the
-- audit measures what the merge did (memberships ended, rows with an anomaly, existing projects
-- whose partner, DS or RM changed) against the tenant's limits; over a limit, the merge is
-- rolled back to the savepoint and the staged batch is kept as `held` until an admin publishes
-- or rejects it. A dry run is the same submit in a transaction the service rolls back.
--
--   * tenants: audit_enabled, audit_max_ended_share, audit_max_anomaly_share,
--     audit_max_changed_share, audit_min_rows (defaults of SPEC §10).
--   * staging_imports.batch_state: merged | held | published | rejected | superseded.
--   * import_batch_decisions: every hold, publish and reject, with who, when and why.
--   * fn_imports_for_operator gains an argument (batch_state) and a column: dropped here,
--     recreated by its definition file.
-- The functions (the audit hook of fn_projects_import_submit[_columns], fn_import_audit_*,
-- fn_import_batch_*, fn_tenant_set_audit, …) and the policy of import_batch_decisions are in
-- sql/definitions/ (docs/audits.md lists them).

alter table public.tenants
    add column audit_enabled           boolean not null default true,
    add column audit_max_ended_share   numeric not null default 0.2
        check (audit_max_ended_share between 0 and 1),
    add column audit_max_anomaly_share numeric not null default 0.5
        check (audit_max_anomaly_share between 0 and 1),
    add column audit_max_changed_share numeric not null default 0.5
        check (audit_max_changed_share between 0 and 1),
    add column audit_min_rows          integer not null default 100
        check (audit_min_rows >= 0);

alter table public.staging_imports
    add column batch_state text not null default 'merged'
        check (batch_state in ('merged', 'held', 'published', 'rejected', 'superseded'));

-- Held batches of a tenant are few and looked up on every status read.
create index staging_imports_held on public.staging_imports (tenant_id, created_at)
    where batch_state = 'held';

create table public.import_batch_decisions (
    tenant_id   text not null,
    id          bigint generated always as identity,
    staging_id  uuid not null,
    batch_id    uuid not null,
    decision    text not null check (decision in ('held', 'published', 'rejected',
                                                  'superseded')),
    actor       text not null check (char_length(actor) <= 256),
    reason      text check (char_length(reason) <= 500),
    details     jsonb not null default '{}'::jsonb,
    decided_at  timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, staging_id) references public.staging_imports (tenant_id, id)
        on delete cascade
);
create index import_batch_decisions_staging
    on public.import_batch_decisions (tenant_id, staging_id, id);

alter table public.import_batch_decisions enable row level security;
revoke all on public.import_batch_decisions from public;
do $$
begin
    revoke all on public.import_batch_decisions from anon, authenticated;
    grant select, insert, update, delete on public.import_batch_decisions to service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;

-- Held alerts are deliveries of their own kind (same webhook, signing and suppression).
alter table public.alert_deliveries drop constraint alert_deliveries_kind_check;
alter table public.alert_deliveries add constraint alert_deliveries_kind_check
    check (kind in ('alert', 'escalation', 'held'));

-- fn_imports_for_operator gains p_batch_state and the batch_state column (0037): the old
-- signature goes; its definition file creates the new one.
drop function public.fn_imports_for_operator(text, integer, timestamptz, timestamptz, bigint,
                                             integer);
