-- auth.jwt() — the transaction's JWT claims (`request.jwt.claims`, PostgREST's convention), as
-- Supabase provides it; created only where it is missing, so Supabase's own is left alone.
do $$
begin
    if to_regprocedure('auth.jwt()') is null then
        create function auth.jwt() returns jsonb
            language sql stable
            as $f$
                select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
            $f$;
    end if;
end
$$;
