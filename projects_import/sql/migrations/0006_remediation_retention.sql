-- 0006 — Remediation and retention (SPEC §5.6, §5.7): the membership backfill, the retention
-- counters, the chunked cleanup and its daily pg_cron job when the database has pg_cron.

-- fn_import_anomaly_applies — whether an anomaly of this type still describes the project as
-- it stands (its raw values against its resolved canonical values); the merge's rule (§5.4).
create or replace function public.fn_import_anomaly_applies(
    p_anomaly_type  text,
    p_project       public.projects
) returns boolean
    language sql immutable
    as $$
    select case p_anomaly_type
               when 'UNKNOWN_DELIVERY_PARTNER' then
                   p_project.delivery_partner is not null and p_project.partner_org is null
               when 'UNKNOWN_DS' then
                   p_project.deployment_specialist is not null and p_project.ds_username is null
               when 'UNKNOWN_RM' then
                   (p_project.relationship_manager is not null
                    or p_project.rm_preferred_username is not null)
                   and p_project.rm_username is null
               else true
           end
    $$;

-- fn_projects_membership_backfill — after a directory fix, bring every project (of one tenant
-- when p_tenant_id is given) in line with today's directories, without re-sending data:
--   * recompute partner_org / ds_username / rm_username and update the projects that changed,
--   * end memberships that no longer apply (ended_at; a reassigned person loses access),
--   * add the memberships that are missing,
--   * mark open/acknowledged anomalies that no longer apply as resolved.
-- Anomalies are recorded by imports only: a project that a directory change makes unresolvable
-- loses the membership here and gets its anomaly from the next import or rerun.
-- Takes the imports' per-tenant locks in tenant order, so it never interleaves with a merge
-- (an import arriving meanwhile answers 429 and is retried). Set-based and idempotent: a
-- second run returns zero counts.
create or replace function public.fn_projects_membership_backfill(
    p_tenant_id text default null
) returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_tenant      text;
    v_projects    integer;
    v_org_added   integer;
    v_user_added  integer;
    v_org_ended   integer;
    v_user_ended  integer;
    v_resolved    integer;
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

    with resolved as (
        select p.tenant_id, p.stage_application, c.partner_org, c.ds_username, c.rm_username
          from projects p
          cross join lateral fn_projects_resolve_canonical(
                p.tenant_id, p.delivery_partner, p.deployment_specialist,
                p.relationship_manager, p.rm_preferred_username) c
         where p_tenant_id is null or p.tenant_id = p_tenant_id
    ), changed as (
        update projects p
           set partner_org = r.partner_org,
               ds_username = r.ds_username,
               rm_username = r.rm_username,
               updated_at = now()
          from resolved r
         where p.tenant_id = r.tenant_id
           and p.stage_application = r.stage_application
           and (p.partner_org, p.ds_username, p.rm_username)
               is distinct from (r.partner_org, r.ds_username, r.rm_username)
        returning 1
    )
    select count(*) into v_projects from changed;

    insert into organizations (tenant_id, name)
    select distinct p.tenant_id, p.partner_org
      from projects p
     where p.partner_org is not null
       and (p_tenant_id is null or p.tenant_id = p_tenant_id)
    on conflict do nothing;

    with ended as (
        update project_org_memberships m
           set ended_at = now()
          from projects p
         where m.tenant_id = p.tenant_id
           and m.stage_application = p.stage_application
           and m.ended_at is null
           and m.org_name is distinct from p.partner_org
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
        returning 1
    )
    select count(*) into v_org_ended from ended;

    with ended as (
        update project_user_memberships m
           set ended_at = now()
          from projects p
         where m.tenant_id = p.tenant_id
           and m.stage_application = p.stage_application
           and m.ended_at is null
           and m.username is distinct from
               case m.role when 'deployment_specialist' then p.ds_username
                           else p.rm_username end
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
        returning 1
    )
    select count(*) into v_user_ended from ended;

    with added as (
        insert into project_org_memberships (tenant_id, stage_application, org_name, role)
        select p.tenant_id, p.stage_application, p.partner_org, 'delivery_partner'
          from projects p
         where p.partner_org is not null
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and not exists (select 1 from project_org_memberships m
                            where m.tenant_id = p.tenant_id
                              and m.stage_application = p.stage_application
                              and m.role = 'delivery_partner'
                              and m.org_name = p.partner_org
                              and m.ended_at is null)
        on conflict (tenant_id, stage_application, role, org_name) where ended_at is null
        do nothing
        returning 1
    )
    select count(*) into v_org_added from added;

    with added as (
        insert into project_user_memberships (tenant_id, stage_application, username, role)
        select p.tenant_id, p.stage_application, u.username, u.role
          from projects p
          cross join lateral (values ('deployment_specialist', p.ds_username),
                                     ('relationship_manager', p.rm_username)) as u(role, username)
         where u.username is not null
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and not exists (select 1 from project_user_memberships m
                            where m.tenant_id = p.tenant_id
                              and m.stage_application = p.stage_application
                              and m.role = u.role
                              and m.username = u.username
                              and m.ended_at is null)
        on conflict (tenant_id, stage_application, role, username) where ended_at is null
        do nothing
        returning 1
    )
    select count(*) into v_user_added from added;

    with fixed as (
        update import_anomalies ia
           set status = 'resolved', resolved_at = now()
          from projects p
         where ia.tenant_id = p.tenant_id
           and ia.project_key = p.stage_application
           and ia.status <> 'resolved'
           and (p_tenant_id is null or p.tenant_id = p_tenant_id)
           and not fn_import_anomaly_applies(ia.anomaly_type, p)
        returning 1
    )
    select count(*) into v_resolved from fixed;

    return jsonb_build_object(
        'projects_updated', v_projects,
        'org_memberships_added', v_org_added,
        'user_memberships_added', v_user_added,
        'org_memberships_ended', v_org_ended,
        'user_memberships_ended', v_user_ended,
        'memberships_ended', v_org_ended + v_user_ended,
        'anomalies_resolved', v_resolved);
end
$$;

-- import_retention_stats — what retention deleted, per tenant and per day the deleted rows
-- were created (UTC), so volumes stay answerable after the rows are gone. Keyed by tenant
-- first like every table; the runbook's `order by stat_date desc` reads it as documented.
create table public.import_retention_stats (
    tenant_id               text not null,
    stat_date               date not null,
    staging_imports_count   bigint not null default 0,
    import_anomalies_count  bigint not null default 0,
    last_updated_at         timestamptz not null default now(),
    primary key (tenant_id, stat_date)
);
create index import_retention_stats_date on public.import_retention_stats (stat_date desc);

alter table public.import_retention_stats enable row level security;
create policy operators_read on public.import_retention_stats
    for select to authenticated using (public.fn_is_operator());

do $$
begin
    grant select on public.import_retention_stats to authenticated;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;

-- Deleting a staging row sets its anomalies' staging_id to null (ON DELETE SET NULL); without
-- an index on the referencing columns every deleted staging row would scan import_anomalies.
create index if not exists import_anomalies_staging
    on public.import_anomalies (tenant_id, staging_id) where staging_id is not null;

-- fn_cleanup_import_data — retention: delete import_anomalies older than p_anomalies_days and
-- staging_imports older than p_imports_days (0 means everything), first adding what each
-- chunk deletes to import_retention_stats in the same statement.
-- Deletes go in chunks of at most p_chunk_size rows per table and statement, oldest first,
-- skipping rows an import has locked. p_max_chunks bounds one call: callers that want a commit
-- between chunks (the service's scheduler, `projects-import cleanup`) call it repeatedly until
-- `complete`; pg_cron and psql call it once with the defaults and it runs to the end.
-- Anomalies go first: deleting a staging row sets its remaining anomalies' staging_id to null.
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
    v_chunk_imports     integer;
    v_chunk_anomalies   integer;
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

        with doomed as (
            select tenant_id, id
              from staging_imports
             where created_at < v_imports_cutoff
             order by created_at
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

        v_chunks := v_chunks + 1;
        v_anomalies := v_anomalies + v_chunk_anomalies;
        v_imports := v_imports + v_chunk_imports;
        v_more := v_chunk_anomalies = p_chunk_size or v_chunk_imports = p_chunk_size;
    end loop;

    return jsonb_build_object(
        'staging_imports_deleted', v_imports,
        'import_anomalies_deleted', v_anomalies,
        'imports_days', p_imports_days,
        'anomalies_days', p_anomalies_days,
        'chunks', v_chunks,
        'complete', not v_more);
end
$$;

-- fn_import_retention_cron_job — the pg_cron job `imports-anomalies-retention` of this
-- database (jobid, schedule, command, active), or null when pg_cron is absent, has no such
-- job, or does not let this role see it. The service's scheduler stands down when it exists.
create or replace function public.fn_import_retention_cron_job() returns jsonb
    language plpgsql stable
    set search_path = public, pg_temp
    as $$
declare
    v_job jsonb;
begin
    if to_regclass('cron.job') is null then
        return null;
    end if;
    execute $q$
        select jsonb_build_object('jobid', jobid, 'schedule', schedule,
                                  'command', command, 'active', active)
          from cron.job
         where jobname = $1 and database = current_database()
         order by jobid desc
         limit 1
    $q$ into v_job using 'imports-anomalies-retention';
    return v_job;
exception
    when insufficient_privilege or undefined_column then
        return null;
end
$$;

-- fn_schedule_import_retention — (re)schedule `imports-anomalies-retention` in pg_cron:
-- unschedule any job of that name, then schedule it anew; returns the job id, or null (and
-- does nothing) when the database does not have the pg_cron extension. The migration calls it
-- with the runbook's defaults; run it again after installing pg_cron later.
create or replace function public.fn_schedule_import_retention(
    p_schedule  text default '10 3 * * *',
    p_command   text default 'select public.fn_cleanup_import_data();'
) returns bigint
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_jobid bigint;
begin
    if not exists (select 1 from pg_extension where extname = 'pg_cron') then
        return null;
    end if;
    execute 'select cron.unschedule(jobid) from cron.job where jobname = $1'
        using 'imports-anomalies-retention';
    execute 'select cron.schedule($1, $2, $3)'
        into v_jobid
        using 'imports-anomalies-retention', p_schedule, p_command;
    return v_jobid;
end
$$;

select public.fn_schedule_import_retention();

-- Writing functions are for the service's own role (and operators in psql) only.
revoke execute on function public.fn_projects_membership_backfill(text) from public;
revoke execute on function public.fn_cleanup_import_data(integer, integer, integer, integer)
    from public;
revoke execute on function public.fn_schedule_import_retention(text, text) from public;
