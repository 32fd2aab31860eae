-- fn_projects_import_merge_upsert_problems — merge step: upsert problems. Each fresh miss is an
-- occurrence of its problem (project, type, unknown value): the problem is opened, counted, or
-- reopened when it was resolved (regressed when it was resolved by hand), with its event; the
-- earlier occurrences of a reopened problem follow it back to open. Each miss learns its
-- problem and the status its occurrence starts with.
create or replace function public.fn_projects_import_merge_upsert_problems(
    p_tenant_id text, p_batch_id uuid)
    returns void
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_ack_due      timestamptz;
    v_resolve_due  timestamptz;
    v_problem_ids  bigint[];
begin
    select d.ack_due_at, d.resolve_due_at into v_ack_due, v_resolve_due
      from fn_problem_due_times(p_tenant_id, now()) d;

    -- Each fresh miss is an occurrence of its problem: open, count, or reopen.
    with upserted as (
        insert into import_problems as pr (
            tenant_id, project_key, anomaly_type, severity, unknown_value, unknown_key,
            status, first_seen_at, last_seen_at, occurrences, last_batch_id,
            last_anomaly_id, payload_excerpt, ack_due_at, resolve_due_at)
        select p_tenant_id, a.project_key, a.anomaly_type, a.severity, a.unknown_value,
               a.unknown_key, 'open', now(), now(), 1, p_batch_id, a.anomaly_id, a.excerpt,
               v_ack_due, v_resolve_due
          from pg_temp.import_batch_misses a
         where a.fresh
        on conflict (tenant_id, project_key, anomaly_type, unknown_key) do update
           set severity = excluded.severity,
               unknown_value = excluded.unknown_value,
               last_seen_at = excluded.last_seen_at,
               occurrences = pr.occurrences + 1,
               last_batch_id = excluded.last_batch_id,
               last_anomaly_id = excluded.last_anomaly_id,
               payload_excerpt = excluded.payload_excerpt,
               status = case when pr.status = 'resolved' then 'open' else pr.status end,
               regressed = pr.regressed
                           or (pr.status = 'resolved' and pr.resolution = 'manual'),
               reopened_at = case when pr.status = 'resolved' then excluded.last_seen_at
                                  else pr.reopened_at end,
               resolution = case when pr.status = 'resolved' then null
                                 else pr.resolution end,
               resolved_at = case when pr.status = 'resolved' then null
                                  else pr.resolved_at end,
               resolved_by = case when pr.status = 'resolved' then null
                                  else pr.resolved_by end,
               acknowledged_at = case when pr.status = 'resolved' then null
                                      else pr.acknowledged_at end,
               acknowledged_by = case when pr.status = 'resolved' then null
                                      else pr.acknowledged_by end,
               ack_due_at = case when pr.status = 'resolved' then excluded.ack_due_at
                                 else pr.ack_due_at end,
               resolve_due_at = case when pr.status = 'resolved'
                                     then excluded.resolve_due_at
                                     else pr.resolve_due_at end
        returning pr.id, pr.project_key, pr.anomaly_type, pr.status, pr.acknowledged_at,
                  pr.acknowledged_by, (xmax = 0) as opened,
                  (xmax <> 0 and pr.reopened_at = now()) as reopened
    ), linked as (
        update pg_temp.import_batch_misses a
           set problem_id = u.id, status = u.status, reopened = u.reopened,
               acknowledged_at = u.acknowledged_at, acknowledged_by = u.acknowledged_by
          from upserted u
         where a.fresh and a.project_key = u.project_key
           and a.anomaly_type = u.anomaly_type
        returning u.id, u.opened, u.reopened
    )
    insert into import_problem_events (tenant_id, problem_id, actor, action)
    select p_tenant_id, l.id, 'system', case when l.opened then 'opened' else 'reopened' end
      from linked l
     where l.opened or l.reopened;

    -- The earlier occurrences of a reopened problem follow it back to open.
    v_problem_ids := array(select a.problem_id from pg_temp.import_batch_misses a
                            where a.reopened);
    if cardinality(v_problem_ids) > 0 then
        update import_anomalies ia
           set status = 'open', acknowledged_at = null, acknowledged_by = null,
               resolved_at = null
         where ia.tenant_id = p_tenant_id and ia.problem_id = any (v_problem_ids)
           and ia.status <> 'open';
    end if;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_merge_upsert_problems(text, uuid)',
    'execute', 'service_role');
