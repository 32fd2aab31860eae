-- 0007 — Dashboard logins, their server-side sessions, and the per-batch membership figures
-- the dashboard charts (SPEC §4.4).
--
-- Exception to "every key starts with tenant_id" (SPEC §1): dashboard users are operators who
-- work across tenants, so these two tables hold no tenant data. They are small and global; on
-- a sharded PostgreSQL (Citus) they are reference tables (a copy on every node), keyed by the
-- normalized email and by the hash of the session token.

-- A login. Only an argon2 hash of the password is stored. email is kept trimmed and
-- lower-case, so one address is one login whatever its spelling. After repeated wrong
-- passwords the login is locked for a while (failed_logins, locked_until).
create table public.dashboard_users (
    email          text primary key
                   check (email = lower(btrim(email)) and email ~ '^[^@\s]+@[^@\s]+$'
                          and char_length(email) <= 254),
    password_hash  text not null,
    role           text not null check (role ~ '^[a-z][a-z0-9_.-]{0,31}$'),
    failed_logins  integer not null default 0,
    locked_until   timestamptz,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

-- A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
-- copy of this table cannot sign anyone in. Sessions expire (absolute lifetime set by the
-- service) and end with the login (on delete cascade) or on sign-out.
create table public.dashboard_sessions (
    token_sha256  bytea primary key check (octet_length(token_sha256) = 32),
    email         text not null
                  references public.dashboard_users on delete cascade on update cascade,
    created_at    timestamptz not null default now(),
    expires_at    timestamptz not null
);
create index dashboard_sessions_email on public.dashboard_sessions (email);
create index dashboard_sessions_expires on public.dashboard_sessions (expires_at);

-- Nobody reads logins or sessions through a user role (Supabase grants table access to
-- anon/authenticated by default): RLS on with no policy, and no grants.
alter table public.dashboard_users enable row level security;
alter table public.dashboard_sessions enable row level security;

do $$
begin
    revoke all on public.dashboard_users, public.dashboard_sessions
        from anon, authenticated;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;

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

revoke execute on function public.fn_dashboard_membership_changes(integer, integer) from public;

do $$
begin
    grant execute on function public.fn_dashboard_membership_changes(integer, integer)
       to authenticated;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
