-- 0030 — A replay answered from the request as received. staging_imports keeps, for the
-- request that staged a batch, a SHA-256 digest of what decides the batch: the body as
-- received (gunzipped), its media type, for CSV the envelope query parameters, and the
-- checksum version (composition: projects_import.imports.service.request_digest). An exact
-- re-send is then found by one indexed lookup before the body is decoded or validated
-- (queries.sql, import_digest_lookup); anything else takes the checksum path as before.
--
-- The digest is written by its own statement in the submit's transaction
-- (staging_request_digest), so fn_projects_import_submit and the merge are unchanged. Rows
-- staged before this migration have none and are found by their checksum only.

alter table public.staging_imports add column request_digest bytea
    check (request_digest is null or octet_length(request_digest) = 32);

-- Not unique: a digest names one body, and one body stages at most once per tenant (its
-- checksum is unique), but a broken invariant must not fail an import; the lookup takes the
-- newest. Partial: rows without a digest (older ones, and a body whose correlation_id is
-- blank) cost the index nothing.
create index staging_imports_request_digest
    on public.staging_imports (tenant_id, request_digest)
    where request_digest is not null;
