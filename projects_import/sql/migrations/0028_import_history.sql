-- 0028 — Import history for operators (GET /imports, /dashboard/imports, `imports list|show`).
-- import_requests gains what an operator asks of last night's batch: the upstream batch id and
-- source, the merge's counts, the staging row, and for a rejected request a bounded summary of
-- its violations (counts by code and the first few {row_index, field, code} — never values).
-- Two operator RPCs read it: a keyset-cursored listing under the caller's rights (RLS), and
-- one request's detail with the staged metrics and reruns of its batch.

alter table public.import_requests
    add column request_batch_id          text check (char_length(request_batch_id) <= 256),
    add column source                    text check (char_length(source) <= 256),
    add column staging_id                uuid,
    add column inserted_projects         integer,
    add column updated_projects          integer,
    add column unchanged_projects        integer,
    add column org_memberships_upserted  integer,
    add column user_memberships_upserted integer,
    add column anomalies_count           integer,
    add column violations_total          integer,
    -- {"by_code": {"required": 3, ...}, "first": [{"row_index", "field", "code"}, ...]}
    add column violations_summary        jsonb
        check (violations_summary is null or pg_column_size(violations_summary) <= 8192);

-- fn_imports_for_operator walks (created_at desc, id desc), for all tenants or one.
create index import_requests_created_id on public.import_requests (created_at desc, id desc);
create index import_requests_tenant_created
    on public.import_requests (tenant_id, created_at desc, id desc);
-- GET /imports/{id} finds a request by id alone.
create index import_requests_id on public.import_requests (id);
drop index if exists public.import_requests_created;

-- fn_imports_for_operator(tenant, status, since, after_created_at, after_id, limit): import
-- requests newest first, optionally of one tenant, one HTTP status code and since a time; the
-- page after the keyset (p_after_created_at, p_after_id) when given; at most p_limit rows.
-- Runs with the caller's rights: row-level security and fn_require_operator decide.
-- Errors: 42501 not an operator, 22023 a limit that is not 1..1000.
create function public.fn_imports_for_operator(
    p_tenant text default null, p_status integer default null,
    p_since timestamptz default null, p_after_created_at timestamptz default null,
    p_after_id bigint default null, p_limit integer default 100)
    returns table (id bigint, tenant_id text, received_at timestamptz, request_batch_id text,
                   batch_id uuid, source text, status integer, error_code text, rows integer,
                   inserted_projects integer, updated_projects integer,
                   unchanged_projects integer, org_memberships_upserted integer,
                   user_memberships_upserted integer, anomalies_count integer,
                   parse_ms numeric, merge_ms numeric, correlation_id uuid, replayed boolean,
                   staging_id uuid, bytes bigint, violations_total integer)
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
                   r.correlation_id, r.replayed, r.staging_id, r.bytes, r.violations_total
              from public.import_requests r
             where (p_status is null or r.status = p_status)
               and (p_since is null or r.created_at >= p_since)
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
                   r.correlation_id, r.replayed, r.staging_id, r.bytes, r.violations_total
              from public.import_requests r
             where r.tenant_id = p_tenant
               and (p_status is null or r.status = p_status)
               and (p_since is null or r.created_at >= p_since)
               and (p_after_created_at is null
                    or (r.created_at, r.id) < (p_after_created_at, p_after_id))
             order by r.created_at desc, r.id desc
             limit p_limit;
    end if;
end
$$;

-- fn_import_get(id): one import request with its violations summary and, when its batch was
-- staged, the staged metrics and the reruns of that batch (staging_imports.validation's
-- 'metrics' and 'reruns'; never the raw payload). SECURITY DEFINER because operators do not
-- read staging_imports directly; it checks the caller's claims first.
-- Errors: 42501 not an operator, P0002 no such request.
create function public.fn_import_get(p_id bigint)
    returns table (id bigint, tenant_id text, received_at timestamptz, request_batch_id text,
                   batch_id uuid, source text, status integer, error_code text, rows integer,
                   inserted_projects integer, updated_projects integer,
                   unchanged_projects integer, org_memberships_upserted integer,
                   user_memberships_upserted integer, anomalies_count integer,
                   parse_ms numeric, merge_ms numeric, correlation_id uuid, replayed boolean,
                   staging_id uuid, bytes bigint, violations_total integer,
                   violations_summary jsonb, staged_at timestamptz, staged_rows integer,
                   staged_correlation_id uuid, staged_metrics jsonb, reruns jsonb)
    language plpgsql stable security definer
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    return query
        select r.id, r.tenant_id, r.created_at, r.request_batch_id, r.batch_id, r.source,
               r.status, r.error_code, r.rows, r.inserted_projects, r.updated_projects,
               r.unchanged_projects, r.org_memberships_upserted, r.user_memberships_upserted,
               r.anomalies_count, r.parse_ms, r.merge_ms, r.correlation_id, r.replayed,
               r.staging_id, r.bytes, r.violations_total, r.violations_summary,
               s.created_at, s.row_count, s.correlation_id, s.validation -> 'metrics',
               coalesce(s.validation -> 'reruns', '[]'::jsonb)
          from public.import_requests r
          left join public.staging_imports s
            on s.tenant_id = r.tenant_id and s.batch_id = r.batch_id
         where r.id = p_id;
    if not found then
        raise exception 'no import request with id %', p_id using errcode = 'no_data_found';
    end if;
end
$$;

revoke execute on function
    public.fn_imports_for_operator(text, integer, timestamptz, timestamptz, bigint, integer),
    public.fn_import_get(bigint)
  from public;

do $$
begin
    revoke execute on function
        public.fn_imports_for_operator(text, integer, timestamptz, timestamptz, bigint, integer),
        public.fn_import_get(bigint)
      from anon;
    grant execute on function
        public.fn_imports_for_operator(text, integer, timestamptz, timestamptz, bigint, integer),
        public.fn_import_get(bigint)
      to authenticated, service_role;
    grant select on public.import_requests to authenticated, service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
