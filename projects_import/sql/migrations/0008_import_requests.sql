-- 0008 — One row per authenticated import request, whatever its outcome: the history behind
-- the dashboard's success-rate and latency charts. Ids, counts and timings only: no payloads.

create table public.import_requests (
    tenant_id       text not null references public.tenants on delete cascade,
    id              bigint generated always as identity,
    correlation_id  uuid not null,
    batch_id        uuid,
    status          integer not null,
    error_code      text,
    rows            integer,
    parse_ms        numeric(12, 2),
    merge_ms        numeric(12, 2),
    bytes           bigint,
    replayed        boolean not null default false,
    created_at      timestamptz not null default now(),
    primary key (tenant_id, id)
);
create index import_requests_created on public.import_requests (created_at desc);

alter table public.import_requests enable row level security;
create policy operators_read on public.import_requests
    for select to authenticated using ((select public.fn_is_operator()));

do $$
begin
    grant select on public.import_requests to authenticated;
exception
    when undefined_object or insufficient_privilege then null;
end
$$;
