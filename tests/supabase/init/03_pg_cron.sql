-- pg_cron the way Supabase enables it: created by the platform's superuser in the database
-- named by `cron.database_name`, with `postgres` allowed to schedule and read its jobs.
create extension if not exists pg_cron;
grant usage on schema cron to postgres;
grant all privileges on all tables in schema cron to postgres;
