-- The runbook's signature: every anomaly of the window (no limit), e.g.
-- `select * from public.fn_anomalies_for_operator(24, null, null) limit 5;`
create or replace function public.fn_anomalies_for_operator(
    p_window_hours integer default 24, p_tenant text default null,
    p_severity text[] default null)
    returns table (id bigint, tenant_id text, batch_id uuid, staging_id uuid, row_index integer,
                   project_key text, anomaly_type text, severity text, payload_excerpt text,
                   correlation_id uuid, created_at timestamptz, status text,
                   acknowledged_at timestamptz, acknowledged_by text, resolved_at timestamptz)
    language sql stable
    as $$
        select * from public.fn_anomalies_for_operator(p_window_hours, p_tenant, p_severity,
                                                       null::integer)
    $$;

select public.fn_privileges_set(
    'function public.fn_anomalies_for_operator(integer, text, text[])',
    'execute', 'authenticated', 'service_role');

-- fn_anomalies_for_operator(window, tenant, severities, limit): the newest anomalies of the
-- last p_window_hours, optionally for one tenant and some severities, at most p_limit rows
-- (null: all). Two static queries, so each uses its own index ((created_at desc, id desc) or
-- (tenant_id, created_at desc, id desc)) and stops after p_limit rows even over millions.
create or replace function public.fn_anomalies_for_operator(
    p_window_hours integer, p_tenant text, p_severity text[], p_limit integer)
    returns table (id bigint, tenant_id text, batch_id uuid, staging_id uuid, row_index integer,
                   project_key text, anomaly_type text, severity text, payload_excerpt text,
                   correlation_id uuid, created_at timestamptz, status text,
                   acknowledged_at timestamptz, acknowledged_by text, resolved_at timestamptz)
    language plpgsql stable
    as $$
#variable_conflict use_column
declare
    v_since timestamptz;
begin
    perform public.fn_require_operator();
    perform public.fn_anomalies_check_window(p_window_hours);
    if p_limit is not null and p_limit < 1 then
        raise exception 'p_limit must be at least 1 (or null for no limit), got %', p_limit
            using errcode = 'invalid_parameter_value';
    end if;
    v_since := now() - make_interval(hours => p_window_hours);

    if p_tenant is null then
        return query
            select a.id, a.tenant_id, a.batch_id, a.staging_id, a.row_index, a.project_key,
                   a.anomaly_type, a.severity, a.payload_excerpt, a.correlation_id,
                   a.created_at, a.status, a.acknowledged_at, a.acknowledged_by, a.resolved_at
              from public.import_anomalies a
             where a.created_at >= v_since
               and (p_severity is null or a.severity = any (p_severity))
             order by a.created_at desc, a.id desc
             limit p_limit;
    else
        return query
            select a.id, a.tenant_id, a.batch_id, a.staging_id, a.row_index, a.project_key,
                   a.anomaly_type, a.severity, a.payload_excerpt, a.correlation_id,
                   a.created_at, a.status, a.acknowledged_at, a.acknowledged_by, a.resolved_at
              from public.import_anomalies a
             where a.tenant_id = p_tenant
               and a.created_at >= v_since
               and (p_severity is null or a.severity = any (p_severity))
             order by a.created_at desc, a.id desc
             limit p_limit;
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_anomalies_for_operator(integer, text, text[], integer)',
    'execute', 'authenticated', 'service_role');

-- fn_anomalies_for_operator with the runbook's filters (type, status, batch, project) and a
-- keyset cursor: the previous page's last created_at and id.
create or replace function public.fn_anomalies_for_operator(
    p_window_hours      integer,
    p_tenant            text,
    p_severity          text[],
    p_limit             integer,
    p_anomaly_type      text[],
    p_status            text[] default null,
    p_batch_id          uuid[] default null,
    p_project_key       text default null,
    p_after_created_at  timestamptz default null,
    p_after_id          bigint default null
) returns setof public.import_anomalies
    language plpgsql stable
    as $$
declare
    v_since timestamptz := '-infinity';
begin
    perform public.fn_require_operator();
    if p_window_hours is not null then
        perform public.fn_anomalies_check_window(p_window_hours);
        v_since := now() - make_interval(hours => p_window_hours);
    end if;
    perform public.fn_problems_check_filters(p_anomaly_type, p_status, p_severity, p_limit);
    if (p_after_created_at is null) <> (p_after_id is null) then
        raise exception 'the cursor needs both p_after_created_at and p_after_id'
            using errcode = 'invalid_parameter_value';
    end if;

    if p_tenant is null then
        return query
            select a.* from public.import_anomalies a
             where a.created_at >= v_since
               and (p_severity is null or a.severity = any (p_severity))
               and (p_anomaly_type is null or a.anomaly_type = any (p_anomaly_type))
               and (p_status is null or a.status = any (p_status))
               and (p_batch_id is null or a.batch_id = any (p_batch_id))
               and (p_project_key is null or a.project_key = p_project_key)
               and (p_after_created_at is null
                    or (a.created_at, a.id) < (p_after_created_at, p_after_id))
             order by a.created_at desc, a.id desc
             limit p_limit;
    else
        return query
            select a.* from public.import_anomalies a
             where a.tenant_id = p_tenant
               and a.created_at >= v_since
               and (p_severity is null or a.severity = any (p_severity))
               and (p_anomaly_type is null or a.anomaly_type = any (p_anomaly_type))
               and (p_status is null or a.status = any (p_status))
               and (p_batch_id is null or a.batch_id = any (p_batch_id))
               and (p_project_key is null or a.project_key = p_project_key)
               and (p_after_created_at is null
                    or (a.created_at, a.id) < (p_after_created_at, p_after_id))
             order by a.created_at desc, a.id desc
             limit p_limit;
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_anomalies_for_operator(integer, text, text[], integer, text[], text[], '
    'uuid[], text, timestamp with time zone, bigint)',
    'execute', 'authenticated', 'service_role');
