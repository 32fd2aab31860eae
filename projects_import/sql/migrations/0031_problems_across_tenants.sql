-- 0031 — Problems across tenants, newest first: fn_problems_for_operator without a tenant
-- (GET /anomalies/problems without `tenant`, status open by default) sorted every unresolved
-- problem of every tenant to answer a page of 100. This index answers it in index order and
-- stops at the limit: `status = any ('{open}')` or `('{open,acknowledged}')` imply its
-- predicate, and the keyset cursor (last_seen_at, id) continues where a page ended.
--
-- Its cost: the merge's problem upsert moves last_seen_at on every import, so each upserted
-- problem adds one entry here (import_problems_tenant_seen already keeps such updates from
-- being HOT, so no update loses that). Resolved problems, which accumulate, are not in it.
create index import_problems_unresolved_seen
    on public.import_problems (last_seen_at desc, id desc)
    where status <> 'resolved';
