-- fn_dashboard_membership_changes — membership changes of the most recent merged batches
-- (the memoized metrics of staging_imports.validation->'metrics'), newest first.
-- staging_imports holds raw payloads, which no user role may read; this function returns
-- counts only, and only to an operator or admin (JWT claims in request.jwt.claims).
create or replace function public.fn_dashboard_membership_changes(
    p_window_hours  integer default 336,
    p_limit         integer default 30
) returns table (
    tenant_id                  text,
    batch_id                   uuid,
    staged_at                  timestamptz,
    row_count                  integer,
    org_memberships_upserted   integer,
    user_memberships_upserted  integer,
    memberships_ended          integer
)
    language plpgsql stable security definer
    set search_path = public, pg_temp
    as $$
begin
    if not fn_is_operator() then
        raise exception 'fn_dashboard_membership_changes: the operator or admin role is required'
            using errcode = '42501';
    end if;
    return query
    select s.tenant_id, s.batch_id, s.created_at, s.row_count,
           coalesce((s.validation #>> '{metrics,org_memberships_upserted}')::integer, 0),
           coalesce((s.validation #>> '{metrics,user_memberships_upserted}')::integer, 0),
           coalesce((s.validation #>> '{metrics,memberships_ended}')::integer, 0)
      from staging_imports s
     where s.created_at >= now() - make_interval(hours => greatest(p_window_hours, 1))
       and s.validation ? 'metrics'
     order by s.created_at desc, s.id desc
     limit least(greatest(p_limit, 1), 500);
end
$$;

select public.fn_privileges_set(
    'function public.fn_dashboard_membership_changes(integer, integer)',
    'execute', 'authenticated', 'service_role');
