{% macro ref(model_name) %}
  {%- set rel = builtins.ref(model_name) -%}
  {{ return(rel) }}
{% endmacro %}
select * from {{ builtins.source('raw', 'events') }} -- {{ other.ref('not_dbt') }}
