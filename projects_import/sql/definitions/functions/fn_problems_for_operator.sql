-- fn_problems_for_operator — for operators: problems, optionally of one tenant and filtered by
-- type, status, severity, batch, project, overdue and a search text, newest sighting first,
-- a page at a time (the keyset cursor: the previous page's last last_seen_at and id).
create or replace function public.fn_problems_for_operator(
    p_tenant              text default null,
    p_anomaly_type        text[] default null,
    p_status              text[] default null,
    p_severity            text[] default null,
    p_batch_id            uuid[] default null,
    p_project_key         text default null,
    p_overdue             boolean default null,
    p_search              text default null,
    p_after_last_seen_at  timestamptz default null,
    p_after_id            bigint default null,
    p_limit               integer default 100
) returns setof public.import_problems
    language plpgsql stable
    as $$
declare
    v_search text := lower(nullif(btrim(p_search), ''));
begin
    perform public.fn_require_operator();
    perform public.fn_problems_check_filters(p_anomaly_type, p_status, p_severity, p_limit);
    if (p_after_last_seen_at is null) <> (p_after_id is null) then
        raise exception 'the cursor needs both p_after_last_seen_at and p_after_id'
            using errcode = 'invalid_parameter_value';
    end if;

    return query
        select pr.* from public.import_problems pr
         where (p_tenant is null or pr.tenant_id = p_tenant)
           and (p_anomaly_type is null or pr.anomaly_type = any (p_anomaly_type))
           and (p_status is null or pr.status = any (p_status))
           and (p_severity is null or pr.severity = any (p_severity))
           and (p_project_key is null or pr.project_key = p_project_key)
           and (p_batch_id is null
                or exists (select 1 from public.import_anomalies a
                            where a.tenant_id = pr.tenant_id and a.problem_id = pr.id
                              and a.batch_id = any (p_batch_id)))
           and (p_overdue is null
                or p_overdue = coalesce((pr.status = 'open' and pr.ack_due_at < now())
                                        or (pr.status <> 'resolved'
                                            and pr.resolve_due_at < now()), false))
           and (v_search is null
                or strpos(lower(pr.project_key), v_search) > 0
                or strpos(lower(pr.unknown_value), v_search) > 0)
           and (p_after_last_seen_at is null
                or (pr.last_seen_at, pr.id) < (p_after_last_seen_at, p_after_id))
         order by pr.last_seen_at desc, pr.id desc
         limit p_limit;
end
$$;

select public.fn_privileges_set(
    'function public.fn_problems_for_operator(text, text[], text[], text[], uuid[], text, '
    'boolean, text, timestamp with time zone, bigint, integer)',
    'execute', 'authenticated', 'service_role');
