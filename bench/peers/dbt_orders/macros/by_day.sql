{# Incremental by day, as lakemend partitions: the config and the day filter every model shares. #}

{% macro by_day_config() -%}
    {%- if var('strategy') == 'microbatch' -%}
        {{ config(incremental_strategy='microbatch', event_time='day', batch_size='day', begin='2000-01-01', concurrent_batches=false) }}
    {%- elif var('strategy') == 'delete+insert' -%}
        {{ config(incremental_strategy='delete+insert', unique_key='day', event_time='day') }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("var strategy must be delete+insert or microbatch, not " ~ var('strategy')) }}
    {%- endif -%}
{%- endmacro %}

{#
  The days this run builds, as a SQL predicate on `column`:
  - microbatch: the batch's day (dbt filters ref() inputs itself; the landing read needs it spelled out);
  - --vars '{start: D1, end: D2}': those days, rebuilt (delete+insert replaces them);
  - otherwise, on an existing table: the days after its newest day (nothing new → no rows);
  - otherwise (first build): every day.
  Days are literals so DuckDB prunes landing files by name before reading them.
#}
{% macro day_filter(column='day', from_landing=false) -%}
    {%- if var('strategy') == 'microbatch' -%}
        {%- if from_landing and model.batch -%}
            {{ column }} >= DATE '{{ model.batch.event_time_start.strftime("%Y-%m-%d") }}'
            AND {{ column }} < DATE '{{ model.batch.event_time_end.strftime("%Y-%m-%d") }}'
        {%- else -%}
            TRUE
        {%- endif -%}
    {%- elif var('start') and var('end') -%}
        {{ column }} BETWEEN DATE '{{ var("start") }}' AND DATE '{{ var("end") }}'
    {%- elif is_incremental() -%}
        {%- set newest = none -%}
        {%- if execute -%}
            {%- set newest = run_query("SELECT CAST(max(day) AS VARCHAR) FROM " ~ this).columns[0].values()[0] -%}
        {%- endif -%}
        {%- if newest -%}
            {{ column }} > DATE '{{ newest }}'
        {%- else -%}
            TRUE
        {%- endif -%}
    {%- else -%}
        TRUE
    {%- endif -%}
{%- endmacro %}
