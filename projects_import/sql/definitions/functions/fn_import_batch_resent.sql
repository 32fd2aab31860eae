-- fn_import_batch_resent(answer) — a re-send of a held batch answers 'held' again (replayed),
-- of a rejected one 'batch_rejected'; any other stage answer is returned as it is.
create or replace function public.fn_import_batch_resent(p_tenant_id text, p_answer jsonb)
    returns jsonb
    language sql stable
    set search_path = public, pg_temp
    as $$
    select case
               when p_answer ->> 'outcome' <> 'replayed' or s.batch_state is null
                    or s.batch_state not in ('held', 'rejected') then p_answer
               when s.batch_state = 'held' then jsonb_build_object(
                   'outcome', 'held', 'replayed', true, 'batch_id', s.batch_id,
                   'staging_id', s.id,
                   'metrics', coalesce(s.validation #> '{held,metrics}', '{}'::jsonb)
                              || jsonb_build_object('staging_id', s.id),
                   'audit', s.validation #> '{held,audit}')
               else jsonb_build_object(
                   'outcome', 'batch_rejected', 'batch_id', s.batch_id, 'staging_id', s.id,
                   'reason', (select d.reason from import_batch_decisions d
                               where d.tenant_id = s.tenant_id and d.staging_id = s.id
                                 and d.decision = 'rejected'
                               order by d.id desc limit 1))
           end
      from (select 1) one
      left join staging_imports s
        on s.tenant_id = p_tenant_id and s.id = (p_answer ->> 'staging_id')::uuid
$$;

select public.fn_privileges_set(
    'function public.fn_import_batch_resent(text, jsonb)',
    'execute', 'service_role');
