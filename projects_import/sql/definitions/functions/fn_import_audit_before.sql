-- fn_import_audit_before(tenant, keys) — snapshot the batch's existing projects (partner, DS,
-- RM, raw and canonical) into pg_temp.import_audit_before; answers their count and their
-- active memberships, the denominators of the audit (null when the tenant's audit is off).
create or replace function public.fn_import_audit_before(p_tenant_id text, p_keys text[])
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_existing  integer;
    v_active    integer;
begin
    if not (select t.audit_enabled from tenants t where t.tenant_id = p_tenant_id) then
        return null;
    end if;
    create temp table if not exists pg_temp.import_audit_before (
        stage_application text primary key,
        assignment        text[]
    ) on commit drop;
    truncate pg_temp.import_audit_before;
    insert into pg_temp.import_audit_before
    select p.stage_application,
           array[p.delivery_partner, p.deployment_specialist, p.relationship_manager,
                 p.rm_preferred_username, p.partner_org, p.ds_username, p.rm_username]
      from projects p
     where p.tenant_id = p_tenant_id
       and p.stage_application = any (array(select btrim(k) from unnest(p_keys) k))
    on conflict do nothing;
    get diagnostics v_existing = row_count;

    select (select count(*) from project_org_memberships m
             where m.tenant_id = p_tenant_id and m.ended_at is null
               and m.stage_application in (select stage_application
                                             from pg_temp.import_audit_before))
         + (select count(*) from project_user_memberships m
             where m.tenant_id = p_tenant_id and m.ended_at is null
               and m.stage_application in (select stage_application
                                             from pg_temp.import_audit_before))
      into v_active;
    return jsonb_build_object('existing_projects', v_existing,
                              'active_memberships', v_active);
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_audit_before(text, text[])',
    'execute', 'service_role');
