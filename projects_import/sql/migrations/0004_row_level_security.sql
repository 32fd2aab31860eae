-- 0004 — Row-level security. The service's own connection owns the tables and is not subject
-- to RLS; user reads run under `set local role authenticated` with the caller's JWT claims in
-- `request.jwt.claims`, so the database itself refuses a non-operator (SPEC §5.5).

create or replace function public.fn_jwt_app_role() returns text
    language sql stable
    as $$ select coalesce(auth.jwt() -> 'app_metadata' ->> 'role', '') $$;

create or replace function public.fn_is_operator() returns boolean
    language sql stable
    as $$ select public.fn_jwt_app_role() in ('operator', 'admin') $$;

alter table public.tenants enable row level security;
alter table public.tenant_secrets enable row level security;
alter table public.partner_normalization enable row level security;
alter table public.ds_directory enable row level security;
alter table public.rm_directory enable row level security;
alter table public.organizations enable row level security;
alter table public.projects enable row level security;
alter table public.project_org_memberships enable row level security;
alter table public.project_user_memberships enable row level security;
alter table public.staging_imports enable row level security;
alter table public.import_anomalies enable row level security;

-- Operators and admins may read the anomalies and the data needed to correlate them;
-- nobody reads bearer hashes or raw staged payloads through a user role.
create policy operators_read on public.import_anomalies
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.projects
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.project_org_memberships
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.project_user_memberships
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.partner_normalization
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.ds_directory
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.rm_directory
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.organizations
    for select to authenticated using ((select public.fn_is_operator()));
create policy operators_read on public.tenants
    for select to authenticated using ((select public.fn_is_operator()));

do $$
begin
    grant select on public.import_anomalies, public.projects, public.project_org_memberships,
                    public.project_user_memberships, public.partner_normalization,
                    public.ds_directory, public.rm_directory, public.organizations,
                    public.tenants, public.vw_project_members
       to authenticated;
    grant execute on function public.fn_jwt_app_role(), public.fn_is_operator()
       to authenticated, anon;
    grant usage on schema auth to authenticated;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;

-- Writing functions are for the service's own role only.
revoke execute on function public.fn_projects_import_merge(text, text, uuid, jsonb, uuid) from public;
revoke execute on function public.fn_projects_import_submit(text, text, uuid, text, smallint, jsonb, jsonb, uuid, jsonb) from public;
