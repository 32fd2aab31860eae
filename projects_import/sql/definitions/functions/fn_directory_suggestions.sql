-- fn_directory_suggestions(tenant, anomaly_type, value, limit) — what an unknown value most
-- likely meant, best first, for operators:
--   UNKNOWN_DELIVERY_PARTNER: canonical partners, scored by the closest of their canonical
--     name and aliases (`matched` is the closest one);
--   UNKNOWN_DS / UNKNOWN_RM: directory entries scored by username and display name; active
--     ones, plus an inactive one only when it matches exactly (reactivating it is the fix).
-- Only suggestions scoring at least 0.3 (or matching exactly) are returned.
create or replace function public.fn_directory_suggestions(
    p_tenant_id text, p_anomaly_type text, p_value text, p_limit integer default 5)
    returns table (directory text, canonical text, username text, display_name text,
                   matched text, active boolean, score real)
    language plpgsql stable security definer
    set search_path = public, extensions, pg_temp
    as $$
#variable_conflict use_column
declare
    v_key text := public.fn_directory_key(p_value);
begin
    perform public.fn_require_operator();
    if p_anomaly_type is null
       or p_anomaly_type not in ('UNKNOWN_DELIVERY_PARTNER', 'UNKNOWN_DS', 'UNKNOWN_RM') then
        raise exception 'anomaly type must be UNKNOWN_DELIVERY_PARTNER, UNKNOWN_DS or '
                        'UNKNOWN_RM, got %', coalesce(p_anomaly_type, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    if v_key is null then
        return;
    end if;

    if p_anomaly_type = 'UNKNOWN_DELIVERY_PARTNER' then
        return query
            with candidates as (
                select pn.canonical, c.name as matched,
                       similarity(v_key, public.fn_directory_key(c.name)) as score
                  from public.partner_normalization pn
                  cross join lateral (values (pn.canonical), (pn.alias)) as c(name)
                 where pn.tenant_id = p_tenant_id
            ), best as (
                select distinct on (public.fn_directory_key(canonical)) canonical, matched, score
                  from candidates
                 order by public.fn_directory_key(canonical), score desc, matched
            )
            select 'partners'::text, b.canonical, null::text, null::text, b.matched, true,
                   b.score
              from best b
             where b.score >= 0.3
             order by b.score desc, b.canonical
             limit p_limit;
    else
        return query
            with people as (
                select d.preferred_username, d.display_name, d.active
                  from public.ds_directory d
                 where p_anomaly_type = 'UNKNOWN_DS' and d.tenant_id = p_tenant_id
                union all
                select r.preferred_username, r.display_name, r.active
                  from public.rm_directory r
                 where p_anomaly_type = 'UNKNOWN_RM' and r.tenant_id = p_tenant_id
            ), scored as (
                select p.*,
                       greatest(similarity(v_key, public.fn_directory_key(p.preferred_username)),
                                coalesce(similarity(v_key,
                                                    public.fn_directory_key(p.display_name)),
                                         0)) as score,
                       v_key in (public.fn_directory_key(p.preferred_username),
                                 public.fn_directory_key(p.display_name)) as exact
                  from people p
            )
            select case when p_anomaly_type = 'UNKNOWN_DS' then 'ds' else 'rm' end,
                   null::text, s.preferred_username, s.display_name,
                   case when similarity(v_key, public.fn_directory_key(s.preferred_username))
                             >= coalesce(similarity(v_key,
                                                    public.fn_directory_key(s.display_name)), 0)
                        then s.preferred_username else s.display_name end,
                   s.active, case when s.exact then 1::real else s.score end
              from scored s
             where (s.active and (s.score >= 0.3 or s.exact)) or (not s.active and s.exact)
             order by s.exact desc, s.score desc, s.preferred_username
             limit p_limit;
    end if;
end
$$;

-- It checks fn_require_operator() and reads only the directories of the tenant it is given; as
-- its owner it needs no grant on fn_directory_key or pg_trgm. similarity() is found through
-- `public, extensions` (where pg_trgm is on plain PostgreSQL and on Supabase), or through the
-- schema pg_trgm was installed in on a server that put it elsewhere.
do $$
declare
    v_schema text;
begin
    select n.nspname into v_schema
      from pg_extension e join pg_namespace n on n.oid = e.extnamespace
     where e.extname = 'pg_trgm';
    if v_schema not in ('public', 'extensions') then
        execute format('alter function public.fn_directory_suggestions(text, text, text, integer) '
                       'set search_path = public, %I, pg_temp', v_schema);
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_directory_suggestions(text, text, text, integer)',
    'execute', 'authenticated', 'service_role');
