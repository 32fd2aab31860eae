-- 0016 — The import, set-based and without per-row work it does not need (issue: performance).
-- Same contract, same counts; measured in docs/benchmarks.md, indexes listed in
-- docs/benchmarks.md ("Indexes and the queries they serve").
--
--   * fn_projects_resolve_canonical_batch: the canonical-resolution rule over a whole batch.
--     Each distinct partner, DS and RM value is looked up once and joined back, instead of
--     four correlated index probes per row. fn_projects_resolve_canonical (0003) keeps its
--     signature and now asks this function, so there is still one rule.
--   * fn_projects_import_merge parses the rows and resolves them in one statement, and syncs
--     memberships only for the projects the batch inserted or changed. Its temp tables get
--     statistics (ANALYZE, a few ms) and the occurrences of reopened or fixed problems are
--     found from an array of problem ids: 0012's joins could be planned as a nested loop over
--     every occurrence of the tenant when statistics lagged behind (28 s for one import after
--     a large resolution) or as a scan of the whole table.
--   * fn_projects_membership_backfill resolves tenant by tenant with the batch rule.
--   * import_anomalies loses its two foreign keys (to staging_imports and import_problems): each
--     cost a trigger call and an index probe per inserted occurrence, to check an id the merge
--     has just read or written itself under the tenant's lock. What they did on delete (set the
--     link to null) is now one statement per deleting statement (statement triggers with
--     transition tables). The index that served the staging foreign key goes: the unique key
--     (tenant_id, batch_id, …) finds a staged batch's occurrences (they share its batch_id).
--   * the memberships lose their foreign keys to projects for the same reason (a check per
--     inserted membership of a project the merge or backfill has just written or read); a
--     statement trigger on projects removes them with their project, as on delete cascade did.
--   * fn_cleanup_import_data unlinks a staged batch's occurrences itself before deleting it,
--     in bounded steps that skip rows an import holds: retention never waits on an import (the
--     on-delete action of the dropped foreign key did, and could deadlock with an import
--     resolving the same problems' occurrences).
--   * import_anomalies_unresolved indexes only occurrences without a problem (the only ones
--     the backfill still looks up by project), so new occurrences no longer pay for it.

-- fn_projects_resolve_canonical_batch — canonical partner org, DS and RM for a batch of rows
-- given as parallel arrays (element i is row i), one result row per element with its position
-- (ord, from 1). The rule, as it was per row in 0003: a partner alias wins over a canonical
-- name; a DS is an active preferred_username; an RM is found by rm_preferred_username when one
-- is given (an unknown one is not overridden by the display name), else by a display name
-- that names exactly one active RM. Matching uses fn_directory_key on both sides.
create or replace function public.fn_projects_resolve_canonical_batch(
    p_tenant_id              text,
    p_delivery_partner       text[],
    p_deployment_specialist  text[],
    p_relationship_manager   text[],
    p_rm_preferred_username  text[]
) returns table (ord bigint, partner_org text, ds_username text, rm_username text)
    language sql stable
    as $$
    with given as materialized (
        select u.ord, u.partner, u.specialist, coalesce(u.manager, '') as manager,
               coalesce(u.manager_username, '') as manager_username
          from unnest(p_delivery_partner, p_deployment_specialist, p_relationship_manager,
                      p_rm_preferred_username)
               with ordinality as u(partner, specialist, manager, manager_username, ord)
    ), partners as (
        select d.partner,
               coalesce(
                   (select pn.canonical from public.partner_normalization pn
                     where pn.tenant_id = p_tenant_id and pn.alias_key = d.partner_key),
                   (select min(pn.canonical) from public.partner_normalization pn
                     where pn.tenant_id = p_tenant_id
                       and public.fn_directory_key(pn.canonical) = d.partner_key))
                   as partner_org
          from (select v.partner, public.fn_directory_key(v.partner) as partner_key
                  from (select distinct g.partner from given g
                         where g.partner is not null) v) d
    ), specialists as (
        select v.specialist,
               (select s.preferred_username from public.ds_directory s
                 where s.tenant_id = p_tenant_id and s.active
                   and s.username_key = public.fn_directory_key(v.specialist)) as ds_username
          from (select distinct g.specialist from given g where g.specialist is not null) v
    ), managers as (
        select v.manager, v.manager_username,
               case when public.fn_directory_key(v.manager_username) is not null then
                   (select r.preferred_username from public.rm_directory r
                     where r.tenant_id = p_tenant_id and r.active
                       and r.username_key = public.fn_directory_key(v.manager_username))
               else
                   (select min(r.preferred_username) from public.rm_directory r
                     where r.tenant_id = p_tenant_id and r.active
                       and r.display_key = public.fn_directory_key(v.manager)
                    having count(*) = 1)
               end as rm_username
          from (select distinct g.manager, g.manager_username from given g) v
    )
    select g.ord, p.partner_org, s.ds_username, m.rm_username
      from given g
      left join partners p on p.partner = g.partner
      left join specialists s on s.specialist = g.specialist
      left join managers m on m.manager = g.manager and m.manager_username = g.manager_username
    $$;

-- fn_projects_resolve_canonical (0003): one project's values, by the batch rule above.
create or replace function public.fn_projects_resolve_canonical(
    p_tenant_id              text,
    p_delivery_partner       text,
    p_deployment_specialist  text,
    p_relationship_manager   text,
    p_rm_preferred_username  text
) returns table (partner_org text, ds_username text, rm_username text)
    language sql stable
    as $$
    select c.partner_org, c.ds_username, c.rm_username
      from public.fn_projects_resolve_canonical_batch(
               p_tenant_id, array[p_delivery_partner], array[p_deployment_specialist],
               array[p_relationship_manager], array[p_rm_preferred_username]) c
    $$;

-- fn_projects_import_merge — as in 0012 (same parameters, steps and metrics); parsing and
-- canonical resolution are one set-based statement, and memberships are synced for the
-- projects the batch inserted or changed.

create or replace function public.fn_projects_import_merge(
    tenant_id       text,
    source          text,
    batch_id        uuid,
    rows            jsonb,
    correlation_id  uuid
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
declare
    p_tenant_id       text := fn_projects_import_merge.tenant_id;
    p_source          text := fn_projects_import_merge.source;
    p_batch_id        uuid := fn_projects_import_merge.batch_id;
    p_rows            jsonb := fn_projects_import_merge.rows;
    p_correlation_id  uuid := fn_projects_import_merge.correlation_id;
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
    if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
        raise exception 'fn_projects_import_merge: rows must be a JSON array'
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

    -- Parse, then resolve canonical values from today's directories in the same statement:
    -- fn_projects_resolve_canonical_batch looks each distinct value up once and joins back.
    insert into pg_temp.import_batch
    with parsed as materialized (
        select e.ord - 1 as row_index,
               nullif(btrim(e.r ->> 'stage_application'), '') as stage_application,
               nullif(btrim(e.r ->> 'delivery_partner'), '') as delivery_partner,
               nullif(btrim(e.r ->> 'developer_class'), '') as developer_class,
               nullif(btrim(e.r ->> 'relationship_manager'), '') as relationship_manager,
               nullif(btrim(e.r ->> 'deployment_specialist'), '') as deployment_specialist,
               nullif(btrim(e.r ->> 'rm_preferred_username'), '') as rm_preferred_username,
               coalesce(nullif(btrim(e.r ->> 'residential'), '')::integer, 0) as residential,
               coalesce(nullif(btrim(e.r ->> 'commercial'), '')::integer, 0) as commercial,
               coalesce(nullif(btrim(e.r ->> 'essential'), '')::integer, 0) as essential,
               coalesce(nullif(btrim(e.r ->> 'premises_count'), '')::integer, 0)
                   as premises_count,
               nullif(btrim(e.r ->> 'stage_application_created'), '')::date
                   as stage_application_created,
               left(e.r::text, 500) as excerpt
          from jsonb_array_elements(p_rows) with ordinality as e(r, ord)
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
    select b.row_index, b.stage_application, m.anomaly_type, m.severity, b.excerpt,
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

-- fn_projects_membership_backfill — as in 0012 (same parameter and counts); canonical values
-- come from fn_projects_resolve_canonical_batch, one tenant at a time.
create or replace function public.fn_projects_membership_backfill(
    p_tenant_id text default null
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
    on conflict do nothing;

    perform fn_projects_membership_sync_table();
    insert into pg_temp.membership_sync
    select p.tenant_id, p.stage_application, p.partner_org, p.ds_username, p.rm_username
      from projects p
     where p_tenant_id is null or p.tenant_id = p_tenant_id;
    v_sync := fn_projects_sync_memberships(null);

    with fixed as (
        update import_problems pr
           set status = 'resolved', resolved_at = now(), resolved_by = 'system',
               resolution = 'directory_fix'
          from projects p
         where pr.tenant_id = p.tenant_id
           and pr.project_key = p.stage_application
           and pr.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
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

-- fn_cleanup_import_data — as in 0012 (same signature, chunks and answer), except that a staged
-- batch's occurrences are unlinked before it is deleted, in bounded steps that skip rows an
-- import holds (the foreign key's on delete set null waited on them, and could deadlock with
-- an import resolving the same problems' occurrences).
create or replace function public.fn_cleanup_import_data(
    p_imports_days    integer default 60,
    p_anomalies_days  integer default 90,
    p_chunk_size      integer default 5000,
    p_max_chunks      integer default null
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_imports_cutoff    timestamptz;
    v_anomalies_cutoff  timestamptz;
    v_imports           bigint := 0;
    v_anomalies         bigint := 0;
    v_requests          bigint := 0;
    v_problems          bigint := 0;
    v_deliveries        bigint := 0;
    v_chunk_imports     integer;
    v_chunk_unlinked    integer;
    v_chunk_anomalies   integer;
    v_chunk_requests    integer;
    v_chunk_problems    integer;
    v_chunk_deliveries  integer;
    v_has_deliveries    boolean := to_regclass('public.alert_deliveries') is not null;
    v_chunks            integer := 0;
    v_more              boolean := true;
begin
    if p_imports_days is null or p_imports_days < 0
       or p_anomalies_days is null or p_anomalies_days < 0 then
        raise exception 'fn_cleanup_import_data: retention days must be 0 or more'
            using errcode = '22023';
    end if;
    if p_chunk_size is null or p_chunk_size < 1 or p_max_chunks < 1 then
        raise exception 'fn_cleanup_import_data: chunk size and max chunks must be 1 or more'
            using errcode = '22023';
    end if;

    v_imports_cutoff := case when p_imports_days = 0 then 'infinity'::timestamptz
                             else now() - make_interval(days => p_imports_days) end;
    v_anomalies_cutoff := case when p_anomalies_days = 0 then 'infinity'::timestamptz
                               else now() - make_interval(days => p_anomalies_days) end;

    while v_more and (p_max_chunks is null or v_chunks < p_max_chunks) loop
        with doomed as (
            select tenant_id, id
              from import_anomalies
             where created_at < v_anomalies_cutoff
             order by created_at
             limit p_chunk_size
               for update skip locked
        ), deleted as (
            delete from import_anomalies a
             using doomed d
             where a.tenant_id = d.tenant_id and a.id = d.id
            returning a.tenant_id, a.created_at
        ), counted as (
            insert into import_retention_stats as s (tenant_id, stat_date, import_anomalies_count)
            select tenant_id, (created_at at time zone 'UTC')::date, count(*)
              from deleted
             group by 1, 2
            on conflict (tenant_id, stat_date) do update
               set import_anomalies_count = s.import_anomalies_count
                                            + excluded.import_anomalies_count,
                   last_updated_at = now()
            returning 1
        )
        select count(*) into v_chunk_anomalies from deleted;

        -- A staged batch's occurrences lose their link before it goes, p_chunk_size at a
        -- time and never waiting on an occurrence an import holds: retention waits on no
        -- import, so the two cannot deadlock. A batch with occurrences still linked stays
        -- for a later chunk or run.
        with due as (
            select tenant_id, id, batch_id
              from staging_imports
             where created_at < v_imports_cutoff
             order by created_at
             limit p_chunk_size
        ), linked as (
            select a.tenant_id, a.id
              from due d
              join import_anomalies a
                on a.tenant_id = d.tenant_id and a.batch_id = d.batch_id
               and a.staging_id = d.id
             limit p_chunk_size
               for update of a skip locked
        )
        update import_anomalies a
           set staging_id = null
          from linked l
         where a.tenant_id = l.tenant_id and a.id = l.id;
        get diagnostics v_chunk_unlinked = row_count;

        with doomed as (
            select s.tenant_id, s.id
              from staging_imports s
             where s.created_at < v_imports_cutoff
               and not exists (select 1 from import_anomalies a
                                where a.tenant_id = s.tenant_id and a.batch_id = s.batch_id
                                  and a.staging_id = s.id)
             order by s.created_at
             limit p_chunk_size
               for update skip locked
        ), deleted as (
            delete from staging_imports i
             using doomed d
             where i.tenant_id = d.tenant_id and i.id = d.id
            returning i.tenant_id, i.created_at
        ), counted as (
            insert into import_retention_stats as s (tenant_id, stat_date, staging_imports_count)
            select tenant_id, (created_at at time zone 'UTC')::date, count(*)
              from deleted
             group by 1, 2
            on conflict (tenant_id, stat_date) do update
               set staging_imports_count = s.staging_imports_count
                                           + excluded.staging_imports_count,
                   last_updated_at = now()
            returning 1
        )
        select count(*) into v_chunk_imports from deleted;

        with doomed as (
            select tenant_id, id
              from import_requests
             where created_at < v_imports_cutoff
             order by created_at
             limit p_chunk_size
               for update skip locked
        ), deleted as (
            delete from import_requests r
             using doomed d
             where r.tenant_id = d.tenant_id and r.id = d.id
            returning r.tenant_id, r.created_at
        ), counted as (
            insert into import_retention_stats as s (tenant_id, stat_date, import_requests_count)
            select tenant_id, (created_at at time zone 'UTC')::date, count(*)
              from deleted
             group by 1, 2
            on conflict (tenant_id, stat_date) do update
               set import_requests_count = s.import_requests_count
                                           + excluded.import_requests_count,
                   last_updated_at = now()
            returning 1
        )
        select count(*) into v_chunk_requests from deleted;

        with doomed as (
            select pr.tenant_id, pr.id
              from import_problems pr
             where pr.status = 'resolved'
               and pr.last_seen_at < v_anomalies_cutoff
               and not exists (select 1 from import_anomalies a
                                where a.tenant_id = pr.tenant_id and a.problem_id = pr.id)
             order by pr.last_seen_at
             limit p_chunk_size
               for update skip locked
        ), deleted as (
            delete from import_problems pr
             using doomed d
             where pr.tenant_id = d.tenant_id and pr.id = d.id
            returning pr.tenant_id, pr.first_seen_at
        ), counted as (
            insert into import_retention_stats as s (tenant_id, stat_date, import_problems_count)
            select tenant_id, (first_seen_at at time zone 'UTC')::date, count(*)
              from deleted
             group by 1, 2
            on conflict (tenant_id, stat_date) do update
               set import_problems_count = s.import_problems_count
                                           + excluded.import_problems_count,
                   last_updated_at = now()
            returning 1
        )
        select count(*) into v_chunk_problems from deleted;

        v_chunk_deliveries := 0;
        if v_has_deliveries then
            execute $q$
                with doomed as (
                    select tenant_id, id
                      from public.alert_deliveries
                     where created_at < $1
                     order by created_at
                     limit $2
                       for update skip locked
                ), deleted as (
                    delete from public.alert_deliveries x
                     using doomed d
                     where x.tenant_id = d.tenant_id and x.id = d.id
                    returning x.tenant_id, x.created_at
                ), counted as (
                    insert into public.import_retention_stats as s
                           (tenant_id, stat_date, alert_deliveries_count)
                    select tenant_id, (created_at at time zone 'UTC')::date, count(*)
                      from deleted
                     group by 1, 2
                    on conflict (tenant_id, stat_date) do update
                       set alert_deliveries_count = s.alert_deliveries_count
                                                    + excluded.alert_deliveries_count,
                           last_updated_at = now()
                    returning 1
                )
                select count(*) from deleted
            $q$ into v_chunk_deliveries using v_imports_cutoff, p_chunk_size;
        end if;

        v_chunks := v_chunks + 1;
        v_anomalies := v_anomalies + v_chunk_anomalies;
        v_imports := v_imports + v_chunk_imports;
        v_requests := v_requests + v_chunk_requests;
        v_problems := v_problems + v_chunk_problems;
        v_deliveries := v_deliveries + v_chunk_deliveries;
        v_more := v_chunk_anomalies = p_chunk_size or v_chunk_imports = p_chunk_size
                  or v_chunk_unlinked = p_chunk_size
                  or v_chunk_requests = p_chunk_size or v_chunk_problems = p_chunk_size
                  or v_chunk_deliveries = p_chunk_size;
    end loop;

    return jsonb_build_object(
        'staging_imports_deleted', v_imports,
        'import_anomalies_deleted', v_anomalies,
        'import_requests_deleted', v_requests,
        'import_problems_deleted', v_problems,
        'alert_deliveries_deleted', v_deliveries,
        'imports_days', p_imports_days,
        'anomalies_days', p_anomalies_days,
        'chunks', v_chunks,
        'complete', not v_more);
end
$$;

-- ------------------------------------------------------------------ occurrences' links

-- A deleted staged batch (retention, a removed tenant) leaves its occurrences without a link,
-- in one statement per deleting statement.
create or replace function public.fn_staging_imports_unlink_anomalies() returns trigger
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    update import_anomalies a
       set staging_id = null
      from deleted_staging d
     where a.tenant_id = d.tenant_id
       and a.batch_id = d.batch_id
       and a.staging_id = d.id;
    return null;
end
$$;

-- A deleted problem (retention removes resolved problems without occurrences; a removed
-- tenant) leaves any occurrence that still names it without a link.
create or replace function public.fn_import_problems_unlink_anomalies() returns trigger
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    update import_anomalies a
       set problem_id = null
      from deleted_problems d
     where a.tenant_id = d.tenant_id
       and a.problem_id = d.id;
    return null;
end
$$;

revoke execute on function public.fn_staging_imports_unlink_anomalies(),
                           public.fn_import_problems_unlink_anomalies() from public;

alter table public.import_anomalies
    drop constraint if exists import_anomalies_tenant_id_staging_id_fkey,
    drop constraint if exists import_anomalies_tenant_id_problem_id_fkey;

create trigger staging_imports_unlink_anomalies
    after delete on public.staging_imports
    referencing old table as deleted_staging
    for each statement execute function public.fn_staging_imports_unlink_anomalies();

create trigger import_problems_unlink_anomalies
    after delete on public.import_problems
    referencing old table as deleted_problems
    for each statement execute function public.fn_import_problems_unlink_anomalies();

-- Memberships follow their project out (what their foreign keys' on delete cascade did), in
-- one statement per deleting statement. Their inserts are the merge's and the backfill's, for
-- projects they have just upserted or read, so a per-row check bought nothing.
create or replace function public.fn_projects_delete_memberships() returns trigger
    language plpgsql
    set search_path = public, pg_temp
    as $$
begin
    delete from project_org_memberships m
     using deleted_projects d
     where m.tenant_id = d.tenant_id and m.stage_application = d.stage_application;
    delete from project_user_memberships m
     using deleted_projects d
     where m.tenant_id = d.tenant_id and m.stage_application = d.stage_application;
    return null;
end
$$;

revoke execute on function public.fn_projects_delete_memberships() from public;

alter table public.project_org_memberships
    drop constraint if exists project_org_memberships_tenant_id_stage_application_fkey;
alter table public.project_user_memberships
    drop constraint if exists project_user_memberships_tenant_id_stage_application_fkey;

create trigger projects_delete_memberships
    after delete on public.projects
    referencing old table as deleted_projects
    for each statement execute function public.fn_projects_delete_memberships();

-- ------------------------------------------------------------------ indexes

-- Served only the staging foreign key; the unique (tenant_id, batch_id, row_index,
-- anomaly_type) key finds a staged batch's occurrences now.
drop index if exists public.import_anomalies_staging;

-- The backfill looks occurrences up by project only when they have no problem (0012); every
-- occurrence the merge writes has one.
drop index if exists public.import_anomalies_unresolved;
create index import_anomalies_unresolved
    on public.import_anomalies (tenant_id, project_key, anomaly_type)
    where status <> 'resolved' and problem_id is null;

do $$
begin
    revoke execute on function public.fn_staging_imports_unlink_anomalies(),
                               public.fn_import_problems_unlink_anomalies(),
                               public.fn_projects_delete_memberships()
      from anon, authenticated;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;

-- Privileges as 0010 and 0015 set them: the batch rule runs inside the merge and the backfill,
-- which service_role runs (the default privileges of 0010 give a new function to nobody).
-- The trigger functions run with the rights of the role that deletes.
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant execute on function
            public.fn_projects_resolve_canonical_batch(text, text[], text[], text[], text[])
           to service_role;
    end if;
end
$$;
