-- 0035 — One lock order for problems and their occurrences (issue 15).
--
-- Operators' bulk actions, imports, the backfill and directory fixes all write problems and
-- their occurrences (import_anomalies). Each took its row locks in its own order (a bulk
-- action in form order, the merge in the order of its upsert and then of its "fixed" update),
-- so two of them could wait on each other (SQLSTATE 40P01) and one was lost. Now every path
-- that locks several of them takes them up front, in one global order: by id ascending
-- (`select … where id = any(…) order by id for update`). A problem is locked before its
-- occurrences; occurrences of a problem are only written by a path holding the problem.
-- Memberships are written by the merge and the backfill only, both under the tenant's
-- import lock (fn_projects_import_lock), so they never wait on each other row by row.
--
--   fn_import_problems_lock(p_ids bigint[]) → integer: locks those problems in id order.
--   fn_import_anomalies_lock(p_ids bigint[]) → integer: the same for occurrences.
--   fn_import_batch_problems_lock(p_tenant_id) → integer: for the merge — the existing
--     problems the batch will touch (the unresolved problems of its projects, and those a
--     fresh miss upserts), read from the merge's pg_temp.import_batch and
--     pg_temp.import_batch_misses.
--   fn_projects_import_merge_columns (0033): the same body with one added line, a call of
--     fn_import_batch_problems_lock after the misses are computed, before the problem upsert.
--   fn_projects_membership_backfill(text, text[]) (0027): the same body; the problems and the
--     loose occurrences it may resolve are locked up front in id order (directory fixes run
--     it through fn_directory_change_apply).
--   fn_problems_set_status(p_ids bigint[], p_status, p_note) → (id, status, changed): the
--     console's bulk acknowledge/resolve; locks every selected problem in id order, then
--     applies fn_problem_set_status to each in that order.
--   fn_anomaly_set_status (0012): locks the occurrence (`for update`, as 0010 did) before it
--     reads the status, so a concurrent backfill's `resolved` is not overwritten.

create or replace function public.fn_import_problems_lock(p_ids bigint[]) returns integer
    language sql volatile
    set search_path = public, pg_temp
    as $$
    select count(*)::integer
      from (select pr.id from public.import_problems pr
             where pr.id = any (p_ids)
             order by pr.id
               for update) locked
$$;

create or replace function public.fn_import_anomalies_lock(p_ids bigint[]) returns integer
    language sql volatile
    set search_path = public, pg_temp
    as $$
    select count(*)::integer
      from (select a.id from public.import_anomalies a
             where a.id = any (p_ids)
             order by a.id
               for update) locked
$$;

create or replace function public.fn_import_batch_problems_lock(p_tenant_id text)
    returns integer
    language plpgsql volatile
    set search_path = public, pg_temp
    as $$
begin
    return fn_import_problems_lock(array(
        select pr.id
          from import_problems pr
          join pg_temp.import_batch b on pr.project_key = b.stage_application
         where pr.tenant_id = p_tenant_id and pr.status <> 'resolved'
        union
        select pr.id
          from import_problems pr
          join pg_temp.import_batch_misses a
            on pr.project_key = a.project_key and pr.anomaly_type = a.anomaly_type
           and pr.unknown_key = a.unknown_key
         where pr.tenant_id = p_tenant_id and a.fresh));
end
$$;

-- fn_projects_import_merge_columns — 0033's body; the one change is the call of
-- fn_import_batch_problems_lock after the misses are computed.
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
    v_first_merge := coalesce(v_first_merge, false);

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

    -- The existing problems the steps below touch, locked up front in id order (0035).
    perform fn_import_batch_problems_lock(p_tenant_id);

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

-- fn_projects_membership_backfill(text, text[]) — 0027's body; the one change is the
-- up-front lock of the problems and loose occurrences it may resolve.
create or replace function public.fn_projects_membership_backfill(
    p_tenant_id     text,
    p_project_keys  text[]
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_tenant      text;
    v_projects    integer;
    v_sync        jsonb;
    v_resolved    integer;
    v_loose       integer;
begin
    if p_tenant_id is not null
       and not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'fn_projects_membership_backfill: unknown tenant %', p_tenant_id
            using errcode = '22023';
    end if;
    if p_project_keys is not null and p_tenant_id is null then
        raise exception 'fn_projects_membership_backfill: project keys need a tenant'
            using errcode = '22023';
    end if;

    for v_tenant in
        select tenant_id from tenants
         where p_tenant_id is null or tenant_id = p_tenant_id
         order by tenant_id
    loop
        perform fn_projects_import_lock(v_tenant);
    end loop;

    v_projects := 0;
    for v_tenant in
        select tenant_id from tenants
         where p_tenant_id is null or tenant_id = p_tenant_id
         order by tenant_id
    loop
        -- the batch rule over the tenant's projects: each distinct value looked up once
        with listed as materialized (
            select row_number() over (order by p.stage_application) as ord,
                   p.stage_application, p.delivery_partner, p.deployment_specialist,
                   p.relationship_manager, p.rm_preferred_username
              from projects p
             where p.tenant_id = v_tenant
               and (p_project_keys is null or p.stage_application = any (p_project_keys))
        ), resolved as (
            select l.stage_application, c.partner_org, c.ds_username, c.rm_username
              from listed l
              join fn_projects_resolve_canonical_batch(
                       v_tenant,
                       array(select x.delivery_partner from listed x order by x.ord),
                       array(select x.deployment_specialist from listed x order by x.ord),
                       array(select x.relationship_manager from listed x order by x.ord),
                       array(select x.rm_preferred_username from listed x order by x.ord)) c
                on c.ord = l.ord
        ), changed as (
            update projects p
               set partner_org = r.partner_org,
                   ds_username = r.ds_username,
                   rm_username = r.rm_username,
                   updated_at = now()
              from resolved r
             where p.tenant_id = v_tenant
               and p.stage_application = r.stage_application
               and (p.partner_org, p.ds_username, p.rm_username)
                   is distinct from (r.partner_org, r.ds_username, r.rm_username)
            returning 1
        )
        select v_projects + count(*) into v_projects from changed;
    end loop;

    insert into organizations (tenant_id, name)
    select distinct p.tenant_id, p.partner_org
      from projects p
     where p.partner_org is not null
       and (p_tenant_id is null or p.tenant_id = p_tenant_id)
       and (p_project_keys is null or p.stage_application = any (p_project_keys))
    on conflict do nothing;

    perform fn_projects_membership_sync_table();
    insert into pg_temp.membership_sync
    select p.tenant_id, p.stage_application, p.partner_org, p.ds_username, p.rm_username
      from projects p
     where (p_tenant_id is null or p.tenant_id = p_tenant_id)
       and (p_project_keys is null or p.stage_application = any (p_project_keys));
    v_sync := fn_projects_sync_memberships(null);

    -- The problems and loose occurrences the steps below may resolve, locked up front in id
    -- order (0035): an operator's bulk action on them waits, or is waited for, never both.
    -- (the same conditions as the updates: only an operator's resolve can change the set
    -- meanwhile, and it only shrinks it).
    perform fn_import_problems_lock(array(
        select pr.id
          from import_problems pr
          join projects p
            on pr.tenant_id = p.tenant_id and pr.project_key = p.stage_application
         where pr.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not exists (
                select 1
                  from fn_import_anomaly_misses(p.delivery_partner, p.deployment_specialist,
                                                p.relationship_manager, p.rm_preferred_username,
                                                p.partner_org, p.ds_username, p.rm_username) m
                 where m.anomaly_type = pr.anomaly_type
                   and fn_directory_key(m.unknown_value) = pr.unknown_key)));
    perform fn_import_anomalies_lock(array(
        select ia.id
          from import_anomalies ia
          join projects p
            on ia.tenant_id = p.tenant_id and ia.project_key = p.stage_application
         where ia.problem_id is null and ia.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not fn_import_anomaly_applies(ia.anomaly_type, p)));

    with fixed as (
        update import_problems pr
           set status = 'resolved', resolved_at = now(), resolved_by = 'system',
               resolution = 'directory_fix'
          from projects p
         where pr.tenant_id = p.tenant_id
           and pr.project_key = p.stage_application
           and pr.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not exists (
                select 1
                  from fn_import_anomaly_misses(p.delivery_partner, p.deployment_specialist,
                                                p.relationship_manager, p.rm_preferred_username,
                                                p.partner_org, p.ds_username, p.rm_username) m
                 where m.anomaly_type = pr.anomaly_type
                   and fn_directory_key(m.unknown_value) = pr.unknown_key)
        returning pr.tenant_id, pr.id
    ), logged as (
        insert into import_problem_events (tenant_id, problem_id, actor, action, resolution)
        select f.tenant_id, f.id, 'system', 'resolved', 'directory_fix' from fixed f
    ), occurrences as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from fixed f
         where ia.tenant_id = f.tenant_id and ia.problem_id = f.id
           and ia.status <> 'resolved'
        returning 1
    )
    select count(*) into v_resolved from occurrences;

    with fixed as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from projects p
         where ia.tenant_id = p.tenant_id
           and ia.project_key = p.stage_application
           and ia.problem_id is null
           and ia.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and (p_project_keys is null or p.stage_application = any (p_project_keys))
           and not fn_import_anomaly_applies(ia.anomaly_type, p)
        returning 1
    )
    select count(*) into v_loose from fixed;

    return jsonb_build_object(
        'projects_updated', v_projects,
        'org_memberships_added', (v_sync ->> 'org_added')::integer,
        'user_memberships_added', (v_sync ->> 'user_added')::integer,
        'org_memberships_ended', (v_sync ->> 'org_ended')::integer,
        'user_memberships_ended', (v_sync ->> 'user_ended')::integer,
        'memberships_ended', (v_sync ->> 'org_ended')::integer
                             + (v_sync ->> 'user_ended')::integer,
        'anomalies_resolved', v_resolved + v_loose);
end
$$;

-- fn_problems_set_status — see the header. All or nothing: an unknown id (no_data_found) or
-- a resolved problem asked to be acknowledged (object_not_in_prerequisite_state) refuses the
-- whole selection. `changed` says whether the step changed that problem's status.
create or replace function public.fn_problems_set_status(
    p_ids     bigint[],
    p_status  text,
    p_note    text default null
) returns table (id bigint, status text, changed boolean)
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
declare
    v_ids      bigint[];
    v_missing  bigint;
    v_id       bigint;
    v_before   text;
    v_after    text;
begin
    perform fn_require_operator();
    v_ids := array(select distinct x from unnest(coalesce(p_ids, '{}')) x
                    where x is not null order by x);
    perform fn_import_problems_lock(v_ids);
    select x into v_missing from unnest(v_ids) x
     where not exists (select 1 from import_problems pr where pr.id = x)
     order by x limit 1;
    if v_missing is not null then
        raise exception 'no problem with id %', v_missing using errcode = 'no_data_found';
    end if;
    foreach v_id in array v_ids loop
        select pr.status into v_before from import_problems pr where pr.id = v_id;
        select s.status into v_after from fn_problem_set_status(v_id, p_status, p_note) s;
        id := v_id;
        status := v_after;
        changed := v_after is distinct from v_before;
        return next;
    end loop;
end
$$;

-- fn_anomaly_set_status — 0012's body, with the occurrence locked before its status is read
-- (0010 had the lock, 0012 lost it). An occurrence of a problem goes through its problem, so
-- the problem is locked before its occurrences, as everywhere.
create or replace function public.fn_anomaly_set_status(p_id bigint, p_status text)
    returns table (id bigint, tenant_id text, status text, acknowledged_at timestamptz,
                   acknowledged_by text, resolved_at timestamptz)
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
declare
    v_current  text;
    v_problem  bigint;
begin
    perform public.fn_require_operator();
    if p_status is null or p_status not in ('acknowledged', 'resolved') then
        raise exception 'status must be acknowledged or resolved, got %',
            coalesce(p_status, 'null')
            using errcode = 'invalid_parameter_value';
    end if;

    select a.problem_id into v_problem
      from public.import_anomalies a
     where a.id = p_id;
    if not found then
        raise exception 'no anomaly with id %', p_id using errcode = 'no_data_found';
    end if;

    if v_problem is not null then
        perform public.fn_problem_set_status(v_problem, p_status);
        return query
            select a.id, a.tenant_id, a.status, a.acknowledged_at, a.acknowledged_by,
                   a.resolved_at
              from public.import_anomalies a
             where a.id = p_id;
        return;
    end if;

    select a.status into v_current
      from public.import_anomalies a
     where a.id = p_id
       for update;
    if not found then
        raise exception 'no anomaly with id %', p_id using errcode = 'no_data_found';
    end if;
    if v_current = 'resolved' and p_status = 'acknowledged' then
        raise exception 'anomaly % is already resolved; it cannot be acknowledged', p_id
            using errcode = 'object_not_in_prerequisite_state';
    end if;

    return query
        update public.import_anomalies a
           set status = p_status,
               acknowledged_at = case when p_status = 'acknowledged'
                                      then coalesce(a.acknowledged_at, now())
                                      else a.acknowledged_at end,
               acknowledged_by = case when p_status = 'acknowledged'
                                      then coalesce(a.acknowledged_by, auth.jwt() ->> 'sub')
                                      else a.acknowledged_by end,
               resolved_at = case when p_status = 'resolved'
                                  then coalesce(a.resolved_at, now())
                                  else a.resolved_at end
         where a.id = p_id
        returning a.id, a.tenant_id, a.status, a.acknowledged_at, a.acknowledged_by,
                  a.resolved_at;
end
$$;

-- Privileges: the lock helpers are for the merge and the backfill (the owner and
-- service_role); the bulk lifecycle RPC is an operator's, like fn_problem_set_status.
revoke execute on function
    public.fn_import_problems_lock(bigint[]),
    public.fn_import_anomalies_lock(bigint[]),
    public.fn_import_batch_problems_lock(text),
    public.fn_problems_set_status(bigint[], text, text)
  from public;

do $$
begin
    revoke execute on function
        public.fn_import_problems_lock(bigint[]),
        public.fn_import_anomalies_lock(bigint[]),
        public.fn_import_batch_problems_lock(text)
      from anon, authenticated;
    revoke execute on function public.fn_problems_set_status(bigint[], text, text) from anon;
    grant execute on function public.fn_problems_set_status(bigint[], text, text)
       to authenticated, service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant execute on function
            public.fn_import_problems_lock(bigint[]),
            public.fn_import_anomalies_lock(bigint[]),
            public.fn_import_batch_problems_lock(text)
           to service_role;
    end if;
end
$$;
