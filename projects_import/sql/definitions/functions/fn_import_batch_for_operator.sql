-- fn_import_batch_for_operator(id) — the batch of one import request: its state, audit, held
-- metrics and decisions (who, when, why). SECURITY DEFINER; checks the claims first.
-- Errors: 42501 not an operator, P0002 no such request.
create or replace function public.fn_import_batch_for_operator(p_id bigint)
    returns jsonb
    language plpgsql stable security definer
    set search_path = public, pg_temp
    as $$
declare
    v_request  import_requests%rowtype;
    v_answer   jsonb;
begin
    perform fn_require_operator();
    select * into v_request from import_requests r where r.id = p_id;
    if not found then
        raise exception 'no import request with id %', p_id using errcode = 'no_data_found';
    end if;
    select jsonb_build_object(
               'tenant_id', s.tenant_id, 'batch_id', s.batch_id, 'staging_id', s.id,
               'batch_state', s.batch_state, 'staged_at', s.created_at,
               'audit', s.validation #> '{held,audit}',
               'held_metrics', s.validation #> '{held,metrics}',
               'decisions', coalesce((
                   select jsonb_agg(jsonb_build_object(
                              'decision', d.decision, 'actor', d.actor, 'reason', d.reason,
                              'decided_at', d.decided_at, 'details', d.details) order by d.id)
                     from import_batch_decisions d
                    where d.tenant_id = s.tenant_id and d.staging_id = s.id), '[]'::jsonb))
      into v_answer
      from staging_imports s
     where s.tenant_id = v_request.tenant_id and s.batch_id = v_request.batch_id
       and v_request.staging_id is not null;
    return v_answer;
end
$$;

select public.fn_privileges_set(
    'function public.fn_import_batch_for_operator(bigint)',
    'execute', 'authenticated', 'service_role');
