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
--   * fn_projects_import_submit / fn_projects_import_submit_columns: the stage call and the
--     merge call are unchanged; a marked hook answers a re-send of a held or rejected batch,
--     and wraps the merge in the audit (fn_import_audit_before / fn_import_audit_after /
--     fn_import_batch_hold). fn_projects_import_merge_columns is not changed.

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
    create policy service_role_all on public.import_batch_decisions
        for all to service_role using (true) with check (true);
exception
    when undefined_object or insufficient_privilege then null;
end
$$;

-- Held alerts are deliveries of their own kind (same webhook, signing and suppression).
alter table public.alert_deliveries drop constraint alert_deliveries_kind_check;
alter table public.alert_deliveries add constraint alert_deliveries_kind_check
    check (kind in ('alert', 'escalation', 'held'));

-- fn_import_audit_limits(tenant) — the tenant's audit limits as jsonb (SPEC §10 names).
create function public.fn_import_audit_limits(p_tenant_id text)
    returns jsonb
    language sql stable
    set search_path = public, pg_temp
    as $$
    select jsonb_build_object(
               'enabled', t.audit_enabled,
               'max_ended_share', t.audit_max_ended_share,
               'max_anomaly_share', t.audit_max_anomaly_share,
               'max_changed_share', t.audit_max_changed_share,
               'min_rows', t.audit_min_rows)
      from tenants t
     where t.tenant_id = p_tenant_id
$$;

-- fn_import_audit_before(tenant, keys) — snapshot the batch's existing projects (partner, DS,
-- RM, raw and canonical) into pg_temp.import_audit_before; answers their count and their
-- active memberships, the denominators of the audit (null when the tenant's audit is off).
create function public.fn_import_audit_before(p_tenant_id text, p_keys text[])
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_existing  integer;
    v_active    integer;
begin
    if not (select t.audit_enabled from tenants t where t.tenant_id = p_tenant_id) then
        return null;
    end if;
    create temp table if not exists pg_temp.import_audit_before (
        stage_application text primary key,
        assignment        text[]
    ) on commit drop;
    truncate pg_temp.import_audit_before;
    insert into pg_temp.import_audit_before
    select p.stage_application,
           array[p.delivery_partner, p.deployment_specialist, p.relationship_manager,
                 p.rm_preferred_username, p.partner_org, p.ds_username, p.rm_username]
      from projects p
     where p.tenant_id = p_tenant_id
       and p.stage_application = any (array(select btrim(k) from unnest(p_keys) k))
    on conflict do nothing;
    get diagnostics v_existing = row_count;

    select (select count(*) from project_org_memberships m
             where m.tenant_id = p_tenant_id and m.ended_at is null
               and m.stage_application in (select stage_application
                                             from pg_temp.import_audit_before))
         + (select count(*) from project_user_memberships m
             where m.tenant_id = p_tenant_id and m.ended_at is null
               and m.stage_application in (select stage_application
                                             from pg_temp.import_audit_before))
      into v_active;
    return jsonb_build_object('existing_projects', v_existing,
                              'active_memberships', v_active);
end
$$;

-- fn_import_audit_after(tenant, before, metrics) — after the merge (same transaction): the
-- observed figures and the findings, one per limit exceeded ({check, observed, limit});
-- no findings when the audit is off (before is null).
create function public.fn_import_audit_after(p_tenant_id text, p_before jsonb,
                                             p_metrics jsonb)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_limits        jsonb := fn_import_audit_limits(p_tenant_id);
    v_existing      integer := (p_before ->> 'existing_projects')::integer;
    v_active        integer := (p_before ->> 'active_memberships')::integer;
    v_rows          integer := coalesce((p_metrics ->> 'rows')::integer, 0);
    v_ended         integer := coalesce((p_metrics ->> 'memberships_ended')::integer, 0);
    v_anomaly_rows  integer;
    v_changed       integer;
    v_observed      jsonb;
    v_findings      jsonb := '[]'::jsonb;
    v_check         text;
begin
    if p_before is null then
        return jsonb_build_object('findings', '[]'::jsonb, 'held', false, 'limits', v_limits);
    end if;
    select count(distinct row_index) into v_anomaly_rows from pg_temp.import_batch_misses;
    select count(*) into v_changed
      from pg_temp.import_audit_before b
      join projects p on p.tenant_id = p_tenant_id and p.stage_application = b.stage_application
     where b.assignment is distinct from
           array[p.delivery_partner, p.deployment_specialist, p.relationship_manager,
                 p.rm_preferred_username, p.partner_org, p.ds_username, p.rm_username];

    v_observed := jsonb_build_object(
        'ended_share', case when v_active > 0 then round(v_ended::numeric / v_active, 4)
                            else 0 end,
        'anomaly_share', case when v_rows > 0 then round(v_anomaly_rows::numeric / v_rows, 4)
                              else 0 end,
        'changed_share', case when v_existing > 0
                              then round(v_changed::numeric / v_existing, 4) else 0 end);

    if (v_limits ->> 'enabled')::boolean and v_existing >= (v_limits ->> 'min_rows')::integer
    then
        foreach v_check in array array['ended', 'anomaly', 'changed'] loop
            if (v_observed ->> (v_check || '_share'))::numeric
               > (v_limits ->> ('max_' || v_check || '_share'))::numeric then
                v_findings := v_findings || jsonb_build_object(
                    'check', 'max_' || v_check || '_share',
                    'observed', (v_observed ->> (v_check || '_share'))::numeric,
                    'limit', (v_limits ->> ('max_' || v_check || '_share'))::numeric);
            end if;
        end loop;
    end if;

    return jsonb_build_object(
        'findings', v_findings,
        'held', jsonb_array_length(v_findings) > 0,
        'observed', v_observed,
        'figures', jsonb_build_object(
            'existing_projects', v_existing, 'active_memberships', v_active,
            'memberships_ended', v_ended, 'rows', v_rows, 'rows_with_anomalies', v_anomaly_rows,
            'changed_projects', v_changed),
        'limits', v_limits);
end
$$;

-- fn_import_batch_hold(tenant, batch, metrics, audit) — after the merge was rolled back: mark
-- the staged batch held with what publishing would do, record the decision, answer 'held'.
create function public.fn_import_batch_hold(p_tenant_id text, p_batch_id uuid,
                                            p_metrics jsonb, p_audit jsonb)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_staging_id  uuid;
begin
    update staging_imports
       set batch_state = 'held',
           validation = validation || jsonb_build_object(
               'held', jsonb_build_object('metrics', p_metrics, 'audit', p_audit))
     where tenant_id = p_tenant_id and batch_id = p_batch_id
    returning id into v_staging_id;
    insert into import_batch_decisions (tenant_id, staging_id, batch_id, decision, actor,
                                        details)
    values (p_tenant_id, v_staging_id, p_batch_id, 'held', 'system',
            jsonb_build_object('findings', p_audit -> 'findings'));
    return jsonb_build_object('outcome', 'held', 'batch_id', p_batch_id,
                              'staging_id', v_staging_id, 'metrics', p_metrics,
                              'audit', p_audit);
end
$$;

-- fn_import_batch_resent(answer) — a re-send of a held batch answers 'held' again (replayed),
-- of a rejected one 'batch_rejected'; any other stage answer is returned as it is.
create function public.fn_import_batch_resent(p_tenant_id text, p_answer jsonb)
    returns jsonb
    language sql stable
    set search_path = public, pg_temp
    as $$
    select case
               when p_answer ->> 'outcome' <> 'replayed' or s.batch_state is null
                    or s.batch_state not in ('held', 'rejected') then p_answer
               when s.batch_state = 'held' then jsonb_build_object(
                   'outcome', 'held', 'replayed', true, 'batch_id', s.batch_id,
                   'staging_id', s.id,
                   'metrics', coalesce(s.validation #> '{held,metrics}', '{}'::jsonb)
                              || jsonb_build_object('staging_id', s.id),
                   'audit', s.validation #> '{held,audit}')
               else jsonb_build_object(
                   'outcome', 'batch_rejected', 'batch_id', s.batch_id, 'staging_id', s.id,
                   'reason', (select d.reason from import_batch_decisions d
                               where d.tenant_id = s.tenant_id and d.staging_id = s.id
                                 and d.decision = 'rejected'
                               order by d.id desc limit 1))
           end
      from (select 1) one
      left join staging_imports s
        on s.tenant_id = p_tenant_id and s.id = (p_answer ->> 'staging_id')::uuid
$$;

-- fn_projects_import_submit (0033) — the same, with the audit hook (0037) around the merge.
create or replace function public.fn_projects_import_submit(
    p_tenant_id        text,
    p_source           text,
    p_batch_id         uuid,
    p_batch_checksum   text,
    p_checksum_version smallint,
    p_raw              jsonb,
    p_rows             jsonb,
    p_correlation_id   uuid,
    p_validation       jsonb
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_answer   jsonb;
    v_metrics  jsonb;
    v_before   jsonb;
    v_audit    jsonb;
begin
    v_answer := fn_projects_import_stage(p_tenant_id, p_source, p_batch_id, p_batch_checksum,
                                         p_checksum_version, p_raw, jsonb_array_length(p_rows),
                                         p_correlation_id, p_validation);
    if v_answer is not null then
        return fn_import_batch_resent(p_tenant_id, v_answer);  -- audit hook (0037)
    end if;
    -- audit hook (0037): merge in a savepoint, measure, roll back and hold when over a limit
    v_before := fn_import_audit_before(
        p_tenant_id, array(select r ->> 'stage_application'
                             from jsonb_array_elements(p_rows) r));
    begin
        v_metrics := fn_projects_import_merge(p_tenant_id, p_source, p_batch_id, p_rows,
                                              p_correlation_id);
        v_audit := fn_import_audit_after(p_tenant_id, v_before, v_metrics);
        if (v_audit ->> 'held')::boolean then
            raise exception 'batch held by its audit' using errcode = 'PIHLD';
        end if;
    exception when sqlstate 'PIHLD' then
        return fn_import_batch_hold(p_tenant_id, p_batch_id, v_metrics, v_audit);
    end;
    -- end of audit hook
    return jsonb_build_object('outcome', 'merged', 'batch_id', p_batch_id,
                              'staging_id', v_metrics -> 'staging_id', 'metrics', v_metrics,
                              'audit', v_audit);
end
$$;

-- fn_projects_import_submit_columns (0033) — the same, with the audit hook (0037).
create or replace function public.fn_projects_import_submit_columns(
    p_tenant_id                  text,
    p_source                     text,
    p_batch_id                   uuid,
    p_batch_checksum             text,
    p_checksum_version           smallint,
    p_raw                        jsonb,
    p_correlation_id             uuid,
    p_validation                 jsonb,
    p_stage_application          text[],
    p_delivery_partner           text[],
    p_developer_class            text[],
    p_relationship_manager       text[],
    p_deployment_specialist      text[],
    p_rm_preferred_username      text[],
    p_residential                integer[],
    p_commercial                 integer[],
    p_essential                  integer[],
    p_premises_count             integer[],
    p_stage_application_created  text[]
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_answer   jsonb;
    v_metrics  jsonb;
    v_before   jsonb;
    v_audit    jsonb;
begin
    v_answer := fn_projects_import_stage(p_tenant_id, p_source, p_batch_id, p_batch_checksum,
                                         p_checksum_version, p_raw,
                                         coalesce(cardinality(p_stage_application), 0),
                                         p_correlation_id, p_validation);
    if v_answer is not null then
        return fn_import_batch_resent(p_tenant_id, v_answer);  -- audit hook (0037)
    end if;
    -- audit hook (0037): merge in a savepoint, measure, roll back and hold when over a limit
    v_before := fn_import_audit_before(p_tenant_id, p_stage_application);
    begin
        v_metrics := fn_projects_import_merge_columns(
            p_tenant_id, p_source, p_batch_id, p_correlation_id, p_stage_application,
            p_delivery_partner, p_developer_class, p_relationship_manager,
            p_deployment_specialist, p_rm_preferred_username, p_residential, p_commercial,
            p_essential, p_premises_count, p_stage_application_created);
        v_audit := fn_import_audit_after(p_tenant_id, v_before, v_metrics);
        if (v_audit ->> 'held')::boolean then
            raise exception 'batch held by its audit' using errcode = 'PIHLD';
        end if;
    exception when sqlstate 'PIHLD' then
        return fn_import_batch_hold(p_tenant_id, p_batch_id, v_metrics, v_audit);
    end;
    -- end of audit hook
    return jsonb_build_object('outcome', 'merged', 'batch_id', p_batch_id,
                              'staging_id', v_metrics -> 'staging_id', 'metrics', v_metrics,
                              'audit', v_audit);
end
$$;

-- fn_import_batch_overtaken(tenant, staging) — project keys of a held batch that a batch
-- staged after it has since merged or published (publishing must not undo those).
create function public.fn_import_batch_overtaken(p_tenant_id text, p_staging_id uuid)
    returns text[]
    language sql stable
    set search_path = public, pg_temp
    as $$
    select coalesce(array_agg(distinct btrim(r ->> 'stage_application')), '{}')
      from staging_imports h
      join staging_imports s
        on s.tenant_id = h.tenant_id and s.created_at > h.created_at
       and s.batch_state in ('merged', 'published', 'superseded')
     cross join lateral jsonb_array_elements(s.raw -> 'rows') r
     where h.tenant_id = p_tenant_id and h.id = p_staging_id
       and btrim(r ->> 'stage_application') in (
               select btrim(x ->> 'stage_application')
                 from jsonb_array_elements(h.raw -> 'rows') x)
$$;

-- fn_import_batch_publish(tenant, batch, rows, actor) — merge a held batch's rows (parsed by
-- the service) except those a later batch overtook; state published, or superseded when
-- some rows were overtaken. Errors: P0002 no such batch, 55000 not held.
create function public.fn_import_batch_publish(p_tenant_id text, p_batch_id uuid,
                                               p_rows jsonb, p_actor text)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_staged     staging_imports%rowtype;
    v_overtaken  text[];
    v_rows       jsonb;
    v_metrics    jsonb;
    v_state      text;
begin
    perform fn_projects_import_lock(p_tenant_id);
    select * into v_staged from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id
       for update;
    if not found then
        raise exception 'no staged batch % for tenant %', p_batch_id, p_tenant_id
            using errcode = 'no_data_found';
    end if;
    if v_staged.batch_state <> 'held' then
        raise exception 'batch % is %, not held', p_batch_id, v_staged.batch_state
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    v_overtaken := fn_import_batch_overtaken(p_tenant_id, v_staged.id);
    select coalesce(jsonb_agg(r order by o), '[]'::jsonb) into v_rows
      from jsonb_array_elements(p_rows) with ordinality as e(r, o)
     where btrim(r ->> 'stage_application') <> all (v_overtaken);

    if jsonb_array_length(v_rows) > 0 then
        v_metrics := fn_projects_import_merge(p_tenant_id, v_staged.source, p_batch_id, v_rows,
                                              v_staged.correlation_id);
    else
        v_metrics := jsonb_build_object('rows', 0, 'staging_id', v_staged.id);
    end if;
    v_state := case when cardinality(v_overtaken) > 0 then 'superseded' else 'published' end;
    update staging_imports
       set batch_state = v_state,
           validation = case when validation ? 'metrics' then validation
                             else validation || jsonb_build_object('metrics', v_metrics) end
     where tenant_id = p_tenant_id and id = v_staged.id;
    insert into import_batch_decisions (tenant_id, staging_id, batch_id, decision, actor,
                                        details)
    values (p_tenant_id, v_staged.id, p_batch_id, v_state,
            coalesce(nullif(btrim(p_actor), ''), 'unknown'),
            jsonb_build_object('metrics', v_metrics,
                               'superseded_rows', cardinality(v_overtaken)));
    return jsonb_build_object('batch_id', p_batch_id, 'staging_id', v_staged.id,
                              'batch_state', v_state, 'metrics', v_metrics,
                              'superseded_rows', cardinality(v_overtaken),
                              'superseded_projects', to_jsonb(v_overtaken));
end
$$;

-- fn_import_batch_reject(tenant, batch, reason, actor) — discard a held batch (it stays staged
-- as rejected, so a re-send is refused). Errors: P0002, 55000 not held, 22023 blank reason.
create function public.fn_import_batch_reject(p_tenant_id text, p_batch_id uuid,
                                              p_reason text, p_actor text)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_staged  staging_imports%rowtype;
begin
    if nullif(btrim(p_reason), '') is null then
        raise exception 'a reason is required to reject a batch'
            using errcode = 'invalid_parameter_value';
    end if;
    perform fn_projects_import_lock(p_tenant_id);
    select * into v_staged from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id
       for update;
    if not found then
        raise exception 'no staged batch % for tenant %', p_batch_id, p_tenant_id
            using errcode = 'no_data_found';
    end if;
    if v_staged.batch_state <> 'held' then
        raise exception 'batch % is %, not held', p_batch_id, v_staged.batch_state
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    update staging_imports set batch_state = 'rejected'
     where tenant_id = p_tenant_id and id = v_staged.id;
    insert into import_batch_decisions (tenant_id, staging_id, batch_id, decision, actor,
                                        reason)
    values (p_tenant_id, v_staged.id, p_batch_id, 'rejected',
            coalesce(nullif(btrim(p_actor), ''), 'unknown'), left(btrim(p_reason), 500));
    return jsonb_build_object('batch_id', p_batch_id, 'staging_id', v_staged.id,
                              'batch_state', 'rejected');
end
$$;

-- fn_import_projects_snapshot(tenant, keys) — per project: its imported fields and active
-- memberships ("role:member"), for the diff of a held batch.
create function public.fn_import_projects_snapshot(p_tenant_id text, p_keys text[])
    returns table (project_key text, fields jsonb, members text[])
    language sql stable
    set search_path = public, pg_temp
    as $$
    select p.stage_application,
           jsonb_build_object(
               'delivery_partner', p.delivery_partner, 'developer_class', p.developer_class,
               'relationship_manager', p.relationship_manager,
               'deployment_specialist', p.deployment_specialist,
               'rm_preferred_username', p.rm_preferred_username,
               'residential', p.residential, 'commercial', p.commercial,
               'essential', p.essential, 'premises_count', p.premises_count,
               'stage_application_created', p.stage_application_created,
               'partner_org', p.partner_org, 'ds_username', p.ds_username,
               'rm_username', p.rm_username),
           array(select m.role || ':' || m.member from vw_project_members m
                  where m.tenant_id = p.tenant_id and m.project_key = p.stage_application
                  order by 1)
      from projects p
     where p.tenant_id = p_tenant_id and p.stage_application = any (p_keys)
$$;

-- fn_import_batch_diff(tenant, batch, rows) — what publishing a held batch would change, per
-- project (fields old → new, memberships added and ended), found by publishing it in a
-- savepoint that is then rolled back; with the publish answer's counts.
create function public.fn_import_batch_diff(p_tenant_id text, p_batch_id uuid, p_rows jsonb)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_keys     text[] := array(select distinct btrim(r ->> 'stage_application')
                                 from jsonb_array_elements(p_rows) r);
    v_publish  jsonb;
    v_diff     jsonb;
begin
    create temp table if not exists pg_temp.import_diff_before (
        project_key text primary key, fields jsonb, members text[]) on commit drop;
    truncate pg_temp.import_diff_before;
    insert into pg_temp.import_diff_before
    select * from fn_import_projects_snapshot(p_tenant_id, v_keys);
    begin
        v_publish := fn_import_batch_publish(p_tenant_id, p_batch_id, p_rows, 'preview');
        select coalesce(jsonb_agg(d order by d ->> 'project_key'), '[]'::jsonb) into v_diff
          from (
            select jsonb_build_object(
                       'project_key', a.project_key,
                       'inserted', b.project_key is null,
                       'fields', coalesce((select jsonb_object_agg(k, jsonb_build_array(
                                                   b.fields -> k, a.fields -> k))
                                             from jsonb_object_keys(a.fields) k
                                            where b.fields -> k is distinct from a.fields -> k),
                                          '{}'::jsonb),
                       'memberships_added', to_jsonb(array(
                           select unnest(a.members) except
                           select unnest(coalesce(b.members, '{}')) order by 1)),
                       'memberships_ended', to_jsonb(array(
                           select unnest(coalesce(b.members, '{}')) except
                           select unnest(a.members) order by 1))) as d
              from fn_import_projects_snapshot(p_tenant_id, v_keys) a
              left join pg_temp.import_diff_before b using (project_key)
             where b.project_key is null or a.fields is distinct from b.fields
                or a.members is distinct from b.members
          ) changed;
        raise exception 'diff only' using errcode = 'PIHLD';
    exception when sqlstate 'PIHLD' then
        null;
    end;
    return jsonb_build_object(
        'batch_state', v_publish ->> 'batch_state',
        'metrics', v_publish -> 'metrics',
        'superseded_rows', v_publish -> 'superseded_rows',
        'counts', jsonb_build_object(
            'projects_changed', jsonb_array_length(v_diff),
            'projects_inserted', (select count(*) from jsonb_array_elements(v_diff) d
                                   where (d ->> 'inserted')::boolean),
            'memberships_added', (select coalesce(sum(jsonb_array_length(
                                                      d -> 'memberships_added')), 0)
                                    from jsonb_array_elements(v_diff) d),
            'memberships_ended', (select coalesce(sum(jsonb_array_length(
                                                      d -> 'memberships_ended')), 0)
                                    from jsonb_array_elements(v_diff) d)),
        'projects', v_diff);
end
$$;

-- fn_tenant_set_audit(tenant, enabled, ended, anomaly, changed, min_rows) — change a tenant's
-- audit limits (null keeps a value); answers the limits. Errors: P0002 no tenant, 23514 a
-- share outside 0..1 or a negative minimum.
create function public.fn_tenant_set_audit(
    p_tenant_id text, p_enabled boolean default null, p_max_ended_share numeric default null,
    p_max_anomaly_share numeric default null, p_max_changed_share numeric default null,
    p_min_rows integer default null)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    update tenants
       set audit_enabled = coalesce(p_enabled, audit_enabled),
           audit_max_ended_share = coalesce(p_max_ended_share, audit_max_ended_share),
           audit_max_anomaly_share = coalesce(p_max_anomaly_share, audit_max_anomaly_share),
           audit_max_changed_share = coalesce(p_max_changed_share, audit_max_changed_share),
           audit_min_rows = coalesce(p_min_rows, audit_min_rows)
     where tenant_id = p_tenant_id;
    if not found then
        raise exception 'no tenant %', p_tenant_id using errcode = 'no_data_found';
    end if;
    return fn_import_audit_limits(p_tenant_id);
end
$$;

-- fn_tenant_audits_for_operator() — per tenant: its audit limits and held batches (count,
-- oldest). SECURITY DEFINER: operators do not read staging_imports; checks the claims first.
create function public.fn_tenant_audits_for_operator()
    returns table (tenant_id text, audit jsonb, held_batches integer,
                   oldest_held_at timestamptz)
    language plpgsql stable security definer
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
begin
    perform fn_require_operator();
    return query
        select t.tenant_id, fn_import_audit_limits(t.tenant_id),
               (select count(*)::integer from staging_imports s
                 where s.tenant_id = t.tenant_id and s.batch_state = 'held'),
               (select min(s.created_at) from staging_imports s
                 where s.tenant_id = t.tenant_id and s.batch_state = 'held')
          from tenants t
         order by t.tenant_id;
end
$$;

-- fn_import_batch_for_operator(id) — the batch of one import request: its state, audit, held
-- metrics and decisions (who, when, why). SECURITY DEFINER; checks the claims first.
-- Errors: 42501 not an operator, P0002 no such request.
create function public.fn_import_batch_for_operator(p_id bigint)
    returns jsonb
    language plpgsql stable security definer
    set search_path = public, pg_temp
    as $$
declare
    v_request  import_requests%rowtype;
    v_answer   jsonb;
begin
    perform fn_require_operator();
    select * into v_request from import_requests r where r.id = p_id;
    if not found then
        raise exception 'no import request with id %', p_id using errcode = 'no_data_found';
    end if;
    select jsonb_build_object(
               'tenant_id', s.tenant_id, 'batch_id', s.batch_id, 'staging_id', s.id,
               'batch_state', s.batch_state, 'staged_at', s.created_at,
               'audit', s.validation #> '{held,audit}',
               'held_metrics', s.validation #> '{held,metrics}',
               'decisions', coalesce((
                   select jsonb_agg(jsonb_build_object(
                              'decision', d.decision, 'actor', d.actor, 'reason', d.reason,
                              'decided_at', d.decided_at, 'details', d.details) order by d.id)
                     from import_batch_decisions d
                    where d.tenant_id = s.tenant_id and d.staging_id = s.id), '[]'::jsonb))
      into v_answer
      from staging_imports s
     where s.tenant_id = v_request.tenant_id and s.batch_id = v_request.batch_id
       and v_request.staging_id is not null;
    return v_answer;
end
$$;

-- fn_import_batch_state(tenant, staging) — a staged batch's state (null when none), for the
-- import history under the caller's rights. SECURITY DEFINER: answers the state only.
create function public.fn_import_batch_state(p_tenant_id text, p_staging_id uuid)
    returns text
    language sql stable security definer
    set search_path = public, pg_temp
    as $$
    select s.batch_state from staging_imports s
     where s.tenant_id = p_tenant_id and s.id = p_staging_id
$$;

-- fn_imports_for_operator (0028) with each request's batch_state and a batch_state filter.
drop function public.fn_imports_for_operator(text, integer, timestamptz, timestamptz, bigint,
                                             integer);
create function public.fn_imports_for_operator(
    p_tenant text default null, p_status integer default null,
    p_since timestamptz default null, p_after_created_at timestamptz default null,
    p_after_id bigint default null, p_limit integer default 100,
    p_batch_state text default null)
    returns table (id bigint, tenant_id text, received_at timestamptz, request_batch_id text,
                   batch_id uuid, source text, status integer, error_code text, rows integer,
                   inserted_projects integer, updated_projects integer,
                   unchanged_projects integer, org_memberships_upserted integer,
                   user_memberships_upserted integer, anomalies_count integer,
                   parse_ms numeric, merge_ms numeric, correlation_id uuid, replayed boolean,
                   staging_id uuid, bytes bigint, violations_total integer, batch_state text)
    language plpgsql stable
    as $$
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    if p_limit is null or p_limit not between 1 and 1000 then
        raise exception 'p_limit must be from 1 to 1000, got %', coalesce(p_limit::text, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if (p_after_created_at is null) <> (p_after_id is null) then
        raise exception 'p_after_created_at and p_after_id go together'
            using errcode = 'invalid_parameter_value';
    end if;
    -- two static queries, so each walks its own index and stops after p_limit rows
    if p_tenant is null then
        return query
            select r.id, r.tenant_id, r.created_at, r.request_batch_id, r.batch_id, r.source,
                   r.status, r.error_code, r.rows, r.inserted_projects, r.updated_projects,
                   r.unchanged_projects, r.org_memberships_upserted,
                   r.user_memberships_upserted, r.anomalies_count, r.parse_ms, r.merge_ms,
                   r.correlation_id, r.replayed, r.staging_id, r.bytes, r.violations_total,
                   public.fn_import_batch_state(r.tenant_id, r.staging_id)
              from public.import_requests r
             where (p_status is null or r.status = p_status)
               and (p_since is null or r.created_at >= p_since)
               and (p_batch_state is null
                    or public.fn_import_batch_state(r.tenant_id, r.staging_id) = p_batch_state)
               and (p_after_created_at is null
                    or (r.created_at, r.id) < (p_after_created_at, p_after_id))
             order by r.created_at desc, r.id desc
             limit p_limit;
    else
        return query
            select r.id, r.tenant_id, r.created_at, r.request_batch_id, r.batch_id, r.source,
                   r.status, r.error_code, r.rows, r.inserted_projects, r.updated_projects,
                   r.unchanged_projects, r.org_memberships_upserted,
                   r.user_memberships_upserted, r.anomalies_count, r.parse_ms, r.merge_ms,
                   r.correlation_id, r.replayed, r.staging_id, r.bytes, r.violations_total,
                   public.fn_import_batch_state(r.tenant_id, r.staging_id)
              from public.import_requests r
             where r.tenant_id = p_tenant
               and (p_status is null or r.status = p_status)
               and (p_since is null or r.created_at >= p_since)
               and (p_batch_state is null
                    or public.fn_import_batch_state(r.tenant_id, r.staging_id) = p_batch_state)
               and (p_after_created_at is null
                    or (r.created_at, r.id) < (p_after_created_at, p_after_id))
             order by r.created_at desc, r.id desc
             limit p_limit;
    end if;
end
$$;

revoke all on function
    public.fn_import_audit_limits(text),
    public.fn_import_audit_before(text, text[]),
    public.fn_import_audit_after(text, jsonb, jsonb),
    public.fn_import_batch_hold(text, uuid, jsonb, jsonb),
    public.fn_import_batch_resent(text, jsonb),
    public.fn_import_batch_overtaken(text, uuid),
    public.fn_import_batch_publish(text, uuid, jsonb, text),
    public.fn_import_batch_reject(text, uuid, text, text),
    public.fn_import_projects_snapshot(text, text[]),
    public.fn_import_batch_diff(text, uuid, jsonb),
    public.fn_tenant_set_audit(text, boolean, numeric, numeric, numeric, integer),
    public.fn_tenant_audits_for_operator(),
    public.fn_import_batch_for_operator(bigint),
    public.fn_import_batch_state(text, uuid),
    public.fn_imports_for_operator(text, integer, timestamptz, timestamptz, bigint, integer,
                                   text)
  from public;

do $$
begin
    revoke all on function
        public.fn_import_audit_limits(text),
        public.fn_import_audit_before(text, text[]),
        public.fn_import_audit_after(text, jsonb, jsonb),
        public.fn_import_batch_hold(text, uuid, jsonb, jsonb),
        public.fn_import_batch_resent(text, jsonb),
        public.fn_import_batch_overtaken(text, uuid),
        public.fn_import_batch_publish(text, uuid, jsonb, text),
        public.fn_import_batch_reject(text, uuid, text, text),
        public.fn_import_projects_snapshot(text, text[]),
        public.fn_import_batch_diff(text, uuid, jsonb),
        public.fn_tenant_set_audit(text, boolean, numeric, numeric, numeric, integer),
        public.fn_tenant_audits_for_operator(),
        public.fn_import_batch_for_operator(bigint),
        public.fn_import_batch_state(text, uuid),
        public.fn_imports_for_operator(text, integer, timestamptz, timestamptz, bigint,
                                       integer, text)
      from anon;
    grant execute on function
        public.fn_tenant_audits_for_operator(),
        public.fn_import_batch_for_operator(bigint),
        public.fn_import_batch_state(text, uuid),
        public.fn_imports_for_operator(text, integer, timestamptz, timestamptz, bigint,
                                       integer, text)
      to authenticated, service_role;
    grant execute on function
        public.fn_import_audit_limits(text),
        public.fn_import_audit_before(text, text[]),
        public.fn_import_audit_after(text, jsonb, jsonb),
        public.fn_import_batch_hold(text, uuid, jsonb, jsonb),
        public.fn_import_batch_resent(text, jsonb),
        public.fn_import_batch_overtaken(text, uuid),
        public.fn_import_batch_publish(text, uuid, jsonb, text),
        public.fn_import_batch_reject(text, uuid, text, text),
        public.fn_import_projects_snapshot(text, text[]),
        public.fn_import_batch_diff(text, uuid, jsonb),
        public.fn_tenant_set_audit(text, boolean, numeric, numeric, numeric, integer)
      to service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
