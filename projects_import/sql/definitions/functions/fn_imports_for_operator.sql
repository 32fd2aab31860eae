-- fn_imports_for_operator(tenant, status, since, after_created_at, after_id, limit,
-- batch_state): import requests newest first, optionally of one tenant, one HTTP status code,
-- since a time and whose staged batch is in one state (0037: merged, held, published,
-- rejected, superseded); the page after the keyset (p_after_created_at, p_after_id) when
-- given; at most p_limit rows. Each row has its batch_state (null when nothing was staged).
-- Runs with the caller's rights: row-level security and fn_require_operator decide.
-- Errors: 42501 not an operator, 22023 a limit that is not 1..1000.
create or replace function public.fn_imports_for_operator(
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

select public.fn_privileges_set(
    'function public.fn_imports_for_operator(text, integer, timestamp with time zone, '
    'timestamp with time zone, bigint, integer, text)',
    'execute', 'authenticated', 'service_role');
