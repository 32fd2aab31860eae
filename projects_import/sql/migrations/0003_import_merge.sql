-- 0003 — The import: per-tenant lock, staging with replay detection, and the set-based merge.

-- Concurrency is one import per tenant, across every replica: a transaction-scoped advisory
-- lock keyed by a 64-bit hash of the tenant (a 32-bit one lets two tenants block each other).
create or replace function public.fn_projects_import_lock_key(p_tenant_id text) returns bigint
    language sql immutable parallel safe
    as $$ select hashtextextended('projects-import:' || p_tenant_id, 7301) $$;

create or replace function public.fn_projects_import_lock(p_tenant_id text) returns void
    language sql volatile
    as $$ select pg_advisory_xact_lock(public.fn_projects_import_lock_key(p_tenant_id)) $$;

create or replace function public.fn_projects_import_try_lock(p_tenant_id text) returns boolean
    language sql volatile
    as $$ select pg_try_advisory_xact_lock(public.fn_projects_import_lock_key(p_tenant_id)) $$;

-- fn_projects_resolve_canonical — canonical partner org, DS and RM for one project's values,
-- from today's directories. One definition for the merge and the backfill (0006):
-- a partner alias wins over a canonical name; a DS is an active preferred_username; an RM is found by
-- rm_preferred_username when one is given (an unknown one is not overridden by the
-- display name), else by a display name that names exactly one active RM.
-- Plain SQL without SET clauses so the planner inlines it into set-based callers.
create or replace function public.fn_projects_resolve_canonical(
    p_tenant_id              text,
    p_delivery_partner       text,
    p_deployment_specialist  text,
    p_relationship_manager   text,
    p_rm_preferred_username  text
) returns table (partner_org text, ds_username text, rm_username text)
    language sql stable
    as $$
    select coalesce(
               (select pn.canonical from public.partner_normalization pn
                 where pn.tenant_id = p_tenant_id
                   and pn.alias_key = public.fn_directory_key(p_delivery_partner)),
               (select min(pn.canonical) from public.partner_normalization pn
                 where pn.tenant_id = p_tenant_id
                   and public.fn_directory_key(pn.canonical)
                       = public.fn_directory_key(p_delivery_partner))),
           (select d.preferred_username from public.ds_directory d
             where d.tenant_id = p_tenant_id and d.active
               and d.username_key = public.fn_directory_key(p_deployment_specialist)),
           case when public.fn_directory_key(p_rm_preferred_username) is not null then
               (select r.preferred_username from public.rm_directory r
                 where r.tenant_id = p_tenant_id and r.active
                   and r.username_key = public.fn_directory_key(p_rm_preferred_username))
           else
               (select min(r.preferred_username) from public.rm_directory r
                 where r.tenant_id = p_tenant_id and r.active
                   and r.display_key = public.fn_directory_key(p_relationship_manager)
                having count(*) = 1)
           end
    $$;

-- fn_projects_import_merge — upsert one batch of rows into the domain tables.
--
-- p_rows is a JSON array of row objects with the contract's fields (SPEC §4.1); row_index is
-- the position in the array. Values are cast here (blank → null / 0), so the function can be
-- called from psql with rows as upstream sends them. In one transaction it:
--   * resolves canonical partner org / DS / RM from today's directories,
--   * upserts projects (inserted / updated-and-changed / unchanged),
--   * ends memberships that no longer apply and adds the new ones,
--   * records UNKNOWN_* anomalies, resolving earlier ones for these projects that no longer apply,
--   * memoizes the metrics into staging_imports.validation->'metrics' (later runs go to 'reruns').
-- Running it again with the same arguments changes nothing.
-- The parameters carry the runbook's names (callable with named arguments, as Supabase's
-- rpc() does); the body works on p_* copies and lets unqualified names mean columns.
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
    v_org_added       integer := 0;
    v_user_added      integer := 0;
    v_org_ended       integer := 0;
    v_user_ended      integer := 0;
    v_anomalies       integer := 0;
    v_resolved        integer := 0;
    v_metrics         jsonb;
begin
    if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
        raise exception 'fn_projects_import_merge: rows must be a JSON array'
            using errcode = '22023';
    end if;

    perform public.fn_projects_import_lock(p_tenant_id);

    select id into v_staging_id
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;

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

    insert into pg_temp.import_batch
    select e.ord - 1,
           nullif(btrim(e.r ->> 'stage_application'), ''),
           nullif(btrim(e.r ->> 'delivery_partner'), ''),
           nullif(btrim(e.r ->> 'developer_class'), ''),
           nullif(btrim(e.r ->> 'relationship_manager'), ''),
           nullif(btrim(e.r ->> 'deployment_specialist'), ''),
           nullif(btrim(e.r ->> 'rm_preferred_username'), ''),
           coalesce(nullif(btrim(e.r ->> 'residential'), '')::integer, 0),
           coalesce(nullif(btrim(e.r ->> 'commercial'), '')::integer, 0),
           coalesce(nullif(btrim(e.r ->> 'essential'), '')::integer, 0),
           coalesce(nullif(btrim(e.r ->> 'premises_count'), '')::integer, 0),
           nullif(btrim(e.r ->> 'stage_application_created'), '')::date,
           left(e.r::text, 500),
           null, null, null
      from jsonb_array_elements(p_rows) with ordinality as e(r, ord);

    if exists (select 1 from pg_temp.import_batch where stage_application is null) then
        raise exception 'fn_projects_import_merge: every row needs a stage_application'
            using errcode = '22023';
    end if;

    select count(*) into v_rows from pg_temp.import_batch;

    -- Canonical values from today's directories (fn_projects_resolve_canonical).
    update pg_temp.import_batch b
       set (partner_org, ds_username, rm_username) =
           (select c.partner_org, c.ds_username, c.rm_username
              from fn_projects_resolve_canonical(p_tenant_id, b.delivery_partner,
                                                 b.deployment_specialist,
                                                 b.relationship_manager,
                                                 b.rm_preferred_username) c);

    insert into organizations (tenant_id, name)
    select distinct p_tenant_id, b.partner_org
      from pg_temp.import_batch b
     where b.partner_org is not null
    on conflict do nothing;

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
        returning (xmax = 0) as inserted
    )
    select count(*) filter (where inserted), count(*) filter (where not inserted)
      into v_inserted, v_updated
      from upserted;

    -- Memberships: end what no longer applies (a reassigned person loses access) ...
    with ended as (
        update project_org_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from pg_temp.import_batch b
         where m.tenant_id = p_tenant_id
           and m.stage_application = b.stage_application
           and m.ended_at is null
           and m.org_name is distinct from b.partner_org
        returning 1
    )
    select count(*) into v_org_ended from ended;

    with ended as (
        update project_user_memberships m
           set ended_at = now(), ended_batch_id = p_batch_id
          from pg_temp.import_batch b
         where m.tenant_id = p_tenant_id
           and m.stage_application = b.stage_application
           and m.ended_at is null
           and m.username is distinct from
               case m.role when 'deployment_specialist' then b.ds_username
                           else b.rm_username end
        returning 1
    )
    select count(*) into v_user_ended from ended;

    -- ... then add the ones that are missing.
    with added as (
        insert into project_org_memberships (tenant_id, stage_application, org_name, role, batch_id)
        select p_tenant_id, b.stage_application, b.partner_org, 'delivery_partner', p_batch_id
          from pg_temp.import_batch b
         where b.partner_org is not null
        on conflict (tenant_id, stage_application, role, org_name) where ended_at is null
        do nothing
        returning 1
    )
    select count(*) into v_org_added from added;

    with added as (
        insert into project_user_memberships (tenant_id, stage_application, username, role, batch_id)
        select p_tenant_id, b.stage_application, u.username, u.role, p_batch_id
          from pg_temp.import_batch b
          cross join lateral (values ('deployment_specialist', b.ds_username),
                                     ('relationship_manager', b.rm_username)) as u(role, username)
         where u.username is not null
        on conflict (tenant_id, stage_application, role, username) where ended_at is null
        do nothing
        returning 1
    )
    select count(*) into v_user_added from added;

    -- Anomalies: the misses of this batch ...
    create temp table if not exists pg_temp.import_batch_anomalies (
        row_index integer, project_key text, anomaly_type text, severity text, excerpt text
    ) on commit drop;
    truncate pg_temp.import_batch_anomalies;

    insert into pg_temp.import_batch_anomalies
    select b.row_index, b.stage_application, a.anomaly_type, a.severity, b.excerpt
      from pg_temp.import_batch b
      cross join lateral (values
            ('UNKNOWN_DELIVERY_PARTNER', 'warning',
             b.delivery_partner is not null and b.partner_org is null),
            ('UNKNOWN_DS', 'error',
             b.deployment_specialist is not null and b.ds_username is null),
            ('UNKNOWN_RM', 'error',
             (b.relationship_manager is not null or b.rm_preferred_username is not null)
             and b.rm_username is null)
      ) as a(anomaly_type, severity, missed)
     where a.missed;

    select count(*) into v_anomalies from pg_temp.import_batch_anomalies;

    insert into import_anomalies (tenant_id, batch_id, staging_id, row_index, project_key,
                                  anomaly_type, severity, payload_excerpt, correlation_id)
    select p_tenant_id, p_batch_id, v_staging_id, a.row_index, a.project_key,
           a.anomaly_type, a.severity, a.excerpt, p_correlation_id
      from pg_temp.import_batch_anomalies a
    on conflict (tenant_id, batch_id, row_index, anomaly_type) do nothing;

    -- ... and earlier anomalies of these projects that this batch shows are fixed.
    with resolved as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from pg_temp.import_batch b
         where ia.tenant_id = p_tenant_id
           and ia.project_key = b.stage_application
           and ia.status <> 'resolved'
           and not exists (select 1 from pg_temp.import_batch_anomalies a
                            where a.project_key = ia.project_key
                              and a.anomaly_type = ia.anomaly_type)
        returning 1
    )
    select count(*) into v_resolved from resolved;

    v_metrics := jsonb_build_object(
        'rows', v_rows,
        'inserted_projects', v_inserted,
        'updated_projects', v_updated,
        'unchanged_projects', v_rows - v_inserted - v_updated,
        'org_memberships_upserted', v_org_added,
        'user_memberships_upserted', v_user_added,
        'memberships_ended', v_org_ended + v_user_ended,
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

-- fn_projects_import_submit — what POST /import-projects runs, in one round trip and one
-- transaction: take the tenant's lock (or answer busy), detect a replay by checksum or a
-- batch_id reused with other rows, stage the raw payload, merge, memoize.
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
    v_staged   staging_imports%rowtype;
    v_metrics  jsonb;
begin
    if not fn_projects_import_try_lock(p_tenant_id) then
        return jsonb_build_object('outcome', 'busy');
    end if;

    select * into v_staged
      from staging_imports
     where tenant_id = p_tenant_id and batch_checksum = p_batch_checksum;
    if found then
        return jsonb_build_object(
            'outcome', 'replayed',
            'batch_id', v_staged.batch_id,
            'staging_id', v_staged.id,
            'original_correlation_id', v_staged.correlation_id,
            'metrics', coalesce(v_staged.validation -> 'metrics', '{}'::jsonb)
                       || jsonb_build_object('staging_id', v_staged.id));
    end if;

    select * into v_staged
      from staging_imports
     where tenant_id = p_tenant_id and batch_id = p_batch_id;
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
            jsonb_array_length(p_rows), p_correlation_id, coalesce(p_validation, '{}'::jsonb));

    v_metrics := fn_projects_import_merge(p_tenant_id, p_source, p_batch_id, p_rows,
                                          p_correlation_id);
    return jsonb_build_object('outcome', 'merged', 'batch_id', p_batch_id,
                              'staging_id', v_metrics -> 'staging_id', 'metrics', v_metrics);
end
$$;
