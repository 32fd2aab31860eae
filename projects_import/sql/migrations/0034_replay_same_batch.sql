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
-- fn_projects_import_stage changes (both submit forms call it): same signature, same
-- answers, one lookup instead of two.
--
-- fn_projects_import_merge_columns (0033) changes by one statement, found by the model-based
-- test of whole days (tests/model): a batch is merged "for the first time" (every miss a new
-- occurrence, unchecked) only when no occurrence of its batch_id exists. A retry of a batch
-- whose staged copy retention removed (60 days) while its occurrences stay (90 days) is new
-- data again, and its merge failed on import_anomalies' unique (tenant_id, batch_id,
-- row_index, anomaly_type) instead of counting the misses already recorded.

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

-- fn_projects_import_merge_columns — as in 0033, but for the first-merge test above.
create or replace function public.fn_projects_import_merge_columns(
    p_tenant_id                  text,
    p_source                     text,
    p_batch_id                   uuid,
    p_correlation_id             uuid,
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
    p_stage_application_created  text[],
    p_excerpt                    text[] default null
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_size            integer := cardinality(p_stage_application);
    v_staging_id      uuid;
    v_rows            integer;
    v_inserted        integer := 0;
    v_updated         integer := 0;
    v_sync            jsonb;
    v_anomalies       integer := 0;
    v_new             integer := 0;
    v_resolved        integer := 0;
    v_ack_due         timestamptz;
    v_resolve_due     timestamptz;
    v_metrics         jsonb;
    v_anomaly_ids     regclass := pg_get_serial_sequence('public.import_anomalies', 'id');
    v_first_merge     boolean := false;
    v_problem_ids     bigint[];
begin
    if v_size is null then
        raise exception 'fn_projects_import_merge_columns: stage_application must be an array'
            using errcode = '22023';
    end if;
    if v_size <> any (array[
            cardinality(p_delivery_partner), cardinality(p_developer_class),
            cardinality(p_relationship_manager), cardinality(p_deployment_specialist),
            cardinality(p_rm_preferred_username), cardinality(p_residential),
            cardinality(p_commercial), cardinality(p_essential), cardinality(p_premises_count),
            cardinality(p_stage_application_created),
            coalesce(cardinality(p_excerpt), v_size)]) is not false then
        raise exception 'fn_projects_import_merge_columns: every column needs % values', v_size
            using errcode = '22023';
    end if;

    perform public.fn_projects_import_lock(p_tenant_id);

    -- A staged batch without memoized metrics is merged for the first time: none of its
    -- misses can have been recorded yet, so the per-miss check below is skipped.
    select id, not (validation ? 'metrics') into v_staging_id, v_first_merge
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;
    -- ... unless occurrences of this batch_id outlived its staged copy (retention keeps
    -- anomalies longer than staged batches, so a retry of a batch it removed is staged again):
    -- those misses are recorded already (0034).
    v_first_merge := coalesce(v_first_merge, false)
                     and not exists (select 1 from import_anomalies ia
                                      where ia.tenant_id = p_tenant_id
                                        and ia.batch_id = p_batch_id);

    create temp table if not exists pg_temp.import_batch (
        row_index                  integer,
        stage_application          text,
        delivery_partner           text,
        developer_class            text,
        relationship_manager       text,
        deployment_specialist      text,
        rm_preferred_username      text,
        residential                integer,
        commercial                 integer,
        essential                  integer,
        premises_count             integer,
        stage_application_created  date,
        excerpt                    text,
        partner_org                text,
        ds_username                text,
        rm_username                text
    ) on commit drop;
    truncate pg_temp.import_batch;

    -- The columns as rows, then canonical values from today's directories in the same
    -- statement: fn_projects_resolve_canonical_batch looks each distinct value up once.
    insert into pg_temp.import_batch
    with parsed as materialized (
        select (u.ord - 1)::integer as row_index,
               nullif(btrim(u.stage_application), '') as stage_application,
               nullif(btrim(u.delivery_partner), '') as delivery_partner,
               nullif(btrim(u.developer_class), '') as developer_class,
               nullif(btrim(u.relationship_manager), '') as relationship_manager,
               nullif(btrim(u.deployment_specialist), '') as deployment_specialist,
               nullif(btrim(u.rm_preferred_username), '') as rm_preferred_username,
               coalesce(u.residential, 0) as residential,
               coalesce(u.commercial, 0) as commercial,
               coalesce(u.essential, 0) as essential,
               coalesce(u.premises_count, 0) as premises_count,
               nullif(btrim(u.stage_application_created), '')::date
                   as stage_application_created,
               u.excerpt
          from unnest(p_stage_application, p_delivery_partner, p_developer_class,
                      p_relationship_manager, p_deployment_specialist, p_rm_preferred_username,
                      p_residential, p_commercial, p_essential, p_premises_count,
                      p_stage_application_created, p_excerpt)
               with ordinality as u(stage_application, delivery_partner, developer_class,
                                    relationship_manager, deployment_specialist,
                                    rm_preferred_username, residential, commercial, essential,
                                    premises_count, stage_application_created, excerpt, ord)
    )
    select b.row_index, b.stage_application, b.delivery_partner, b.developer_class,
           b.relationship_manager, b.deployment_specialist, b.rm_preferred_username,
           b.residential, b.commercial, b.essential, b.premises_count,
           b.stage_application_created, b.excerpt, c.partner_org, c.ds_username, c.rm_username
      from parsed b
      join fn_projects_resolve_canonical_batch(
               p_tenant_id,
               array(select x.delivery_partner from parsed x order by x.row_index),
               array(select x.deployment_specialist from parsed x order by x.row_index),
               array(select x.relationship_manager from parsed x order by x.row_index),
               array(select x.rm_preferred_username from parsed x order by x.row_index)) c
        on c.ord = b.row_index + 1;

    if exists (select 1 from pg_temp.import_batch where stage_application is null) then
        raise exception 'fn_projects_import_merge: every row needs a stage_application'
            using errcode = '22023';
    end if;
    analyze pg_temp.import_batch;

    select count(*) into v_rows from pg_temp.import_batch;

    insert into organizations (tenant_id, name)
    select distinct p_tenant_id, b.partner_org
      from pg_temp.import_batch b
     where b.partner_org is not null
    on conflict do nothing;

    -- Memberships (the one rule, 0011) are synced for the projects this batch inserted or
    -- changed only: an unchanged project's canonical values, so its memberships, are as the
    -- last merge or backfill left them.
    perform fn_projects_membership_sync_table();
    with upserted as (
        insert into projects as p (
            tenant_id, stage_application, delivery_partner, developer_class,
            relationship_manager, deployment_specialist, rm_preferred_username,
            residential, commercial, essential, premises_count, stage_application_created,
            partner_org, ds_username, rm_username, source, last_batch_id, last_correlation_id)
        select p_tenant_id, b.stage_application, b.delivery_partner, b.developer_class,
               b.relationship_manager, b.deployment_specialist, b.rm_preferred_username,
               b.residential, b.commercial, b.essential, b.premises_count,
               b.stage_application_created, b.partner_org, b.ds_username, b.rm_username,
               p_source, p_batch_id, p_correlation_id
          from pg_temp.import_batch b
        on conflict (tenant_id, stage_application) do update
           set delivery_partner = excluded.delivery_partner,
               developer_class = excluded.developer_class,
               relationship_manager = excluded.relationship_manager,
               deployment_specialist = excluded.deployment_specialist,
               rm_preferred_username = excluded.rm_preferred_username,
               residential = excluded.residential,
               commercial = excluded.commercial,
               essential = excluded.essential,
               premises_count = excluded.premises_count,
               stage_application_created = excluded.stage_application_created,
               partner_org = excluded.partner_org,
               ds_username = excluded.ds_username,
               rm_username = excluded.rm_username,
               source = excluded.source,
               last_batch_id = excluded.last_batch_id,
               last_correlation_id = excluded.last_correlation_id,
               updated_at = now()
         where (p.delivery_partner, p.developer_class, p.relationship_manager,
                p.deployment_specialist, p.rm_preferred_username, p.residential, p.commercial,
                p.essential, p.premises_count, p.stage_application_created,
                p.partner_org, p.ds_username, p.rm_username)
               is distinct from
               (excluded.delivery_partner, excluded.developer_class,
                excluded.relationship_manager, excluded.deployment_specialist,
                excluded.rm_preferred_username, excluded.residential, excluded.commercial,
                excluded.essential, excluded.premises_count,
                excluded.stage_application_created, excluded.partner_org,
                excluded.ds_username, excluded.rm_username)
        returning p.stage_application, p.partner_org, p.ds_username, p.rm_username,
                  (xmax = 0) as inserted
    ), synced as (
        insert into pg_temp.membership_sync
        select p_tenant_id, u.stage_application, u.partner_org, u.ds_username, u.rm_username
          from upserted u
    )
    select count(*) filter (where inserted), count(*) filter (where not inserted)
      into v_inserted, v_updated
      from upserted;

    v_sync := fn_projects_sync_memberships(p_batch_id);

    -- Misses of this batch (the one rule, 0011); `fresh` unless this batch recorded it before.
    create temp table if not exists pg_temp.import_batch_misses (
        row_index      integer,
        project_key    text,
        anomaly_type   text,
        severity       text,
        excerpt        text,
        unknown_value  text,
        unknown_key    text,
        fresh          boolean,
        reopened       boolean,
        anomaly_id     bigint,
        problem_id     bigint,
        status         text,
        acknowledged_at timestamptz,
        acknowledged_by text
    ) on commit drop;
    truncate pg_temp.import_batch_misses;

    insert into pg_temp.import_batch_misses (row_index, project_key, anomaly_type, severity,
                                             excerpt, unknown_value, unknown_key, fresh)
    select b.row_index, b.stage_application, m.anomaly_type, m.severity,
           coalesce(b.excerpt, left(jsonb_build_object(
               'stage_application', b.stage_application,
               'delivery_partner', coalesce(b.delivery_partner, ''),
               'developer_class', coalesce(b.developer_class, ''),
               'relationship_manager', coalesce(b.relationship_manager, ''),
               'deployment_specialist', coalesce(b.deployment_specialist, ''),
               'rm_preferred_username', coalesce(b.rm_preferred_username, ''),
               'residential', b.residential, 'commercial', b.commercial,
               'essential', b.essential, 'premises_count', b.premises_count,
               'stage_application_created', b.stage_application_created)::text, 500)),
           m.unknown_value, fn_directory_key(m.unknown_value),
           v_first_merge
           or not exists (select 1 from import_anomalies ia
                        where ia.tenant_id = p_tenant_id and ia.batch_id = p_batch_id
                          and ia.row_index = b.row_index and ia.anomaly_type = m.anomaly_type)
      from pg_temp.import_batch b
     cross join lateral fn_import_anomaly_misses(
            b.delivery_partner, b.deployment_specialist, b.relationship_manager,
            b.rm_preferred_username, b.partner_org, b.ds_username, b.rm_username) m;
    get diagnostics v_anomalies = row_count;

    update pg_temp.import_batch_misses
       set anomaly_id = nextval(v_anomaly_ids)
     where fresh;
    get diagnostics v_new = row_count;
    analyze pg_temp.import_batch_misses;

    if v_new > 0 then
        select d.ack_due_at, d.resolve_due_at into v_ack_due, v_resolve_due
          from fn_problem_due_times(p_tenant_id, now()) d;

        -- Each fresh miss is an occurrence of its problem: open, count, or reopen.
        with upserted as (
            insert into import_problems as pr (
                tenant_id, project_key, anomaly_type, severity, unknown_value, unknown_key,
                status, first_seen_at, last_seen_at, occurrences, last_batch_id,
                last_anomaly_id, payload_excerpt, ack_due_at, resolve_due_at)
            select p_tenant_id, a.project_key, a.anomaly_type, a.severity, a.unknown_value,
                   a.unknown_key, 'open', now(), now(), 1, p_batch_id, a.anomaly_id, a.excerpt,
                   v_ack_due, v_resolve_due
              from pg_temp.import_batch_misses a
             where a.fresh
            on conflict (tenant_id, project_key, anomaly_type, unknown_key) do update
               set severity = excluded.severity,
                   unknown_value = excluded.unknown_value,
                   last_seen_at = excluded.last_seen_at,
                   occurrences = pr.occurrences + 1,
                   last_batch_id = excluded.last_batch_id,
                   last_anomaly_id = excluded.last_anomaly_id,
                   payload_excerpt = excluded.payload_excerpt,
                   status = case when pr.status = 'resolved' then 'open' else pr.status end,
                   regressed = pr.regressed
                               or (pr.status = 'resolved' and pr.resolution = 'manual'),
                   reopened_at = case when pr.status = 'resolved' then excluded.last_seen_at
                                      else pr.reopened_at end,
                   resolution = case when pr.status = 'resolved' then null
                                     else pr.resolution end,
                   resolved_at = case when pr.status = 'resolved' then null
                                      else pr.resolved_at end,
                   resolved_by = case when pr.status = 'resolved' then null
                                      else pr.resolved_by end,
                   acknowledged_at = case when pr.status = 'resolved' then null
                                          else pr.acknowledged_at end,
                   acknowledged_by = case when pr.status = 'resolved' then null
                                          else pr.acknowledged_by end,
                   ack_due_at = case when pr.status = 'resolved' then excluded.ack_due_at
                                     else pr.ack_due_at end,
                   resolve_due_at = case when pr.status = 'resolved'
                                         then excluded.resolve_due_at
                                         else pr.resolve_due_at end
            returning pr.id, pr.project_key, pr.anomaly_type, pr.status, pr.acknowledged_at,
                      pr.acknowledged_by, (xmax = 0) as opened,
                      (xmax <> 0 and pr.reopened_at = now()) as reopened
        ), linked as (
            update pg_temp.import_batch_misses a
               set problem_id = u.id, status = u.status, reopened = u.reopened,
                   acknowledged_at = u.acknowledged_at, acknowledged_by = u.acknowledged_by
              from upserted u
             where a.fresh and a.project_key = u.project_key
               and a.anomaly_type = u.anomaly_type
            returning u.id, u.opened, u.reopened
        )
        insert into import_problem_events (tenant_id, problem_id, actor, action)
        select p_tenant_id, l.id, 'system', case when l.opened then 'opened' else 'reopened' end
          from linked l
         where l.opened or l.reopened;

        -- The earlier occurrences of a reopened problem follow it back to open.
        v_problem_ids := array(select a.problem_id from pg_temp.import_batch_misses a
                                where a.reopened);
        if cardinality(v_problem_ids) > 0 then
            update import_anomalies ia
               set status = 'open', acknowledged_at = null, acknowledged_by = null,
                   resolved_at = null
             where ia.tenant_id = p_tenant_id and ia.problem_id = any (v_problem_ids)
               and ia.status <> 'open';
        end if;

        insert into import_anomalies (id, tenant_id, batch_id, staging_id, row_index,
                                      project_key, anomaly_type, severity, payload_excerpt,
                                      correlation_id, problem_id, status, acknowledged_at,
                                      acknowledged_by)
        overriding system value
        select a.anomaly_id, p_tenant_id, p_batch_id, v_staging_id, a.row_index, a.project_key,
               a.anomaly_type, a.severity, a.excerpt, p_correlation_id, a.problem_id, a.status,
               a.acknowledged_at, a.acknowledged_by
          from pg_temp.import_batch_misses a
         where a.fresh;
    end if;

    -- Problems of these projects that this batch no longer shows are fixed.
    with fixed as (
        update import_problems pr
           set status = 'resolved', resolved_at = now(), resolved_by = 'system',
               resolution = case
                   when fn_directory_key(fn_import_anomaly_subject(
                            pr.anomaly_type, b.delivery_partner, b.deployment_specialist,
                            b.relationship_manager, b.rm_preferred_username)) = pr.unknown_key
                   then 'directory_fix' else 'data_fix' end
          from pg_temp.import_batch b
         where pr.tenant_id = p_tenant_id
           and pr.project_key = b.stage_application
           and pr.status <> 'resolved'
           and not exists (select 1 from pg_temp.import_batch_misses a
                            where a.project_key = pr.project_key
                              and a.anomaly_type = pr.anomaly_type
                              and a.unknown_key = pr.unknown_key)
        returning pr.id, pr.resolution
    ), logged as (
        insert into import_problem_events (tenant_id, problem_id, actor, action, resolution)
        select p_tenant_id, f.id, 'system', 'resolved', f.resolution from fixed f
    )
    select coalesce(array_agg(f.id), '{}') into v_problem_ids from fixed f;
    if cardinality(v_problem_ids) > 0 then
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
         where ia.tenant_id = p_tenant_id and ia.problem_id = any (v_problem_ids)
           and ia.status <> 'resolved';
        get diagnostics v_resolved = row_count;
    end if;

    v_metrics := jsonb_build_object(
        'rows', v_rows,
        'inserted_projects', v_inserted,
        'updated_projects', v_updated,
        'unchanged_projects', v_rows - v_inserted - v_updated,
        'org_memberships_upserted', (v_sync ->> 'org_added')::integer,
        'user_memberships_upserted', (v_sync ->> 'user_added')::integer,
        'memberships_ended', (v_sync ->> 'org_ended')::integer
                             + (v_sync ->> 'user_ended')::integer,
        'anomalies_count', v_anomalies,
        'anomalies_resolved', v_resolved,
        'staging_id', v_staging_id);

    if v_staging_id is not null then
        update staging_imports
           set validation = case
                   when validation ? 'metrics' then
                       jsonb_set(validation, '{reruns}',
                                 coalesce(validation -> 'reruns', '[]'::jsonb)
                                 || jsonb_build_array(v_metrics
                                        || jsonb_build_object('at', now(),
                                                              'correlation_id', p_correlation_id)))
                   else validation || jsonb_build_object('metrics', v_metrics)
               end
         where tenant_id = p_tenant_id and id = v_staging_id;
    end if;

    return v_metrics;
end
$$;

-- Privileges as 0033 gave them (create or replace keeps them; said again, next to the objects).
revoke all on function
    public.fn_projects_import_stage(text, text, uuid, text, smallint, jsonb, integer, uuid, jsonb),
    public.fn_projects_import_merge_columns(text, text, uuid, uuid, text[], text[], text[],
                                            text[], text[], text[], integer[], integer[],
                                            integer[], integer[], text[], text[])
  from public;

do $$
begin
    revoke all on function
        public.fn_projects_import_stage(text, text, uuid, text, smallint, jsonb, integer, uuid,
                                        jsonb),
        public.fn_projects_import_merge_columns(text, text, uuid, uuid, text[], text[], text[],
                                                text[], text[], text[], integer[], integer[],
                                                integer[], integer[], text[], text[])
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
                                            uuid, jsonb),
            public.fn_projects_import_merge_columns(text, text, uuid, uuid, text[], text[],
                                                    text[], text[], text[], text[], integer[],
                                                    integer[], integer[], integer[], text[],
                                                    text[])
           to service_role;
    end if;
end
$$;
