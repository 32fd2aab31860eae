-- fn_projects_import_merge_stage — merge step: stage and resolve. The batch's columns become
-- the rows of pg_temp.import_batch (blank text and dates null, missing counts 0), each with the
-- canonical partner organization, DS and RM usernames today's directories give it. Refuses a
-- row without a stage_application (22023). Returns the number of rows.
create or replace function public.fn_projects_import_merge_stage(
    p_tenant_id                  text,
    p_stage_application          text[],
    p_delivery_partner           text[],
    p_developer_class            text[],
    p_relationship_manager       text[],
    p_deployment_specialist      text[],
    p_rm_preferred_username      text[],
    p_residential                integer[],
    p_commercial                 integer[],
    p_essential                  integer[],
    p_premises_count             integer[],
    p_stage_application_created  text[],
    p_excerpt                    text[]
) returns integer
    language plpgsql
    set search_path = public, pg_temp
    as $$
declare
    v_rows integer;
begin
    create temp table if not exists pg_temp.import_batch (
        row_index                  integer,
        stage_application          text,
        delivery_partner           text,
        developer_class            text,
        relationship_manager       text,
        deployment_specialist      text,
        rm_preferred_username      text,
        residential                integer,
        commercial                 integer,
        essential                  integer,
        premises_count             integer,
        stage_application_created  date,
        excerpt                    text,
        partner_org                text,
        ds_username                text,
        rm_username                text
    ) on commit drop;
    truncate pg_temp.import_batch;

    -- The columns as rows, then canonical values from today's directories in the same
    -- statement: fn_projects_resolve_canonical_batch looks each distinct value up once.
    insert into pg_temp.import_batch
    with parsed as materialized (
        select (u.ord - 1)::integer as row_index,
               nullif(btrim(u.stage_application), '') as stage_application,
               nullif(btrim(u.delivery_partner), '') as delivery_partner,
               nullif(btrim(u.developer_class), '') as developer_class,
               nullif(btrim(u.relationship_manager), '') as relationship_manager,
               nullif(btrim(u.deployment_specialist), '') as deployment_specialist,
               nullif(btrim(u.rm_preferred_username), '') as rm_preferred_username,
               coalesce(u.residential, 0) as residential,
               coalesce(u.commercial, 0) as commercial,
               coalesce(u.essential, 0) as essential,
               coalesce(u.premises_count, 0) as premises_count,
               nullif(btrim(u.stage_application_created), '')::date
                   as stage_application_created,
               u.excerpt
          from unnest(p_stage_application, p_delivery_partner, p_developer_class,
                      p_relationship_manager, p_deployment_specialist, p_rm_preferred_username,
                      p_residential, p_commercial, p_essential, p_premises_count,
                      p_stage_application_created, p_excerpt)
               with ordinality as u(stage_application, delivery_partner, developer_class,
                                    relationship_manager, deployment_specialist,
                                    rm_preferred_username, residential, commercial, essential,
                                    premises_count, stage_application_created, excerpt, ord)
    )
    select b.row_index, b.stage_application, b.delivery_partner, b.developer_class,
           b.relationship_manager, b.deployment_specialist, b.rm_preferred_username,
           b.residential, b.commercial, b.essential, b.premises_count,
           b.stage_application_created, b.excerpt, c.partner_org, c.ds_username, c.rm_username
      from parsed b
      join fn_projects_resolve_canonical_batch(
               p_tenant_id,
               array(select x.delivery_partner from parsed x order by x.row_index),
               array(select x.deployment_specialist from parsed x order by x.row_index),
               array(select x.relationship_manager from parsed x order by x.row_index),
               array(select x.rm_preferred_username from parsed x order by x.row_index)) c
        on c.ord = b.row_index + 1;

    if exists (select 1 from pg_temp.import_batch where stage_application is null) then
        raise exception 'fn_projects_import_merge: every row needs a stage_application'
            using errcode = '22023';
    end if;
    -- statistics of the column the later steps join on (and the row count): all 16 columns
    -- would cost three times as much
    analyze pg_temp.import_batch (stage_application);

    select count(*) into v_rows from pg_temp.import_batch;
    return v_rows;
end
$$;

select public.fn_privileges_set(
    'function public.fn_projects_import_merge_stage(text, text[], text[], text[], text[], '
    'text[], text[], integer[], integer[], integer[], integer[], text[], text[])',
    'execute', 'service_role');
