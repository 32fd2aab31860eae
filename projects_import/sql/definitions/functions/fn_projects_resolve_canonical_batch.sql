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

select public.fn_privileges_set(
    'function public.fn_projects_resolve_canonical_batch(text, text[], text[], text[], text[])',
    'execute', 'service_role');
