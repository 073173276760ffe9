{# Tables land in bronze/silver/gold as in lakemend (not <target schema>_bronze). #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
