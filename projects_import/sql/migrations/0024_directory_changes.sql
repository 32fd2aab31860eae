-- 0024 — Directory edits from the operator console (issue 8): admins add, change and
-- deactivate partner aliases, deployment specialists and relationship managers; every edit is
-- audited in directory_changes; operators get suggestions for an unknown value by trigram
-- similarity (pg_trgm). Writes go through SECURITY DEFINER functions that check the admin role
-- from the caller's JWT claims, so the database refuses an operator or viewer too.

-- pg_trgm ships with the embedded server, Debian's PostgreSQL and Supabase. Supabase keeps
-- extensions in schema `extensions`; elsewhere it goes to the default schema. The functions
-- below find similarity() wherever it lives (their search_path is set from pg_extension).
do $$
begin
    if not exists (select 1 from pg_extension where extname = 'pg_trgm') then
        if exists (select 1 from pg_namespace where nspname = 'extensions') then
            create extension if not exists pg_trgm with schema extensions;
        else
            create extension if not exists pg_trgm;
        end if;
    end if;
end
$$;

create or replace function public.fn_is_admin() returns boolean
    language sql stable
    as $$ select public.fn_jwt_app_role() = 'admin' $$;

-- Raises insufficient_privilege (42501) unless the caller's JWT claims say admin.
create or replace function public.fn_require_admin() returns void
    language plpgsql stable
    as $$
begin
    if not public.fn_is_admin() then
        raise exception 'insufficient_privilege: admin role required'
            using errcode = 'insufficient_privilege',
                  hint = 'directory changes need a user whose app_metadata.role is admin';
    end if;
end
$$;

-- directory_changes — the audit of every directory edit made through the functions below:
-- who (the JWT's sub), when, what (action on which directory) and the row before and after.
-- problem_id names the problem a one-click fix came from; effect holds what re-resolving the
-- affected projects did (counts), so "what did this fix change" stays answerable.
create table public.directory_changes (
    tenant_id   text not null references public.tenants on delete cascade,
    id          bigint generated always as identity,
    at          timestamptz not null default now(),
    actor       text not null,
    action      text not null check (action in ('add', 'update', 'deactivate', 'reactivate',
                                                 'remove')),
    directory   text not null check (directory in ('partners', 'ds', 'rm')),
    before      jsonb,
    after       jsonb,
    problem_id  bigint,
    effect      jsonb not null default '{}'::jsonb,
    primary key (tenant_id, id)
);
-- The audit page lists the newest changes first, across tenants or for one.
create index directory_changes_at on public.directory_changes (at desc, id desc);

alter table public.directory_changes enable row level security;
create policy operators_read on public.directory_changes
    for select to authenticated using ((select public.fn_is_operator()));

-- fn_directory_key_similarity(a, b) — trigram similarity of two values as the directories
-- match them (case-insensitive, inner whitespace collapsed); 0 when either is blank.
create or replace function public.fn_directory_key_similarity(p_a text, p_b text)
    returns real
    language sql stable
    set search_path = public, extensions, pg_temp
    as $$
    select coalesce(similarity(public.fn_directory_key(p_a), public.fn_directory_key(p_b)), 0)
    $$;

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
    language plpgsql stable
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

-- Point the similarity users at wherever pg_trgm is installed (public, extensions, …).
do $$
declare
    v_schema text;
begin
    select n.nspname into v_schema
      from pg_extension e join pg_namespace n on n.oid = e.extnamespace
     where e.extname = 'pg_trgm';
    execute format('alter function public.fn_directory_key_similarity(text, text) '
                   'set search_path = public, %I, pg_temp', v_schema);
    execute format('alter function public.fn_directory_suggestions(text, text, text, integer) '
                   'set search_path = public, %I, pg_temp', v_schema);
end
$$;

-- fn_directory_audit — record one directory change (internal: called by the writers below).
create or replace function public.fn_directory_audit(
    p_tenant_id text, p_action text, p_directory text, p_before jsonb, p_after jsonb,
    p_problem_id bigint default null)
    returns bigint
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_id bigint;
begin
    insert into directory_changes (tenant_id, actor, action, directory, before, after,
                                   problem_id)
    values (p_tenant_id, coalesce(nullif(auth.jwt() ->> 'sub', ''), current_user), p_action,
            p_directory, p_before, p_after, p_problem_id)
    returning id into v_id;
    return v_id;
end
$$;

-- fn_directory_check_tenant — 22023 for a blank tenant, P0002 for an unknown one.
create or replace function public.fn_directory_check_tenant(p_tenant_id text) returns void
    language plpgsql stable
    set search_path = public, pg_temp
    as $$
begin
    if not exists (select 1 from tenants where tenant_id = p_tenant_id) then
        raise exception 'no tenant %', coalesce(p_tenant_id, 'null')
            using errcode = 'no_data_found';
    end if;
end
$$;

-- fn_directory_partner_set(tenant, alias, canonical, problem_id) — admin: add a partner alias
-- or change its canonical name. Returns {change_id, action, alias_key} (change_id null when
-- nothing changed). Re-resolving the affected projects is done by fn_directory_fix_apply.
create or replace function public.fn_directory_partner_set(
    p_tenant_id text, p_alias text, p_canonical text, p_problem_id bigint default null)
    returns jsonb
    language plpgsql
    security definer
    set search_path = public, pg_temp
    as $$
declare
    v_alias     text := btrim(p_alias);
    v_canonical text := btrim(p_canonical);
    v_before    partner_normalization;
    v_after     partner_normalization;
    v_action    text;
begin
    perform fn_require_admin();
    perform fn_directory_check_tenant(p_tenant_id);
    if fn_directory_key(v_alias) is null or fn_directory_key(v_canonical) is null then
        raise exception 'alias and canonical must not be blank' using errcode = '22023';
    end if;
    if char_length(v_alias) > 256 or char_length(v_canonical) > 256 then
        raise exception 'alias and canonical must be at most 256 characters'
            using errcode = '22023';
    end if;

    select * into v_before from partner_normalization
     where tenant_id = p_tenant_id and alias_key = fn_directory_key(v_alias)
       for update;
    if found and (v_before.alias, v_before.canonical) = (v_alias, v_canonical) then
        return jsonb_build_object('change_id', null, 'action', null,
                                  'alias_key', v_before.alias_key);
    end if;
    v_action := case when v_before.alias_key is null then 'add' else 'update' end;

    insert into partner_normalization (tenant_id, alias, canonical)
    values (p_tenant_id, v_alias, v_canonical)
    on conflict (tenant_id, alias_key) do update
       set alias = excluded.alias, canonical = excluded.canonical, updated_at = now()
    returning * into v_after;

    return jsonb_build_object(
        'change_id', fn_directory_audit(
            p_tenant_id, v_action, 'partners',
            case when v_action = 'update'
                 then jsonb_build_object('alias', v_before.alias,
                                         'canonical', v_before.canonical) end,
            jsonb_build_object('alias', v_after.alias, 'canonical', v_after.canonical),
            p_problem_id),
        'action', v_action, 'alias_key', v_after.alias_key);
end
$$;

-- fn_directory_partner_remove(tenant, alias) — admin: remove a partner alias (aliases have no
-- active flag; the audit keeps the row, so it can be added back).
create or replace function public.fn_directory_partner_remove(p_tenant_id text, p_alias text)
    returns jsonb
    language plpgsql
    security definer
    set search_path = public, pg_temp
    as $$
declare
    v_before partner_normalization;
begin
    perform fn_require_admin();
    perform fn_directory_check_tenant(p_tenant_id);
    delete from partner_normalization
     where tenant_id = p_tenant_id and alias_key = fn_directory_key(p_alias)
    returning * into v_before;
    if not found then
        raise exception 'tenant % has no partner alias %', p_tenant_id, coalesce(p_alias, 'null')
            using errcode = 'no_data_found';
    end if;
    return jsonb_build_object(
        'change_id', fn_directory_audit(
            p_tenant_id, 'remove', 'partners',
            jsonb_build_object('alias', v_before.alias, 'canonical', v_before.canonical), null),
        'action', 'remove', 'alias_key', v_before.alias_key);
end
$$;

-- fn_directory_person_set(tenant, directory ds|rm, username, display_name, active) — admin:
-- add a deployment specialist or relationship manager, change the display name, or
-- (de)activate one. A blank display name keeps the current one (an RM needs one). Returns
-- {change_id, action} (change_id null when nothing changed).
create or replace function public.fn_directory_person_set(
    p_tenant_id text, p_directory text, p_username text, p_display_name text,
    p_active boolean default true, p_problem_id bigint default null)
    returns jsonb
    language plpgsql
    security definer
    set search_path = public, pg_temp
    as $$
declare
    v_username text := btrim(p_username);
    v_display  text := nullif(btrim(p_display_name), '');
    v_before   jsonb;
    v_after    jsonb;
    v_action   text;
begin
    perform fn_require_admin();
    perform fn_directory_check_tenant(p_tenant_id);
    if p_directory is null or p_directory not in ('ds', 'rm') then
        raise exception 'directory must be ds or rm, got %', coalesce(p_directory, 'null')
            using errcode = '22023';
    end if;
    if fn_directory_key(v_username) is null then
        raise exception 'preferred_username must not be blank' using errcode = '22023';
    end if;
    if char_length(v_username) > 256 or char_length(v_display) > 256 then
        raise exception 'preferred_username and display_name must be at most 256 characters'
            using errcode = '22023';
    end if;
    if p_active is null then
        raise exception 'active must be true or false' using errcode = '22023';
    end if;

    if p_directory = 'ds' then
        select to_jsonb(d) - 'username_key' - 'tenant_id' into v_before from ds_directory d
         where d.tenant_id = p_tenant_id and d.username_key = fn_directory_key(v_username)
           for update;
        insert into ds_directory as d (tenant_id, preferred_username, display_name, active)
        values (p_tenant_id, v_username, v_display, p_active)
        on conflict (tenant_id, username_key) do update
           set preferred_username = excluded.preferred_username,
               display_name = coalesce(excluded.display_name, d.display_name),
               active = excluded.active, updated_at = now()
        returning to_jsonb(d) - 'username_key' - 'tenant_id' into v_after;
    else
        select to_jsonb(r) - 'username_key' - 'display_key' - 'tenant_id' into v_before
          from rm_directory r
         where r.tenant_id = p_tenant_id and r.username_key = fn_directory_key(v_username)
           for update;
        if v_before is null and v_display is null then
            raise exception 'a relationship manager needs a display_name'
                using errcode = '22023';
        end if;
        insert into rm_directory as r (tenant_id, preferred_username, display_name, active)
        values (p_tenant_id, v_username, coalesce(v_display, v_before ->> 'display_name'),
                p_active)
        on conflict (tenant_id, username_key) do update
           set preferred_username = excluded.preferred_username,
               display_name = excluded.display_name,
               active = excluded.active, updated_at = now()
        returning to_jsonb(r) - 'username_key' - 'display_key' - 'tenant_id' into v_after;
    end if;

    if v_before is not null and (v_before - 'updated_at') = (v_after - 'updated_at') then
        return jsonb_build_object('change_id', null, 'action', null);
    end if;
    v_action := case
        when v_before is null then 'add'
        when (v_before ->> 'active')::boolean and not p_active then 'deactivate'
        when not (v_before ->> 'active')::boolean and p_active then 'reactivate'
        else 'update' end;
    return jsonb_build_object(
        'change_id', fn_directory_audit(p_tenant_id, v_action, p_directory,
                                        v_before - 'updated_at', v_after - 'updated_at',
                                        p_problem_id),
        'action', v_action);
end
$$;

revoke all on public.directory_changes from public;
revoke execute on function public.fn_is_admin(), public.fn_require_admin(),
                           public.fn_directory_key_similarity(text, text),
                           public.fn_directory_suggestions(text, text, text, integer),
                           public.fn_directory_audit(text, text, text, jsonb, jsonb, bigint),
                           public.fn_directory_check_tenant(text),
                           public.fn_directory_partner_set(text, text, text, bigint),
                           public.fn_directory_partner_remove(text, text),
                           public.fn_directory_person_set(text, text, text, text, boolean,
                                                          bigint)
    from public;

do $$
begin
    revoke all on public.directory_changes from anon, authenticated;
    revoke execute on function public.fn_directory_audit(text, text, text, jsonb, jsonb, bigint),
                               public.fn_directory_check_tenant(text)
        from anon, authenticated;
    grant select on public.directory_changes to authenticated, service_role;
    grant execute on function public.fn_is_admin(), public.fn_require_admin(),
                              public.fn_directory_key_similarity(text, text),
                              public.fn_directory_suggestions(text, text, text, integer),
                              public.fn_directory_partner_set(text, text, text, bigint),
                              public.fn_directory_partner_remove(text, text),
                              public.fn_directory_person_set(text, text, text, text, boolean,
                                                             bigint)
       to authenticated, service_role;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
