-- fn_import_audit_after(tenant, before, metrics) — after the merge (same transaction): the
-- observed figures and the findings, one per limit exceeded ({check, observed, limit});
-- no findings when the audit is off (before is null).
create or replace function public.fn_import_audit_after(p_tenant_id text, p_before jsonb,
                                             p_metrics jsonb)
    returns jsonb
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_limits        jsonb := fn_import_audit_limits(p_tenant_id);
    v_existing      integer := (p_before ->> 'existing_projects')::integer;
    v_active        integer := (p_before ->> 'active_memberships')::integer;
    v_rows          integer := coalesce((p_metrics ->> 'rows')::integer, 0);
    v_ended         integer := coalesce((p_metrics ->> 'memberships_ended')::integer, 0);
    v_anomaly_rows  integer;
    v_changed       integer;
    v_observed      jsonb;
    v_findings      jsonb := '[]'::jsonb;
    v_check         text;
begin
    if p_before is null then
        return jsonb_build_object('findings', '[]'::jsonb, 'held', false, 'limits', v_limits);
    end if;
    select count(distinct row_index) into v_anomaly_rows from pg_temp.import_batch_misses;
    select count(*) into v_changed
      from pg_temp.import_audit_before b
      join projects p on p.tenant_id = p_tenant_id and p.stage_application = b.stage_application
     where b.assignment is distinct from
           array[p.delivery_partner, p.deployment_specialist, p.relationship_manager,
                 p.rm_preferred_username, p.partner_org, p.ds_username, p.rm_username];

    v_observed := jsonb_build_object(
        'ended_share', case when v_active > 0 then round(v_ended::numeric / v_active, 4)
                            else 0 end,
        'anomaly_share', case when v_rows > 0 then round(v_anomaly_rows::numeric / v_rows, 4)
                              else 0 end,
        'changed_share', case when v_existing > 0
                              then round(v_changed::numeric / v_existing, 4) else 0 end);

    if (v_limits ->> 'enabled')::boolean and v_existing >= (v_limits ->> 'min_rows')::integer
    then
        foreach v_check in array array['ended', 'anomaly', 'changed'] loop
            if (v_observed ->> (v_check || '_share'))::numeric
               > (v_limits ->> ('max_' || v_check || '_share'))::numeric then
                v_findings := v_findings || jsonb_build_object(
                    'check', 'max_' || v_check || '_share',
                    'observed', (v_observed ->> (v_check || '_share'))::numeric,
                    'limit', (v_limits ->> ('max_' || v_check || '_share'))::numeric);
            end if;
        end loop;
    end if;

    return jsonb_build_object(
        'findings', v_findings,
        'held', jsonb_array_length(v_findings) > 0,
        'observed', v_observed,
        'figures', jsonb_build_object(
            'existing_projects', v_existing, 'active_memberships', v_active,
            'memberships_ended', v_ended, 'rows', v_rows, 'rows_with_anomalies', v_anomaly_rows,
            'changed_projects', v_changed),
        'limits', v_limits);
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_audit_after(text, jsonb, jsonb)',
    'execute', 'service_role');
