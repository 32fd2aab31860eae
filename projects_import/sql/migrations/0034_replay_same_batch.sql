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
-- Only fn_projects_import_stage changes (both submit forms call it): same signature, same
-- answers, one lookup instead of two.

alter table public.staging_imports
    drop constraint if exists staging_imports_tenant_id_batch_checksum_key;
create index staging_imports_checksum
    on public.staging_imports (tenant_id, batch_checksum);

-- fn_projects_import_stage — lock the tenant (without waiting), answer busy / paused /
-- replayed (this batch_id with these rows is staged) / batch_conflict (this batch_id with
-- other rows), or stage the batch and answer null (the caller merges it).
create or replace function public.fn_projects_import_stage(
    p_tenant_id        text,
    p_source           text,
    p_batch_id         uuid,
    p_batch_checksum   text,
    p_checksum_version smallint,
    p_raw              jsonb,
    p_row_count        integer,
    p_correlation_id   uuid,
    p_validation       jsonb
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_staged   staging_imports%rowtype;
    v_tenant   tenants%rowtype;
begin
    if not fn_projects_import_try_lock(p_tenant_id) then
        return jsonb_build_object('outcome', 'busy');
    end if;

    select * into v_tenant from tenants where tenant_id = p_tenant_id;
    if v_tenant.paused_at is not null then
        return jsonb_build_object('outcome', 'paused', 'reason', v_tenant.paused_reason,
                                  'paused_at', v_tenant.paused_at);
    end if;

    select * into v_staged
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;
    if found and v_staged.batch_checksum = p_batch_checksum then
        return jsonb_build_object(
            'outcome', 'replayed',
            'batch_id', v_staged.batch_id,
            'staging_id', v_staged.id,
            'original_correlation_id', v_staged.correlation_id,
            'metrics', coalesce(v_staged.validation -> 'metrics', '{}'::jsonb)
                       || jsonb_build_object('staging_id', v_staged.id));
    end if;
    if found then
        return jsonb_build_object(
            'outcome', 'batch_conflict',
            'batch_id', v_staged.batch_id,
            'staging_id', v_staged.id,
            'staged_at', v_staged.created_at);
    end if;

    insert into staging_imports (tenant_id, batch_id, source, raw, batch_checksum,
                                 checksum_version, row_count, correlation_id, validation)
    values (p_tenant_id, p_batch_id, p_source, p_raw, p_batch_checksum, p_checksum_version,
            p_row_count, p_correlation_id, coalesce(p_validation, '{}'::jsonb));
    return null;
end
$$;

-- Privileges as 0033 gave it (create or replace keeps them; said again, next to the object).
revoke all on function
    public.fn_projects_import_stage(text, text, uuid, text, smallint, jsonb, integer, uuid, jsonb)
  from public;

do $$
begin
    revoke all on function
        public.fn_projects_import_stage(text, text, uuid, text, smallint, jsonb, integer, uuid,
                                        jsonb)
      from anon, authenticated;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant execute on function
            public.fn_projects_import_stage(text, text, uuid, text, smallint, jsonb, integer,
                                            uuid, jsonb)
           to service_role;
    end if;
end
$$;
