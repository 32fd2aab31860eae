-- fn_import_get(id): one import request with its violations summary and, when its batch was
-- staged, the staged metrics and the reruns of that batch (staging_imports.validation's
-- 'metrics' and 'reruns'; never the raw payload). SECURITY DEFINER because operators do not
-- read staging_imports directly; it checks the caller's claims first.
-- Errors: 42501 not an operator, P0002 no such request.
create or replace function public.fn_import_get(p_id bigint)
    returns table (id bigint, tenant_id text, received_at timestamptz, request_batch_id text,
                   batch_id uuid, source text, status integer, error_code text, rows integer,
                   inserted_projects integer, updated_projects integer,
                   unchanged_projects integer, org_memberships_upserted integer,
                   user_memberships_upserted integer, anomalies_count integer,
                   parse_ms numeric, merge_ms numeric, correlation_id uuid, replayed boolean,
                   staging_id uuid, bytes bigint, violations_total integer,
                   violations_summary jsonb, staged_at timestamptz, staged_rows integer,
                   staged_correlation_id uuid, staged_metrics jsonb, reruns jsonb)
    language plpgsql stable security definer
    set search_path = public, pg_temp
    as $$
#variable_conflict use_column
begin
    perform public.fn_require_operator();
    return query
        select r.id, r.tenant_id, r.created_at, r.request_batch_id, r.batch_id, r.source,
               r.status, r.error_code, r.rows, r.inserted_projects, r.updated_projects,
               r.unchanged_projects, r.org_memberships_upserted, r.user_memberships_upserted,
               r.anomalies_count, r.parse_ms, r.merge_ms, r.correlation_id, r.replayed,
               r.staging_id, r.bytes, r.violations_total, r.violations_summary,
               s.created_at, s.row_count, s.correlation_id, s.validation -> 'metrics',
               coalesce(s.validation -> 'reruns', '[]'::jsonb)
          from public.import_requests r
          left join public.staging_imports s
            on s.tenant_id = r.tenant_id and s.batch_id = r.batch_id
         where r.id = p_id;
    if not found then
        raise exception 'no import request with id %', p_id using errcode = 'no_data_found';
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_get(bigint)',
    'execute', 'authenticated', 'service_role');
